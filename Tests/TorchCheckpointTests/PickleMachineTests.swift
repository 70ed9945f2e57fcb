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
        // Python's pickler cannot write this: NONE, TUPLE1 × 10^6, STOP.
        let deep = op(.proto, 2) + op(.none) + [UInt8](repeating: PickleOpcode.tuple1.rawValue, count: 1_000_000) + op(.stop)
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
        var bytes = op(.proto, 2) + op(.emptyList) + op(.binPut, 0)
        let step = op(.emptyList) + op(.binPut, 1) + op(.append) + op(.pop) + op(.binGet, 1) + op(.binPut, 0)
        for _ in 0..<200_000 { bytes += step }
        bytes += op(.pop) + op(.emptyList) + op(.stop)
        let machine = PickleMachine()
        _ = try machine.run(bytes)
    }

    @Test(arguments: [
        ("maxMemoEntries", PickleLimits(maxMemoEntries: 2), op(.proto, 2) + op(.none) + op(.memoize) + op(.memoize) + op(.memoize) + op(.stop)),
        ("maxStackDepth", PickleLimits(maxStackDepth: 3), op(.proto, 2) + op(.none) + op(.none) + op(.none) + op(.none) + op(.stop)),
        ("maxContainerItems", PickleLimits(maxContainerItems: 2),
         op(.proto, 2) + op(.emptyList) + op(.mark) + op(.none) + op(.none) + op(.none) + op(.appends) + op(.stop)),
        ("maxPickleBytes", PickleLimits(maxPickleBytes: 4), op(.proto, 2) + op(.none) + op(.none) + op(.pop) + op(.stop)),
        ("maxMarkDepth", PickleLimits(maxMarkDepth: 2), op(.proto, 2) + op(.mark) + op(.mark) + op(.mark) + op(.stop)),
        ("maxIntegerBytes", PickleLimits(maxIntegerBytes: 8), op(.proto, 2) + op(.long1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9) + op(.stop)),
    ])
    func limitIsNamed(_ limit: String, _ limits: PickleLimits, _ bytes: [UInt8]) {
        #expect {
            _ = try Self.metadata(bytes, limits: limits)
        } throws: { error in
            (error as? WeightconvError)?.problem.contains(limit) == true
        }
    }

    @Test func everyByteThatIsNoOpcodeIsRefusedNamingIt() {
        // pickletools defines 68 opcodes for protocols 0 to 5; every other byte is refused where it stands.
        #expect(PickleOpcode.allCases.count == 68)
        #expect(Set(PickleOpcode.allCases.map(\.rawValue)).count == 68)
        for byte in UInt8.min...UInt8.max where PickleOpcode(rawValue: byte) == nil {
            #expect {
                _ = try PickleMachine().run(op(.proto, 2) + [byte] + op(.stop))
            } throws: { error in
                (error as? PickleError).map { $0.offset == 2 && $0.problem == "unknown opcode 0x\(String(byte, radix: 16))" } == true
            }
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

/// `opcode` (the reader's own name for it) followed by its argument bytes.
private func op(_ opcode: PickleOpcode, _ argument: UInt8...) -> [UInt8] { [opcode.rawValue] + argument }
