import WeightconvCore

/// The header of one `.npy` array (versions 1-3): `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
/// Parsed by a small reader that accepts only that dict literal; nothing is evaluated.
///
/// Kept inside TorchCheckpoint for `.npz` reading; a shared `NumpyArray` in WeightconvCore may
/// replace it once it lands on main.
struct NpyHeader {
    var dtype: DType
    /// `>` byte order: the data is swapped to little-endian when read.
    var isBigEndian: Bool
    var shape: [Int]
    var dataOffset: Int
    var byteCount: Int

    static let maximumHeaderLength = 65_536

    /// Parses the header and checks that the data after it is exactly `shape × element size` bytes.
    static func parse(_ bytes: [UInt8], name: String) throws(PickleError) -> NpyHeader {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw PickleError(offset: 0, "\(name) does not start with the \\x93NUMPY magic")
        }
        let (length, start): (Int, Int)
        switch bytes[6] {
        case 1: (length, start) = (Int(bytes[8]) | Int(bytes[9]) << 8, 10)
        case 2, 3:
            guard bytes.count >= 12 else { throw PickleError(offset: 8, "\(name) header length is truncated") }
            (length, start) = (Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24, 12)
        default:
            throw PickleError(offset: 6, "\(name) has .npy format version \(bytes[6]), not 1 to 3")
        }
        guard length <= maximumHeaderLength, start + length <= bytes.count else {
            throw PickleError(offset: 8, "\(name) header of \(length) bytes does not fit in the \(bytes.count)-byte array")
        }
        guard let text = String(validating: bytes[start..<(start + length)], as: UTF8.self) else {
            throw PickleError(offset: start, "\(name) header is not text")
        }
        var descr: String?
        var fortran: Bool?
        var shape: [Int]?
        var scanner = Substring(text)
        func skipSpace() { scanner = scanner.drop { $0 == " " || $0 == "\n" || $0 == "\t" } }
        func take(_ c: Character) -> Bool {
            skipSpace()
            guard scanner.first == c else { return false }
            scanner = scanner.dropFirst()
            return true
        }
        func quoted() -> String? {
            skipSpace()
            guard let quote = scanner.first, quote == "'" || quote == "\"" else { return nil }
            let body = scanner.dropFirst()
            guard let close = body.firstIndex(of: quote) else { return nil }
            scanner = body[body.index(after: close)...]
            return String(body[..<close])
        }
        let bad = PickleError(offset: start, "\(name) header is not the dict literal NumPy writes")
        guard take("{") else { throw bad }
        while !take("}") {
            guard let key = quoted(), take(":") else { throw bad }
            switch key {
            case "descr":
                guard let value = quoted() else { throw bad }
                descr = value
            case "fortran_order":
                skipSpace()
                if scanner.hasPrefix("False") { fortran = false } else if scanner.hasPrefix("True") { fortran = true } else { throw bad }
                scanner = scanner.dropFirst(fortran == true ? 4 : 5)
            case "shape":
                guard take("(") else { throw bad }
                var dims: [Int] = []
                while !take(")") {
                    skipSpace()
                    let digits = scanner.prefix { $0.isASCII && $0.isNumber }
                    guard !digits.isEmpty, digits.count <= 18, let value = Int(digits) else { throw bad }
                    dims.append(value)
                    scanner = scanner.dropFirst(digits.count)
                    _ = take(",")
                    guard dims.count <= 64 else { throw bad }
                }
                shape = dims
            default:
                throw bad
            }
            _ = take(",")
        }
        guard let descr, let fortran, let shape else { throw bad }
        guard !fortran else { throw PickleError(offset: start, "\(name) is stored in Fortran order", hint: "save it with np.ascontiguousarray") }
        let types: [String: DType] = ["f8": .f64, "f4": .f32, "f2": .f16, "i8": .i64, "i4": .i32, "i2": .i16, "i1": .i8, "u1": .u8, "b1": .bool]
        guard descr.count == 3, let type = types[String(descr.dropFirst())], "<>|=".contains(descr.first ?? " ") else {
            throw PickleError(offset: start, "\(name) has dtype '\(descr.prefix(20))', which weightconv does not read",
                              hint: descr.contains("O") ? "object arrays hold pickles and are refused" : "numeric little- or big-endian arrays only")
        }
        guard let count = CheckedMath.product(shape), let byteCount = CheckedMath.multiply(count, type.byteSize) else {
            throw PickleError(offset: start, "\(name) shape \(shape) overflows")
        }
        let dataOffset = start + length
        guard bytes.count - dataOffset == byteCount else {
            throw PickleError(offset: dataOffset, "\(name) shape \(shape) needs \(byteCount) bytes of data, the array has \(bytes.count - dataOffset)")
        }
        return NpyHeader(dtype: type, isBigEndian: descr.first == ">" && type.byteSize > 1, shape: shape,
                         dataOffset: dataOffset, byteCount: byteCount)
    }
}
