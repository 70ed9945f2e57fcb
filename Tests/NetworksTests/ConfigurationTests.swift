import Foundation
import Networks
import Testing
import TensorEngine

/// The key/shape lists of the full-size PyTorch networks (`fixtures/networks/full_size/*.json`,
/// written by `tools/make_network_fixtures.py` from torchvision, Megvii's, seed 001's and seed 004's
/// modules renamed to canonical keys).
func fullSizeShapes(_ name: String) throws -> [String: [Int]] {
    let url = fixturesRoot.appendingPathComponent("networks/full_size/\(name).json")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: [Int]]
    return json ?? [:]
}

/// What a network built from `configuration` asks for, without any weights.
func recordedShapes(_ configuration: NetworkConfiguration) throws -> [String: [Int]] {
    let recorder = RecordingProvider()
    _ = try configuration.build(WeightSource(recorder))
    return Dictionary(recorder.requests.map { ($0.key, $0.shape) }, uniquingKeysWith: { a, _ in a })
}

@Suite struct FullSizeConfigurationTests {
    static let presets: [(String, NetworkConfiguration?)] = [
        ("xception", .xception(.standard(classes: 1000))),
        ("mobilenet_v2_1.0", .mobileNetV2(.torchvision(widthMultiplier: 1.0, classes: 1000))),
        ("shufflenet_v1_g3_paper", ShuffleNetV1Configuration.paper(groups: 3).map { .shuffleNetV1($0) }),
        ("shufflenet_v1_g3_megvii_1.0x", ShuffleNetV1Configuration.megvii(groups: 3, scale: "1.0x").map { .shuffleNetV1($0) }),
        ("shufflenet_v1_g8_megvii_1.0x", ShuffleNetV1Configuration.megvii(groups: 8, scale: "1.0x").map { .shuffleNetV1($0) }),
        ("resnext50_32x4d", ResNeXtConfiguration.torchvision(depth: 50, cardinality: 32, widthPerGroup: 4).map { .resnext($0) }),
    ]

    /// The preset builds and asks for exactly the PyTorch network's keys with the same shapes.
    @Test(arguments: 0..<presets.count)
    func presetAsksForPyTorchNamesAndShapes(_ index: Int) throws {
        let (name, preset) = Self.presets[index]
        let configuration = try #require(preset)
        let expected = try fullSizeShapes(name)
        #expect(expected.count > 200, "\(name): fixture list missing")
        let recorded = try recordedShapes(configuration)
        let missing = expected.keys.filter { recorded[$0] == nil }.sorted()
        let extra = recorded.keys.filter { expected[$0] == nil }.sorted()
        let wrong = expected.keys.filter { recorded[$0] != nil && recorded[$0] != expected[$0] }.sorted()
        #expect(missing.isEmpty && extra.isEmpty && wrong.isEmpty,
                "\(name): missing \(missing.prefix(5)), extra \(extra.prefix(5)), wrong shape \(wrong.prefix(5))")
    }

    /// Inference from the full-size shapes gives back the preset.
    @Test(arguments: 0..<presets.count)
    func inferenceFromFullSizeShapesRecoversThePreset(_ index: Int) throws {
        let (name, preset) = Self.presets[index]
        let configuration = try #require(preset)
        let family = configuration.family
        let behaviour: [String: BehaviourValue] = name.contains("megvii") ? ["implementation": "megvii"] : [:]
        let inferred = try NetworkConfiguration.infer(family: family, shapes: try fullSizeShapes(name), behaviour: behaviour)
        #expect(inferred == configuration, "\(name)")
    }

    @Test func mobileNetWidthRoundingFollowsTorchvision() {
        // _make_divisible(32 * 0.35) = 16; 16 * 0.35 = 5.6 → 8; 1280 * max(1, 0.35) = 1280.
        let c = MobileNetV2Configuration.torchvision(widthMultiplier: 0.35, classes: 10)
        #expect(c.stemChannels == 16)
        #expect(c.blocks.first?.outputChannels == 8)
        #expect(c.lastChannels == 1280)
        #expect(MobileNetV2Configuration.makeDivisible(24 * 1.4) == 32)
    }

    @Test func deeperResNeXtPresetsBuild() throws {
        for (depth, card, width) in [(101, 32, 8), (152, 64, 4)] {
            let c = try #require(ResNeXtConfiguration.torchvision(depth: depth, cardinality: card, widthPerGroup: width))
            let shapes = try recordedShapes(.resnext(c))
            #expect(shapes["layer3.\(depth == 101 ? 22 : 35).conv2.weight"] == [card * width * 4, width * 4, 3, 3])
        }
    }
}

@Suite struct WeightErrorTests {
    @Test func wrongShapeNamesTheLayerKeyAndBothShapes() throws {
        var shapes = try fullSizeShapes("resnext50_32x4d")
        shapes["layer2.1.conv2.weight"] = [256, 16, 3, 3] // cardinality 16 instead of 32
        let configuration = try #require(ResNeXtConfiguration.torchvision(depth: 50))
        let provider = ZeroProvider(shapes: shapes)
        #expect {
            _ = try ResNeXtNetwork(configuration, weights: WeightSource(provider))
        } throws: { error in
            guard let error = error as? WeightError else { return false }
            return error.key == "layer2.1.conv2.weight" && error.modulePath == "layer2.1.conv2"
                && error.expected == [256, 8, 3, 3] && error.actual == [256, 16, 3, 3]
                && error.description.contains("layer2.1.conv2")
        }
    }

    @Test func missingKeyAndUnexpectedBiasAreErrors() throws {
        var shapes = try fullSizeShapes("mobilenet_v2_1.0")
        shapes["features.5.conv.1.0.weight"] = nil
        let configuration = MobileNetV2Configuration.torchvision()
        #expect {
            _ = try MobileNetV2Network(configuration, weights: WeightSource(ZeroProvider(shapes: shapes)))
        } throws: { ($0 as? WeightError)?.key == "features.5.conv.1.0.weight" }
        var biased = try fullSizeShapes("mobilenet_v2_1.0")
        biased["features.3.conv.2.bias"] = [24]
        #expect {
            _ = try MobileNetV2Network(configuration, weights: WeightSource(ZeroProvider(shapes: biased)))
        } throws: { ($0 as? WeightError)?.key == "features.3.conv.2.bias" }
    }

    @Test func wrongInputIsAClearError() throws {
        let c = try NetworkCase("torchvision_resnext")
        let network = try c.configuration().build(WeightSource(c.weights), mode: .fast(threads: 2))
        #expect {
            _ = try network(Tensor(shape: [1, 1, 64, 64]))
        } throws: { String(describing: $0).contains("conv1") && String(describing: $0).contains("1 channels") }
        #expect(throws: TensorError.self) { _ = try network(Tensor(shape: [3, 64, 64])) }
        #expect(throws: TensorError.self) { _ = try network(Tensor(shape: [1, 3, 0, 64])) }
        // The smallest image every layer accepts still runs (PyTorch accepts it too).
        #expect(try network(Tensor(shape: [1, 3, 1, 1])).shape == [1, 10])
    }

    @Test func recordingProviderListsKeysInRequestOrder() throws {
        let recorder = RecordingProvider()
        _ = try MobileNetV2Network(.torchvision(widthMultiplier: 0.5, classes: 7), weights: WeightSource(recorder))
        let keys = recorder.requests.map(\.key)
        #expect(keys.first == "features.0.0.weight")
        #expect(keys.last == "classifier.1.bias")
        #expect(recorder.requests.last?.shape == [7])
    }
}

@Suite struct InferenceTests {
    @Test(arguments: networkCaseNames)
    func fixtureConfigurationsAreInferredAndConsistent(_ name: String) throws {
        let c = try NetworkCase(name)
        let configuration = try c.configuration()
        // Inference reads every width from the keys: rebuilding asks for exactly the fixture's keys.
        let recorded = try recordedShapes(configuration)
        #expect(recorded == c.weights.shapes, "\(name)")
        // Configurations are plain values that survive a JSON round trip.
        let data = try JSONEncoder().encode(configuration)
        #expect(try JSONDecoder().decode(NetworkConfiguration.self, from: data) == configuration)
    }

    @Test func unknownFamilyAndBadBehaviourAreErrors() throws {
        // A family is a `NetworkFamily`, so `infer` cannot be handed an unknown one; the name is refused
        // where a file's text is read (ConfigurationCoding, LayoutFile, their tests).
        #expect(NetworkFamily(rawValue: "vgg") == nil)
        #expect(NetworkFamily.allCases.map(\.rawValue) == ["xception", "mobilenet_v2", "shufflenet_v1", "resnext"])
        let c = try NetworkCase("seed003")
        #expect(throws: ConfigurationError.self) {
            _ = try NetworkConfiguration.infer(family: .resnext, shapes: c.weights.shapes, behaviour: ["stridePlacement": "conv3"])
        }
        #expect(throws: ConfigurationError.self) {
            _ = try NetworkConfiguration.infer(family: .resnext, shapes: [:])
        }
    }
}

/// Zeros with the given shapes.
struct ZeroProvider: WeightProvider {
    let shapes: [String: [Int]]
    func shape(of key: String) -> [Int]? { shapes[key] }
    func floats(of key: String) throws -> [Float] { [Float](repeating: 0, count: shapes[key]?.reduce(1, *) ?? 0) }
}
