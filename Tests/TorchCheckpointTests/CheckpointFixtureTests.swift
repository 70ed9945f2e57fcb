import Foundation
import Testing
@testable import TorchCheckpoint
import WeightconvCore
import WeightconvKit

/// Every fixture read back against what torch.load returned for it (tools/make_checkpoint_fixtures.py:
/// `expectation()` writes names, dtypes, shapes, SHA-256 of `t.contiguous()` bytes and first values).
@Suite struct CheckpointFixtureTests {
    @Test func fixturesArePresent() {
        // The fixture script writes 25 checkpoint fixtures; losing some must not pass silently.
        #expect(Fixtures.checkpointNames.count >= 25, "fixtures missing under \(Fixtures.checkpoints.path)")
    }

    @Test(arguments: Fixtures.checkpointNames)
    func tensorsAgreeWithTorch(_ name: String) throws {
        let expected = try Fixtures.expectation(name)
        let store = try openTensorStore(path: Fixtures.path(name))
        #expect(try detectFileKind(path: Fixtures.path(name)).rawValue == expected.kind)
        #expect(store.tensors.map(\.name) == expected.tensors.map(\.name))
        for (got, want) in zip(store.tensors, expected.tensors) {
            #expect(got.dtype.rawValue == want.dtype, "\(name): \(got.name)")
            #expect(got.shape == want.shape, "\(name): \(got.name)")
            #expect(try store.sha256(of: got.name) == want.sha256, "\(name): \(got.name)")
            #expect(try firstValues(store, got) == want.values, "\(name): \(got.name)")
        }
    }

    /// What the import streams: every tensor in small pieces with each piece's pages dropped after
    /// it is read (streaming mode), twice over, must hash to what torch.load returned both times.
    @Test(arguments: Fixtures.checkpointNames)
    func piecesAgreeWithTorchWhilePagesAreDropped(_ name: String) throws {
        let expected = try Fixtures.expectation(name)
        let store = try openTensorStore(path: Fixtures.path(name), streaming: true)
        for pass in 0..<2 {
            for (got, want) in zip(store.tensors, expected.tensors) {
                var hasher = SHA256Hex.Hasher()
                var pieces = 0, bytes = 0
                try store.forEachPiece(of: got.name, pieceSize: 4096 + 3) { piece in
                    #expect(piece.count <= 4096 + 3)
                    hasher.update(piece)
                    pieces += 1
                    bytes += piece.count
                }
                #expect(hasher.finalize() == want.sha256, "\(name): \(got.name), pass \(pass)")
                #expect(bytes == got.byteCount && pieces == max(1, (bytes + 4098) / 4099), "\(name): \(got.name)")
            }
        }
    }

    @Test(arguments: Fixtures.checkpointNames)
    func metadataAgreesWithTorch(_ name: String) throws {
        let expected = try Fixtures.expectation(name)
        let store = try openTensorStore(path: Fixtures.path(name))
        if let checkpoint = store as? Checkpoint {
            #expect(checkpoint.sharedStorageGroups == expected.shared_storages)
            #expect(checkpoint.modelClass == expected.model_class)
        }
        if case .null = expected.metadata { return }  // a bare tensor or model: torch has no metadata to compare
        #expect(metadataDifference(store.metadata, expected.metadata) == nil, "\(name)")
    }

    /// The first four elements, read the way the dtype stores them.
    private func firstValues(_ store: any TensorStore, _ descriptor: TensorDescriptor) throws -> [Double] {
        try store.withContiguousBytes(of: descriptor.name) { bytes in
            let count = min(4, (descriptor.elementCount ?? 0))
            return (0..<count).map { i -> Double in
                let size = descriptor.dtype.byteSize
                func load<T: FixedWidthInteger>(_: T.Type) -> T { T(littleEndian: bytes.loadUnaligned(fromByteOffset: i * size, as: T.self)) }
                switch descriptor.dtype {
                case .f64: return Double(bitPattern: load(UInt64.self))
                case .f32: return Double(Float(bitPattern: load(UInt32.self)))
                case .f16: return Double(FloatConversion.halfToFloat(load(UInt16.self)))
                case .bf16: return Double(Float(bitPattern: UInt32(load(UInt16.self)) << 16))
                case .i64: return Double(load(Int64.self))
                case .i32: return Double(load(Int32.self))
                case .i16: return Double(load(Int16.self))
                case .i8: return Double(load(Int8.self))
                case .u8: return Double(load(UInt8.self))
                case .bool: return load(UInt8.self) != 0 ? 1 : 0
                }
            }
        }
    }

    @Test func wholeModelIsRecoveredWithoutItsClass() throws {
        // torch.save(TinyNet()) in the fixture script: a non-persistent buffer ("scratch") is left
        // out, the tied head/tail weight shares one storage, batch norm's counter is kept.
        let checkpoint = try Checkpoint.open(path: Fixtures.path("whole_model.pt"))
        #expect(checkpoint.modelClass == "__main__.TinyNet")
        #expect(!checkpoint.tensors.contains { $0.name.contains("scratch") })
        #expect(checkpoint.sharedStorageGroups == [["head.weight", "tail.weight"]])
        #expect(checkpoint.descriptor(named: "features.1.num_batches_tracked")?.dtype == .i64)
    }

    @Test func viewsShareOneStorageRecord() throws {
        let checkpoint = try Checkpoint.open(path: Fixtures.path("views.pt"))
        #expect(checkpoint.storageKey(of: "matrix") == checkpoint.storageKey(of: "transposed"))
        #expect(checkpoint.storageKey(of: "matrix") != checkpoint.storageKey(of: "tail"))
    }

    @Test func storedEntriesAreMappedDeflatedOnesInflated() throws {
        let stored = try Checkpoint.open(path: Fixtures.path("dtypes.pt"))
        let deflated = try Checkpoint.open(path: Fixtures.path("deflated.pt"))
        for location in stored.locations.values {
            guard case .mapped = location else { Issue.record("stored storage not mapped"); continue }
        }
        for location in deflated.locations.values {
            guard case .zipEntry(let entry) = location else { Issue.record("deflated storage mapped"); continue }
            #expect(!entry.isStored)
        }
        // Same bytes either way (the deflated file is a rewrite of the stored one).
        for descriptor in stored.tensors {
            #expect(try stored.sha256(of: descriptor.name) == deflated.sha256(of: descriptor.name))
        }
    }

    @Test func mappedOffsetsMatchWhatLibzipReads() throws {
        let file = try MappedFile(path: Fixtures.path("views.pt"))
        let archive = try ZipArchive(file: file)
        var checked = 0
        for entry in archive.entries where entry.isStored && entry.size > 0 {
            let viaLibzip = try archive.read(entry, limit: entry.size)
            guard let offset = archive.storedDataOffset(of: entry), let mapped = file.slice(offset: offset, count: entry.size) else {
                Issue.record("no data offset for stored entry \(entry.name)")
                continue
            }
            #expect(Array(mapped) == viaLibzip, "\(entry.name)")
            checked += 1
        }
        #expect(checked >= 5)
    }

    @Test func npzArraysReadAsFloats() throws {
        // np.savez in the fixture script; "swapped" was written big-endian (>f4).
        let archive = try NumpyArchive(path: Fixtures.path("arrays_compressed.npz"))
        let arrays = try archive.floatArrays()
        let expected = try Fixtures.expectation("arrays_compressed.npz")
        for tensor in expected.tensors where tensor.dtype != "i64" {
            #expect(arrays[tensor.name]?.shape == tensor.shape)
            #expect(arrays[tensor.name].map { Array($0.values.prefix(4)).map(Double.init) } == tensor.values.map { Double(Float($0)) })
        }
        #expect(arrays["labels"] == nil)
        #expect(throws: WeightconvError.self) { try archive.floats(of: "labels") }
    }
}
