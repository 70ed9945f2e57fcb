import FuzzSupport
import TorchCheckpoint

/// The legacy (torch < 1.6) reader on raw file bytes: five pickles back to back, then storages
/// with their 8-byte element counts; every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzSupport.writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    if let checkpoint = try? Checkpoint.open(path: path, limits: FuzzSupport.pickleLimits) {
        FuzzSupport.touchEverything(checkpoint)
        _ = checkpoint.sharedStorageGroups
    }
    return 0
}
