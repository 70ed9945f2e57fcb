import Foundation
import Testing
@testable import WeightconvKit

// `verify --trace`: each layer of the Swift network against PyTorch's output of the same module
// (fixtures/engines/traces, tools/make_reference.py --trace through tools/make_engine_references.py).
// A fault planted in one place is found at that place: a perturbed tensor at its own convolution, a
// batch norm's changed eps (running_var + 0.1, which is what eps 0.1 instead of 1e-5 computes) right
// after its convolution, a stride moved at the first convolution whose output changes shape.

@Suite struct LayerTraceTests {
    static let cases = ["resnext_torchvision", "mobilenetv2_torchvision", "shufflenet_seed001", "xception_seed004"]

    struct Traced {
        let file: WeightFile
        let configuration: NetworkConfiguration
        let record: TraceRecord
        let folder: URL

        init(_ name: String) throws {
            folder = try ScratchFolder(prefix: "weightconv-trace").url
            let output = folder.appendingPathComponent("\(name).wcv").path
            _ = try Importer.run(ImportRequest(input: LayoutFixture.directory.appendingPathComponent("\(name)/model.pth").path,
                                               output: output))
            file = try WeightFile(path: output)
            configuration = try PretrainedNetwork(file: file, mode: .naive).configuration
            record = try TraceRecord(path: fixturesRoot.appendingPathComponent("engines/traces/\(name).npz").path)
        }

        func trace(_ configuration: NetworkConfiguration? = nil,
                   change: @escaping @Sendable (String, inout [Float]) -> Void = { _, _ in }) throws -> TraceReport {
            let provider = MutatedProvider(base: StoreWeightProvider(file), change: change)
            let network = try (configuration ?? self.configuration).build(WeightSource(provider), mode: .naive)
            return try Verifier.trace(network.graph, against: record)
        }

        /// The middle stored tensor whose name ends in `suffix` and has `rank` dimensions.
        func middle(_ suffix: String, rank: Int) throws -> String {
            let names = file.tensors.filter { $0.name.hasSuffix(suffix) && $0.shape.count == rank && !$0.name.hasPrefix("__") }.map(\.name)
            return try #require(names.dropFirst(names.count / 2).first)
        }
    }

    @Test(arguments: cases)
    func theConvertedNetworkMatchesEveryLayer(_ name: String) throws {
        let traced = try Traced(name)
        defer { try? FileManager.default.removeItem(at: traced.folder) }
        let report = try traced.trace()
        #expect(report.passed, "\(name): \(report.text)")
        #expect(report.unmatched.isEmpty, "\(name): \(report.unmatched.prefix(5))")
        #expect(report.layers.count == traced.record.outputs.count)
    }

    @Test(arguments: cases)
    func aPerturbedTensorIsFoundAtItsConvolution(_ name: String) throws {
        let traced = try Traced(name)
        defer { try? FileManager.default.removeItem(at: traced.folder) }
        let key = try traced.middle(".weight", rank: 4)
        let report = try traced.trace { changed, values in
            guard changed == key else { return }
            let rms = (values.reduce(0) { $0 + $1 * $1 } / Float(max(values.count, 1))).squareRoot()
            for i in values.indices { values[i] += (i % 3 == 0 ? 0.05 : -0.02) * rms }
        }
        #expect(report.firstFailure?.name == String(key.dropLast(".weight".count)), "\(name) \(key): \(report.text)")
    }

    @Test(arguments: cases)
    func aChangedBatchNormEpsIsFoundRightAfterItsConvolution(_ name: String) throws {
        let traced = try Traced(name)
        defer { try? FileManager.default.removeItem(at: traced.folder) }
        let key = try traced.middle(".running_var", rank: 1)
        let report = try traced.trace { changed, values in
            if changed == key { values = values.map { $0 + 0.1 } }
        }
        let failure = try #require(report.firstFailure, "\(name) \(key): nothing found")
        // The batch norm `…block.bn2` (or `…conv.1.1`, `…rep.2`) follows a convolution of the same block.
        let block = key.split(separator: ".").dropLast(2).joined(separator: ".") + "."
        #expect(failure.name.hasSuffix("@bn") && failure.name.hasPrefix(block), "\(name) \(key): \(report.text)")
        #expect(report.layers.prefix { $0.passed }.count > 3)
    }

    @Test func aMovedStrideIsFoundAtTheFirstConvolutionItReshapes() throws {
        let traced = try Traced("resnext_torchvision")
        defer { try? FileManager.default.removeItem(at: traced.folder) }
        guard case .resnext(var moved) = traced.configuration else { Issue.record("not a ResNeXt"); return }
        moved.stridePlacement = .conv1
        let report = try traced.trace(.resnext(moved))
        let failure = try #require(report.firstFailure)
        #expect(failure.name == "layer2.0.conv1" && failure.shapes != nil, "\(report.text)")
        #expect(report.text.contains("layer2.0.conv1: output [1, 16, 4, 4], PyTorch's [1, 16, 8, 8]"), "\(report.text)")
    }

    /// The inverse shuffle permutation (Megvii's order on the paper's network) shows at the first
    /// convolution that reads shuffled channels: a depthwise convolution, after everything before it matched.
    @Test func aWrongShuffleOrderIsFoundAtTheFirstConvolutionReadingIt() throws {
        let traced = try Traced("shufflenet_seed001")
        defer { try? FileManager.default.removeItem(at: traced.folder) }
        guard case .shuffleNetV1(var flipped) = traced.configuration else { Issue.record("not a ShuffleNet"); return }
        flipped.shufflePermutation = flipped.shufflePermutation == .groupsFirst ? .groupsLast : .groupsFirst
        let report = try traced.trace(.shuffleNetV1(flipped))
        let failure = try #require(report.firstFailure)
        #expect(failure.name.hasSuffix(".depthwise") && failure.shapes == nil, "\(report.text)")
        print("shuffle order flipped: \(report.text)")
    }
}
