import Foundation
import Testing
import TorchCheckpoint
import WeightconvCore

/// The refusals past the pickle machine: persistent ids (StorageCatalog), tensor views
/// (TensorReference), storages against the file (Checkpoint), names and nesting
/// (CheckpointContents), the legacy layout (LegacyCheckpoint), the zip layout (TorchZipCheckpoint,
/// ZipArchive) and npz archives (NumpyArchive, NumpyArray). Each crafted file must be refused on one
/// line that names it.
@Suite struct CheckpointErrorPathTests {
    /// `{"w": <value>}` inside a torch zip whose storage "0" holds `storageBytes`.
    static func zipWith(_ value: [UInt8], storageBytes: [UInt8]? = floatStorage(4)) -> [UInt8] {
        ZipBuilder.checkpoint(pickle: Op.stateDict([("w", value)]), storages: storageBytes.map { ["0": $0] } ?? [:])
    }

    static let float4 = Op.storage(numel: 4)

    static let catalog: [Case] = [
        Case("persistent id that is an int", zipWith(Op.int(1) + Op.binPersId), "persistent id is int, not a tuple"),
        Case("persistent id starting with an int", zipWith(Op.tupleOf(Op.int(1)) + Op.binPersId), "persistent id starts with int, not a name"),
        Case("persistent id of an unknown kind", zipWith(Op.tupleOf(Op.string("thing")) + Op.binPersId), "unknown persistent id type 'thing'"),
        Case("storage id with two fields", zipWith(Op.tupleOf(Op.string("storage"), Op.int(1)) + Op.binPersId), "storage persistent id with 2 fields"),
        Case("storage type that is an int", zipWith(Op.tupleOf(Op.string("storage"), Op.int(1), Op.string("0"), Op.string("cpu"), Op.int(1))
                                                   + Op.binPersId), "storage type is int, not a storage class"),
        Case("complex storage class", zipWith(Op.storage("ComplexFloatStorage", numel: 1)),
             "storage class torch.ComplexFloatStorage is not one weightconv reads"),
        Case("storage key None", zipWith(Op.tupleOf(Op.string("storage"), Op.global("torch", "FloatStorage"), Op.none, Op.string("cpu"), Op.int(1))
                                         + Op.binPersId), "storage key is None, not a string"),
        Case("negative storage size", zipWith(Op.storage(numel: -1)), "has a size that is not a non-negative integer"),
        Case("storage size that overflows", zipWith(Op.tupleOf(Op.string("storage"), Op.global("torch", "FloatStorage"), Op.string("0"),
                                                               Op.string("cpu"), Op.long1(.max)) + Op.binPersId),
             "storage '0' size 9223372036854775807 overflows"),
    ]

    static let views: [Case] = [
        Case("negative storage offset", zipWith(Op.tensor(storage: float4, offset: -1, shape: [1], strides: [1])),
             "tensor storage offset is not a non-negative integer"),
        Case("size that is an int", zipWith(Op.global("torch._utils", "_rebuild_tensor_v2")
                                            + Op.tupleOf(float4, Op.int(0), Op.int(4), Op.tupleOf(Op.int(1)), Op.newFalse, Op.none) + Op.reduce),
             "tensor size is int, not a tuple of integers"),
        Case("two sizes, one stride", zipWith(Op.tensor(storage: float4, shape: [2, 2], strides: [1])), "tensor has 2 sizes but 1 strides"),
        Case("element count overflow", zipWith(Op.tensor(storage: float4, shape: [.max, .max, .max], strides: [0, 0, 0])),
             "has an element count that overflows"),
        Case("byte size overflow", zipWith(Op.tensor(storage: float4, shape: [.max, .max, 2], strides: [0, 0, 0])),
             "has a byte size that overflows"),
        Case("stride overflow", zipWith(Op.global("torch._utils", "_rebuild_tensor_v2")
                                        + Op.tupleOf(float4, Op.int(0), Op.tupleOf(Op.int(3)), Op.tupleOf(Op.long1(1 << 62)), Op.newFalse, Op.none)
                                        + Op.reduce), "overflows"),
        Case("view beyond its storage", zipWith(Op.tensor(storage: float4, shape: [10], strides: [1])),
             "needs 40 bytes of storage '0', which declares 16"),
        Case("65 dimensions", zipWith(Op.tensor(storage: float4, shape: Array(repeating: 1, count: 65), strides: Array(repeating: 1, count: 65))),
             "tensor with 65 dimensions"),
        Case("negative dimension", zipWith(Op.tensor(storage: float4, shape: [-1], strides: [1])), "tensor size holds a negative or huge integer"),
        Case("complex dtype in _rebuild_tensor_v3", zipWith(Op.global("torch._utils", "_rebuild_tensor_v3")
                                                            + Op.tupleOf(Op.storage("UntypedStorage", numel: 16), Op.int(0), Op.tupleOf(Op.int(1)),
                                                                         Op.tupleOf(Op.int(1)), Op.newFalse, Op.none, Op.global("torch", "complex64"))
                                                            + Op.reduce), "with dtype torch.complex64, which weightconv does not read"),
    ]

    static let storages: [Case] = [
        Case("storage missing from the archive", zipWith(Op.tensor(storage: float4, shape: [4], strides: [1]), storageBytes: nil),
             "storage key '0' is not in the archive (no archive/data/0)"),
        Case("storage shorter than declared", zipWith(Op.tensor(storage: float4, shape: [4], strides: [1]), storageBytes: floatStorage(2)),
             "storage '0' holds 8 bytes but tensor 'w' needs 16"),
        Case("zero-stride view of 4 GiB", zipWith(Op.tensor(storage: Op.storage(numel: 1), shape: [1 << 20, 1 << 10], strides: [0, 0]),
                                                  storageBytes: floatStorage(1)), "expands to 4294967296 bytes"),
        Case("bad byteorder record", ZipBuilder.checkpoint(pickle: Op.stateDict([]), byteorder: "middle"),
             "byteorder record says 'middle', not 'little' or 'big'"),
    ]

    static let contents: [Case] = [
        Case("two tensors named a.b", ZipBuilder.checkpoint(
            pickle: Op.proto() + Op.emptyDict + Op.mark
                + Op.string("a.b") + Op.tensor(storage: float4, shape: [1], strides: [1])
                + Op.string("a") + Op.emptyDict + Op.string("b") + Op.tensor(storage: float4, shape: [1], strides: [1]) + Op.setItem
                + Op.setItems + Op.stop, storages: ["0": floatStorage(4)]), "two tensors are both named 'a.b'"),
        Case("module parameter that is an int", ZipBuilder.checkpoint(
            pickle: Op.proto() + Op.global("mymodel", "Net") + Op.emptyTuple + Op.newObj
                + Op.emptyDict + Op.mark + Op.string("_parameters") + Op.emptyDict + Op.string("w") + Op.int(1) + Op.setItem
                + Op.string("_modules") + Op.emptyDict + Op.setItems + Op.build + Op.stop),
             "module entry 'w' in _parameters is int, not a tensor"),
    ]

    // MARK: - Legacy format

    static func legacyPickle(_ body: [UInt8]) -> [UInt8] { Op.proto() + body + Op.stop }
    static let legacyMagic = legacyPickle(Op.code(.long1, [10, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]))
    static func legacyStorage(key: String = "0", numel: Int32, view: [UInt8] = Op.none) -> [UInt8] {
        Op.tupleOf(Op.string("storage"), Op.global("torch", "FloatStorage"), Op.string(key), Op.string("cpu"), Op.int(numel), view) + Op.binPersId
    }

    /// magic, 1001, sys_info, `{"w": tensor}`, the key list, then the storage records.
    static func legacy(version: Int32 = 1001, object: [UInt8]? = nil, keys: [UInt8] = Op.mark + Op.string("0") + Op.list,
                       records: [UInt8] = Op.le64(4) + floatStorage(4)) -> [UInt8] {
        let tensor = object ?? Op.emptyDict + Op.string("w") + Op.tensor(storage: legacyStorage(numel: 4), shape: [4], strides: [1]) + Op.setItem
        return legacyMagic + legacyPickle(Op.int(version)) + legacyPickle(Op.emptyDict) + legacyPickle(tensor) + legacyPickle(keys) + records
    }

    static let legacyCases: [Case] = [
        Case("protocol version 1000", legacy(version: 1000), "legacy protocol version is not 1001"),
        Case("key list that is an int", legacy(keys: Op.int(1)), "storage key list is int, not a list"),
        Case("key list holding an int", legacy(keys: Op.mark + Op.int(1) + Op.list), "storage key list holds int"),
        Case("key nobody declared", legacy(object: Op.emptyDict, keys: Op.mark + Op.string("9") + Op.list),
             "storage key '9' is listed but no tensor declared it"),
        Case("file ends before a storage size", legacy(records: []), "before the size of storage '0'"),
        Case("storage past the end", legacy(records: Op.le64(1000) + floatStorage(2)), "storage '0' claims 1000 elements, past the end"),
        Case("storage size of 2^64-1", legacy(records: Op.le64(.max)), "storage '0' claims 18446744073709551615 elements"),
        Case("declared storage missing from the list", legacy(keys: Op.emptyList), "storage key '0' is not in the file's storage list"),
        Case("view outside its storage", legacy(object: Op.emptyDict + Op.string("w")
                                                + Op.tensor(storage: legacyStorage(numel: 4, view: Op.tupleOf(Op.string("1"), Op.int(10), Op.int(10))),
                                                            shape: [1], strides: [1]) + Op.setItem),
             "storage view of '0' lies outside it"),
        Case("module record without a class", legacy(object: Op.tupleOf(Op.string("module"), Op.int(1)) + Op.binPersId),
             "legacy module record without a class"),
        Case("truncated second pickle", Array(legacy().prefix(legacyMagic.count + 3)), "pickle ends"),
    ]

    // MARK: - Zip archives

    static func zipCase(_ mutate: (inout ZipBuilder) -> Void) -> [UInt8] {
        var zip = ZipBuilder()
        mutate(&zip)
        return zip.bytes()
    }

    static let zipCases: [Case] = [
        Case("zip header and garbage", Array("PK\u{3}\u{4}".utf8) + Array(repeating: 0x41, count: 60), "not a readable zip archive"),
        Case("encrypted data.pkl", zipCase { $0.add("archive/data.pkl", Op.stateDict([]), flags: 1) }, "is encrypted"),
        Case("deflate claiming a 1000:1 ratio and more", zipCase {
            // Under maxPickleBytes, so that the zip reader's own bound is what refuses it.
            $0.add("archive/data.pkl", Array(repeating: 0, count: 10), method: 8, claimedSize: 100_000_000)
        }, "claims 100000000 bytes from 10 compressed"),
        // Found while writing these cases: reading allocated the claimed gigabyte before libzip noticed the file ends.
        Case("stored entry claiming more than the file", zipCase {
            $0.add("archive/data.pkl", Op.stateDict([]), claimedSize: 100_000_000, claimedCompressedSize: 100_000_000)
        }, "zip entry 'archive/data.pkl' claims 100000000 bytes in a"),
        Case("deflated entry claiming more compressed bytes than the file", zipCase {
            $0.add("archive/data.pkl", Array(repeating: 0, count: 10), method: 8, claimedSize: 1000, claimedCompressedSize: 1_000_000)
        }, "zip entry 'archive/data.pkl' claims 1000000 bytes in a"),
        Case("a zip that is not a checkpoint", zipCase { $0.add("notes.txt", Array("hello".utf8)) }, "a zip archive, not a PyTorch checkpoint"),
    ]

    @Test(arguments: catalog + views + storages + contents)
    func zipCheckpointRefusal(_ sample: Case) throws {
        try expectOneLineRefusal(sample, name: "crafted.pt")
    }

    @Test(arguments: legacyCases)
    func legacyRefusal(_ sample: Case) throws {
        try expectOneLineRefusal(sample, name: "crafted.pt")
    }

    @Test(arguments: zipCases)
    func zipRefusal(_ sample: Case) throws {
        try expectOneLineRefusal(sample, name: "crafted.pt")
    }

    /// The crafted legacy and zip files are valid before they are damaged: the cases above fail for
    /// the reason they name, not because the builders are wrong.
    @Test func undamagedCraftedFilesOpen() throws {
        for bytes in [Self.legacy(), Self.zipWith(Op.tensor(storage: Self.float4, shape: [2, 2], strides: [2, 1]))] {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            let checkpoint = try Checkpoint.open(path: try folder.write(bytes, "good.pt"))
            #expect(checkpoint.tensors.map(\.name) == ["w"])
            #expect(try checkpoint.floats(of: "w") == [0, 1, 2, 3])
        }
    }
}
