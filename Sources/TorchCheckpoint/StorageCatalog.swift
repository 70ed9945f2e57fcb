import WeightconvCore

/// The storages a checkpoint's pickle asks for through `persistent_load`, one record per key: the
/// first request fixes its element type and declared size, later requests share it (tied weights).
final class StorageCatalog {
    private(set) var storages: [String: StorageReference] = [:]
    /// Keys in first-use order.
    private(set) var order: [String] = []

    /// `('storage', storage_type, key, location, numel)` in the zip format; the legacy format adds
    /// `view_metadata` and may also name module classes: `('module', cls, source_file, source)`.
    func load(_ id: PickleValue, legacy: Bool, at: Int) throws(PickleError) -> PickleValue {
        guard case .node(let tuple) = id, case .tuple = tuple.kind, let first = tuple.items.first else {
            throw PickleError(offset: at, "persistent id is \(id.kindName), not a tuple", hint: "the file is not a torch checkpoint")
        }
        let fields = tuple.items
        let typeName: String
        switch first {
        case .string(let s): typeName = s
        case .bytes(let b): typeName = String(decoding: b, as: UTF8.self)
        default: throw PickleError(offset: at, "persistent id starts with \(first.kindName), not a name")
        }
        if legacy && typeName == "module" {
            // The pickled class object of a whole model; only ever used as a class reference.
            guard fields.count >= 2, case .global = fields[1] else {
                throw PickleError(offset: at, "legacy module record without a class")
            }
            return fields[1]
        }
        guard typeName == "storage" else {
            throw PickleError(offset: at, "unknown persistent id type '\(typeName.prefix(40))'", hint: "the file is not a torch checkpoint")
        }
        guard fields.count == (legacy ? 6 : 5) else {
            throw PickleError(offset: at, "storage persistent id with \(fields.count) fields")
        }
        guard case .global(let storageType) = fields[1] else {
            throw PickleError(offset: at, "storage type is \(fields[1].kindName), not a storage class")
        }
        guard let dtype = TorchNames.storageDType(storageType) else {
            throw PickleError(offset: at, "storage class \(storageType) is not one weightconv reads",
                              hint: "weightconv reads F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL storages")
        }
        let key: String
        switch fields[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw PickleError(offset: at, "storage key is \(fields[2].kindName), not a string")
        }
        guard case .int(let numel) = fields[4], numel >= 0 else {
            throw PickleError(offset: at, "storage '\(key)' has a size that is not a non-negative integer")
        }
        guard let bytes = CheckedMath.multiply(numel, dtype.byteSize) else {
            throw PickleError(offset: at, "storage '\(key)' size \(numel) overflows", hint: "the file is damaged or hostile")
        }
        let root: StorageReference
        if let existing = storages[key] {
            root = existing
        } else {
            root = StorageReference(key: key, dtype: dtype, byteCount: bytes)
            storages[key] = root
            order.append(key)
        }
        guard legacy, case .node(let view) = fields[5] else { return .storage(root) }
        // Legacy storage view: (view_key, offset, view_size) in elements of the storage type.
        guard view.items.count == 3, case .string(let viewKey) = view.items[0],
              case .int(let offset) = view.items[1], case .int(let size) = view.items[2],
              offset >= 0, size >= 0,
              let offsetBytes = CheckedMath.multiply(offset, root.dtype.byteSize),
              let sizeBytes = CheckedMath.multiply(size, root.dtype.byteSize),
              let end = CheckedMath.add(offsetBytes, sizeBytes), end <= root.byteCount else {
            throw PickleError(offset: at, "storage view of '\(key)' lies outside it", hint: "the file is damaged or hostile")
        }
        return .storage(StorageReference(key: key, dtype: root.dtype, byteCount: sizeBytes, viewByteOffset: offsetBytes, viewKey: viewKey))
    }
}
