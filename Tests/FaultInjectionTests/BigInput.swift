import Foundation
// Exported so every test file in this target sees the shared helpers without its own import.
@_exported import TestSupport

/// A safetensors file of `tensorCount` F32 tensors of 1 Mi elements each (4 MiB), written by hand:
/// 8-byte header length, the JSON header, then the data. Every value is distinct, so a partial copy
/// could never be mistaken for the whole.
func writeBigSafetensors(to path: String, tensorCount: Int = 12) throws {
    let elements = 1 << 20
    var entries: [String] = []
    for index in 0..<tensorCount {
        let begin = index * elements * 4
        entries.append("\"t\(index)\":{\"dtype\":\"F32\",\"shape\":[1024,1024],\"data_offsets\":[\(begin),\(begin + elements * 4)]}")
    }
    var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    guard let handle = FileHandle(forWritingAtPath: path) ?? {
        FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }() else { throw CocoaError(.fileWriteUnknown) }
    defer { try? handle.close() }
    var length = UInt64(header.count).littleEndian
    try handle.write(contentsOf: Data(bytes: &length, count: 8) + Data(header))
    var block = [Float](repeating: 0, count: elements)
    for index in 0..<tensorCount {
        for i in block.indices { block[i] = Float(index * elements + i) }
        try handle.write(contentsOf: block.withUnsafeBytes { Data($0) })
    }
}

/// The one big input all the tests read from, kept under `.build/` (never in the system temporary
/// folder, where every run would leave 48 MiB) and written only when missing. Never modified:
/// the truncation test works on a copy.
let sharedBigInput: Result<String, Error> = Result {
    let folder = packageRoot + "/.build/fault-injection"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    let path = folder + "/big.safetensors"
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    if size != bigInputSize {
        try? FileManager.default.removeItem(atPath: path)
        try writeBigSafetensors(to: path)
    }
    return path
}

/// 12 tensors of 4 MiB plus the header (its length is fixed by the tensor names and offsets).
let bigInputSize = 50_332_560
