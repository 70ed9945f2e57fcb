import WeightconvCore

/// The constants and offset arithmetic of `.wcv` version 1 (docs/wcv-format.md), shared by the
/// writer and the reader so the two cannot drift apart.
package enum WCVFormat {
    package static let magic: [UInt8] = [0x89, 0x57, 0x43, 0x56, 0x0D, 0x0A, 0x1A, 0x0A]
    package static let version: UInt32 = 1
    /// Required-feature bits this reader implements (none in version 1).
    package static let knownRequiredFlags: UInt32 = 0
    package static let preambleSize = 40
    package static let checksumSize = 32
    package static let minimumHeaderLength = 6
    package static let maximumHeaderLength = 16 << 20
    /// 16 KiB: the page size of Apple silicon, a multiple of every other common page size.
    package static let pageSize = 16384
    package static let tensorAlignment = 64
    package static let maximumNameLength = 1024
    package static let maximumRank = 8
    /// Name length field, ≥1 name byte, dtype, rank, offset, byte length, sha256.
    package static let smallestEntrySize = 2 + 1 + 1 + 1 + 8 + 8 + 32
    package static let verifyInputName = "__verify__.input"
    package static let verifyLogitsName = "__verify__.logits"

    /// The dtype's code in the tensor table.
    package static func code(of dtype: DType) -> UInt8 {
        switch dtype {
        case .f32: 1
        case .f16: 2
        case .bf16: 3
        case .f64: 4
        case .i64: 5
        case .i32: 6
        case .i16: 7
        case .i8: 8
        case .u8: 9
        case .bool: 10
        }
    }

    package static func dtype(code: UInt8) -> DType? {
        DType.allCases.first { WCVFormat.code(of: $0) == code }
    }

    /// Where the data section starts for a header of `headerLength` bytes.
    static func dataOffset(headerLength: Int) -> Int? {
        CheckedMath.add(preambleSize + checksumSize, headerLength).flatMap { CheckedMath.alignUp($0, to: pageSize) }
    }
}

/// One row of the binary tensor table, exactly as stored.
struct TableEntry: Equatable {
    var name: String
    var dtypeCode: UInt8
    var dims: [UInt64]
    var offset: UInt64
    var byteLength: UInt64
    var sha256: [UInt8]

    /// Bytes this entry occupies in the table.
    var encodedSize: Int { 2 + name.utf8.count + 2 + 8 * dims.count + 16 + 32 }

    func encode(into out: inout [UInt8]) {
        let nameBytes = Array(name.utf8)
        out.appendLittleEndian(UInt16(truncatingIfNeeded: nameBytes.count))
        out.append(contentsOf: nameBytes)
        out.append(dtypeCode)
        out.append(UInt8(truncatingIfNeeded: dims.count))
        for dim in dims { out.appendLittleEndian(dim) }
        out.appendLittleEndian(offset)
        out.appendLittleEndian(byteLength)
        out.append(contentsOf: sha256)
    }
}

extension [UInt8] {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    /// A little-endian integer at `offset`; callers have bounds-checked `offset + size`.
    func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The index of the first non-zero byte in `range`, checking eight bytes at a time.
    func firstNonZero(in range: Range<Int>) -> Int? {
        var index = range.lowerBound
        while index + 8 <= range.upperBound {
            if loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { break }
            index += 8
        }
        while index < range.upperBound {
            if self[index] != 0 { return index }
            index += 1
        }
        return nil
    }
}
