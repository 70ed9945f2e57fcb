import WeightconvCore

/// A NumPy `.npz` archive (a zip of `.npy` arrays, stored or deflated), read into named arrays.
/// Reference logits and inputs for `verify` come in this form; arrays are small, so they are read
/// whole at open and checked (dtype, C order, shape against byte count).
package final class NumpyArchive: TensorStore {
    package let path: String
    package let tensors: [TensorDescriptor]
    package var metadata: MetadataValue { .object([]) }
    private var data: [String: [UInt8]] = [:]

    /// Largest array read (1 GiB): the size comes from the archive and is checked before allocation.
    package static let maximumArrayBytes = 1 << 30

    package init(path: String) throws(WeightconvError) {
        self.path = path
        let file = try MappedFile(path: path)
        guard FileKind.sniff(file.prefix(FileKind.sniffLength)) == .zipArchive else {
            throw Checkpoint.unreadable(FileKind.sniff(file.prefix(FileKind.sniffLength)), path: path)
        }
        let archive = try ZipArchive(file: file)
        var descriptors: [TensorDescriptor] = []
        for entry in archive.entries {
            guard entry.name.hasSuffix(".npy") else {
                throw WeightconvError(file: path, problem: "entry '\(entry.name)' is not a .npy array", hint: "not a NumPy .npz archive")
            }
            let name = String(entry.name.dropLast(4))
            // A zip may repeat a name; one array per name, or the listing and the bytes disagree.
            guard data[name] == nil else {
                throw WeightconvError(file: path, problem: "entry '\(entry.name)' appears twice", hint: "the archive is damaged or hostile")
            }
            let bytes = try archive.read(entry, limit: Self.maximumArrayBytes)
            let array: NumpyArray
            do throws(NumpyArray.ParseError) {
                array = try NumpyArray(parsing: consume bytes)
            } catch {
                throw WeightconvError(file: path, problem: "entry '\(entry.name)' is not a readable .npy array: \(error.problem) at byte \(error.offset)",
                                      hint: error.hint, cause: error)
            }
            data[name] = array.data
            descriptors.append(TensorDescriptor(name: name, dtype: array.dtype, shape: array.shape))
        }
        tensors = descriptors
    }

    package func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let bytes = data[name] else { throw WeightconvError(file: path, problem: "no array named '\(name)'") }
        return try bytes.withUnsafeBytes { try body($0) }
    }

    /// Every floating-point array as `Float`s with its shape; integer and bool arrays are left out
    /// (read them with `withContiguousBytes`).
    package func floatArrays() throws -> [String: (shape: [Int], values: [Float])] {
        var result: [String: (shape: [Int], values: [Float])] = [:]
        for descriptor in tensors where descriptor.dtype.isFloatingPoint {
            result[descriptor.name] = (descriptor.shape, try floats(of: descriptor.name))
        }
        return result
    }
}
