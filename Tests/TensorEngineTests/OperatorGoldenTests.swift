import Foundation
import Testing
@testable import TensorEngine

/// One operator case from `fixtures/ops/<name>/`, produced by `tools/make_op_fixtures.py`; each
/// directory's `snippet.py` is the PyTorch code that computed `expected.npy`.
struct OperatorCase {
    let name: String
    let params: [String: Any]
    let tensors: [String: Tensor]

    init(_ name: String) throws {
        self.name = name
        let directory = fixturesRoot.appendingPathComponent("ops").appendingPathComponent(name)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("params.json")))
        params = json as? [String: Any] ?? [:]
        var tensors: [String: Tensor] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".npy") {
            tensors[String(file.dropLast(4))] = try loadTensor(directory.appendingPathComponent(file))
        }
        self.tensors = tensors
    }

    var op: String { params["op"] as? String ?? "" }
    func int(_ key: String) -> Int { params[key] as? Int ?? -1 }
    func pair(_ key: String) -> Size2 {
        let values = params[key] as? [Int] ?? []
        return values.count == 2 ? Size2(values[0], values[1]) : Size2(int(key))
    }
    func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw TensorError(operation: name, problem: "no \(key).npy", hint: "regenerate fixtures") }
        return t
    }

    var convolution: ConvolutionLayer {
        get throws {
            try ConvolutionLayer(weight: tensor("weight"), bias: tensors["bias"]?.storage,
                                 parameters: Conv2dParameters(stride: pair("stride"), padding: pair("padding"),
                                                              dilation: pair("dilation"), groups: int("groups")))
        }
    }

    var pool: PoolParameters {
        PoolParameters(kernel: Size2(int("kernel")), stride: Size2(int("stride")), padding: Size2(int("padding")),
                       dilation: Size2(int("dilation")), ceilMode: params["ceil_mode"] as? Bool ?? false,
                       countIncludePad: params["count_include_pad"] as? Bool ?? true)
    }

    /// The operator run with the naive operators.
    func runNaive() throws -> Tensor {
        let x = try tensor("input")
        switch op {
        case "conv2d": return try Naive.conv2d(x, convolution)
        case "batch_norm":
            let bn = try BatchNorm(gamma: tensor("gamma").storage, beta: tensor("beta").storage, mean: tensor("mean").storage,
                                   variance: tensor("var").storage, eps: Float(params["eps"] as? Double ?? 0))
            return try Naive.batchNorm(x, bn)
        case "relu": return Naive.activation(x, .relu)
        case "relu6": return Naive.activation(x, .relu6)
        case "max_pool2d": return try Naive.maxPool2d(x, pool)
        case "avg_pool2d": return try Naive.avgPool2d(x, pool)
        case "adaptive_avg_pool2d": return try Naive.adaptiveAvgPool2d(x, output: pair("output"))
        case "global_avg_pool": return try Naive.flatten(Naive.adaptiveAvgPool2d(x, output: Size2(1)))
        case "linear": return try Naive.linear(x, LinearLayer(weight: tensor("weight"), bias: tensors["bias"]?.storage))
        case "channel_shuffle":
            return try Naive.channelShuffle(x, groups: int("groups"),
                                                permutation: ShufflePermutation(rawValue: params["permutation"] as? String ?? "") ?? .groupsFirst)
        case "cat": return try Naive.concatChannels([x, tensor("other")])
        case "add": return try Naive.add(x, tensor("other"))
        case "softmax": return try Naive.softmax(x)
        case "flatten": return try Naive.flatten(x)
        default: throw TensorError(operation: name, problem: "unknown op \(op)", hint: "update the test")
        }
    }

    /// The operator as a one-node graph, for the fast executor; `nil` for operators that only
    /// exist folded into others on the fast path (batch norm, flatten, adaptive pooling to >1).
    func graph() throws -> Graph? {
        var g = GraphBuilder()
        let x = g.input
        let y: ValueID
        switch op {
        case "conv2d": y = g.add(.convolution(x, try convolution, batchNorm: nil, residual: nil, activation: .identity), name: name)
        case "relu": y = g.add(.activation(x, .relu), name: name)
        case "relu6": y = g.add(.activation(x, .relu6), name: name)
        case "max_pool2d": y = g.add(.maxPool(x, pool), name: name)
        case "avg_pool2d": y = g.add(.avgPool(x, pool), name: name)
        case "global_avg_pool": y = g.add(.globalAvgPool(x), name: name)
        case "channel_shuffle":
            y = g.add(.shuffle(x, groups: int("groups"),
                               permutation: ShufflePermutation(rawValue: params["permutation"] as? String ?? "") ?? .groupsFirst), name: name)
        default: return nil
        }
        return try g.build(output: y)
    }
}

let operatorCaseNames: [String] = ((try? FileManager.default.contentsOfDirectory(
    atPath: fixturesRoot.appendingPathComponent("ops").path)) ?? []).sorted()

// Tolerance: |swift − torch| ≤ 2e-5 + 1e-5·|torch|. Both sides accumulate in float32 but in different
// orders (PyTorch's convolutions go through blocked oneDNN/GEMM kernels); with at most 147 products of
// magnitude ≲ 3 per output, reordering moves a sum by a few ulps of its largest partial sums (~1e-6).
// Pooling, shuffle, concat and activations are exact.
@Suite struct OperatorGoldenTests {
    @Test func everyOperatorHasFixtures() {
        #expect(operatorCaseNames.count == 46, "regenerate with tools/make_op_fixtures.py")
    }

    @Test(arguments: operatorCaseNames)
    func naiveMatchesPyTorch(_ name: String) throws {
        let c = try OperatorCase(name)
        let result = try c.runNaive()
        let comparison = Comparison(result, try c.tensor("expected"), atol: 2e-5, rtol: 1e-5)
        #expect(comparison.passes, "\(name): \(comparison)")
    }

    /// Cases that run as a one-node graph on an NCHW input. Batch norm only exists folded into
    /// convolutions on the fast path; linear, add, cat and softmax take non-image or two inputs and
    /// their fast kernels are covered by the network fixtures (every network ends in linear, and the
    /// residual nets add and concatenate).
    static let fastCaseNames = operatorCaseNames.filter { name in
        ((try? OperatorCase(name).graph()) ?? nil) != nil
    }

    @Test func fastCasesCoverEveryFastKernel() {
        #expect(Self.fastCaseNames.count == 39)
    }

    @Test(arguments: fastCaseNames, FastSetup.all)
    func fastMatchesNaiveAndPyTorch(_ name: String, setup: FastSetup) throws {
        let c = try OperatorCase(name)
        let graph = try #require(try c.graph())
        let input = try c.tensor("input")
        let fast = try FastExecutor(graph: graph, threads: setup.threads, kernels: setup.kernels).run(input)
        let naive = try NaiveExecutor.run(graph, input: input)
        let againstNaive = Comparison(fast, naive, atol: 2e-5, rtol: 1e-5)
        #expect(againstNaive.passes, "\(name) fast vs naive, \(setup): \(againstNaive)")
        let againstTorch = Comparison(fast, try c.tensor("expected"), atol: 2e-5, rtol: 1e-5)
        #expect(againstTorch.passes, "\(name) fast vs PyTorch, \(setup): \(againstTorch)")
    }

    /// Every kernel set at batches of 1, 3 and 8 images made from the case's input (image i is
    /// input image i mod n scaled by 1 + i/4, so that a kernel mixing up images, or reading the
    /// wrong image's planes, is caught), run whole and in chunks of one, two and four images (a
    /// working-set budget of one float cuts every step down to single images; 64 floats mixes
    /// chunk sizes), against the naive operators on the same batch.
    @Test(arguments: fastCaseNames, KernelSet.available)
    func batchesMatchNaive(_ name: String, kernels: KernelSet) throws {
        let c = try OperatorCase(name)
        let graph = try #require(try c.graph())
        let fixture = try c.tensor("input")
        let perImage = fixture.count / fixture.shape[0]
        for batch in [1, 3, 8] {
            var values: [Float] = []
            for image in 0..<batch {
                let source = fixture.storage[(image % fixture.shape[0]) * perImage..<(image % fixture.shape[0] + 1) * perImage]
                values += source.map { $0 * (1 + Float(image) / 4) }
            }
            let input = try Tensor(shape: [batch] + fixture.shape.dropFirst(), storage: values)
            let naive = try NaiveExecutor.run(graph, input: input)
            for (threads, budget) in [(1, 1), (2, 1), (2, 64), (2, FastExecutor.defaultChunkFloats)] {
                let fast = try FastExecutor(graph: graph, threads: threads, kernels: kernels, chunkFloats: budget).run(input)
                let comparison = Comparison(fast, naive, atol: 2e-5, rtol: 1e-5)
                #expect(comparison.passes, "\(name) batch \(batch), \(threads) threads, budget \(budget), \(kernels): \(comparison)")
            }
        }
    }

    /// 1×1 convolutions over planes small enough that several images share one GEMM (their planes
    /// packed side by side): dense and grouped, shares cut by output channels (64 a group) and by
    /// runs of images (12 a group), batches whose last run is partial (5) and whole (8), with a
    /// residual and ReLU6 in the epilogue, against the naive operators. Image i differs from the
    /// others, so a plane written to the wrong image is caught.
    @Test(arguments: KernelSet.available)
    func packedPointwiseMatchesNaive(kernels: KernelSet) throws {
        for (inputs, outputs, groups, side) in [(24, 64, 1, 7), (24, 192, 3, 5), (8, 24, 2, 3)] {
            let weights = (0..<outputs * inputs / groups).map { Float(($0 * 37) % 23) / 23 - 0.5 }
            let layer = try ConvolutionLayer(weight: Tensor(shape: [outputs, inputs / groups, 1, 1], storage: weights),
                                             bias: (0..<outputs).map { Float($0 % 5) * 0.1 - 0.2 },
                                             parameters: Conv2dParameters(groups: groups))
            let square = try ConvolutionLayer(weight: Tensor(shape: [outputs, outputs, 1, 1],
                                                             storage: (0..<outputs * outputs).map { Float(($0 * 13) % 17) / 170 }),
                                              bias: nil, parameters: Conv2dParameters())
            var g = GraphBuilder()
            let first = g.add(.convolution(g.input, layer, batchNorm: nil, residual: nil, activation: .identity), name: "first")
            let y = g.add(.convolution(first, square, batchNorm: nil, residual: first, activation: .relu6), name: "second")
            let graph = try g.build(output: y)
            for batch in [5, 8] {
                let count = batch * inputs * side * side
                let input = try Tensor(shape: [batch, inputs, side, side],
                                       storage: (0..<count).map { Float(($0 * 7919) % 101) / 50 - 1 + Float($0 / (count / batch)) * 0.3 })
                let naive = try NaiveExecutor.run(graph, input: input)
                #expect(naive.storage.contains { $0 > 0 && $0 < 6 }, "the case exercises the unclamped range")
                for threads in [1, 2, 3] {
                    let fast = try FastExecutor(graph: graph, threads: threads, kernels: kernels).run(input)
                    let comparison = Comparison(fast, naive, atol: 2e-5, rtol: 1e-5)
                    let setting = "\(inputs)→\(outputs) groups \(groups) \(side)×\(side), batch \(batch), \(threads) threads"
                    #expect(comparison.passes, "\(setting), \(kernels): \(comparison)")
                }
            }
        }
    }

    /// The fused fast convolution (BN folded, residual and ReLU6 in the epilogue) against the
    /// naive chain of separate operators, on the golden inputs of every convolution case.
    @Test(arguments: operatorCaseNames.filter { $0.hasPrefix("conv_") }, KernelSet.available)
    func fusedConvolutionMatchesNaiveChain(_ name: String, kernels: KernelSet) throws {
        let c = try OperatorCase(name)
        let layer = try c.convolution
        let channels = layer.outputChannels
        let bn = try BatchNorm(gamma: (0..<channels).map { 0.5 + Float($0 % 5) * 0.2 },
                               beta: (0..<channels).map { Float($0 % 3) * 0.3 - 0.3 },
                               mean: (0..<channels).map { Float($0 % 4) * 0.1 - 0.15 },
                               variance: (0..<channels).map { 0.5 + Float($0 % 7) * 0.25 }, eps: 1e-3)
        let x = try c.tensor("input")
        let outShape = try layer.outputShape(for: x.shape)
        var g = GraphBuilder()
        // The residual is the unnormalized convolution itself, so it has the output's shape.
        let side = g.add(.convolution(g.input, layer, batchNorm: nil, residual: nil, activation: .identity), name: "side")
        let y = g.add(.convolution(g.input, layer, batchNorm: bn, residual: side, activation: .relu6), name: "fused")
        let graph = try g.build(output: y)
        #expect(try graph.shapes(for: x.shape)[y.index] == outShape)
        let executor = try FastExecutor(graph: graph, threads: 2, kernels: kernels)
        let fast = try executor.run(x)
        let naive = try NaiveExecutor.run(graph, input: x)
        let comparison = Comparison(fast, naive, atol: 2e-5, rtol: 1e-5)
        #expect(comparison.passes, "\(name), \(kernels) kernels: \(comparison)")
        #expect(naive.storage.contains { $0 > 0 && $0 < 6 }, "the case exercises the unclamped range")
        // The executor's graph, batch norm folded into its layer, is the same function; the graph it
        // was given (held here too) keeps its own weights and batch norm.
        let folded = Comparison(try NaiveExecutor.run(executor.graph, input: x), naive, atol: 2e-5, rtol: 1e-5)
        #expect(folded.passes, "\(name), folded graph: \(folded)")
        guard case let .convolution(_, original, norm, _, _) = graph.nodes[y.index].operation else { Issue.record("not a convolution"); return }
        #expect(original.weight == layer.weight && norm != nil)
    }
}

/// Threads × kernel set for the fast-path tests.
struct FastSetup: Sendable, CustomStringConvertible {
    var threads: Int
    var kernels: KernelSet
    var description: String { "\(threads) threads, \(kernels) kernels" }

    static let all: [FastSetup] = KernelSet.available.flatMap { kernels in [1, 2, 3].map { FastSetup(threads: $0, kernels: kernels) } }
}
