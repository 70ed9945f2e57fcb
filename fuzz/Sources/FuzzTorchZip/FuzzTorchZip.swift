import FuzzSupport
import TorchCheckpoint

/// The zip checkpoint reader (libzip through the mapping, entry checks, stored-entry offsets, deflated
/// storages) on raw file bytes, then every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzSupport.writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    _ = try? Checkpoint.detectKind(path: path)
    if let checkpoint = try? Checkpoint.open(path: path, limits: FuzzSupport.pickleLimits) {
        FuzzSupport.touchEverything(checkpoint)
        _ = checkpoint.sharedStorageGroups
    }
    return 0
}
