/// What a file is, decided from its first bytes (and, for zip archives, its entry names) before any
/// parser runs, so a user who downloaded an HTML error page or a Git LFS pointer is told so instead
/// of getting a pickle error.
public enum FileKind: String, Sendable, CaseIterable {
    case empty
    /// A zip archive whose entries have not been looked at yet (see `refinedZip(entryNames:)`).
    case zipArchive = "zip"
    /// `torch.save` since torch 1.6: `<top>/data.pkl` plus `<top>/data/<key>` storages.
    case torchZipCheckpoint = "pytorch-zip"
    /// `torch.jit.save`: holds code, not a state_dict.
    case torchScriptArchive = "torchscript"
    /// `torch.save(…, _use_new_zipfile_serialization=False)`: magic number, pickles, raw storages.
    case legacyCheckpoint = "pytorch-legacy"
    /// A bare pickle stream (no storages can be attached to it).
    case pickle
    case safetensors
    /// weightconv's native weight file.
    case wcv
    case numpyArray = "npy"
    case numpyArchive = "npz"
    case gitLFSPointer = "git-lfs-pointer"
    case html
    case gzip
    case tar
    case sevenZip = "7z"
    case unknown

    /// A phrase for messages: "a Git LFS pointer", "a PyTorch checkpoint (zip format)".
    package var phrase: String {
        switch self {
        case .empty: "an empty file"
        case .zipArchive: "a zip archive"
        case .torchZipCheckpoint: "a PyTorch checkpoint (zip format)"
        case .torchScriptArchive: "a TorchScript archive"
        case .legacyCheckpoint: "a PyTorch checkpoint (legacy format, torch < 1.6)"
        case .pickle: "a Python pickle"
        case .safetensors: "a safetensors file"
        case .wcv: "a weightconv weight file"
        case .numpyArray: "a NumPy .npy array"
        case .numpyArchive: "a NumPy .npz archive"
        case .gitLFSPointer: "a Git LFS pointer (the real file was never downloaded)"
        case .html: "an HTML page"
        case .gzip: "a gzip file"
        case .tar: "a tar archive"
        case .sevenZip: "a 7-Zip archive"
        case .unknown: "not a format weightconv knows"
        }
    }

    /// How many leading bytes `sniff` wants to see.
    package static let sniffLength = 64

    /// The 10-byte little-endian magic number torch's legacy format pickles first
    /// (`0x1950a86a20f9469cfc6c`), as LONG1 writes it.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Classifies a file from its first bytes. Zip archives come back as `.zipArchive`; list the
    /// entries and call `refinedZip(entryNames:)` to tell checkpoints from TorchScript and npz.
    package static func sniff(_ prefix: [UInt8]) -> FileKind {
        if prefix.isEmpty { return .empty }
        func starts(_ magic: [UInt8]) -> Bool { prefix.count >= magic.count && Array(prefix.prefix(magic.count)) == magic }
        func startsText(_ text: String) -> Bool { starts(Array(text.utf8)) }

        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return .zipArchive }
        if starts([0x89, 0x57, 0x43, 0x56, 0x0D, 0x0A, 0x1A, 0x0A]) { return .wcv }
        if starts([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return .numpyArray }  // \x93NUMPY
        if starts([0x1F, 0x8B]) { return .gzip }
        if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return .sevenZip }
        if startsText("version https://git-lfs") { return .gitLFSPointer }
        if isLegacyCheckpoint(prefix) { return .legacyCheckpoint }
        // Before the pickle test: a safetensors header of 896 bytes starts `80 03`, like a protocol 3
        // pickle, but a pickle never has the zero bytes and `{` that follow.
        if looksLikeSafetensors(prefix) { return .safetensors }
        if prefix.count >= 2, prefix[0] == 0x80, prefix[1] <= 5 { return .pickle }
        if prefix.count >= 262, Array(prefix[257..<262]) == Array("ustar".utf8) { return .tar }
        if looksLikeHTML(prefix) { return .html }
        // Protocol 0 and 1 pickles have no header: accept the opcodes a pickle can start with.
        if let first = prefix.first, protocolZeroStarts.contains(first) { return .pickle }
        return .unknown
    }

    /// Refines `.zipArchive` from the entry names: TorchScript first (it also has a `data.pkl`), then
    /// a torch checkpoint, then npz.
    package static func refinedZip(entryNames: [String]) -> FileKind {
        func topRecord(_ name: String) -> (top: Substring, rest: Substring)? {
            guard let slash = name.firstIndex(of: "/") else { return nil }
            return (name[..<slash], name[name.index(after: slash)...])
        }
        var hasDataPickle = false
        for name in entryNames {
            guard let (_, rest) = topRecord(name) else { continue }
            if rest == "constants.pkl" || rest.hasPrefix("code/") { return .torchScriptArchive }
            if rest == "data.pkl" { hasDataPickle = true }
        }
        if hasDataPickle { return .torchZipCheckpoint }
        if !entryNames.isEmpty && entryNames.allSatisfy({ $0.hasSuffix(".npy") }) { return .numpyArchive }
        return .zipArchive
    }

    static func isLegacyCheckpoint(_ prefix: [UInt8]) -> Bool {
        // Protocol 2 and 3: PROTO n, LONG1 10 <magic>. Protocol 4 and 5 put a FRAME (9 bytes) first.
        guard prefix.count >= 2, prefix[0] == 0x80, (2...5).contains(prefix[1]) else {
            // Protocols 0 and 1 write the number as text: `L119547037146038801333356L\n`.
            return Array(prefix.prefix(27)) == Array("L119547037146038801333356L\n".utf8)
        }
        var index = 2
        if prefix.count > index, prefix[index] == 0x95 { index += 9 }
        guard prefix.count >= index + 12, prefix[index] == 0x8A, prefix[index + 1] == 10 else { return false }
        return Array(prefix[(index + 2)..<(index + 12)]) == legacyMagic
    }

    static func looksLikeHTML(_ prefix: [UInt8]) -> Bool {
        let text = String(decoding: prefix.prefix(32), as: UTF8.self)
            .drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == "\u{FEFF}" }
            .lowercased()
        return text.hasPrefix("<!doctype") || text.hasPrefix("<html") || text.hasPrefix("<head")
    }

    /// 8-byte little-endian header length, then a JSON object.
    static func looksLikeSafetensors(_ prefix: [UInt8]) -> Bool {
        guard prefix.count >= 9 else { return false }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(prefix[i]) << (8 * UInt64(i)) }
        return length >= 2 && length < 100_000_000 && prefix[8] == UInt8(ascii: "{")
    }

    /// MARK, GLOBAL, the container and scalar opcodes of protocols 0 and 1.
    static let protocolZeroStarts: Set<UInt8> = Set("(c}])NIJKLMFGSTUVXPgdlt".utf8)
}
