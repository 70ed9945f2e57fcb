import FuzzSupport
import TorchCheckpoint

/// The legacy (torch < 1.6) reader on raw file bytes: five pickles back to back, then storages
/// with their 8-byte element counts; every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzSupport.writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    // A tenth of the standard visit and metadata limits: the same code paths, but an input that
    // fans out to a million shared values (this target found two) costs 0.1 s instead of 1–2 s
    // under ASan, so the million executions fit in half an hour. The standard limits' cost is
    // checked by the reproducers in fixtures/fuzz/FuzzLegacy, run through the CLI by the tests.
    let limits = PickleLimits(maxVisitedValues: 100_000, maxMetadataBytes: 400 << 10)
    if let checkpoint = try? Checkpoint.open(path: path, limits: limits) {
        FuzzSupport.touchEverything(checkpoint)
        _ = checkpoint.sharedStorageGroups
    }
    return 0
}
