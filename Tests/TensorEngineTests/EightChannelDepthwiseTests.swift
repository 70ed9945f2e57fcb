import Testing
@testable import TensorEngine

/// The AVX2 depthwise kernel over eight channels at once (`wc_depthwise3x3x8_avx2`), which runs
/// stride-2 layers over small planes and layers less than eight outputs wide (under the AVX-512
/// set only the latter, at stride 1), against the naive operators: 8, 16 and 20 channels (a last
/// group of four runs plane by plane, by the set's own plane kernel), with a residual, with a
/// channel shuffle folded into its read and one folded into its write, at batch 1 and 2, on every
/// kernel set (the portable one runs the same graphs its own way).
@Suite struct EightChannelDepthwiseTests {
    enum Wiring: String, CaseIterable, Sendable { case plain, residual, shuffledRead, shuffledWrite }

    static func graph(channels c: Int, stride: Int, wiring: Wiring) throws -> Graph {
        let weights = (0..<c * 9).map { Float(($0 * 37) % 29) / 29 - 0.45 }
        let depthwise = try ConvolutionLayer(weight: Tensor(shape: [c, 1, 3, 3], storage: weights),
                                             bias: (0..<c).map { Float(($0 * 5) % 11) * 0.3 - 1.5 },
                                             parameters: Conv2dParameters(stride: Size2(stride), padding: Size2(1), groups: c))
        var g = GraphBuilder()
        let y: ValueID
        switch wiring {
        case .plain:
            y = g.add(.convolution(g.input, depthwise, batchNorm: nil, residual: nil, activation: .relu6), name: "dw")
        case .residual:
            // A 1×1 layer of stride `stride` gives a residual of the output's shape.
            let pointwise = try ConvolutionLayer(weight: Tensor(shape: [c, c, 1, 1], storage: (0..<c * c).map { Float(($0 * 13) % 17) / 40 - 0.2 }),
                                                 bias: nil, parameters: Conv2dParameters(stride: Size2(stride)))
            let side = g.add(.convolution(g.input, pointwise, batchNorm: nil, residual: nil, activation: .identity), name: "side")
            y = g.add(.convolution(g.input, depthwise, batchNorm: nil, residual: side, activation: .relu), name: "dw")
        case .shuffledRead:
            let shuffled = g.add(.shuffle(g.input, groups: 4, permutation: .groupsFirst), name: "shuffle")
            y = g.add(.convolution(shuffled, depthwise, batchNorm: nil, residual: nil, activation: .identity), name: "dw")
        case .shuffledWrite:
            let filtered = g.add(.convolution(g.input, depthwise, batchNorm: nil, residual: nil, activation: .identity), name: "dw")
            y = g.add(.shuffle(filtered, groups: 4, permutation: .groupsLast), name: "shuffle")
        }
        return try g.build(output: y)
    }

    static let cases: [(Wiring, KernelSet)] = Wiring.allCases.flatMap { wiring in KernelSet.available.map { (wiring, $0) } }

    @Test(arguments: cases)
    func matchesNaive(wiring: Wiring, kernels: KernelSet) throws {
        for channels in [8, 16, 20] {
            // 7×7 and 5×5 at stride 1 (fewer than eight outputs wide); 14, 28 and 9 at stride 2.
            for (side, stride) in [(7, 1), (5, 1), (14, 2), (28, 2), (9, 2)] {
                let graph = try Self.graph(channels: channels, stride: stride, wiring: wiring)
                for batch in [1, 2] {
                    let count = batch * channels * side * side
                    let input = try Tensor(shape: [batch, channels, side, side],
                                           storage: (0..<count).map { Float(($0 * 7919) % 97) / 10 - 4 })
                    let naive = try NaiveExecutor.run(graph, input: input)
                    for threads in [1, 3] {
                        let fast = try FastExecutor(graph: graph, threads: threads, kernels: kernels).run(input)
                        let comparison = Comparison(fast, naive, atol: 3e-5, rtol: 1e-5)
                        #expect(comparison.passes, "\(wiring) \(channels) channels \(side)×\(side) stride \(stride), batch \(batch), \(threads) threads, \(kernels): \(comparison)")
                    }
                }
            }
        }
    }
}
