import Testing
@testable import TensorEngine

/// A GEMM layer whose only readers are depthwise convolutions leaves its bias and activation to
/// them (see `FastExecutor.deferEpilogues`): the same function as the naive chain, on every plane
/// size the AVX2 depthwise kernel splits on (7×7 and 14×14: the small-plane path; stride 2 over
/// 14×14 and 28×28: its stride-2 version with one and two column blocks; 40×40: the ring of rows),
/// for the three ways the networks chain such
/// layers (MobileNetV2's expansion, Xception's ReLU read by the depthwise layer, ShuffleNet v1's
/// channel shuffle folded into the read), at batch 1 and 3 (the second packs small planes into one
/// GEMM), and only where every reader can take it. (Over 7×7 at batch 1 the AVX2 set runs the 1×1
/// layer on the engine's GEMM, which leaves the bias out for the readers: see `EngineGEMM`.)
@Suite struct DeferredEpilogueTests {
    enum Chain: String, CaseIterable, Sendable {
        /// 1×1 with batch norm and ReLU6, then a depthwise 3×3 with ReLU6: MobileNetV2's expansion.
        case expansion
        /// 1×1 with batch norm, a ReLU node, then the depthwise 3×3 (as Xception's separable layers).
        case activationNode
        /// Grouped 1×1 with ReLU, a channel shuffle, then the depthwise 3×3: ShuffleNet v1's unit.
        case shuffle
        /// As `expansion`, but an addition also reads the 1×1 layer's output: nothing is deferred.
        case sharedReader
    }

    static let channels = 12

    static func layer(_ inputs: Int, _ outputs: Int, kernel: Int, groups: Int = 1, stride: Int = 1, seed: Int) throws -> ConvolutionLayer {
        let count = outputs * inputs / groups * kernel * kernel
        let weights = (0..<count).map { Float(($0 * 37 + seed * 11) % 29) / 29 - 0.45 }
        // A different bias on every channel, so that a bias read from the wrong plane shows.
        let bias = (0..<outputs).map { Float(($0 * 7 + seed) % 13) * 0.4 - 2.2 }
        return try ConvolutionLayer(weight: Tensor(shape: [outputs, inputs / groups, kernel, kernel], storage: weights), bias: bias,
                                    parameters: Conv2dParameters(stride: Size2(stride), padding: Size2(kernel / 2), groups: groups))
    }

    static func graph(_ chain: Chain, stride: Int) throws -> Graph {
        let c = channels
        let bn = try BatchNorm(gamma: (0..<c).map { 0.6 + Float($0 % 5) * 0.3 }, beta: (0..<c).map { Float($0 % 4) * 0.5 - 0.8 },
                               mean: (0..<c).map { Float($0 % 3) * 0.2 - 0.2 }, variance: (0..<c).map { 0.4 + Float($0 % 6) * 0.3 },
                               eps: 1e-5)
        let depthwise = try layer(c, c, kernel: 3, groups: c, stride: stride, seed: 3)
        var g = GraphBuilder()
        let y: ValueID
        switch chain {
        case .expansion:
            let expanded = g.add(.convolution(g.input, try layer(4, c, kernel: 1, seed: 1), batchNorm: bn, residual: nil, activation: .relu6),
                                 name: "expand")
            y = g.add(.convolution(expanded, depthwise, batchNorm: nil, residual: nil, activation: .relu6), name: "dw")
        case .activationNode:
            let pointwise = g.add(.convolution(g.input, try layer(4, c, kernel: 1, seed: 2), batchNorm: bn, residual: nil, activation: .identity),
                                  name: "pointwise")
            let relu = g.add(.activation(pointwise, .relu), name: "relu")
            y = g.add(.convolution(relu, depthwise, batchNorm: nil, residual: nil, activation: .identity), name: "dw")
        case .shuffle:
            let grouped = g.add(.convolution(g.input, try layer(4, c, kernel: 1, groups: 2, seed: 4), batchNorm: bn, residual: nil,
                                             activation: .relu), name: "gconv")
            let shuffled = g.add(.shuffle(grouped, groups: 3, permutation: .groupsFirst), name: "shuffle")
            y = g.add(.convolution(shuffled, depthwise, batchNorm: nil, residual: nil, activation: .identity), name: "dw")
        case .sharedReader:
            let expanded = g.add(.convolution(g.input, try layer(4, c, kernel: 1, seed: 5), batchNorm: bn, residual: nil, activation: .relu6),
                                 name: "expand")
            let filtered = g.add(.convolution(expanded, try layer(c, c, kernel: 3, groups: c, seed: 6), batchNorm: nil, residual: nil,
                                              activation: .identity), name: "dw")
            y = g.add(.add(filtered, expanded, activation: .identity), name: "sum")
        }
        return try g.build(output: y)
    }

    static let cases: [(Chain, KernelSet)] = Chain.allCases.flatMap { chain in KernelSet.available.map { (chain, $0) } }

    @Test(arguments: cases)
    func matchesTheNaiveChain(chain: Chain, kernels: KernelSet) throws {
        for (side, stride) in [(7, 1), (14, 1), (14, 2), (28, 2), (40, 1), (40, 2)] where chain != .sharedReader || stride == 1 {
            let graph = try Self.graph(chain, stride: stride)
            let executor = try FastExecutor(graph: graph, threads: 2, kernels: kernels)
            // Every set but AVX-512 (whose own GEMM finishes its tiles) defers; never past a second reader.
            let deferred = chain == .sharedReader || kernels == .avx512 ? 0 : 1
            #expect(executor.deferredEpilogues == deferred, "\(chain), \(kernels)")
            for batch in [1, 3] {
                let count = batch * 4 * side * side
                let input = try Tensor(shape: [batch, 4, side, side],
                                       storage: (0..<count).map { Float(($0 * 7919) % 103) / 12 - 4 + Float($0 % 5) * 0.5 })
                let naive = try NaiveExecutor.run(graph, input: input)
                let fast = try executor.run(input)
                let comparison = Comparison(fast, naive, atol: 3e-5, rtol: 1e-5)
                #expect(comparison.passes, "\(chain) \(side)×\(side) stride \(stride), batch \(batch), \(kernels): \(comparison)")
            }
        }
    }
}
