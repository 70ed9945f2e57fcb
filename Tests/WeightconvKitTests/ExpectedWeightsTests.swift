import Foundation
import Testing
@testable import WeightconvKit

// fixtures/expected/*.json hold the state_dict keys and shapes PyTorch builds for the standard
// networks (tools/make_expected_keys.py: torchvision's mobilenet_v2 and resnext, Cadene's Xception).
// The recording weight source must ask for exactly those keys with exactly those shapes (the order in
// which modules ask is the network's own, e.g. a block's downsample before its convolutions).

struct ExpectedKeysFixture: Decodable, CustomTestStringConvertible, Sendable {
    struct Key: Decodable, Sendable { var name: String; var shape: [Int] }
    var arguments: [String]
    var keys: [Key]
    var file: String = ""
    var testDescription: String { file }

    enum CodingKeys: String, CodingKey { case arguments, keys }

    static let directory = fixturesRoot.appendingPathComponent("expected")

    static let all: [ExpectedKeysFixture] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)),
                  var fixture = try? JSONDecoder().decode(ExpectedKeysFixture.self, from: data) else { return nil }
            fixture.file = name
            return fixture
        }
    }()

    /// `--width 0.5` style options after the architecture.
    func option(_ name: String) -> String? {
        guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }
}

@Suite struct ExpectedWeightsTests {
    @Test func everyFixtureIsRead() {
        #expect(ExpectedKeysFixture.all.count == 5)
    }

    @Test(arguments: ExpectedKeysFixture.all)
    func theNetworkAsksForPyTorchsKeysAndShapes(_ fixture: ExpectedKeysFixture) throws {
        let family = try #require(NetworkFamily(rawValue: fixture.arguments[0]))
        let configuration = try StandardConfiguration.make(
            family: family, classes: fixture.option("classes").flatMap(Int.init) ?? 1000,
            depth: fixture.option("depth").flatMap(Int.init) ?? 50,
            cardinality: fixture.option("cardinality").flatMap(Int.init) ?? 32,
            width: fixture.option("width").flatMap(Double.init))
        let expected = try configuration.expectedWeights()
        let asked = Dictionary(expected.map { ($0.key, $0.shape) }, uniquingKeysWith: { first, _ in first })
        let stored = Dictionary(fixture.keys.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        #expect(asked.count == expected.count, "a key was asked for twice")
        let missing = stored.keys.filter { asked[$0] == nil }.sorted()
        let extra = asked.keys.filter { stored[$0] == nil }.sorted()
        #expect(missing.isEmpty, "PyTorch stores, the network never asks: \(missing.prefix(5))")
        #expect(extra.isEmpty, "the network asks, PyTorch does not store: \(extra.prefix(5))")
        for (key, shape) in asked.sorted(by: { $0.key < $1.key }) where stored[key].map({ $0 != shape }) == true {
            Issue.record("\(key): the network asks for \(shape), PyTorch stores \(stored[key] ?? [])")
        }
    }
}
