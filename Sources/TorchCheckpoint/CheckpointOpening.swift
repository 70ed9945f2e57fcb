import WeightconvCore

extension Checkpoint {
    /// Opens a PyTorch checkpoint (zip or legacy format) or a bare pickle. The file's kind is sniffed
    /// first, so an HTML page, a Git LFS pointer or a TorchScript archive is named for what it is.
    package static func open(path: String, limits: PickleLimits = .standard) throws(WeightconvError) -> Checkpoint {
        let file = try MappedFile(path: path)
        var kind = FileKind.sniff(file.prefix(FileKind.sniffLength))
        var archive: ZipArchive?
        if kind == .zipArchive {
            let opened = try ZipArchive(file: file)
            archive = opened
            kind = FileKind.refinedZip(entryNames: opened.entries.map(\.name))
        }
        switch kind {
        case .torchZipCheckpoint:
            guard let archive else { throw WeightconvError(file: path, problem: "zip archive could not be opened") }
            return try TorchZipCheckpoint.open(file: file, archive: archive, limits: limits)
        case .legacyCheckpoint:
            return try LegacyCheckpoint.open(file: file, limits: limits)
        case .pickle:
            return try openPickle(file: file, limits: limits)
        case .zipArchive:
            // Not a checkpoint, but say so with the reason a scanner would give if a pickle inside
            // would run something.
            if let archive, let refusal = firstRefusal(in: archive, limits: limits) {
                throw WeightconvError(file: path, problem: "a zip archive, not a PyTorch checkpoint; \(refusal)",
                                      hint: "the file is hostile; do not load it with torch.load either")
            }
            throw unreadable(kind, path: path)
        default:
            throw unreadable(kind, path: path)
        }
    }

    /// The first refusal the pickle machine reports for a pickle-looking entry of a zip archive.
    static func firstRefusal(in archive: ZipArchive, limits: PickleLimits) -> String? {
        for entry in archive.entries.prefix(1000) where entry.size <= min(limits.maxPickleBytes, 64 << 20) {
            guard let bytes = try? archive.read(entry, limit: entry.size),
                  FileKind.sniff(Array(bytes.prefix(FileKind.sniffLength))) == .pickle else { continue }
            let machine = PickleMachine(limits: limits)
            do throws(PickleError) {
                _ = try machine.run(bytes)
            } catch {
                if error.problem.hasPrefix("refused") { return "entry '\(entry.name)': \(error.problem)" }
            }
        }
        return nil
    }

    /// Pickles after the first STOP: plain `pickle.load` ignores them, which is how payloads hide
    /// from loaders that check only the first. Each is run through the machine (never executed) so a
    /// refusal names its global; a file with extra pickles is refused either way.
    static func checkTrailingPickles(_ bytes: UnsafeRawBufferPointer, from start: Int, machine: PickleMachine, path: String,
                                     record: String) throws(WeightconvError) {
        var position = start
        var count = 0
        while position < bytes.count {
            // Whitespace padding after STOP is harmless.
            if bytes[position...].allSatisfy({ $0 == 0x0A || $0 == 0x0D || $0 == 0x20 || $0 == 0x00 }) { return }
            do throws(PickleError) {
                position = try machine.run(bytes, from: position).end
                count += 1
            } catch {
                if error.problem.hasPrefix("refused") {
                    throw WeightconvError(file: path, problem: "\(record) hides a second pickle at byte \(error.offset): \(error.problem)",
                                          hint: "the file is hostile; do not load it with torch.load either", cause: error)
                }
                throw WeightconvError(file: path, problem: "\(record) has \(bytes.count - start) unreadable bytes after its pickle",
                                      hint: "the file is damaged or hostile", cause: error)
            }
        }
        if count > 0 {
            throw WeightconvError(file: path, problem: "\(record) holds \(count + 1) pickles back to back; a checkpoint holds one",
                                  hint: "the extra pickles are a way to hide content from scanners")
        }
    }

    /// The one-line refusal for a file that is not a checkpoint, naming what it is.
    package static func unreadable(_ kind: FileKind, path: String) -> WeightconvError {
        let hint: String
        switch kind {
        case .torchScriptArchive:
            hint = "weightconv reads state_dicts; in Python run torch.save(torch.jit.load(f).state_dict(), 'weights.pt')"
        case .gitLFSPointer: hint = "run `git lfs pull`, or download the file itself rather than its pointer"
        case .html: hint = "the download returned a web page; use the file's direct download link"
        case .gzip, .tar, .sevenZip: hint = "extract it first and pass the checkpoint inside"
        case .empty: hint = "the download or copy did not complete"
        case .numpyArray, .numpyArchive: hint = "NumPy arrays hold no named state_dict; open them with NumpyArchive"
        default: hint = "weightconv reads PyTorch checkpoints (.pt/.pth/.bin, zip or legacy format)"
        }
        return WeightconvError(file: path, problem: "\(kind.phrase), not a PyTorch checkpoint", hint: hint)
    }

    /// A bare pickle (`pickle.dump` of plain values): read for its metadata; it cannot carry storages.
    static func openPickle(file: MappedFile, limits: PickleLimits) throws(WeightconvError) -> Checkpoint {
        let machine = PickleMachine(limits: limits)
        let contents: CheckpointContents
        do {
            let result = try machine.run(file.bytes)
            try checkTrailingPickles(file.bytes, from: result.end, machine: machine, path: file.path, record: "the pickle")
            contents = try CheckpointContents.flatten(result.value, limits: limits, file: file.path)
        } catch let error as PickleError {
            throw WeightconvError(file: file.path, problem: "pickle at byte \(error.offset): \(error.problem)", hint: error.hint,
                                  cause: error)
        } catch let error as WeightconvError {
            throw error
        } catch {
            throw WeightconvError(file: file.path, reporting: error)
        }
        return try Checkpoint(path: file.path, kind: .pickle, contents: contents, locations: [:], file: file, archive: nil, isBigEndian: false)
    }
}

extension Checkpoint {
    /// Sniffs a file's kind without parsing it: first bytes, then entry names for a zip archive.
    package static func detectKind(path: String) throws(WeightconvError) -> FileKind {
        let file = try MappedFile(path: path)
        let kind = FileKind.sniff(file.prefix(FileKind.sniffLength))
        guard kind == .zipArchive else { return kind }
        return FileKind.refinedZip(entryNames: try ZipArchive(file: file).entries.map(\.name))
    }
}
