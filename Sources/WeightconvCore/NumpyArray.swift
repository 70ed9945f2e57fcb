/// An array read from a `.npy` file (NumPy's format, versions 1 to 3): its element type, shape
/// and little-endian C-order bytes. Nothing in the header is evaluated; the header is a Python
/// dict literal read by a small parser that accepts only what NumPy writes. The one `.npy` reader:
/// whole files here, and each entry of an `.npz` archive (TorchCheckpoint's `NumpyArchive`).
package struct NumpyArray: Sendable, Equatable {
    package var dtype: DType
    /// `[]` for a 0-d array.
    package var shape: [Int]
    /// Exactly `shape.product × dtype.byteSize` bytes, little-endian (big-endian files are swapped).
    package var data: [UInt8]

    /// Headers longer than this are refused before they are read: NumPy writes a few hundred bytes.
    package static let maximumHeaderLength = 65_536
    /// More dimensions than this are refused (NumPy's own limit is 64).
    package static let maximumRank = 64

    /// Parses a whole `.npy` file. `file` names it in error messages.
    package init(bytes: [UInt8], file: String) throws(WeightconvError) {
        do {
            self = try NumpyArray(parsing: bytes)
        } catch {
            throw WeightconvError(file: file, problem: "not a readable .npy file: \(error.problem) at byte \(error.offset)",
                                  hint: error.hint, cause: error)
        }
    }

    /// A little-endian float32 array of `shape` (`values.count` must be the shape's product).
    package init(float32 values: [Float], shape: [Int]) {
        precondition(CheckedMath.product(shape) == values.count, "NumpyArray: \(values.count) values for shape \(shape)")
        dtype = .f32
        self.shape = shape
        data = values.withUnsafeBytes { raw in (0..<values.count).flatMap { i -> [UInt8] in
            let bits = raw.load(fromByteOffset: i * 4, as: UInt32.self).littleEndian
            return [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                    UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)]
        } }
    }

    /// The array as a `.npy` file (format 1.0, what `np.save` writes for it).
    package func encoded() -> [UInt8] {
        let descr: String
        switch dtype {
        case .f32: descr = "<f4"
        case .f64: descr = "<f8"
        case .f16: descr = "<f2"
        case .i64: descr = "<i8"
        case .i32: descr = "<i4"
        case .u8: descr = "|u1"
        case .bool: descr = "|b1"
        case .i16: descr = "<i2"
        case .i8: descr = "|i1"
        case .bf16: descr = "|V2"  // NumPy has no bfloat16

        }
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }".utf8)
        // Magic (6) + version (2) + length (2) + header + newline, padded with spaces to 64 bytes.
        let unpadded = 10 + header.count + 1
        header += [UInt8](repeating: 0x20, count: (64 - unpadded % 64) % 64) + [0x0A]
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + data
    }

    /// The elements as `Float` (widened from f16/f64); integer arrays are refused.
    package func floats(file: String) throws -> [Float] {
        try data.withUnsafeBytes { try FloatConversion.floats(from: $0, dtype: dtype, file: file) }
    }

    /// What went wrong, where, and a hint.
    package struct ParseError: Error, Sendable {
        package var problem: String
        package var offset: Int
        package var hint: String
    }

    /// Parses one `.npy` array; `bytes` becomes its data in place (no second copy of a large array).
    package init(parsing bytes: consuming [UInt8]) throws(ParseError) {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw ParseError(problem: "missing the \\x93NUMPY magic", offset: 0, hint: "the file is not a NumPy .npy array")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else {
                throw ParseError(problem: "truncated header length", offset: 8, hint: "the file is cut short")
            }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw ParseError(problem: "unsupported format version \(major).\(bytes[7])", offset: 6, hint: "versions 1, 2 and 3 are supported")
        }
        guard headerLength <= Self.maximumHeaderLength else {
            throw ParseError(problem: "header of \(headerLength) bytes exceeds \(Self.maximumHeaderLength)", offset: 8,
                             hint: "a NumPy header is a short dict literal")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw ParseError(problem: "header of \(headerLength) bytes runs past the end of the file (\(bytes.count) bytes)",
                             offset: headerStart, hint: "the file is cut short")
        }
        let dataStart = headerStart + headerLength
        guard String(validating: bytes[headerStart..<dataStart], as: UTF8.self) != nil else {
            throw ParseError(problem: "header is not text", offset: headerStart, hint: "NumPy writes the header as ASCII")
        }
        let header = try HeaderParser.parse(bytes, start: headerStart, end: dataStart)
        guard let descr = header.descr else {
            throw ParseError(problem: "header has no 'descr'", offset: headerStart, hint: "NumPy always writes descr, fortran_order and shape")
        }
        guard case let (dtype, isBigEndian)? = Self.elementType(descr) else {
            throw ParseError(problem: "unsupported dtype '\(descr.prefix(20))'", offset: headerStart,
                             hint: descr.contains("O") ? "object arrays hold pickles and are refused"
                                 : "supported: f8 f4 f2 i8 i4 i2 i1 u1 b1, little- or big-endian")
        }
        guard let fortran = header.fortranOrder else {
            throw ParseError(problem: "header has no 'fortran_order'", offset: headerStart, hint: "NumPy always writes it")
        }
        guard !fortran else {
            throw ParseError(problem: "Fortran-ordered data", offset: headerStart, hint: "save the array with np.ascontiguousarray first")
        }
        guard let shape = header.shape else {
            throw ParseError(problem: "header has no 'shape'", offset: headerStart, hint: "NumPy always writes it")
        }
        guard let count = CheckedMath.product(shape), let byteCount = CheckedMath.multiply(count, dtype.byteSize) else {
            throw ParseError(problem: "shape \(shape) overflows", offset: headerStart, hint: "the header is corrupt")
        }
        let available = bytes.count - dataStart
        guard byteCount == available else {
            throw ParseError(problem: "shape \(shape) of \(descr) needs \(byteCount) data bytes, the file has \(available)",
                             offset: dataStart, hint: byteCount > available ? "the file is cut short" : "trailing bytes after the array")
        }
        var data = consume bytes
        data.removeSubrange(0..<dataStart)
        if isBigEndian { data.withUnsafeMutableBytes { swapByteOrder($0, elementSize: dtype.byteSize) } }
        self.init(dtype: dtype, shape: shape, data: data)
    }

    /// The element type a `descr` such as `<f4` or `>i8` names, and whether its bytes are big-endian.
    static func elementType(_ descr: String) -> (DType, Bool)? {
        let types: [Substring: DType] = ["f8": .f64, "f4": .f32, "f2": .f16, "i8": .i64, "i4": .i32, "i2": .i16, "i1": .i8,
                                         "u1": .u8, "b1": .bool]
        guard descr.count == 3, let order = descr.first, "<>|=".contains(order), let dtype = types[descr.dropFirst()] else { return nil }
        return (dtype, order == ">" && dtype.byteSize > 1)
    }

    init(dtype: DType, shape: [Int], data: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }
}

/// Reads the dict literal NumPy writes: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
private struct HeaderParser {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    struct Header {
        var descr: String?
        var fortranOrder: Bool?
        var shape: [Int]?
    }

    init(bytes: [UInt8], start: Int, end: Int) {
        self.bytes = bytes
        self.position = start
        self.end = end
    }

    private func fail(_ problem: String) -> NumpyArray.ParseError {
        NumpyArray.ParseError(problem: problem, offset: position, hint: "the header is not the dict literal NumPy writes")
    }

    private mutating func skipSpace() {
        while position < end, [0x20, 0x0A, 0x09, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ character: UInt8) throws(NumpyArray.ParseError) {
        skipSpace()
        guard position < end, bytes[position] == character else {
            throw fail("expected '\(Character(Unicode.Scalar(character)))'")
        }
        position += 1
    }

    private mutating func peek(_ character: UInt8) -> Bool {
        skipSpace()
        return position < end && bytes[position] == character
    }

    private mutating func string() throws(NumpyArray.ParseError) -> String {
        skipSpace()
        guard position < end, bytes[position] == 0x27 || bytes[position] == 0x22 else { throw fail("expected a quoted string") }
        let quote = bytes[position]
        position += 1
        let start = position
        while position < end, bytes[position] != quote {
            guard bytes[position] != 0x5C else { throw fail("escapes are not expected in a header string") }
            position += 1
        }
        guard position < end else { throw fail("unterminated string") }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        position += 1
        return text
    }

    private mutating func integer() throws(NumpyArray.ParseError) -> Int {
        skipSpace()
        var value = 0
        let start = position
        while position < end, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            guard let next = CheckedMath.multiply(value, 10).flatMap({ CheckedMath.add($0, Int(bytes[position] - 0x30)) }) else {
                throw fail("dimension overflows")
            }
            value = next
            position += 1
        }
        guard position > start else { throw fail("expected a non-negative integer") }
        // NumPy 1.x wrote Python 2 longs on some platforms: `(2L, 3L)`.
        if position < end, bytes[position] == 0x4C { position += 1 }
        return value
    }

    private mutating func word() -> String {
        skipSpace()
        let start = position
        while position < end, (bytes[position] >= 0x41 && bytes[position] <= 0x5A) || (bytes[position] >= 0x61 && bytes[position] <= 0x7A) {
            position += 1
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// The header dict between `start` and `end`; the parser (and its reference to `bytes`) ends here.
    static func parse(_ bytes: [UInt8], start: Int, end: Int) throws(NumpyArray.ParseError) -> Header {
        var parser = HeaderParser(bytes: bytes, start: start, end: end)
        return try parser.parseDictionary()
    }

    mutating func parseDictionary() throws(NumpyArray.ParseError) -> Header {
        var header = Header()
        try expect(0x7B) // {
        while !peek(0x7D) {
            let key = try string()
            try expect(0x3A) // :
            switch key {
            case "descr":
                guard header.descr == nil else { throw fail("duplicate key 'descr'") }
                header.descr = try string()
            case "fortran_order":
                guard header.fortranOrder == nil else { throw fail("duplicate key 'fortran_order'") }
                switch word() {
                case "True": header.fortranOrder = true
                case "False": header.fortranOrder = false
                default: throw fail("fortran_order must be True or False")
                }
            case "shape":
                guard header.shape == nil else { throw fail("duplicate key 'shape'") }
                try expect(0x28) // (
                var dimensions: [Int] = []
                while !peek(0x29) {
                    guard dimensions.count < NumpyArray.maximumRank else { throw fail("more than \(NumpyArray.maximumRank) dimensions") }
                    dimensions.append(try integer())
                    if !peek(0x29) { try expect(0x2C) }
                }
                try expect(0x29)
                header.shape = dimensions
            default:
                throw fail("unexpected key '\(key)'")
            }
            if !peek(0x7D) { try expect(0x2C) }
        }
        try expect(0x7D)
        return header
    }
}
