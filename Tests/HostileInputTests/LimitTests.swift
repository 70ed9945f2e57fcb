import Foundation
import Testing
import TorchCheckpoint
import WeightconvCore
import WeightFormat

/// Every limit a reader enforces, each hit by a crafted input. The refusal must name the limit
/// (so a user can tell a hostile file from a big one) and, where raising it is legitimate, say how.
@Suite struct LimitTests {
    /// Expects the refusal to name `limit` and to say how to raise it.
    func expectLimit(_ bytes: [UInt8], _ limit: String, limits: PickleLimits = .standard, name: String = "crafted.pkl") throws {
        let error = try #require(try checkpointError(bytes, name: name, limits: limits), "accepted a file over \(limit)")
        let message = error.description
        #expect(message.contains("(\(limit) limit)") || message.contains("\(limit) limit"), "\(message)")
        #expect(message.contains("raise PickleLimits.\(limit)"), "no raising hint: \(message)")
        #expect(message.contains(name))
        #expect(!message.contains("\n"))
    }

    // MARK: PickleLimits at their standard values (the inputs stay small)

    @Test func maxMarkDepthStandard() throws {
        let limit = PickleLimits.standard.maxMarkDepth
        try expectLimit(Op.proto() + Array(repeating: 0x28, count: limit + 1) + Op.stop, "maxMarkDepth")
    }

    @Test func maxIntegerBytesStandard() throws {
        let count = PickleLimits.standard.maxIntegerBytes + 1
        try expectLimit(Op.proto() + Op.long4(count: Int32(count)) + Array(repeating: 1, count: count) + Op.stop, "maxIntegerBytes")
    }

    @Test func maxNestingDepthStandard() throws {
        // 201 nested one-element tuples: the machine builds them without recursion; flattening them must stop.
        let depth = PickleLimits.standard.maxNestingDepth + 1
        try expectLimit(Op.proto() + Op.int(1) + Array(repeating: 0x85, count: depth) + Op.stop, "maxNestingDepth")
    }

    @Test func selfReferenceEndsAtTheNestingLimit() throws {
        // l = []; l.append(l): a cycle that a recursive walker would follow forever.
        try expectLimit(Op.proto() + Op.emptyList + Op.binPut(0) + Op.binGet(0) + Op.append + Op.stop, "maxNestingDepth")
    }

    @Test func billionLaughsEndsAtTheVisitLimit() throws {
        // Each level is a list holding the previous level ten times: 10^9 values from ~200 bytes.
        var bytes = Op.proto() + Op.emptyList + Op.binPut(0)
        for level in 1...9 {
            bytes += Op.mark + Array(repeating: Op.binGet(UInt8(level - 1)), count: 10).joined() + Op.list + Op.binPut(UInt8(level))
        }
        bytes += Op.stop
        let limits = PickleLimits(maxVisitedValues: 100_000)
        try expectLimit(bytes, "maxVisitedValues", limits: limits)
    }

    @Test func sharedReferencesUnderTheOldVisitLimitAreRefused() throws {
        // Found by FuzzLegacy and FuzzTorchZip (fixtures/fuzz/*/timeout-*): six levels of ten shared
        // references, 1.1 million values from ~140 bytes, passed the old 10,000,000 default and
        // then cost seconds and hundreds of megabytes as metadata.
        var bytes = Op.proto() + Op.emptyList + Op.binPut(0)
        for level in 1...6 {
            bytes += Op.mark + Array(repeating: Op.binGet(UInt8(level - 1)), count: 10).joined() + Op.list + Op.binPut(UInt8(level))
        }
        try expectLimit(bytes + Op.stop, "maxVisitedValues")
    }

    @Test func metadataPastItsBudgetIsLeftOutAndTheTensorsAreStillRead() throws {
        // {"w": tensor, "log": [s, s, … 2,000 times]} with s a shared 1,000-character string: 2 MB of
        // JSON from a 1 KB pickle. Found by FuzzLegacy (fixtures/fuzz/FuzzLegacy/timeout-1fd0582d…):
        // 585 bytes became 120 MB of `inspect --json`.
        let log = Op.emptyList + Op.mark + Op.string(String(repeating: "x", count: 1000)) + Op.binPut(1)
            + Array(repeating: Op.binGet(1), count: 1999).joined() + Op.appends
        let pickle = Op.proto() + Op.emptyDict + Op.mark + Op.string("w") + Op.tensor(storage: Op.storage(numel: 4), shape: [4], strides: [1])
            + Op.string("log") + log + Op.setItems + Op.stop
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = try folder.write(ZipBuilder.checkpoint(pickle: pickle, storages: ["0": floatStorage(4)]), "log.pt")

        let limits = PickleLimits(maxMetadataBytes: 100_000)
        let checkpoint = try Checkpoint.open(path: path, limits: limits)
        #expect(checkpoint.tensors.map(\.name) == ["w"])
        #expect(try checkpoint.sha256(of: "w").count == 64)
        let json = checkpoint.metadata.jsonText
        #expect(json.utf8.count <= 110_000, "\(json.utf8.count) bytes of metadata")
        #expect(json.contains("(maxMetadataBytes limit)") && json.contains("raise PickleLimits.maxMetadataBytes"), "\(json.suffix(300))")
        // The strings that fit come first, in order; the marker stands where the budget ran out.
        guard case .object(let entries) = checkpoint.metadata, case .array(let items)? = entries.first(where: { $0.key == "log" })?.value else {
            Issue.record("metadata is \(json.prefix(200))")
            return
        }
        #expect(items.count > 90 && items.count < 101, "\(items.count) items kept")
        #expect(items.dropLast().allSatisfy { $0 == .string(String(repeating: "x", count: 1000)) })

        // Within the standard budget, nothing is left out.
        let whole = try Checkpoint.open(path: path).metadata.jsonText
        #expect(!whole.contains("maxMetadataBytes") && whole.utf8.count > 2_000_000, "\(whole.utf8.count)")
    }

    // MARK: PickleLimits lowered, so the inputs stay small

    @Test func maxPickleBytes() throws {
        try expectLimit(Op.proto() + Op.string(String(repeating: "x", count: 64)) + Op.stop, "maxPickleBytes",
                        limits: PickleLimits(maxPickleBytes: 32))
    }

    @Test func maxPickleBytesInsideAZip() throws {
        let zip = ZipBuilder.checkpoint(pickle: Op.proto() + Op.string(String(repeating: "x", count: 64)) + Op.stop)
        let error = try #require(try checkpointError(zip, name: "big.pt", limits: PickleLimits(maxPickleBytes: 32)))
        #expect(error.description.contains("over the maxPickleBytes limit (32)"), "\(error)")
        #expect(error.description.contains("raise PickleLimits.maxPickleBytes"), "\(error)")
    }

    @Test func maxStackDepth() throws {
        try expectLimit(Op.proto() + Array(repeating: 0x4E, count: 101) + Op.stop, "maxStackDepth", limits: PickleLimits(maxStackDepth: 100))
    }

    @Test func maxMemoEntries() throws {
        let puts = (0..<11).flatMap { Op.binPut(UInt8($0)) }
        try expectLimit(Op.proto() + Op.none + puts + Op.stop, "maxMemoEntries", limits: PickleLimits(maxMemoEntries: 10))
    }

    @Test func maxContainerItemsOfAList() throws {
        try expectLimit(Op.proto() + Op.emptyList + Op.mark + Array(repeating: 0x4E, count: 11) + Op.appends + Op.stop,
                        "maxContainerItems", limits: PickleLimits(maxContainerItems: 10))
    }

    @Test func maxContainerItemsOfADict() throws {
        let pairs = (0..<11).flatMap { Op.int(Int32($0)) + Op.none }
        try expectLimit(Op.proto() + Op.emptyDict + Op.mark + pairs + Op.setItems + Op.stop,
                        "maxContainerItems", limits: PickleLimits(maxContainerItems: 10))
    }

    @Test func maxContainers() throws {
        // Eleven empty lists, none reachable from the result: each still costs memory.
        try expectLimit(Op.proto() + Array(repeating: Op.emptyList + Op.pop, count: 11).joined() + Op.none + Op.stop,
                        "maxContainers", limits: PickleLimits(maxContainers: 10))
    }

    @Test func maxIntegerBytesOfLONG1() throws {
        try expectLimit(Op.proto() + Op.code(.long1, [200] + Array(repeating: 7, count: 200)) + Op.stop, "maxIntegerBytes",
                        limits: PickleLimits(maxIntegerBytes: 100))
    }

    @Test func maxVisitedValuesOfAWideList() throws {
        try expectLimit(Op.proto() + Op.emptyList + Op.mark + Array(repeating: 0x4E, count: 50) + Op.appends + Op.stop,
                        "maxVisitedValues", limits: PickleLimits(maxVisitedValues: 20))
    }

    @Test func raisingALimitLetsTheSameFileThrough() throws {
        // The limits are the only thing between these files and success: raised, they open.
        let wide = Op.proto() + Op.emptyList + Op.mark + Array(repeating: 0x4E, count: 50) + Op.appends + Op.stop
        #expect(try checkpointError(wide, limits: PickleLimits(maxVisitedValues: 20)) != nil)
        #expect(try checkpointError(wide, limits: PickleLimits(maxVisitedValues: 100)) == nil)
        let deep = Op.proto() + Op.int(1) + Array(repeating: 0x85, count: 250) + Op.stop
        #expect(try checkpointError(deep) != nil)
        #expect(try checkpointError(deep, limits: PickleLimits(maxNestingDepth: 300)) == nil)
    }

    // MARK: Format limits (fixed by the file formats; not raisable)

    @Test func tensorRankOver64InACheckpoint() throws {
        let bytes = CheckpointErrorPathTests.zipWith(Op.tensor(storage: CheckpointErrorPathTests.float4,
                                                                shape: Array(repeating: 1, count: 65), strides: Array(repeating: 1, count: 65)))
        let error = try #require(try checkpointError(bytes))
        #expect(error.description.contains("tensor with 65 dimensions"))
    }

    @Test func wcvHeaderLengthOver16MiB() throws {
        var bytes = WCVFormat.magic + Op.le(1) + Op.le(0) + Op.le64(UInt64(WCVFormat.maximumHeaderLength + 1))
        bytes += Array(repeating: 0, count: 64)
        #expect(throws: WeightFileProblem(.headerLengthOutOfRange(UInt64(WCVFormat.maximumHeaderLength + 1)), at: 16)) {
            _ = try WeightFile.validate(MappedFile.copying(bytes))
        }
    }

    @Test func safetensorsHeaderOver100MB() throws {
        let bytes = Op.le64(UInt64(SafetensorsFile.maximumHeaderLength + 1)) + Array("{}".utf8)
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = try folder.write(bytes, "big.safetensors")
        #expect {
            _ = try SafetensorsFile(path: path)
        } throws: { error in
            "\(error)".contains("exceeds the 100000000-byte limit") && "\(error)".contains("big.safetensors")
        }
    }

    @Test func npyHeaderOver64KiB() throws {
        let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0] + Op.le(70_000) + Array(repeating: 0x20, count: 16)
        #expect {
            _ = try NumpyArray(bytes: bytes, file: "big.npy")
        } throws: { error in
            "\(error)".contains("header of 70000 bytes exceeds 65536") && "\(error)".contains("big.npy")
        }
    }

    @Test func jsonNestingOver64() throws {
        let text = Array((String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).utf8)
        #expect(throws: JSONProblem.self) { _ = try StrictJSON.parse(text) }
        let nested64 = Array((String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).utf8)
        _ = try StrictJSON.parse(nested64)
    }

    @Test func zipEntryCountBeyondTheFile() throws {
        // An end record claiming 65535 entries in a 22-byte file: refused before anything is sized by it.
        let bytes = Op.le(0x0605_4B50) + [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF] + Op.le(0) + Op.le(0) + [0, 0]
        let folder = try ScratchFolder()
        defer { folder.remove() }
        #expect {
            _ = try Checkpoint.open(path: try folder.write(bytes, "entries.pt"))
        } throws: { error in
            "\(error)".contains("entries.pt") && !"\(error)".contains("\n")
        }
    }
}
