import WeightconvCore

/// A `.wcv` header that has passed every check of docs/wcv-format.md section 9; nothing in it is
/// trusted before that.
package struct WeightFileHeader: Sendable {
    /// One tensor of the table, with its location inside the data section.
    package struct Entry: Sendable, Equatable {
        package var descriptor: TensorDescriptor
        /// Relative to the data section start.
        package var offset: Int
        package var byteLength: Int
        package var sha256: [UInt8]
    }

    package var headerLength: Int
    /// Absolute offset of the data section (a multiple of 16384).
    package var dataOffset: Int
    package var dataLength: Int
    package var entries: [Entry]
    package var document: WeightFileDocument

    /// Validates the preamble, header checksum, tensor table, tensor offsets, file size, JSON document and
    /// header padding of the file in `bytes`. Reads nothing of the tensor data.
    static func validate(_ bytes: UnsafeRawBufferPointer) throws(WeightFileProblem) -> WeightFileHeader {
        let fileSize = bytes.count
        guard fileSize >= WCVFormat.preambleSize + WCVFormat.checksumSize else {
            if fileSize >= 8, !zip(bytes.prefix(8), WCVFormat.magic).allSatisfy({ $0 == $1 }) {
                throw WeightFileProblem(.badMagic, at: 0)
            }
            throw WeightFileProblem(.tooShort, at: fileSize)
        }
        guard zip(bytes.prefix(8), WCVFormat.magic).allSatisfy({ $0 == $1 }) else { throw WeightFileProblem(.badMagic, at: 0) }

        // 2. Version and flags, before any length is believed.
        let version = bytes.readLittleEndian(UInt32.self, at: 8)
        guard version == WCVFormat.version else { throw WeightFileProblem(.unsupportedVersion(version), at: 8) }
        let flags = bytes.readLittleEndian(UInt32.self, at: 12)
        guard flags & ~WCVFormat.knownRequiredFlags == 0 else { throw WeightFileProblem(.unknownRequiredFlags(flags), at: 12) }

        // 3. Header length against the limit and the file.
        let rawHeaderLength = bytes.readLittleEndian(UInt64.self, at: 16)
        guard let headerLength = Int(exactly: rawHeaderLength),
              headerLength >= WCVFormat.minimumHeaderLength, headerLength <= WCVFormat.maximumHeaderLength else {
            throw WeightFileProblem(.headerLengthOutOfRange(rawHeaderLength), at: 16)
        }
        let headerEnd = WCVFormat.preambleSize + headerLength
        let checksumEnd = headerEnd + WCVFormat.checksumSize
        guard checksumEnd <= fileSize else { throw WeightFileProblem(.truncatedHeader, at: fileSize) }

        // 4. The checksum covers the preamble too, so everything after this is at least not random damage.
        var hasher = SHA256Hex.Hasher()
        hasher.update(UnsafeRawBufferPointer(rebasing: bytes[0..<headerEnd]))
        let digest = hasher.finalizeBytes()
        guard digest.elementsEqual(bytes[headerEnd..<checksumEnd]) else {
            throw WeightFileProblem(.headerChecksumMismatch, at: headerEnd)
        }

        // 5. Data section placement (may still be hostile: a checksum is no signature).
        guard let expectedDataOffset = WCVFormat.dataOffset(headerLength: headerLength),
              Int(exactly: bytes.readLittleEndian(UInt64.self, at: 24)) == expectedDataOffset else {
            throw WeightFileProblem(.badDataOffset, at: 24)
        }
        guard let dataLength = Int(exactly: bytes.readLittleEndian(UInt64.self, at: 32)),
              dataLength % WCVFormat.pageSize == 0,
              let fileEnd = CheckedMath.add(expectedDataOffset, dataLength) else {
            throw WeightFileProblem(.badDataLength, at: 32)
        }

        // 6. The tensor table.
        let header = UnsafeRawBufferPointer(rebasing: bytes[WCVFormat.preambleSize..<headerEnd])
        let entries = try parseTable(header, dataLength: dataLength)
        let tableSize = entries.tableSize

        // 7. File size, naming the first tensor a truncation cuts.
        if fileSize < fileEnd {
            let cut = entries.entries.first { expectedDataOffset + $0.offset + $0.byteLength > fileSize }
            throw WeightFileProblem(.truncatedData(tensor: cut?.descriptor.name, fileSize: fileSize, expected: fileEnd),
                                    at: fileSize)
        }
        guard fileSize == fileEnd else { throw WeightFileProblem(.trailingBytes(fileSize: fileSize, expected: fileEnd), at: fileEnd) }

        // 8. The JSON document.
        let jsonStart = WCVFormat.preambleSize + tableSize
        let jsonBytes = UnsafeRawBufferPointer(rebasing: header[tableSize...])
        let parsed: MetadataValue
        do {
            parsed = try StrictJSON.parse(jsonBytes)
        } catch {
            throw WeightFileProblem(.json(error), at: jsonStart + error.offset)
        }
        let document: WeightFileDocument
        do {
            document = try WeightFileDocument(parsing: parsed)
        } catch {
            throw WeightFileProblem(.schema(error.message), at: jsonStart)
        }
        try checkReferences(document, entries: entries.entries, at: jsonStart)

        // 9. The padding page before the data.
        if let nonZero = bytes.firstNonZero(in: checksumEnd..<expectedDataOffset) {
            throw WeightFileProblem(.nonZeroPadding(after: nil), at: nonZero)
        }
        return WeightFileHeader(headerLength: headerLength, dataOffset: expectedDataOffset, dataLength: dataLength,
                                entries: entries.entries, document: document)
    }

    private static func parseTable(_ header: UnsafeRawBufferPointer, dataLength: Int)
        throws(WeightFileProblem) -> (entries: [Entry], tableSize: Int) {
        let base = WCVFormat.preambleSize
        let count = Int(header.readLittleEndian(UInt32.self, at: 0))
        // The smallest possible entry bounds the count before anything is allocated for it.
        guard let minimum = CheckedMath.multiply(count, WCVFormat.smallestEntrySize), minimum <= header.count - 4 else {
            throw WeightFileProblem(.tooManyTensors, at: base)
        }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var names = Set<String>()
        var cursor = 4
        var previousEnd = 0

        func need(_ size: Int) throws(WeightFileProblem) {
            guard size <= header.count - cursor else { throw WeightFileProblem(.tableBeyondHeader, at: base + cursor) }
        }

        for _ in 0..<count {
            let entryStart = base + cursor
            try need(2)
            let nameLength = Int(header.readLittleEndian(UInt16.self, at: cursor))
            cursor += 2
            guard nameLength >= 1, nameLength <= WCVFormat.maximumNameLength else {
                throw WeightFileProblem(.badName("length \(nameLength) is outside 1…1024"), at: entryStart)
            }
            try need(nameLength)
            let nameBytes = header[cursor..<(cursor + nameLength)]
            guard !nameBytes.contains(0) else { throw WeightFileProblem(.badName("contains a NUL byte"), at: entryStart) }
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw WeightFileProblem(.badName("not valid UTF-8"), at: entryStart)
            }
            cursor += nameLength
            guard names.insert(name).inserted else { throw WeightFileProblem(.duplicateName(name), at: entryStart) }

            try need(2)
            let code = header[cursor]
            let rank = Int(header[cursor + 1])
            cursor += 2
            guard let dtype = WCVFormat.dtype(code: code) else {
                throw WeightFileProblem(.unknownDType(tensor: name, code: code), at: base + cursor - 2)
            }
            guard rank <= WCVFormat.maximumRank else {
                throw WeightFileProblem(.rankTooLarge(tensor: name, rank: rank), at: base + cursor - 1)
            }
            try need(rank * 8 + 16 + 32)
            var shape: [Int] = []
            shape.reserveCapacity(rank)
            for _ in 0..<rank {
                guard let dim = Int(exactly: header.readLittleEndian(UInt64.self, at: cursor)) else {
                    throw WeightFileProblem(.dimensionOverflow(tensor: name), at: base + cursor)
                }
                shape.append(dim)
                cursor += 8
            }
            guard let expected = CheckedMath.product(shape).flatMap({ CheckedMath.multiply($0, dtype.byteSize) }) else {
                throw WeightFileProblem(.dimensionOverflow(tensor: name), at: base + cursor - 8 * rank)
            }
            let rawOffset = header.readLittleEndian(UInt64.self, at: cursor)
            let rawLength = header.readLittleEndian(UInt64.self, at: cursor + 8)
            let offsetPosition = base + cursor
            cursor += 16
            guard Int(exactly: rawLength) == expected else {
                throw WeightFileProblem(.byteLengthMismatch(tensor: name, expected: expected, stored: rawLength), at: offsetPosition + 8)
            }
            guard rawOffset % UInt64(WCVFormat.tensorAlignment) == 0 else {
                throw WeightFileProblem(.misalignedOffset(tensor: name), at: offsetPosition)
            }
            guard let offset = Int(exactly: rawOffset) else { throw WeightFileProblem(.outOfBounds(tensor: name), at: offsetPosition) }
            guard offset >= previousEnd else { throw WeightFileProblem(.overlap(tensor: name), at: offsetPosition) }
            guard let end = CheckedMath.add(offset, expected), end <= dataLength else {
                throw WeightFileProblem(.outOfBounds(tensor: name), at: offsetPosition)
            }
            guard offset == CheckedMath.alignUp(previousEnd, to: WCVFormat.tensorAlignment) else {
                throw WeightFileProblem(.gap(tensor: name), at: offsetPosition)
            }
            let sha = Array(header[cursor..<(cursor + 32)])
            cursor += 32
            previousEnd = end
            entries.append(Entry(descriptor: TensorDescriptor(name: name, dtype: dtype, shape: shape),
                                 offset: offset, byteLength: expected, sha256: sha))
        }
        guard CheckedMath.alignUp(previousEnd, to: WCVFormat.pageSize) == dataLength else {
            throw WeightFileProblem(.dataLengthMismatch, at: 32)
        }
        return (entries, cursor)
    }

    private static func checkReferences(_ document: WeightFileDocument, entries: [Entry], at offset: Int) throws(WeightFileProblem) {
        let byName = Dictionary(entries.map { ($0.descriptor.name, $0.descriptor) }, uniquingKeysWith: { first, _ in first })
        if let stray = document.originalKeys.keys.sorted().first(where: { byName[$0] == nil }) {
            throw WeightFileProblem(.schema("'original_keys' names '\(stray)', which is not a tensor in the file"), at: offset)
        }
        if let record = document.verification {
            for name in [record.inputTensor, record.logitsTensor] {
                guard let descriptor = byName[name] else {
                    throw WeightFileProblem(.schema("the verification record names '\(name)', which is not a tensor in the file"), at: offset)
                }
                guard descriptor.dtype == .f32 else {
                    throw WeightFileProblem(.schema("verification tensor '\(name)' must be f32"), at: offset)
                }
            }
        }
    }
}
