import Foundation
import Networks
import Testing
import TensorEngine

let networkCaseNames: [String] = ((try? FileManager.default.contentsOfDirectory(
    atPath: fixturesRoot.appendingPathComponent("networks").path)) ?? []).filter { $0 != "full_size" }.sorted()

// Tolerance: |swift − torch| ≤ 1e-4 · max(1, max |logit|). Every layer reorders float32 sums relative to
// PyTorch (blocked GEMM/oneDNN vs loops, and on the fast path batch norm folded into the weights), each
// adding a few ulps of relative error; through ~50-150 layers this stays around 1e-6..1e-5 of the logit
// scale (printed on every run), so 1e-4 leaves margin while a single miswired layer, wrong eps or wrong
// shuffle moves logits by 1e-2 or more (see BehaviourSensitivityTests).
let logitTolerance: Float = 1e-4

@Suite struct NetworkLogitTests {
    @Test func everyImplementationHasAFixture() {
        #expect(networkCaseNames.count == 10, "regenerate with tools/make_network_fixtures.py")
    }

    @Test(arguments: networkCaseNames)
    func naiveMatchesPyTorch(_ name: String) throws {
        let c = try NetworkCase(name)
        let network = try c.configuration().build(WeightSource(c.weights), mode: .naive)
        let difference = LogitDifference(try network(c.input), c.logits, tolerance: logitTolerance)
        print("\(name) naive: \(difference)")
        #expect(difference.passes, "\(name) naive vs PyTorch: \(difference)")
    }

    /// With each kernel set this machine runs (the portable Swift kernels, and AVX2 and AVX-512
    /// where the CPU has them), since the executor's fusions (the shuffle folded into the depthwise
    /// read, the activation applied as it reads) go through each.
    @Test(arguments: networkCaseNames, KernelSet.available)
    func fastMatchesPyTorchAndNaive(_ name: String, kernels: KernelSet) throws {
        let c = try NetworkCase(name)
        let configuration = try c.configuration()
        let fast = try configuration.build(WeightSource(c.weights), mode: .fast(threads: 2, kernels: kernels))
        let naive = try configuration.build(WeightSource(c.weights), mode: .naive)
        let fastLogits = try fast(c.input)
        let againstTorch = LogitDifference(fastLogits, c.logits, tolerance: logitTolerance)
        print("\(name) fast: \(againstTorch)")
        #expect(againstTorch.passes, "\(name) fast (\(kernels)) vs PyTorch: \(againstTorch)")
        let againstNaive = LogitDifference(fastLogits, try naive(c.input), tolerance: logitTolerance)
        #expect(againstNaive.passes, "\(name) fast (\(kernels)) vs naive: \(againstNaive)")
        // A second run reuses the planned buffers and must give the same answer bit for bit.
        #expect(try fast(c.input) == fastLogits)
    }

    /// Batches of 3 and 8 made of the fixture's two images in a mixed order give each image's
    /// PyTorch logits in its row, with every kernel set. The 224×224 fixtures run their early layers
    /// in chunks of two images (a working set over ``FastExecutor/defaultChunkFloats``), so batch 3
    /// also ends on a partial chunk.
    @Test(arguments: networkCaseNames, KernelSet.available)
    func batchRowsMatchTheirImages(_ name: String, kernels: KernelSet) throws {
        let c = try NetworkCase(name)
        let fast = try c.configuration().build(WeightSource(c.weights), mode: .fast(threads: 2, kernels: kernels))
        let perImage = c.input.count / c.input.shape[0]
        let classes = c.logits.shape[1]
        let order = [1, 0, 0, 1, 1, 0, 1, 0]
        for batch in c.input.shape[2] > 100 ? [3] : [3, 8] {
            let images = order.prefix(batch)
            let input = try Tensor(shape: [batch] + c.input.shape.dropFirst(),
                                   storage: images.flatMap { c.input.storage[$0 * perImage..<($0 + 1) * perImage] })
            let expected = try Tensor(shape: [batch, classes],
                                      storage: images.flatMap { c.logits.storage[$0 * classes..<($0 + 1) * classes] })
            let difference = LogitDifference(try fast(input), expected, tolerance: logitTolerance)
            #expect(difference.passes, "\(name) batch \(batch) (\(kernels)): \(difference)")
        }
    }

    /// Batch size is free: the first image alone gives the first row of the batch's logits, with
    /// every kernel set.
    @Test(arguments: networkCaseNames, KernelSet.available)
    func singleImageMatchesItsBatchRow(_ name: String, kernels: KernelSet) throws {
        let c = try NetworkCase(name)
        let fast = try c.configuration().build(WeightSource(c.weights), mode: .fast(threads: 2, kernels: kernels))
        let perImage = c.input.count / c.input.shape[0]
        let first = try Tensor(shape: [1] + c.input.shape.dropFirst(), storage: Array(c.input.storage.prefix(perImage)))
        let classes = c.logits.shape[1]
        let expected = try Tensor(shape: [1, classes], storage: Array(c.logits.storage.prefix(classes)))
        let difference = LogitDifference(try fast(first), expected, tolerance: logitTolerance)
        #expect(difference.passes, "\(name) batch 1, \(kernels) kernels: \(difference)")
    }
}

/// The behaviours a state_dict cannot record really change the output: with any one of them flipped
/// the logits leave the tolerance, so the passing tests above pin each one down.
@Suite struct BehaviourSensitivityTests {
    static let flips: [(String, String, BehaviourValue)] = [
        ("megvii", "shufflePermutation", "groupsFirst"),
        ("megvii", "shufflePlacement", "afterCompress"),
        ("seed001", "shufflePermutation", "groupsLast"),
        ("seed000", "shuffleAfterUngroupedCompress", true),
        ("seed001", "concatActivation", "mainBranch"),
        ("mmpretrain", "shufflePlacement", "afterCompress"),
        ("seed003", "stridePlacement", "conv2"),
        ("torchvision_resnext", "stridePlacement", "conv1"),
        ("torchvision_mobilenet_v2", "activation", "relu"),
        ("seed004", "eps", 0.1),
    ]

    @Test(arguments: 0..<flips.count)
    func flippedBehaviourMovesTheLogits(_ index: Int) throws {
        let (name, key, value) = Self.flips[index]
        let c = try NetworkCase(name)
        let network = try c.configuration(behaviour: [key: value]).build(WeightSource(c.weights), mode: .fast(threads: 2))
        let difference = LogitDifference(try network(c.input), c.logits, tolerance: logitTolerance)
        #expect(!difference.passes, "\(name) with \(key)=\(value) still matches: the behaviour is not exercised")
    }

    /// One batch-norm statistic of one middle layer nudged: the logits must notice.
    @Test func oneWrongParameterInOneLayerIsDetected() throws {
        let c = try NetworkCase("torchvision_resnext")
        struct Nudged: WeightProvider {
            let base: SafetensorsProvider
            func shape(of key: String) -> [Int]? { base.shape(of: key) }
            func floats(of key: String) throws -> [Float] {
                var values = try base.floats(of: key)
                if key == "layer2.1.bn2.running_mean" { values[0] += 0.5 }
                return values
            }
        }
        let network = try c.configuration().build(WeightSource(Nudged(base: c.weights)), mode: .fast(threads: 2))
        let difference = LogitDifference(try network(c.input), c.logits, tolerance: logitTolerance)
        #expect(!difference.passes)
    }
}
