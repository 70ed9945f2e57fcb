import Foundation
import Testing
@testable import TorchCheckpoint
import WeightconvCore

/// The pickle machine on streams written by Python's own pickler (fixtures/checkpoints/pickle_cases.json,
/// `make_pickle_cases()` in tools/make_checkpoint_fixtures.py), and on limits.
@Suite struct PickleMachineTests {
    struct Cases: Decodable {
        struct Case: Decodable { var `protocol`: Int; var hex: String }
        var values: JSONValue
        var cases: [Case]
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            out.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) ?? 0)
        }
        return out
    }

    static func metadata(_ bytes: [UInt8], limits: PickleLimits = .standard) throws -> MetadataValue {
        let machine = PickleMachine(limits: limits)
        do {
            let result = try machine.run(bytes)
            return try CheckpointContents.flatten(result.value, limits: limits, file: "test").metadata
        } catch let error as PickleError {
            throw WeightconvError(file: "test", problem: error.problem)
        }
    }

    @Test(arguments: 0...5)
    func pythonPickleDecodes(_ protocolNumber: Int) throws {
        let cases = try Fixtures.decode(Cases.self, Fixtures.checkpoints.appendingPathComponent("pickle_cases.json"))
        let raw = try #require(cases.cases.first { $0.`protocol` == protocolNumber })
        let value = try Self.metadata(Self.bytes(hex: raw.hex))
        #expect(metadataDifference(value, cases.values) == nil)
    }

    @Test func millionLevelNestingIsAnErrorNotAStackOverflow() throws {
        // Python's pickler cannot write this; the bytes are the opcodes' definition: NONE, TUPLE1 × 10^6, STOP.
        let deep = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
        #expect {
            _ = try Self.metadata(deep)
        } throws: { error in
            (error as? WeightconvError)?.problem.contains("maxNestingDepth") == true
        }
        // Building and freeing the chain itself must not recurse either.
        do {
            let machine = PickleMachine()
            _ = try machine.run(deep)
        }
    }

    @Test func deepListsBuiltThroughTheMemoAreFreedIteratively() throws {
        // ] q0 then, 200 000 times: ] BINPUT 1, APPEND onto the previous list, POP, BINGET 1, BINPUT 0 ...
        var bytes: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00]
        for _ in 0..<200_000 { bytes += [0x5D, 0x71, 0x01, 0x61, 0x30, 0x68, 0x01, 0x71, 0x00] }
        bytes += [0x30, 0x5D, 0x2E]
        let machine = PickleMachine()
        _ = try machine.run(bytes)
    }

    @Test(arguments: [
        ("maxMemoEntries", PickleLimits(maxMemoEntries: 2), [0x80, 0x02, 0x4E, 0x94, 0x94, 0x94, 0x2E] as [UInt8]),
        ("maxStackDepth", PickleLimits(maxStackDepth: 3), [0x80, 0x02, 0x4E, 0x4E, 0x4E, 0x4E, 0x2E]),
        ("maxContainerItems", PickleLimits(maxContainerItems: 2), [0x80, 0x02, 0x5D, 0x28, 0x4E, 0x4E, 0x4E, 0x65, 0x2E]),
        ("maxPickleBytes", PickleLimits(maxPickleBytes: 4), [0x80, 0x02, 0x4E, 0x4E, 0x30, 0x2E]),
        ("maxMarkDepth", PickleLimits(maxMarkDepth: 2), [0x80, 0x02, 0x28, 0x28, 0x28, 0x2E]),
        ("maxIntegerBytes", PickleLimits(maxIntegerBytes: 8), [0x80, 0x02, 0x8A, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x2E]),
    ])
    func limitIsNamed(_ limit: String, _ limits: PickleLimits, _ bytes: [UInt8]) {
        #expect {
            _ = try Self.metadata(bytes, limits: limits)
        } throws: { error in
            (error as? WeightconvError)?.problem.contains(limit) == true
        }
    }

    @Test(arguments: 1..<14)
    func everyTruncationOfARealPickleIsAnError(_ cut: Int) throws {
        // A protocol 2 dict from pickle_cases.json, cut short at several points.
        let cases = try Fixtures.decode(Cases.self, Fixtures.checkpoints.appendingPathComponent("pickle_cases.json"))
        let raw = Self.bytes(hex: try #require(cases.cases.first { $0.`protocol` == 2 }).hex)
        let end = raw.count * cut / 14
        #expect(throws: WeightconvError.self) { _ = try Self.metadata(Array(raw.prefix(end))) }
    }
}
