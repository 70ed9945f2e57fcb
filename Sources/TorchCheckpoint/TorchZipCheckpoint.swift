import WeightconvCore

/// The zip format `torch.save` writes since torch 1.6: `<top>/data.pkl` (the pickle), one
/// `<top>/data/<key>` record per storage, `<top>/byteorder` and `<top>/version`. The top folder is
/// whatever the writer chose (the file's stem, `archive`, …), so it is found, not assumed.
enum TorchZipCheckpoint {
    static func open(file: MappedFile, archive: ZipArchive, limits: PickleLimits) throws(WeightconvError) -> Checkpoint {
        let path = file.path
        let top = try topFolder(of: archive, path: path)
        guard let pickleEntry = archive.entry(named: top + "data.pkl") else {
            throw WeightconvError(file: path, problem: "zip archive has no \(top)data.pkl", hint: "not a torch.save checkpoint")
        }
        guard pickleEntry.size <= limits.maxPickleBytes else {
            throw WeightconvError(file: path, problem: "\(top)data.pkl is \(pickleEntry.size) bytes, over the maxPickleBytes limit (\(limits.maxPickleBytes))",
                                  hint: PickleLimits.raising("maxPickleBytes"))
        }
        let pickle = try archive.read(pickleEntry, limit: limits.maxPickleBytes)

        var isBigEndian = false
        if let entry = archive.entry(named: top + "byteorder") {
            let order = String(decoding: try archive.read(entry, limit: 16), as: UTF8.self)
            switch order {
            case "little": isBigEndian = false
            case "big": isBigEndian = true
            default:
                throw WeightconvError(file: path, problem: "byteorder record says '\(order.prefix(16))', not 'little' or 'big'")
            }
        }

        let catalog = StorageCatalog()
        let machine = PickleMachine(limits: limits) { (id, at) throws(PickleError) in try catalog.load(id, legacy: false, at: at) }
        let contents: CheckpointContents
        do {
            let result = try machine.run(pickle)
            var trailing: WeightconvError?
            pickle.withUnsafeBytes { bytes in
                do throws(WeightconvError) {
                    try Checkpoint.checkTrailingPickles(bytes, from: result.end, machine: machine, path: path, record: top + "data.pkl")
                } catch {
                    trailing = error
                }
            }
            if let trailing { throw trailing }
            contents = try CheckpointContents.flatten(result.value, limits: limits, file: path)
        } catch let error as PickleError {
            throw WeightconvError(file: path, problem: "\(top)data.pkl at byte \(error.offset): \(error.problem)", hint: error.hint,
                                  cause: error)
        } catch let error as WeightconvError {
            throw error
        } catch {
            throw WeightconvError(file: path, reporting: error)
        }

        var locations: [String: Checkpoint.StorageLocation] = [:]
        for key in catalog.order {
            guard let entry = archive.entry(named: top + "data/" + key) else { continue } // reported per tensor
            if let offset = archive.storedDataOffset(of: entry) {
                locations[key] = .mapped(offset: offset, count: entry.size)
            } else {
                locations[key] = .zipEntry(entry)
            }
        }
        for key in catalog.order where locations[key] == nil {
            throw WeightconvError(file: path, problem: "storage key '\(key)' is not in the archive (no \(top)data/\(key))",
                                  hint: "the file is damaged or was assembled by hand")
        }
        return try Checkpoint(path: path, kind: .torchZipCheckpoint, contents: contents, locations: locations,
                              file: file, archive: archive, isBigEndian: isBigEndian)
    }

    /// torch's reader takes the folder of the archive's first record; a checkpoint has exactly one
    /// `<folder>/data.pkl` at the top level.
    static func topFolder(of archive: ZipArchive, path: String) throws(WeightconvError) -> String {
        let candidates = archive.entries.compactMap { entry -> String? in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" ? String(parts[0]) + "/" : nil
        }
        guard let first = candidates.first else {
            throw WeightconvError(file: path, problem: "zip archive has no <folder>/data.pkl", hint: "not a torch.save checkpoint")
        }
        if candidates.count > 1, let firstEntry = archive.entries.first,
           let preferred = candidates.first(where: { firstEntry.name.hasPrefix($0) }) {
            return preferred
        }
        return first
    }
}
