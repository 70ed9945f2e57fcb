import Testing
@testable import TensorEngine

/// The fast kernels work eight lanes at a time; a NaN in the input must come out where the
/// naive operators (which follow PyTorch: `clamp` and `max_pool2d` propagate NaN) put it, not be
/// clamped to 0 or lost in a vector max.
@Suite struct NaNPropagationTests {
    /// A [1, 2, 9, 37] ramp with NaN at a few positions, some inside vector groups, some in tails.
    static func input() throws -> Tensor {
        let count = 2 * 9 * 37
        var values = (0..<count).map { Float(($0 * 37) % 23) * 0.7 - 6 }
        for index in [3, 40, 41, 200, 370, 401, 665] { values[index] = .nan }
        return try Tensor(shape: [1, 2, 9, 37], storage: values)
    }

    static func expectSameNaNs(_ fast: Tensor, _ naive: Tensor) {
        #expect(fast.shape == naive.shape)
        let nans = naive.storage.indices.filter { naive.storage[$0].isNaN }
        #expect(!nans.isEmpty, "the case must carry a NaN to the output")
        #expect(fast.storage.indices.filter { fast.storage[$0].isNaN } == nans)
        // Everywhere else, the usual tolerance.
        let far = naive.storage.indices.filter { i in
            let (a, b) = (fast.storage[i], naive.storage[i])
            return !b.isNaN && !(abs(a - b) <= 2e-5 + 1e-5 * abs(b))
        }
        #expect(far.isEmpty, "first differing positions: \(far.prefix(5))")
    }

    @Test(arguments: [1, 2])
    func reluSixThenMaxPool(threads: Int) throws {
        var g = GraphBuilder()
        let clamped = g.add(.activation(g.input, .relu6), name: "relu6")
        let pooled = g.add(.maxPool(clamped, PoolParameters(kernel: Size2(3), stride: Size2(2), padding: Size2(1))), name: "pool")
        // A second reader keeps the activation a step of its own rather than fused away.
        let other = g.add(.maxPool(clamped, PoolParameters(kernel: Size2(3), stride: Size2(2), padding: Size2(1))), name: "pool2")
        let y = g.add(.add(pooled, other, activation: .identity), name: "add")
        let graph = try g.build(output: y)
        let x = try Self.input()
        Self.expectSameNaNs(try FastExecutor(graph: graph, threads: threads).run(x), try NaiveExecutor.run(graph, input: x))
    }

    @Test(arguments: [1, 2], KernelSet.available)
    func reluReadByDepthwise(threads: Int, kernels: KernelSet) throws {
        var g = GraphBuilder()
        let activated = g.add(.activation(g.input, .relu), name: "relu")
        let weight = try Tensor(shape: [2, 1, 3, 3], storage: (0..<18).map { Float($0 % 5) * 0.2 - 0.3 })
        let layer = try ConvolutionLayer(weight: weight, bias: [0.1, -0.2],
                                         parameters: Conv2dParameters(padding: Size2(1), groups: 2))
        let y = g.add(.convolution(activated, layer, batchNorm: nil, residual: nil, activation: .relu6), name: "dw")
        let graph = try g.build(output: y)
        let x = try Self.input()
        Self.expectSameNaNs(try FastExecutor(graph: graph, threads: threads, kernels: kernels).run(x), try NaiveExecutor.run(graph, input: x))
    }
}
