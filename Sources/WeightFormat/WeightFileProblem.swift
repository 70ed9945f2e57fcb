import WeightconvCore

/// Everything that can be wrong with a `.wcv` file, each with the file offset where it was found.
///
/// The reader throws these (typed) so tests can tell the kinds apart; `weightconvError(file:)` turns
/// one into the single line a user reads.
public struct WeightFileProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case tooShort
        case badMagic
        case unsupportedVersion(UInt32)
        case unknownRequiredFlags(UInt32)
        case headerLengthOutOfRange(UInt64)
        case truncatedHeader
        case headerChecksumMismatch
        case badDataOffset
        case badDataLength
        case tooManyTensors
        case tableBeyondHeader
        case badName(String)
        case duplicateName(String)
        case unknownDType(tensor: String, code: UInt8)
        case rankTooLarge(tensor: String, rank: Int)
        case dimensionOverflow(tensor: String)
        case byteLengthMismatch(tensor: String, expected: Int, stored: UInt64)
        case misalignedOffset(tensor: String)
        case overlap(tensor: String)
        case outOfBounds(tensor: String)
        case gap(tensor: String)
        case dataLengthMismatch
        case truncatedData(tensor: String?, fileSize: Int, expected: Int)
        case trailingBytes(fileSize: Int, expected: Int)
        case json(JSONProblem)
        case schema(String)
        case nonZeroPadding(after: String?)
        case tensorChecksumMismatch(tensor: String)
        case io(String)
    }

    public var kind: Kind
    /// Absolute file offset of the damaged or offending bytes.
    public var offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// The tensor the problem is in, if it is in one.
    public var tensor: String? {
        switch kind {
        case .unknownDType(let name, _), .rankTooLarge(let name, _), .dimensionOverflow(let name),
             .byteLengthMismatch(let name, _, _), .misalignedOffset(let name), .overlap(let name),
             .outOfBounds(let name), .gap(let name), .tensorChecksumMismatch(let name), .duplicateName(let name):
            name
        case .truncatedData(let name, _, _): name
        default: nil
        }
    }

    public var description: String {
        let at = "at byte \(offset)"
        switch kind {
        case .tooShort: return "file is too short to be a .wcv file (\(offset) bytes)"
        case .badMagic: return "not a .wcv file: the first 8 bytes are not the .wcv magic"
        case .unsupportedVersion(let version): return "header: .wcv version \(version) is not supported (this reader reads version 1)"
        case .unknownRequiredFlags(let flags): return "header: required feature flags 0x\(String(flags, radix: 16)) are not known to this reader"
        case .headerLengthOutOfRange(let length): return "header: length \(length) is outside 6…16777216 bytes"
        case .truncatedHeader: return "header: the file ends inside the header (\(at))"
        case .headerChecksumMismatch: return "header: checksum mismatch, the header (bytes 0..<\(offset)) is damaged"
        case .badDataOffset: return "header: data section offset is not the one the header length implies"
        case .badDataLength: return "header: data section length is not a multiple of 16384"
        case .tooManyTensors: return "header: tensor count exceeds what the header can hold"
        case .tableBeyondHeader: return "header: the tensor table runs past the end of the header (\(at))"
        case .badName(let why): return "header: invalid tensor name \(at): \(why)"
        case .duplicateName(let name): return "header: tensor name '\(name)' appears twice (\(at))"
        case .unknownDType(let name, let code): return "header: tensor '\(name)' has unknown dtype code \(code)"
        case .rankTooLarge(let name, let rank): return "header: tensor '\(name)' has rank \(rank), more than 8"
        case .dimensionOverflow(let name): return "header: tensor '\(name)' has a shape whose byte size overflows"
        case .byteLengthMismatch(let name, let expected, let stored):
            return "header: tensor '\(name)' stores \(stored) bytes but its shape and dtype need \(expected)"
        case .misalignedOffset(let name): return "header: tensor '\(name)' offset is not a multiple of 64"
        case .overlap(let name): return "header: tensor '\(name)' overlaps the tensor before it"
        case .outOfBounds(let name): return "header: tensor '\(name)' extends past the end of the data section"
        case .gap(let name): return "header: tensor '\(name)' is not at its canonical offset (a gap before it)"
        case .dataLengthMismatch: return "header: data section length does not match the tensors"
        case .truncatedData(let name, let size, let expected):
            let hit = name.map { ", first tensor cut: '\($0)'" } ?? ""
            return "truncated: file is \(size) bytes but the header describes \(expected)\(hit)"
        case .trailingBytes(let size, let expected): return "file is \(size) bytes but the header describes \(expected): extra bytes at the end"
        case .json(let problem): return "header: \(problem)"
        case .schema(let message): return "header: \(message)"
        case .nonZeroPadding(let name):
            return "padding \(name.map { "after tensor '\($0)'" } ?? "before the data section") is not zero \(at)"
        case .tensorChecksumMismatch(let name): return "tensor '\(name)' (starting \(at)) does not match its SHA-256"
        case .io(let message): return message
        }
    }

    public func weightconvError(file: String) -> WeightconvError {
        let hint: String
        switch kind {
        case .badMagic, .tooShort: hint = "expected a file written by weightconv import"
        case .unsupportedVersion, .unknownRequiredFlags: hint = "a newer weightconv wrote it; upgrade weightconv"
        case .io: hint = "check the path and permissions"
        case .nonZeroPadding, .tensorChecksumMismatch, .truncatedData, .headerChecksumMismatch, .truncatedHeader:
            hint = "the file is damaged; restore it or convert the source again"
        default: hint = "the file is damaged or was not written by weightconv; convert the source again"
        }
        return WeightconvError(file: file, problem: description, hint: hint)
    }
}
