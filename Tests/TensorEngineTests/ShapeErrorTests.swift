import Testing
@testable import TensorEngine

@Suite struct ShapeErrorTests {
    func smallNetwork() throws -> Graph {
        var g = GraphBuilder()
        let conv = try ConvolutionLayer(weight: Tensor(shape: [4, 3, 3, 3], repeating: 0.1), bias: nil,
                                        parameters: Conv2dParameters(stride: Size2(2)))
        let y = g.add(.convolution(g.input, conv, batchNorm: nil, residual: nil, activation: .relu), name: "stem.conv")
        let pooled = g.add(.maxPool(y, PoolParameters(kernel: Size2(3), stride: Size2(2))), name: "stem.pool")
        return try g.build(output: pooled)
    }

    @Test func wrongChannelCountNamesTheLayer() throws {
        let graph = try smallNetwork()
        #expect {
            _ = try NaiveExecutor.run(graph, input: Tensor(shape: [1, 4, 16, 16]))
        } throws: { error in
            let text = String(describing: error)
            return text.contains("stem.conv") && text.contains("4 channels") && text.contains("expects 3")
        }
    }

    @Test func tooSmallInputIsAnErrorNotACrash() throws {
        let graph = try smallNetwork()
        let fast = try FastExecutor(graph: graph, threads: 2)
        #expect(throws: TensorError.self) { _ = try fast.run(Tensor(shape: [1, 3, 4, 4])) }
        #expect(throws: TensorError.self) { _ = try fast.run(Tensor(shape: [3, 16, 16])) }
        // A valid size after a failed one still works, and any batch size is accepted.
        #expect(try fast.run(Tensor(shape: [3, 3, 17, 19], repeating: 1)).shape == [3, 4, 3, 4])
    }

    @Test func tensorRefusesMismatchedStorage() {
        #expect(throws: TensorError.self) { _ = try Tensor(shape: [2, 3], storage: [1, 2, 3]) }
        #expect(throws: TensorError.self) { _ = try Tensor(shape: [Int.max, 3], storage: []) }
        #expect(throws: TensorError.self) { _ = try Tensor(shape: [-1], storage: []) }
    }

    @Test func shufflePermutationsAreInverses() {
        let paper = ShufflePermutation.groupsFirst.sourceChannels(channels: 12, groups: 3)
        let megvii = ShufflePermutation.groupsLast.sourceChannels(channels: 12, groups: 3)
        #expect(paper != megvii)
        #expect((0..<12).map { megvii[paper[$0]] } == Array(0..<12))
        // The paper's example: groups [a1..a4][b1..b4][c1..c4] become a1 b1 c1 a2 b2 c2 …
        #expect(Array(paper.prefix(4)) == [0, 4, 8, 1])
    }
}
