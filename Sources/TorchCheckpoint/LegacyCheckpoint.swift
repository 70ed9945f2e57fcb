import WeightconvCore

/// The format `torch.save` wrote before torch 1.6 (and still writes with
/// `_use_new_zipfile_serialization=False`): five pickles back to back (magic number, protocol
/// version, sys_info, the object, the sorted storage keys), then each storage in key order as an
/// 8-byte little-endian element count followed by its little-endian bytes.
enum LegacyCheckpoint {
    static let magic = "119547037146038801333356"  // 0x1950a86a20f9469cfc6c
    static let protocolVersion = 1001

    static func open(file: MappedFile, limits: PickleLimits) throws(WeightconvError) -> Checkpoint {
        let path = file.path
        let bytes = file.bytes
        let catalog = StorageCatalog()
        let machine = PickleMachine(limits: limits) { (id, at) throws(PickleError) in try catalog.load(id, legacy: true, at: at) }
        let contents: CheckpointContents
        var keys: [String] = []
        var position = 0
        do {
            let magicNumber = try machine.run(bytes, from: 0)
            guard case .bigInt(let digits) = magicNumber.value, digits == magic else {
                throw PickleError(offset: 0, "the first pickle is not torch's magic number", hint: "not a torch checkpoint")
            }
            let version = try machine.run(bytes, from: magicNumber.end)
            guard case .int(let number) = version.value, number == protocolVersion else {
                throw PickleError(offset: magicNumber.end, "legacy protocol version is not \(protocolVersion)")
            }
            let sysInfo = try machine.run(bytes, from: version.end)
            let object = try machine.run(bytes, from: sysInfo.end)
            let keyList = try machine.run(bytes, from: object.end)
            guard case .node(let list) = keyList.value else {
                throw PickleError(offset: object.end, "storage key list is \(keyList.value.kindName), not a list")
            }
            for item in list.items {
                switch item {
                case .string(let key): keys.append(key)
                case .bytes(let raw): keys.append(String(decoding: raw, as: UTF8.self))
                default: throw PickleError(offset: object.end, "storage key list holds \(item.kindName)")
                }
            }
            position = keyList.end
            contents = try CheckpointContents.flatten(object.value, limits: limits, file: path)
        } catch let error as PickleError {
            throw WeightconvError(file: path, problem: "pickle at byte \(error.offset): \(error.problem)", hint: error.hint,
                                  cause: error)
        } catch let error as WeightconvError {
            throw error
        } catch {
            throw WeightconvError(file: path, reporting: error)
        }

        var locations: [String: Checkpoint.StorageLocation] = [:]
        for key in keys {
            guard let storage = catalog.storages[key] else {
                throw WeightconvError(file: path, problem: "storage key '\(key)' is listed but no tensor declared it",
                                      hint: "the file is damaged")
            }
            guard let header = file.slice(offset: position, count: 8) else {
                throw WeightconvError(file: path, problem: "file ends at byte \(file.count) before the size of storage '\(key)'",
                                      hint: "the file is truncated; download it again")
            }
            let raw = header.loadUnaligned(as: UInt64.self).littleEndian
            guard let elements = Int(exactly: raw), let count = CheckedMath.multiply(elements, storage.dtype.byteSize),
                  let start = CheckedMath.add(position, 8), let end = CheckedMath.add(start, count), end <= file.count else {
                throw WeightconvError(file: path, problem: "storage '\(key)' claims \(raw) elements, past the end of the \(file.count)-byte file",
                                      hint: "the file is truncated or damaged")
            }
            locations[key] = .mapped(offset: start, count: count)
            position = end
        }
        for key in catalog.order where locations[key] == nil {
            throw WeightconvError(file: path, problem: "storage key '\(key)' is not in the file's storage list",
                                  hint: "the file is damaged or was assembled by hand")
        }
        return try Checkpoint(path: path, kind: .legacyCheckpoint, contents: contents, locations: locations,
                              file: file, archive: nil, isBigEndian: false)
    }
}
