import WeightconvCore

extension Checkpoint {
    /// Opens a PyTorch checkpoint (zip or legacy format) or a bare pickle. The file's kind is sniffed
    /// first, so an HTML page, a Git LFS pointer or a TorchScript archive is named for what it is.
    public static func open(path: String, limits: PickleLimits = .standard) throws(WeightconvError) -> Checkpoint {
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
        default:
            throw unreadable(kind, path: path)
        }
    }

    /// The one-line refusal for a file that is not a checkpoint, naming what it is.
    public static func unreadable(_ kind: FileKind, path: String) -> WeightconvError {
        let hint: String
        switch kind {
        case .torchScriptArchive:
            hint = "weightconv reads state_dicts; in Python run torch.save(torch.jit.load(f).state_dict(), 'weights.pt')"
        case .gitLFSPointer: hint = "run `git lfs pull` (or download the file itself, not its pointer)"
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
            contents = try CheckpointContents.flatten(result.value, limits: limits, file: file.path)
        } catch let error as PickleError {
            throw WeightconvError(file: file.path, problem: "pickle at byte \(error.offset): \(error.problem)", hint: error.hint)
        } catch let error as WeightconvError {
            throw error
        } catch {
            throw WeightconvError(file: file.path, problem: "\(error)")
        }
        return try Checkpoint(path: file.path, kind: .pickle, contents: contents, locations: [:], file: file, archive: nil, isBigEndian: false)
    }
}

extension Checkpoint {
    /// Sniffs a file's kind without parsing it: first bytes, then entry names for a zip archive.
    public static func detectKind(path: String) throws(WeightconvError) -> FileKind {
        let file = try MappedFile(path: path)
        let kind = FileKind.sniff(file.prefix(FileKind.sniffLength))
        guard kind == .zipArchive else { return kind }
        return FileKind.refinedZip(entryNames: try ZipArchive(file: file).entries.map(\.name))
    }
}
