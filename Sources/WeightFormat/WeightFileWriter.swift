import WeightconvCore

/// Writes `.wcv` files in the canonical structure of docs/wcv-format.md.
///
/// Tensors are streamed one at a time from their source into a temporary file beside the
/// destination; the header (which holds their checksums) is written last, then the file is synced
/// and renamed into place. On any error the temporary file is deleted and an existing destination
/// is left untouched.
package struct WeightFileWriter {
    /// Paths that must never be overwritten (the inputs of the conversion).
    package var protectedPaths: [String]
    /// Where the temporary file is announced while it exists, for an interrupt handler to delete it.
    package var temporaryFiles: TemporaryFileRegistry?

    package init(protectedPaths: [String] = [], temporaryFiles: TemporaryFileRegistry? = nil) {
        self.protectedPaths = protectedPaths
        self.temporaryFiles = temporaryFiles
    }

    /// What was written.
    package struct Summary: Sendable, Equatable {
        package var fileSize: Int
        package var tensorCount: Int
        package var dataBytes: Int
    }

    /// Writes `tensors` (in this order, which is the table order) and `document` to `path`.
    ///
    /// - Parameter completing: called once the tensors are written, for the document the header
    ///   finally holds; its JSON must be exactly as long as `document`'s, since the data was placed
    ///   after it. It lets a value computed alongside the writes (the source's SHA-256, 64 hex
    ///   digits in place of 64 zeros) land in the header without a second pass.
    @discardableResult
    package func write(_ tensors: [PendingTensor], document: WeightFileDocument, to path: String,
                      completing: (() throws -> WeightFileDocument)? = nil) throws -> Summary {
        var plan = try Plan(tensors: tensors, document: document, file: path)
        let output = try AtomicOutputFile.create(destination: path, protecting: protectedPaths, registry: temporaryFiles)
        do {
            try output.setLength(plan.fileSize)
            for index in tensors.indices {
                plan.table[index].sha256 = try stream(tensors[index], at: plan.dataOffset + Int(plan.table[index].offset), into: output)
            }
            if let completing {
                let final = try completing().canonicalJSON(tableOrder: tensors.map(\.name))
                guard final.count == plan.json.count else {
                    throw WeightconvError(file: path, problem: "the completed document is \(final.count) bytes of JSON, planned as \(plan.json.count)",
                                          hint: "this is a bug in the caller of the writer; the file was not written")
                }
                plan.json = final
            }
            let head = plan.headerBytes()
            try head.withUnsafeBytes { buffer in try output.write(buffer, at: 0) }
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
        return Summary(fileSize: plan.fileSize, tensorCount: tensors.count, dataBytes: plan.dataLength)
    }

    /// Copies one tensor into place, hashing it on the way; returns its SHA-256.
    private func stream(_ tensor: PendingTensor, at offset: Int, into output: AtomicOutputFile) throws -> [UInt8] {
        var hasher = SHA256Hex.Hasher()
        var written = 0
        try tensor.produce { piece in
            guard piece.count <= tensor.byteCount - written else {
                throw WeightconvError(file: output.destination, problem: "tensor '\(tensor.name)' produced more than its \(tensor.byteCount) bytes")
            }
            hasher.update(piece)
            try output.write(piece, at: offset + written)
            written += piece.count
        }
        guard written == tensor.byteCount else {
            throw WeightconvError(file: output.destination, problem: "tensor '\(tensor.name)' produced \(written) of its \(tensor.byteCount) bytes")
        }
        return hasher.finalizeBytes()
    }

    /// Where every byte goes, computed before any byte is written: the header's size does not depend on the
    /// checksums (fixed 32 bytes each), so the data can be placed first and the header filled in last.
    private struct Plan {
        var table: [TableEntry]
        var json: [UInt8]
        var headerLength: Int
        var dataOffset: Int
        var dataLength: Int
        var fileSize: Int

        init(tensors: [PendingTensor], document: WeightFileDocument, file: String) throws {
            func refuse(_ problem: String) -> WeightconvError {
                WeightconvError(file: file, problem: problem, hint: "this is a bug in the caller of the writer; the file was not written")
            }
            var names = Set<String>()
            var end = 0
            table = []
            for tensor in tensors {
                let nameLength = tensor.name.utf8.count
                guard nameLength >= 1, nameLength <= WCVFormat.maximumNameLength else {
                    throw refuse("tensor name '\(tensor.name)' must be 1…1024 bytes of UTF-8")
                }
                guard !tensor.name.utf8.contains(0) else { throw refuse("tensor name '\(tensor.name)' contains NUL") }
                guard names.insert(tensor.name).inserted else { throw refuse("tensor name '\(tensor.name)' appears twice") }
                guard tensor.shape.count <= WCVFormat.maximumRank else { throw refuse("tensor '\(tensor.name)' has rank \(tensor.shape.count), more than 8") }
                guard let offset = CheckedMath.alignUp(end, to: WCVFormat.tensorAlignment),
                      let next = CheckedMath.add(offset, tensor.byteCount) else {
                    throw refuse("the data section size overflows")
                }
                table.append(TableEntry(name: tensor.name, dtypeCode: WCVFormat.code(of: tensor.dtype),
                                        dims: tensor.shape.map { UInt64($0) }, offset: UInt64(offset),
                                        byteLength: UInt64(tensor.byteCount), sha256: [UInt8](repeating: 0, count: 32)))
                end = next
            }
            if let stray = document.originalKeys.keys.sorted().first(where: { !names.contains($0) }) {
                throw refuse("original_keys names '\(stray)', which is not a tensor being written")
            }
            if let record = document.verification {
                for name in [record.inputTensor, record.logitsTensor] {
                    guard let tensor = tensors.first(where: { $0.name == name }), tensor.dtype == .f32 else {
                        throw refuse("the verification record needs an f32 tensor '\(name)'")
                    }
                }
            }
            guard case .object = document.metadata else { throw refuse("user metadata must be an object") }
            if let architecture = document.architecture, case .object = architecture.config {} else if document.architecture != nil {
                throw refuse("the architecture configuration must be an object")
            }
            json = document.canonicalJSON(tableOrder: tensors.map(\.name))
            headerLength = 4 + table.reduce(0) { $0 + $1.encodedSize } + json.count
            guard headerLength <= WCVFormat.maximumHeaderLength, let dataOffset = WCVFormat.dataOffset(headerLength: headerLength),
                  let dataLength = CheckedMath.alignUp(end, to: WCVFormat.pageSize),
                  let fileSize = CheckedMath.add(dataOffset, dataLength) else {
                throw WeightconvError(file: file, problem: "the header would be \(headerLength) bytes, more than the 16 MiB limit",
                                      hint: "store less user metadata")
            }
            self.dataOffset = dataOffset
            self.dataLength = dataLength
            self.fileSize = fileSize
        }

        /// Preamble, header and header checksum: bytes `[0, 72 + H)`.
        func headerBytes() -> [UInt8] {
            var out = WCVFormat.magic
            out.reserveCapacity(WCVFormat.preambleSize + headerLength + WCVFormat.checksumSize)
            out.appendLittleEndian(WCVFormat.version)
            out.appendLittleEndian(UInt32(0))
            out.appendLittleEndian(UInt64(headerLength))
            out.appendLittleEndian(UInt64(dataOffset))
            out.appendLittleEndian(UInt64(dataLength))
            out.appendLittleEndian(UInt32(table.count))
            for entry in table { entry.encode(into: &out) }
            out.append(contentsOf: json)
            var hasher = SHA256Hex.Hasher()
            out.withUnsafeBytes { hasher.update($0) }
            out.append(contentsOf: hasher.finalizeBytes())
            return out
        }
    }
}
