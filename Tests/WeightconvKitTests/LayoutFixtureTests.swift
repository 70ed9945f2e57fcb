import Foundation
import Testing
import WeightconvCore
@testable import WeightconvKit

// Every expectation here comes from fixtures/layouts/<case>/expected.json, written by
// tools/make_layout_fixtures.py from the real implementations: the key list is the checkpoint's own
// (state_dict flattened as the reader names it), `mapping` and `canonical_keys` come from the Python key
// mapping that tools/check_reference_nets.py proves right by loading the renamed weights strictly into the
// canonical PyTorch net and reproducing the original logits. These tests check the Swift profiles (data)
// against that, without the checkpoint reader or the networks.

/// One fixture's expected.json, the fields these tests read.
struct LayoutFixture: Decodable, CustomTestStringConvertible, Sendable {
    struct Key: Decodable, Sendable { var name: String; var shape: [Int] }
    struct Expect: Decodable, Sendable { var outcome: String; var missing: [String]?; var foreign: String? }
    struct Preprocessing: Decodable, Sendable {
        var input_size: [Int]; var channel_order: String; var pixel_scale: Float; var mean: [Float]; var std: [Float]
    }

    var `case`: String
    var file: String
    var family: NetworkFamily?
    var layout: String?
    var wrapper_prefix: String
    var expect: Expect
    var keys: [Key]
    var outside_keys: [String]?
    var mapping: [String: String]?
    var canonical_keys: [Key]?
    var behaviour: [String: JSONScalar]?
    /// The same behaviour in weightconv's vocabulary (what a layout file says).
    var configuration_behaviour: [String: JSONScalar]?
    var preprocessing: Preprocessing?
    var repairs: String?

    var testDescription: String { self.case }

    static let directory = fixturesRoot.appendingPathComponent("layouts")

    static let all: [LayoutFixture] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            let url = directory.appendingPathComponent(name).appendingPathComponent("expected.json")
            guard let data = try? Data(contentsOf: url) else { return nil }
            return try? JSONDecoder().decode(LayoutFixture.self, from: data)
        }
    }()

    static var mapped: [LayoutFixture] { all.filter { $0.expect.outcome != "refuse" } }
    static var foreign: [LayoutFixture] { all.filter { $0.expect.outcome == "refuse" } }
}

/// A JSON scalar as the behaviour dictionaries hold them.
enum JSONScalar: Decodable, Equatable, Sendable {
    case bool(Bool), number(Double), string(String)

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else { self = .string(try container.decode(String.self)) }
    }

    init(_ value: BehaviourValue) {
        switch value {
        case .bool(let b): self = .bool(b)
        case .number(let d): self = .number(d)
        case .string(let s): self = .string(s)
        }
    }
}

@Suite struct LayoutFixtureTests {
    @Test func fixturesArePresent() {
        // 27 importable cases and 5 foreign networks are generated; a missing directory or an unreadable
        // expected.json would silently shrink the parameterised tests below.
        #expect(LayoutFixture.mapped.count == 27)
        #expect(LayoutFixture.foreign.count == 5)
    }

    @Test(arguments: LayoutFixture.mapped)
    func recognizesLayoutAndWrapper(_ fixture: LayoutFixture) throws {
        let names = fixture.keys.map(\.name)
        let family = try #require(fixture.family)
        for requested in [family, nil] {
            let recognized = try LayoutRecognizer.recognize(keys: names, family: requested, layoutName: nil)
            #expect(recognized.profile.family == family)
            #expect(recognized.profile.name == fixture.layout)
            #expect(recognized.prefix == fixture.wrapper_prefix)
            #expect(Set(recognized.outside) == Set(fixture.outside_keys ?? []))
        }
    }

    @Test(arguments: LayoutFixture.mapped)
    func exactlyOneProfileMatches(_ fixture: LayoutFixture) throws {
        // Recognition takes the first match in LayoutProfile.all; a second match would make the result
        // depend on that order, and a foreign fingerprint matching would refuse a supported file.
        let inner = fixture.keys.map(\.name).filter { $0.hasPrefix(fixture.wrapper_prefix) }
            .map { String($0.dropFirst(fixture.wrapper_prefix.count)) }
        let catalog = try LayoutCatalog.builtIn()
        let matching = catalog.profiles.filter { $0.fingerprint.matches(inner) }.map(\.qualifiedName)
        #expect(matching == ["\(fixture.family?.rawValue ?? "")/\(fixture.layout ?? "")"])
        #expect(catalog.refusals.filter { $0.fingerprint.matches(inner) }.isEmpty)
    }

    @Test(arguments: LayoutFixture.mapped)
    func renamesOntoExactlyTheCanonicalKeys(_ fixture: LayoutFixture) throws {
        let recognized = try LayoutRecognizer.recognize(keys: fixture.keys.map(\.name),
                                                        family: fixture.family, layoutName: nil)
        let mapping = try #require(fixture.mapping)
        let canonical = try #require(fixture.canonical_keys)
        var renamed: [String: String] = [:]
        for (source, name) in recognized.keys where !source.hasSuffix("num_batches_tracked") {
            renamed[String(source.dropFirst(recognized.prefix.count))] = name
        }
        // Key by key, so a failure names the tensor whose rule is wrong.
        for (source, expected) in mapping.sorted(by: { $0.key < $1.key }) {
            #expect(renamed[source] == expected, "\(source)")
        }
        #expect(renamed.count == mapping.count)
        let expectedSet = Set(canonical.map(\.name))
        let gotSet = Set(renamed.values)
        #expect(gotSet.count == renamed.count, "two source keys map onto one canonical key")
        if fixture.expect.outcome == "missing" {
            #expect(expectedSet.subtracting(gotSet).sorted() == fixture.expect.missing ?? [])
            #expect(gotSet.isSubset(of: expectedSet))
        } else {
            #expect(gotSet == expectedSet)
        }
    }

    @Test(arguments: LayoutFixture.mapped)
    func repairedShapesAreCanonical(_ fixture: LayoutFixture) throws {
        let recognized = try LayoutRecognizer.recognize(keys: fixture.keys.map(\.name),
                                                        family: fixture.family, layoutName: nil)
        let canonicalShapes = Dictionary(uniqueKeysWithValues: (fixture.canonical_keys ?? []).map { ($0.name, $0.shape) })
        let fileShapes = Dictionary(uniqueKeysWithValues: fixture.keys.map { ($0.name, $0.shape) })
        var repaired = 0
        for (source, name) in recognized.keys where !source.hasSuffix("num_batches_tracked") {
            let stored = try #require(fileShapes[source])
            let shape = recognized.profile.repairedShape(canonicalKey: name, shape: stored)
            if shape != stored { repaired += 1 }
            #expect(shape == canonicalShapes[name], "\(source) → \(name)")
        }
        // Only the quirk fixtures need repairs, and they need them (2-D pointwise and 3-D depthwise: 34 + 34).
        #expect(repaired == (fixture.repairs == nil ? 0 : 68))
    }

    @Test(arguments: LayoutFixture.mapped)
    func behaviourAndPreprocessingMatchTheImplementation(_ fixture: LayoutFixture) throws {
        let recognized = try LayoutRecognizer.recognize(keys: fixture.keys.map(\.name),
                                                        family: fixture.family, layoutName: nil)
        let profile = recognized.profile
        // Every behaviour the implementation has, and no other: one left out would fall back to the
        // configuration's default without a word.
        let expectedBehaviour = try #require(fixture.configuration_behaviour)
        #expect(Set(profile.behaviour.keys) == Set(expectedBehaviour.keys))
        for (key, value) in expectedBehaviour {
            #expect(profile.behaviour[key].map(JSONScalar.init) == value, "\(key)")
        }
        let expected = try #require(fixture.preprocessing)
        // The record holds [C, H, W] and the float32 numbers widened; the fixture [H, W] and float32.
        #expect(profile.preprocessing.inputSize == [3] + expected.input_size)
        #expect(profile.preprocessing.channelOrder.rawValue == expected.channel_order)
        #expect(Float(profile.preprocessing.pixelScale) == expected.pixel_scale)
        #expect(profile.preprocessing.mean.map { Float($0) } == expected.mean)
        #expect(profile.preprocessing.std.map { Float($0) } == expected.std)
    }

    @Test(arguments: LayoutFixture.foreign)
    func foreignNetworksAreRefusedByName(_ fixture: LayoutFixture) throws {
        let names = fixture.keys.map(\.name)
        for family in [nil] + NetworkFamily.allCases.map(Optional.some) {
            do {
                let recognized = try LayoutRecognizer.recognize(keys: names, family: family, layoutName: nil)
                Issue.record("\(fixture.case) was recognised as \(recognized.profile.name)")
            } catch {
                guard case .foreign(let network) = error else {
                    Issue.record("expected a foreign-network refusal, got \(error)")
                    continue
                }
                #expect(network.name.contains(fixture.expect.foreign ?? "?"), "\(network.name)")
            }
        }
    }

    @Test func mislabelledArchitectureNamesWhatTheFileIs() throws {
        let fixture = try #require(LayoutFixture.mapped.first { $0.case == "mobilenetv2_torchvision" })
        #expect {
            try LayoutRecognizer.recognize(keys: fixture.keys.map(\.name), family: .resnext, layoutName: nil)
        } throws: { error in
            guard case .notThisFamily(requested: .resnext, looksLike: let profile)? = error as? RecognitionFailure
            else { return false }
            return profile.family == .mobileNetV2 && profile.name == "torchvision"
        }
    }

    @Test func everyProfileHasAFixture() {
        let covered = Set(LayoutFixture.mapped.compactMap { f in f.family.map { "\($0.rawValue)/\(f.layout ?? "")" } })
        for profile in LayoutProfile.all {
            #expect(covered.contains("\(profile.family.rawValue)/\(profile.name)"), "\(profile.family.rawValue)/\(profile.name)")
        }
    }
}
