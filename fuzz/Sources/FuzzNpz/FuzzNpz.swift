import FuzzSupport
import TorchCheckpoint

/// The `.npz` reader (zip entries, each a `.npy` header and its data), then every array read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzSupport.writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    if let archive = try? NumpyArchive(path: path) {
        FuzzSupport.touchEverything(archive)
        _ = try? archive.floatArrays()
    }
    return 0
}
