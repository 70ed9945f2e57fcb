import FuzzSupport
import TorchCheckpoint
import WeightconvCore

/// The pickle machine on raw bytes, two ways: as a bare pickle file (no storages), and as the
/// `data.pkl` of an otherwise well-formed torch zip checkpoint with twelve 1 KiB storages named
/// "0"…"11" (the seeds' storages fit), so persistent ids, tensor rebuilding, views and the tensor
/// reads behind them are reached.
enum FuzzPickle {
    static let storages: [[UInt8]] = (0..<12).map { key in (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ key) } }
    static let storageCRCs: [UInt32] = storages.map { storage in storage.withUnsafeBytes { CRC32.checksum($0) } }

    static func wrapped(_ pickle: UnsafeRawBufferPointer) -> [UInt8] {
        var zip = StoredZipWriter()
        zip.add("archive/data.pkl", pickle)
        zip.add("archive/byteorder", Array("little".utf8))
        for (key, storage) in storages.enumerated() {
            storage.withUnsafeBytes { zip.add("archive/data/\(key)", $0, crc: storageCRCs[key]) }
        }
        zip.add("archive/version", Array("3\n".utf8))
        return zip.finish()
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let bare = try? Checkpoint.open(path: FuzzSupport.writeScratch(bytes), limits: FuzzSupport.pickleLimits) {
        FuzzSupport.touchEverything(bare)
    }
    if let checkpoint = try? Checkpoint.open(path: FuzzSupport.writeScratch(FuzzPickle.wrapped(bytes)), limits: FuzzSupport.pickleLimits) {
        FuzzSupport.touchEverything(checkpoint)
        _ = checkpoint.sharedStorageGroups
    }
    return 0
}
