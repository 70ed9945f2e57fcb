import WeightconvCore

/// What can be wrong with a safetensors file, with the file offset where it was found.
package struct SafetensorsProblem: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        case tooShort
        case headerTooLarge(UInt64)
        case headerBeyondFile
        case headerNotObject
        case json(JSONProblem)
        case badMetadata(String)
        case badEntry(tensor: String, String)
        case unsupportedDType(tensor: String, String)
        case dimensionOverflow(tensor: String)
        case byteLengthMismatch(tensor: String, expected: Int, stored: Int)
        case notContiguous(tensor: String)
        case dataLengthMismatch(expected: Int, actual: Int)
    }

    package var kind: Kind
    package var offset: Int

    package init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    package var description: String {
        switch kind {
        case .tooShort: "file is too short to be a safetensors file (\(offset) bytes)"
        case .headerTooLarge(let length): "safetensors header length \(length) exceeds the 100000000-byte limit"
        case .headerBeyondFile: "safetensors header runs past the end of the file"
        case .headerNotObject: "safetensors header does not start with '{'"
        case .json(let problem): "safetensors header: \(problem)"
        case .badMetadata(let why): "safetensors __metadata__ \(why)"
        case .badEntry(let name, let why): "safetensors tensor '\(name)': \(why)"
        case .unsupportedDType(let name, let dtype): "safetensors tensor '\(name)' has dtype \(dtype), which weightconv does not support"
        case .dimensionOverflow(let name): "safetensors tensor '\(name)' has a shape whose byte size overflows"
        case .byteLengthMismatch(let name, let expected, let stored):
            "safetensors tensor '\(name)' spans \(stored) bytes but its shape and dtype need \(expected)"
        case .notContiguous(let name): "safetensors tensor '\(name)' does not start where the previous one ends (overlap or hole in the data)"
        case .dataLengthMismatch(let expected, let actual):
            "safetensors tensors cover \(expected) bytes but the data section is \(actual) bytes (truncated or trailing data)"
        }
    }

    package func weightconvError(file: String) -> WeightconvError {
        WeightconvError(file: file, problem: description + " (byte \(offset))",
                        hint: "the file is damaged or not a safetensors file; download or export it again")
    }
}

/// A safetensors file (https://github.com/huggingface/safetensors), mapped and validated on open.
///
/// Checks what the Trail of Bits audit of the format cared about: the 100 MB header limit,
/// duplicate JSON keys (refused, not resolved), offsets contiguous from zero and covering exactly
/// the data section, byte lengths equal to shape × dtype size without overflow. Unknown members in
/// a tensor entry are refused rather than ignored, so no two readers disagree on a file we accept.
package final class SafetensorsFile: TensorStore, @unchecked Sendable {
    package static let maximumHeaderLength = 100_000_000

    package let path: String
    /// In data order.
    package let tensors: [TensorDescriptor]
    /// The `__metadata__` string map, as an object of strings (empty when absent).
    package let metadata: MetadataValue
    private let storage: MappedFile
    private let ranges: [String: Range<Int>]

    package convenience init(path: String) throws {
        try self.init(storage: try MappedFile(path: path), path: path)
    }

    package init(storage: MappedFile, path: String) throws {
        do {
            (tensors, metadata, ranges) = try SafetensorsFile.validate(storage.bytes)
        } catch {
            throw error.weightconvError(file: path)
        }
        self.storage = storage
        self.path = path
    }

    package func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let range = ranges[name] else {
            throw WeightconvError(file: path, problem: "no tensor named '\(name)'", hint: "list the tensors with weightconv inspect")
        }
        return try body(UnsafeRawBufferPointer(rebasing: storage.bytes[range]))
    }

    /// The header checks, as typed problems.
    static func validate(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsProblem)
        -> (tensors: [TensorDescriptor], metadata: MetadataValue, ranges: [String: Range<Int>]) {
        guard bytes.count >= 8 else { throw SafetensorsProblem(.tooShort, at: bytes.count) }
        let rawLength = bytes.readLittleEndian(UInt64.self, at: 0)
        guard let headerLength = Int(exactly: rawLength), headerLength <= maximumHeaderLength else {
            throw SafetensorsProblem(.headerTooLarge(rawLength), at: 0)
        }
        guard headerLength <= bytes.count - 8 else { throw SafetensorsProblem(.headerBeyondFile, at: 0) }
        guard headerLength > 0, bytes[8] == UInt8(ascii: "{") else { throw SafetensorsProblem(.headerNotObject, at: 8) }
        let parsed: MetadataValue
        do {
            parsed = try StrictJSON.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)]))
        } catch {
            throw SafetensorsProblem(.json(error), at: 8 + error.offset)
        }
        guard case .object(let members) = parsed else { throw SafetensorsProblem(.headerNotObject, at: 8) }

        let dataStart = 8 + headerLength
        var metadata = MetadataValue.object([])
        var entries: [(descriptor: TensorDescriptor, begin: Int, end: Int)] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let fields) = value else { throw SafetensorsProblem(.badMetadata("is not an object"), at: 8) }
                for field in fields {
                    guard case .string = field.value else {
                        throw SafetensorsProblem(.badMetadata("value of '\(field.key)' is not a string"), at: 8)
                    }
                }
                metadata = value
                continue
            }
            entries.append(try entry(name, value))
        }
        // Contiguity in offset order is what makes overlaps and hidden bytes impossible.
        entries.sort { ($0.begin, $0.end, $0.descriptor.name) < ($1.begin, $1.end, $1.descriptor.name) }
        let dataLength = bytes.count - dataStart
        var position = 0
        var ranges: [String: Range<Int>] = [:]
        for item in entries {
            guard item.begin == position else {
                throw SafetensorsProblem(.notContiguous(tensor: item.descriptor.name), at: dataStart + min(item.begin, bytes.count - dataStart))
            }
            guard item.end <= dataLength else {
                throw SafetensorsProblem(.dataLengthMismatch(expected: item.end, actual: dataLength), at: bytes.count)
            }
            position = item.end
            ranges[item.descriptor.name] = (dataStart + item.begin)..<(dataStart + item.end)
        }
        guard position == dataLength else {
            throw SafetensorsProblem(.dataLengthMismatch(expected: position, actual: dataLength), at: bytes.count)
        }
        return (entries.map(\.descriptor), metadata, ranges)
    }

    private static func entry(_ name: String, _ value: MetadataValue) throws(SafetensorsProblem)
        -> (descriptor: TensorDescriptor, begin: Int, end: Int) {
        func bad(_ why: String) -> SafetensorsProblem { SafetensorsProblem(.badEntry(tensor: name, why), at: 8) }
        guard case .object(let fields) = value else { throw bad("entry is not an object") }
        var dtypeName: String?
        var shape: [Int]?
        var offsets: [Int]?
        func integers(_ value: MetadataValue) -> [Int]? {
            guard case .array(let elements) = value else { return nil }
            var out: [Int] = []
            for element in elements {
                guard case .int(let number) = element, number >= 0 else { return nil }
                out.append(number)
            }
            return out
        }
        for (key, field) in fields {
            switch key {
            case "dtype":
                guard case .string(let text) = field else { throw bad("dtype is not a string") }
                dtypeName = text
            case "shape":
                guard let dims = integers(field) else { throw bad("shape is not a list of non-negative integers") }
                shape = dims
            case "data_offsets":
                guard let pair = integers(field), pair.count == 2 else { throw bad("data_offsets is not two non-negative integers") }
                offsets = pair
            default:
                throw bad("unknown member '\(key)'")
            }
        }
        guard let dtypeName, let shape, let offsets else { throw bad("needs dtype, shape and data_offsets") }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw SafetensorsProblem(.unsupportedDType(tensor: name, dtypeName), at: 8)
        }
        guard let expected = CheckedMath.product(shape).flatMap({ CheckedMath.multiply($0, dtype.byteSize) }) else {
            throw SafetensorsProblem(.dimensionOverflow(tensor: name), at: 8)
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard end >= begin, end - begin == expected else {
            throw SafetensorsProblem(.byteLengthMismatch(tensor: name, expected: expected, stored: end >= begin ? end - begin : -1), at: 8)
        }
        return (TensorDescriptor(name: name, dtype: dtype, shape: shape), begin, end)
    }
}
