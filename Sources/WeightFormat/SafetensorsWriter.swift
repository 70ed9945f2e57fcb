import WeightconvCore

/// Writes safetensors files that the reference implementation and `SafetensorsFile` accept.
///
/// Tensors are ordered by element size, largest first (stable otherwise), and the header is padded
/// with spaces to a multiple of 8, so every tensor is aligned to its element size, as the
/// reference writer does. Written through a temporary file like `.wcv` files.
package struct SafetensorsWriter {
    package var protectedPaths: [String]
    package var temporaryFiles: TemporaryFileRegistry?

    package init(protectedPaths: [String] = [], temporaryFiles: TemporaryFileRegistry? = nil) {
        self.protectedPaths = protectedPaths
        self.temporaryFiles = temporaryFiles
    }

    /// Writes `tensors` and the `__metadata__` string map (omitted when empty) to `path`; returns the file size.
    @discardableResult
    package func write(_ tensors: [PendingTensor], metadata: [(key: String, value: String)] = [], to path: String) throws -> Int {
        let ordered = tensors.enumerated().sorted {
            ($1.element.dtype.byteSize, $0.offset) < ($0.element.dtype.byteSize, $1.offset)
        }.map(\.element)
        var names = Set<String>()
        var members: [(key: String, value: MetadataValue)] = []
        if !metadata.isEmpty {
            members.append(("__metadata__", .object(metadata.map { ($0.key, MetadataValue.string($0.value)) })))
        }
        var offset = 0
        for tensor in ordered {
            guard tensor.name != "__metadata__", names.insert(tensor.name).inserted else {
                throw WeightconvError(file: path, problem: "tensor name '\(tensor.name)' is reserved or appears twice")
            }
            let end = offset + tensor.byteCount
            members.append((tensor.name, .object([
                ("dtype", .string(tensor.dtype.safetensorsName)),
                ("shape", .array(tensor.shape.map(MetadataValue.int))),
                ("data_offsets", .array([.int(offset), .int(end)])),
            ])))
            offset = end
        }
        var header = Array(MetadataValue.object(members).jsonText.utf8)
        header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
        guard header.count <= SafetensorsFile.maximumHeaderLength else {
            throw WeightconvError(file: path, problem: "the safetensors header would exceed 100000000 bytes")
        }
        var prefix: [UInt8] = []
        prefix.appendLittleEndian(UInt64(header.count))
        prefix.append(contentsOf: header)

        let output = try AtomicOutputFile.create(destination: path, protecting: protectedPaths, registry: temporaryFiles)
        do {
            try prefix.withUnsafeBytes { try output.write($0, at: 0) }
            var position = prefix.count
            for tensor in ordered {
                var written = 0
                try tensor.produce { piece in
                    guard piece.count <= tensor.byteCount - written else {
                        throw WeightconvError(file: path, problem: "tensor '\(tensor.name)' produced more than its \(tensor.byteCount) bytes")
                    }
                    try output.write(piece, at: position + written)
                    written += piece.count
                }
                guard written == tensor.byteCount else {
                    throw WeightconvError(file: path, problem: "tensor '\(tensor.name)' produced \(written) of its \(tensor.byteCount) bytes")
                }
                position += written
            }
            try output.commit()
            return position
        } catch {
            output.abandon()
            throw error
        }
    }
}
