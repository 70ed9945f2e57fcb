import Foundation
import Testing
@testable import WeightconvKit

// Layouts inferred for implementations weightconv has no layout file for (fixtures/inferred, made by
// tools/make_inferred_fixtures.py from the implementations' code restated in tools/reference_nets/):
// the mapping must equal the one the fixture script proved in PyTorch, the reference must be
// reproduced, and without a reference, or for a checkpoint that does not fit, nothing is written.

struct InferredFixture: Decodable, CustomTestStringConvertible, Sendable {
    struct Key: Decodable, Sendable { var name: String; var shape: [Int] }
    var `case`: String
    var family: NetworkFamily?
    var keys: [Key]
    var mapping: [String: String]?
    var configuration_behaviour: [String: JSONScalar]?
    var refuse_at: String?

    var testDescription: String { self.case }

    static let directory = LayoutFixture.directory.deletingLastPathComponent().appendingPathComponent("inferred")

    static let all: [InferredFixture] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name).appendingPathComponent("expected.json"))
            else { return nil }
            return try? JSONDecoder().decode(InferredFixture.self, from: data)
        }
    }()

    static var importable: [InferredFixture] { all.filter { $0.mapping != nil } }

    var model: String { Self.directory.appendingPathComponent(self.case).appendingPathComponent("model.pth").path }
    var reference: String { Self.directory.appendingPathComponent(self.case).appendingPathComponent("reference.npz").path }
}

@Suite struct InferenceTests {
    func temporaryDirectory() throws -> URL {
        try ScratchFolder(prefix: "weightconv-infer").url
    }

    @Test func fixturesArePresent() {
        // Two implementations each of MobileNetV2 (tonylins, d-li14), ResNeXt (prlz77, D-X-Y), ShuffleNet v1 (pytorchcv,
        // weiaicunzai) and Xception (pytorchcv, weiaicunzai), one foreign network.
        #expect(InferredFixture.importable.count == 8)
        #expect(InferredFixture.all.count == 9)
        for family in NetworkFamily.allCases {
            #expect(InferredFixture.importable.filter { $0.family == family }.count >= 2, "\(family)")
        }
    }

    @Test(arguments: InferredFixture.importable)
    func inferenceAloneMapsAnImplementationWithNoLayoutAndTheReferenceProvesIt(_ fixture: InferredFixture) throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // No built-in layout knows these names.
        #expect(LayoutInference.noLayoutMatches(keys: fixture.keys.map(\.name), family: nil, catalog: try LayoutCatalog.builtIn(),
                                                select: nil))
        let output = folder.appendingPathComponent("out.wcv").path
        let saved = folder.appendingPathComponent("layout.json").path
        let report = try Importer.run(ImportRequest(input: fixture.model, output: output, family: nil, reference: fixture.reference,
                                                    saveLayout: saved))
        let inferred = try #require(report.inferred)
        #expect(report.profile.family == fixture.family)
        #expect(report.profile.origin == "inferred")
        // Every tensor onto the canonical name the fixture script proved by loading it into the canonical net.
        let mapping = try #require(fixture.mapping)
        for (source, canonical) in mapping.sorted(by: { $0.key < $1.key }) {
            #expect(report.profile.keyMap[source] == canonical, "\(source)")
        }
        #expect(report.profile.keyMap.count == mapping.count)
        for (key, value) in fixture.configuration_behaviour ?? [:] {
            #expect(report.profile.behaviour[key].map(JSONScalar.init) == value, "\(key)")
        }
        // Every known variant of the family at eps 1e-5 was run (each fixture's BN eps, so the 1e-3 tier was not
        // needed), and the chosen one (listed first) reproduced the reference.
        #expect(inferred.trials.count * 2 == inferred.variantsKnown)
        #expect(inferred.trials.first?.passed == true)
        #expect(try #require(report.comparison).passed)
        #expect(try Verifier.run(path: output).passed)

        // The saved layout checks, and imports the same file with no inference and no reference.
        guard case .layout(let reloaded) = try LayoutFile.load(path: saved) else {
            Issue.record("the saved layout is not a layout")
            return
        }
        #expect(reloaded.keyMap == report.profile.keyMap)
        let again = try Importer.run(ImportRequest(input: fixture.model, output: folder.appendingPathComponent("again.wcv").path,
                                                   layoutFile: saved))
        #expect(again.inferred == nil)
        #expect(again.profile.keyMap == report.profile.keyMap)
    }

    @Test(arguments: InferredFixture.importable)
    func withoutAReferenceNothingIsInferred(_ fixture: InferredFixture) throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.wcv").path
        #expect {
            try Importer.run(ImportRequest(input: fixture.model, output: output, family: nil))
        } throws: { error in
            "\(error)".contains("an inferred layout needs a reference to prove it")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func aNetworkOutsideTheFamiliesIsRefusedNamingTheFirstTensorThatDoesNotFit() throws {
        let fixture = try #require(InferredFixture.all.first { $0.refuse_at != nil })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.wcv").path
        #expect {
            try Importer.run(ImportRequest(input: fixture.model, output: output, family: nil, reference: fixture.reference))
        } throws: { error in
            "\(error)".contains("the first tensor that does not fit is '\(fixture.refuse_at ?? "?")'")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// The tonylins checkpoint rewritten with one tensor dropped, or one shape changed: refused, naming
    /// the first tensor that no longer fits.
    @Test(arguments: [("drop", "features.5.conv.3.weight", "features.5.conv.4.weight"),
                      ("reshape", "features.3.conv.3.weight", "features.3.conv.3.weight")])
    func aDroppedOrReshapedTensorIsRefusedNamingIt(_ edit: String, _ key: String, _ named: String) throws {
        let fixture = try #require(InferredFixture.importable.first { $0.case == "mobilenetv2_tonylins" })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try openTensorStore(path: fixture.model)
        var tensors: [PendingTensor] = []
        for descriptor in store.tensors {
            if descriptor.name == key {
                if edit == "drop" { continue }
                // The 3x3 depthwise kernel becomes 5x5: no MobileNetV2 layer has that shape there.
                let shape = [descriptor.shape[0], 1, 5, 5]
                tensors.append(try PendingTensor.floats(key, shape: shape, [Float](repeating: 0.5, count: shape.reduce(1, *))))
            } else {
                tensors.append(try PendingTensor.from(store, name: descriptor.name))
            }
        }
        let edited = folder.appendingPathComponent("edited.safetensors").path
        _ = try SafetensorsWriter().write(tensors, to: edited)
        let output = folder.appendingPathComponent("out.wcv").path
        for family: NetworkFamily? in [nil, .mobileNetV2] {
            #expect {
                try Importer.run(ImportRequest(input: edited, output: output, family: family, reference: fixture.reference))
            } throws: { error in
                "\(error)".contains("the first tensor that does not fit is '\(named)'")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}

/// ShuffleNet v1's and Xception's alignment and behaviour search, on their layout fixtures with every
/// name replaced by an opaque one in stored order (`layer0007.weight`), so that no layout matches:
/// inference alone must give every tensor the canonical name the layout fixture's mapping proves
/// (Cadene's oldest Xception files with their 2-D pointwise and 3-D depthwise kernels too), and find
/// each implementation's behaviour (ShuffleNet's shuffle placement, permutation, concatenation
/// activation and output).
@Suite struct OpaqueNameInferenceTests {
    @Test(arguments: ["shufflenet_megvii", "shufflenet_mmpretrain", "shufflenet_seed000", "shufflenet_seed001",
                      "xception_cadene", "xception_seed004", "xception_cadene_legacy_2d_pointwise_3d_depthwise"])
    func opaqueNamesAreAlignedAndTheBehaviourFound(_ name: String) throws {
        let fixture = try #require(LayoutFixture.mapped.first { $0.case == name })
        let folder = try ScratchFolder(prefix: "weightconv-infer-shufflenet")
        let source = LayoutFixture.directory.appendingPathComponent(name)
        let store = try openTensorStore(path: source.appendingPathComponent(fixture.file).path)
        var modules: [String: String] = [:]
        var opaque: [String: String] = [:]
        var tensors: [PendingTensor] = []
        for descriptor in store.tensors where descriptor.name.hasPrefix(fixture.wrapper_prefix) {
            let local = String(descriptor.name.dropFirst(fixture.wrapper_prefix.count))
            guard let dot = local.lastIndex(of: ".") else { continue }
            let module = String(local[..<dot])
            let renamed = modules[module] ?? String(format: "layer%04d", modules.count)
            modules[module] = renamed
            opaque[renamed + local[dot...]] = local
            tensors.append(try PendingTensor.from(store, name: descriptor.name, storedName: renamed + local[dot...]))
        }
        let edited = folder.file("opaque.safetensors")
        _ = try SafetensorsWriter().write(tensors, to: edited)
        let report = try Importer.run(ImportRequest(input: edited, output: folder.file("out.wcv"), family: nil,
                                                    reference: source.appendingPathComponent("reference.npz").path))
        #expect(report.inferred != nil)
        #expect(report.profile.family == fixture.family)
        let mapping = try #require(fixture.mapping)
        for (renamed, canonical) in report.profile.keyMap where !renamed.hasSuffix("num_batches_tracked") {
            let original = try #require(opaque[renamed])
            #expect(mapping[original] == canonical, "\(original)")
        }
        // The implementation's own behaviour reproduces the reference among the variants tried. It need not be
        // the one chosen: where the unit's input is already non-negative (after a ReLU), relu(cat(pool(x), y)) and
        // cat(pool(x), relu(y)) are the same function, and the import lists both as passing.
        let inferred = try #require(report.inferred)
        let expected = (fixture.configuration_behaviour ?? [:]).map { key, value -> String in
            switch value {
            case .bool(let b): "\(key)=\(b)"
            case .number(let d): "\(key)=\(BehaviourValue.number(d).jsonText)"
            case .string(let s): "\(key)=\"\(s)\""
            }
        }
        #expect(inferred.trials.contains { trial in trial.passed && expected.allSatisfy { trial.behaviour.contains($0) } },
                "\(expected) not among the passing variants \(inferred.trials.filter(\.passed).map(\.behaviour))")
        #expect(try #require(report.comparison).passed)
    }
}
