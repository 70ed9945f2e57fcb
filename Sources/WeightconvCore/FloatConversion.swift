/// Widening of stored floating-point data to `Float` for compute, and narrowing for storage.
package enum FloatConversion {
    /// Reads `bytes` (little-endian, `dtype`) as `Float`s. Integer and bool tensors are refused:
    /// they are never weights a network computes with.
    package static func floats(from bytes: UnsafeRawBufferPointer, dtype: DType, file: String) throws -> [Float] {
        let count = bytes.count / dtype.byteSize
        switch dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyBytes(from: bytes.prefix(count * 4))
                initialized = count
            }
        case .f64:
            return (0..<count).map { Float(Double(bitPattern: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self).littleEndian)) }
        case .f16:
            return (0..<count).map { halfToFloat(bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) }
        case .bf16:
            return (0..<count).map { Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) << 16) }
        default:
            throw WeightconvError(file: file, problem: "a \(dtype.rawValue) tensor cannot be used as floating-point weights")
        }
    }

    /// IEEE 754 binary16 → binary32, exact (subnormals, infinities and NaN included).
    package static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        var mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: normalise.
            var e: UInt32 = 127 - 15 + 1
            while mantissa & 0x400 == 0 { mantissa <<= 1; e -= 1 }
            mantissa &= 0x3FF
            return Float(bitPattern: sign | (e << 23) | (mantissa << 13))
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
    }

    /// binary32 → binary16 with round-to-nearest-even, as `tensor.half()` does.
    package static func floatToHalf(_ f: Float) -> UInt16 {
        #if arch(arm64)
        return Float16(f).bitPattern
        #else
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            let m = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var half = m >> shift
            let remainder = m & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
        #endif
    }

    /// binary32 → bfloat16 with round-to-nearest-even, as `tensor.bfloat16()` does.
    package static func floatToBFloat16(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = ((bits >> 16) & 1) + 0x7FFF
        return UInt16((bits &+ rounding) >> 16)
    }
}
