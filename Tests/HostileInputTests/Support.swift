import Foundation
// Exported so every test file in this target sees the shared helpers without its own import.
@_exported import TestSupport
import TorchCheckpoint
import WeightconvCore

/// The one-line error a `Checkpoint.open` of `bytes` fails with, or `nil` when it opens and every
/// tensor reads.
func checkpointError(_ bytes: [UInt8], name: String = "crafted.pt", limits: PickleLimits = .standard) throws -> WeightconvError? {
    let folder = try ScratchFolder()
    defer { folder.remove() }
    let path = try folder.write(bytes, name)
    do {
        let checkpoint = try Checkpoint.open(path: path, limits: limits)
        for descriptor in checkpoint.tensors { _ = try checkpoint.sha256(of: descriptor.name) }
        return nil
    } catch let error as WeightconvError {
        return error
    }
}

// MARK: - A pickle assembler

/// Opcodes by name, so a crafted pickle reads like `pickletools.dis` output. The bytes are the
/// reader's own `PickleOpcode`, so each opcode is spelled in one place.
enum Op {
    /// `opcode` followed by its argument bytes.
    static func code(_ opcode: PickleOpcode, _ argument: [UInt8] = []) -> [UInt8] { [opcode.rawValue] + argument }

    static func proto(_ version: UInt8 = 2) -> [UInt8] { code(.proto, [version]) }
    static let stop = code(.stop)
    static let mark = code(.mark)
    static let pop = code(.pop)
    static let popMark = code(.popMark)
    static let dup = code(.dup)
    static let none = code(.none)
    static let newTrue = code(.newTrue)
    static let newFalse = code(.newFalse)
    static let emptyTuple = code(.emptyTuple)
    static let emptyList = code(.emptyList)
    static let emptyDict = code(.emptyDict)
    static let tuple = code(.tuple)
    static let tuple1 = code(.tuple1)
    static let tuple2 = code(.tuple2)
    static let list = code(.list)
    static let dict = code(.dict)
    static let append = code(.append)
    static let appends = code(.appends)
    static let setItem = code(.setItem)
    static let setItems = code(.setItems)
    static let reduce = code(.reduce)
    static let build = code(.build)
    static let newObj = code(.newObj)
    static let obj = code(.obj)
    static let binPersId = code(.binPersId)
    static let memoize = code(.memoize)
    static let stackGlobal = code(.stackGlobal)

    static func int(_ value: Int32) -> [UInt8] { code(.binInt, le(UInt32(bitPattern: value))) }
    static func string(_ text: String) -> [UInt8] { code(.binUnicode, le(UInt32(text.utf8.count)) + Array(text.utf8)) }
    static func global(_ module: String, _ name: String) -> [UInt8] { code(.global, Array("\(module)\n\(name)\n".utf8)) }
    static func binPut(_ index: UInt8) -> [UInt8] { code(.binPut, [index]) }
    static func binGet(_ index: UInt8) -> [UInt8] { code(.binGet, [index]) }
    static func longBinGet(_ index: UInt32) -> [UInt8] { code(.longBinGet, le(index)) }
    static func long4(count: Int32) -> [UInt8] { code(.long4, le(UInt32(bitPattern: count))) }
    /// An 8-byte LONG1: any Int64.
    static func long1(_ value: Int64) -> [UInt8] { code(.long1, [8] + le64(UInt64(bitPattern: value))) }
    /// A protocol 0 opcode whose argument is a line of text.
    static func text(_ opcode: PickleOpcode, _ argument: String) -> [UInt8] { code(opcode, Array("\(argument)\n".utf8)) }

    static func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    static func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// `(values…)` as MARK … TUPLE.
    static func tupleOf(_ items: [UInt8]...) -> [UInt8] { mark + items.joined() + tuple }

    /// `('storage', torch.<type>, key, 'cpu', numel)` loaded through BINPERSID.
    static func storage(_ type: String = "FloatStorage", key: String = "0", numel: Int32) -> [UInt8] {
        tupleOf(string("storage"), global("torch", type), string(key), string("cpu"), int(numel)) + binPersId
    }

    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
    static func tensor(storage: [UInt8], offset: Int32 = 0, shape: [Int32], strides: [Int32]) -> [UInt8] {
        global("torch._utils", "_rebuild_tensor_v2")
            + mark + storage + int(offset) + mark + shape.flatMap(int) + tuple + mark + strides.flatMap(int) + tuple
            + newFalse + global("collections", "OrderedDict") + emptyTuple + reduce + tuple + reduce
    }

    /// `{name: tensor, …}` as a protocol 2 pickle.
    static func stateDict(_ entries: [(String, [UInt8])]) -> [UInt8] {
        proto() + emptyDict + mark + entries.flatMap { string($0.0) + $0.1 } + setItems + stop
    }
}

// MARK: - Zip archives

/// A zip archive of stored entries, as `torch.save` writes them, with hooks to lie in its headers.
struct ZipBuilder {
    struct Entry {
        var name: String
        var data: [UInt8]
        /// What the headers claim, when they should lie.
        var claimedSize: UInt32?
        var claimedCompressedSize: UInt32?
        var method: UInt16 = 0
        var flags: UInt16 = 0
    }

    var entries: [Entry] = []

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0, flags: UInt16 = 0,
                      claimedSize: UInt32? = nil, claimedCompressedSize: UInt32? = nil) {
        entries.append(Entry(name: name, data: data, claimedSize: claimedSize, claimedCompressedSize: claimedCompressedSize,
                             method: method, flags: flags))
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = crc32(entry.data)
            let offset = UInt32(out.count)
            let compressed = entry.claimedCompressedSize ?? UInt32(entry.data.count)
            let size = entry.claimedSize ?? UInt32(entry.data.count)
            out += Op.le(0x0403_4B50) + le16(20) + le16(entry.flags) + le16(entry.method) + le16(0) + le16(0x21)
                + Op.le(crc) + Op.le(compressed) + Op.le(size) + le16(UInt16(name.count)) + le16(0) + name + entry.data
            central += Op.le(0x0201_4B50) + le16(20) + le16(20) + le16(entry.flags) + le16(entry.method) + le16(0) + le16(0x21)
                + Op.le(crc) + Op.le(compressed) + Op.le(size) + le16(UInt16(name.count)) + le16(0) + le16(0)
                + le16(0) + le16(0) + Op.le(0) + Op.le(offset) + name
        }
        return out + central + Op.le(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(entries.count))
            + le16(UInt16(entries.count)) + Op.le(UInt32(central.count)) + Op.le(UInt32(out.count)) + le16(0)
    }

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }

    private func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    /// A torch zip checkpoint: `archive/data.pkl`, `archive/byteorder`, and `archive/data/<key>` storages.
    static func checkpoint(pickle: [UInt8], storages: [String: [UInt8]] = [:], byteorder: String? = "little") -> [UInt8] {
        var zip = ZipBuilder()
        zip.add("archive/data.pkl", pickle)
        if let byteorder { zip.add("archive/byteorder", Array(byteorder.utf8)) }
        for key in storages.keys.sorted() { zip.add("archive/data/\(key)", storages[key] ?? []) }
        zip.add("archive/version", Array("3\n".utf8))
        return zip.bytes()
    }
}

/// `count` little-endian float32 values 0, 1, 2, …
func floatStorage(_ count: Int) -> [UInt8] {
    (0..<count).flatMap { Op.le(Float($0).bitPattern) }
}
