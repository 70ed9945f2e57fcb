import FuzzSupport
import WeightconvCore
import WeightFormat

/// The `.wcv` reader and its full integrity check. Every input is tried as it is and, when the
/// header length is plausible, again with the header checksum recomputed: otherwise nearly every
/// mutation would stop at the checksum and the table and JSON parsers would never be reached.
enum FuzzWeightFile {
    static func run(_ bytes: [UInt8]) {
        guard let file = try? WeightFile(storage: MappedFile.copying(bytes), path: "fuzz.wcv") else { return }
        _ = file.verifyChecksums()
        FuzzSupport.touchEverything(file)
        _ = file.document.architecture
        _ = file.dataSection.count
    }

    /// The input with bytes `[40 + H, 72 + H)` replaced by the SHA-256 of `[0, 40 + H)`.
    static func resealed(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 72 else { return nil }
        var length = 0
        for i in 0..<8 { length |= Int(bytes[16 + i]) << (8 * i) }
        guard length >= 0, length <= bytes.count - 72 else { return nil }
        let headerEnd = 40 + length
        let digest = bytes.withUnsafeBytes { buffer -> [UInt8] in
            var hasher = SHA256Hex.Hasher()
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<headerEnd]))
            return hasher.finalizeBytes()
        }
        var out = bytes
        out.replaceSubrange(headerEnd..<(headerEnd + 32), with: digest)
        return out == bytes ? nil : out
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    FuzzWeightFile.run(bytes)
    if let resealed = FuzzWeightFile.resealed(bytes) { FuzzWeightFile.run(resealed) }
    return 0
}
