import WeightconvCore

/// A `.wcv` file opened for reading: mapped, its whole header validated, its tensors handed out in
/// place without copies.
///
/// Opening reads the preamble, the header and one padding page, never tensor data, so it costs the
/// same for a 1 KB and a 1 GB file. Tensor checksums are checked only by `verifyChecksums()`.
public final class WeightFile: TensorStore, @unchecked Sendable {
    public let path: String
    package let header: WeightFileHeader
    public let tensors: [TensorDescriptor]
    private let storage: MappedFile
    private let indexByName: [String: Int]

    /// Maps and validates `path`; throws a one-line `WeightconvError` naming what is wrong.
    public convenience init(path: String) throws {
        let storage = try MappedFile(path: path)
        try self.init(storage: storage, path: path)
    }

    /// Validates bytes already in memory (`path` is used in messages only).
    package init(storage: MappedFile, path: String) throws {
        do {
            header = try WeightFileHeader.validate(storage.bytes)
        } catch {
            throw error.weightconvError(file: path)
        }
        self.path = path
        self.storage = storage
        tensors = header.entries.map(\.descriptor)
        indexByName = Dictionary(header.entries.enumerated().map { ($1.descriptor.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The same validation with the typed problem, for callers that tell problems apart (tests, `check`).
    package static func validate(_ storage: MappedFile) throws(WeightFileProblem) -> WeightFileHeader {
        try WeightFileHeader.validate(storage.bytes)
    }

    /// The JSON document: architecture, preprocessing, provenance, verification record.
    public var document: WeightFileDocument { header.document }

    /// The user metadata of the file (section 5.5 of the spec).
    public var metadata: MetadataValue { header.document.metadata }

    public func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try body(bytes(of: name))
    }

    /// The tensor's bytes inside the mapping: 64-byte aligned, valid as long as this object lives.
    public func bytes(of name: String) throws -> UnsafeRawBufferPointer {
        guard let index = indexByName[name] else {
            throw WeightconvError(file: path, problem: "no tensor named '\(name)'", hint: "list the tensors with weightconv inspect")
        }
        return bytes(of: header.entries[index])
    }

    /// Drops the tensor's pages from this process's resident set, for a reader that has copied it
    /// (see ``MappedFile/releasePages(offset:count:)``); reading it again maps them back from the
    /// page cache or the file.
    package func releasePages(of name: String) {
        guard let index = indexByName[name] else { return }
        storage.releasePages(of: bytes(of: header.entries[index]))
    }

    private func bytes(of entry: WeightFileHeader.Entry) -> UnsafeRawBufferPointer {
        let start = header.dataOffset + entry.offset
        return UnsafeRawBufferPointer(rebasing: storage.bytes[start..<(start + entry.byteLength)])
    }

    /// The whole data section as one page-aligned buffer (for a no-copy GPU buffer).
    package var dataSection: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage.bytes[header.dataOffset..<(header.dataOffset + header.dataLength)])
    }

    /// The full integrity check (spec section 10): every tensor against its SHA-256 and every padding
    /// byte of the data section zero. Returns the first problem found, or `nil` when the file is intact.
    public func verifyChecksums() -> WeightFileProblem? {
        var paddingStart = header.dataOffset
        var previous: String?
        for entry in header.entries {
            let start = header.dataOffset + entry.offset
            if let nonZero = storage.bytes.firstNonZero(in: paddingStart..<start) {
                return WeightFileProblem(.nonZeroPadding(after: previous), at: nonZero)
            }
            var hasher = SHA256Hex.Hasher()
            hasher.update(bytes(of: entry))
            if hasher.finalizeBytes() != entry.sha256 {
                return WeightFileProblem(.tensorChecksumMismatch(tensor: entry.descriptor.name), at: start)
            }
            paddingStart = start + entry.byteLength
            previous = entry.descriptor.name
        }
        if let nonZero = storage.bytes.firstNonZero(in: paddingStart..<storage.bytes.count) {
            return WeightFileProblem(.nonZeroPadding(after: previous), at: nonZero)
        }
        return nil
    }
}
