import WeightconvCore

/// A storage as a checkpoint's persistent id names it: which record holds the bytes, in which
/// element type, and how many elements the writer declared.
package struct StorageReference: Sendable, Hashable {
    /// The record key (`data/<key>` in the zip format, the storage key list entry in the legacy one).
    package var key: String
    /// The storage class's element type (`u8` for `UntypedStorage`, whose numel counts bytes).
    package var dtype: DType
    /// Declared size in bytes (`numel * element size`).
    package var byteCount: Int
    /// For a legacy storage view: where the view starts in its root storage, in bytes.
    package var viewByteOffset: Int = 0
    /// For a legacy storage view: its own key (torch makes it a storage object of its own).
    package var viewKey: String?

    /// What "the same storage" means for sharing: the view's key for a view, else the record key.
    package var identity: String { viewKey.map { key + "/" + $0 } ?? key }
}

/// A tensor as `torch._utils._rebuild_tensor_v2/v3` describes it: a strided view into a storage.
/// Checked when it is built (shape, strides and offset fit the declared storage); the bytes are
/// only touched when the tensor is read.
package struct TensorReference: Sendable, Hashable {
    package var storage: StorageReference
    package var dtype: DType
    /// In elements of `dtype`.
    package var storageOffset: Int
    package var shape: [Int]
    /// In elements of `dtype`.
    package var strides: [Int]
    package var elementCount: Int
    /// Bytes of the storage the view reaches, counted from the storage start.
    package var requiredStorageBytes: Int
    package var isParameter = false

    /// Whether the view is the plain row-major layout (then its bytes are one contiguous run).
    package var isContiguous: Bool {
        if elementCount <= 1 { return true }
        var expected = 1
        for axis in shape.indices.reversed() where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Validates a view against its storage; every number here came from the file.
    static func make(storage: StorageReference, dtype: DType, offset: PickleValue, size: PickleValue,
                     stride: PickleValue, at: Int) throws(PickleError) -> TensorReference {
        guard case .int(let storageOffset) = offset, storageOffset >= 0 else {
            throw PickleError(offset: at, "tensor storage offset is not a non-negative integer")
        }
        let shape = try integers(size, what: "size", at: at)
        let strides = try integers(stride, what: "stride", at: at)
        guard shape.count == strides.count else {
            throw PickleError(offset: at, "tensor has \(shape.count) sizes but \(strides.count) strides")
        }
        guard let count = CheckedMath.product(shape) else {
            throw PickleError(offset: at, "tensor shape \(shape) has an element count that overflows", hint: "the file is damaged or hostile")
        }
        guard count.multipliedReportingOverflow(by: dtype.byteSize).overflow == false else {
            throw PickleError(offset: at, "tensor shape \(shape) has a byte size that overflows")
        }
        var required = 0
        if count > 0 {
            // Furthest element the view touches, plus one.
            var last = storageOffset
            for (extent, step) in zip(shape, strides) {
                guard let span = CheckedMath.multiply(extent - 1, step), let sum = CheckedMath.add(last, span) else {
                    throw PickleError(offset: at, "tensor shape \(shape) with strides \(strides) overflows")
                }
                last = sum
            }
            guard let elements = CheckedMath.add(last, 1), let bytes = CheckedMath.multiply(elements, dtype.byteSize) else {
                throw PickleError(offset: at, "tensor extent overflows")
            }
            required = bytes
        }
        guard let viewEnd = CheckedMath.add(storage.viewByteOffset, required) else {
            throw PickleError(offset: at, "tensor extent overflows")
        }
        guard required <= storage.byteCount else {
            throw PickleError(offset: at, "tensor of shape \(shape) needs \(required) bytes of storage '\(storage.key)', which declares \(storage.byteCount)",
                              hint: "the file is damaged or hostile")
        }
        return TensorReference(storage: storage, dtype: dtype, storageOffset: storageOffset, shape: shape, strides: strides,
                               elementCount: count, requiredStorageBytes: viewEnd)
    }

    private static func integers(_ value: PickleValue, what: String, at: Int) throws(PickleError) -> [Int] {
        guard case .node(let node) = value, case .tuple = node.kind else {
            // torch.Size arrives as a tuple after REDUCE; lists are accepted as torch accepts them.
            if case .node(let list) = value, case .list = list.kind { return try integers(list.items, what: what, at: at) }
            throw PickleError(offset: at, "tensor \(what) is \(value.kindName), not a tuple of integers")
        }
        return try integers(node.items, what: what, at: at)
    }

    private static func integers(_ items: [PickleValue], what: String, at: Int) throws(PickleError) -> [Int] {
        guard items.count <= 64 else { throw PickleError(offset: at, "tensor with \(items.count) dimensions") }
        var result: [Int] = []
        for item in items {
            guard case .int(let value) = item, value >= 0 else {
                throw PickleError(offset: at, "tensor \(what) holds \(item.kindName == "int" ? "a negative or huge integer" : item.kindName)",
                                  hint: "the file is damaged or hostile")
            }
            result.append(value)
        }
        return result
    }
}

/// torch's names for element types and storage classes.
enum TorchNames {
    /// `torch.FloatStorage` → f32, `torch.UntypedStorage` → u8 (numel in bytes). torch maps any
    /// global whose name contains "Storage" this way, whatever its module (`torch.cuda.…`).
    static func storageDType(_ global: GlobalName) -> DType? {
        guard global.module == "torch" || global.module.hasPrefix("torch.") else { return nil }
        switch global.name {
        case "DoubleStorage": return .f64
        case "FloatStorage": return .f32
        case "HalfStorage": return .f16
        case "BFloat16Storage": return .bf16
        case "LongStorage": return .i64
        case "IntStorage": return .i32
        case "ShortStorage": return .i16
        case "CharStorage": return .i8
        case "ByteStorage", "UntypedStorage": return .u8
        case "BoolStorage": return .bool
        default: return nil
        }
    }

    /// `torch.float32` (or an alias such as `torch.float`) → f32.
    static func dtype(_ global: GlobalName) -> DType? {
        guard global.module == "torch" else { return nil }
        switch global.name {
        case "float64", "double": return .f64
        case "float32", "float": return .f32
        case "float16", "half": return .f16
        case "bfloat16": return .bf16
        case "int64", "long": return .i64
        case "int32", "int": return .i32
        case "int16", "short": return .i16
        case "int8": return .i8
        case "uint8": return .u8
        case "bool": return .bool
        default: return nil
        }
    }

    /// A torch dtype or storage class that weightconv does not carry (complex, quantized, float8…).
    static func isUnsupportedTorchType(_ global: GlobalName) -> Bool {
        global.module == "torch" && (global.name.hasSuffix("Storage") || global.name.hasPrefix("complex")
            || global.name.hasPrefix("float8") || global.name.hasPrefix("q") || global.name.hasPrefix("uint")
            || global.name.hasPrefix("int") || global.name.hasPrefix("bits"))
    }
}
