import WeightconvCore

/// A tensor waiting to be written: its stored name, dtype and shape, and a way to produce its bytes
/// when the writer reaches it, so a whole checkpoint never sits in memory twice.
package struct PendingTensor {
    package let name: String
    /// The dtype the tensor is stored with (after any conversion).
    package let dtype: DType
    package let shape: [Int]
    let byteCount: Int
    /// Calls the sink with the bytes, in one or more pieces totalling `byteCount`.
    let produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

    private init(name: String, dtype: DType, shape: [Int], byteCount: Int,
                 produce: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
        self.produce = produce
    }

    private static func byteCount(name: String, dtype: DType, shape: [Int], file: String) throws -> Int {
        guard let count = TensorDescriptor(name: name, dtype: dtype, shape: shape).byteCount else {
            throw WeightconvError(file: file, problem: "tensor '\(name)' has a shape whose size overflows")
        }
        return count
    }

    /// The tensor `name` of `store`, stored as `storedName` and, for floating-point tensors, as `dtype`.
    /// Integer and bool tensors are never converted: asking for that is an error.
    package static func from(_ store: any TensorStore, name: String, storedName: String? = nil,
                            dtype target: DType? = nil) throws -> PendingTensor {
        guard let descriptor = store.descriptor(named: name) else {
            throw WeightconvError(file: store.path, problem: "no tensor named '\(name)'")
        }
        let stored = target ?? descriptor.dtype
        let count = try byteCount(name: name, dtype: stored, shape: descriptor.shape, file: store.path)
        let sourceCount = try byteCount(name: name, dtype: descriptor.dtype, shape: descriptor.shape, file: store.path)
        let path = store.path
        let checkedSource: (UnsafeRawBufferPointer) throws -> Void = { buffer in
            guard buffer.count == sourceCount else {
                throw WeightconvError(file: path, problem: "tensor '\(name)' has \(buffer.count) bytes, its shape needs \(sourceCount)")
            }
        }
        if stored == descriptor.dtype {
            // In pieces, so a mapped source keeps about one piece of the tensor resident (the
            // writer hashes and writes each as it comes).
            return PendingTensor(name: storedName ?? name, dtype: stored, shape: descriptor.shape, byteCount: count) { sink in
                var seen = 0
                try store.forEachPiece(of: name, pieceSize: 1 << 20) { piece in
                    seen += piece.count
                    guard seen <= sourceCount else {
                        throw WeightconvError(file: path, problem: "tensor '\(name)' has more bytes than its shape needs (\(sourceCount))")
                    }
                    try sink(piece)
                }
                guard seen == sourceCount else {
                    throw WeightconvError(file: path, problem: "tensor '\(name)' has \(seen) bytes, its shape needs \(sourceCount)")
                }
            }
        }
        guard descriptor.dtype.isFloatingPoint, stored.isFloatingPoint else {
            throw WeightconvError(file: path, problem: "tensor '\(name)' is \(descriptor.dtype.rawValue) and cannot be stored as \(stored.rawValue)",
                                  hint: "only floating-point tensors change dtype")
        }
        return PendingTensor(name: storedName ?? name, dtype: stored, shape: descriptor.shape, byteCount: count) { sink in
            let converted = try store.withContiguousBytes(of: name) { buffer in
                try checkedSource(buffer)
                return try DTypeConversion.convert(buffer, from: descriptor.dtype, to: stored, file: path)
            }
            try converted.withUnsafeBytes { try sink($0) }
        }
    }

    /// Raw little-endian bytes already in memory.
    package static func bytes(_ name: String, dtype: DType, shape: [Int], _ bytes: [UInt8]) throws -> PendingTensor {
        let count = try byteCount(name: name, dtype: dtype, shape: shape, file: name)
        guard bytes.count == count else {
            throw WeightconvError(file: name, problem: "tensor '\(name)' has \(bytes.count) bytes, its shape needs \(count)")
        }
        return PendingTensor(name: name, dtype: dtype, shape: shape, byteCount: count) { sink in
            try bytes.withUnsafeBytes { try sink($0) }
        }
    }

    /// `Float` values, stored as `dtype` (f32, f16, bf16 or f64), rounded to nearest even.
    package static func floats(_ name: String, shape: [Int], _ values: [Float], storedAs dtype: DType = .f32) throws -> PendingTensor {
        guard dtype.isFloatingPoint else {
            throw WeightconvError(file: name, problem: "floats cannot be stored as \(dtype.rawValue)")
        }
        let count = try byteCount(name: name, dtype: dtype, shape: shape, file: name)
        guard values.count * dtype.byteSize == count else {
            throw WeightconvError(file: name, problem: "tensor '\(name)' has \(values.count) values, its shape needs \(count / dtype.byteSize)")
        }
        return PendingTensor(name: name, dtype: dtype, shape: shape, byteCount: count) { sink in
            try DTypeConversion.encode(values, as: dtype).withUnsafeBytes { try sink($0) }
        }
    }
}

/// Changing the stored precision of floating-point data.
package enum DTypeConversion {
    /// `bytes` of `source` dtype re-encoded as `target`. Goes through `Float`: exact for every
    /// widening; F64 → F16/BF16 rounds twice (F64 → F32 → F16), which can differ from a direct
    /// rounding in the last bit for values within one F32 ulp of a tie.
    package static func convert(_ bytes: UnsafeRawBufferPointer, from source: DType, to target: DType, file: String) throws -> [UInt8] {
        if source == target { return Array(bytes) }
        guard target.isFloatingPoint else {
            throw WeightconvError(file: file, problem: "cannot convert \(source.rawValue) data to \(target.rawValue)")
        }
        let floats = try FloatConversion.floats(from: bytes, dtype: source, file: file)
        return encode(floats, as: target)
    }

    /// Little-endian bytes of `values` as `dtype` (f16, bf16, f64; any other dtype gets f32 bytes).
    package static func encode(_ values: [Float], as dtype: DType) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * dtype.byteSize)
        switch dtype {
        case .f16: for value in values { out.appendLittleEndian(FloatConversion.floatToHalf(value)) }
        case .bf16: for value in values { out.appendLittleEndian(FloatConversion.floatToBFloat16(value)) }
        case .f64: for value in values { out.appendLittleEndian(Double(value).bitPattern) }
        default: for value in values { out.appendLittleEndian(value.bitPattern) }
        }
        return out
    }
}
