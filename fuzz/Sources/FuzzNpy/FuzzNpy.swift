import FuzzSupport
import WeightconvCore

/// The `.npy` reader (`NumpyArray`): magic, version, the header dict literal, shape against data.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    if let array = try? NumpyArray(bytes: bytes, file: "fuzz.npy") {
        guard let count = CheckedMath.product(array.shape), CheckedMath.multiply(count, array.dtype.byteSize) == array.data.count else {
            FuzzSupport.fatalFuzzSetup("NumpyArray accepted shape \(array.shape) with \(array.data.count) data bytes")
        }
        _ = try? array.floats(file: "fuzz.npy")
    }
    return 0
}
