import Testing
@testable import TensorEngine
#if arch(x86_64)
import CKernels
#endif

@Suite struct KernelSetTests {
    /// `best` is the widest set the CPU runs, and `runnable` only ever narrows: a set asked for on a
    /// CPU without it gives the widest narrower one it has (the portable kernels at the least).
    @Test func bestIsTheWidestAvailableAndRunnableNeverWidens() throws {
        #expect(KernelSet.available.first == .portable)
        #expect(KernelSet.available.last == KernelSet.best)
        for set in KernelSet.allCases {
            #expect(KernelSet.available.contains(set.runnable), "\(set)")
            let asked = try #require(KernelSet.allCases.firstIndex(of: set))
            let given = try #require(KernelSet.allCases.firstIndex(of: set.runnable))
            #expect(given <= asked, "\(set) runs as \(set.runnable)")
            #expect(set.runnable.runnable == set.runnable)
        }
    }
}

#if arch(x86_64)
/// The C 3×3 kernels (depthwise convolution, max and average pooling) called directly on one plane of
/// every width from 1 to 40 and 60 to 72 (one or two blocks and the column order; the ring of padded
/// rows with a last partial or overlapping block) and 129 to 132 and 147 (AVX-512 pooling's ring
/// at stride 2, from 65 outputs), 1 to 5 rows, stride 1 and 2, padding 0 to 2: the
/// output matches the naive operators, and the floats on either side of the output plane are left
/// as they were (a kernel storing a whole vector past a row's end would overwrite them). Where the
/// set's depthwise kernel reads an input bias (a producer's deferred epilogue), also with one: the
/// naive operators then run on the input with the bias and ReLU applied, padding left zero.
@Suite struct VectorKernelBoundsTests {
    enum Kernel: CaseIterable, Sendable { case depthwise, depthwiseInputBias, maxPool, averagePool }

    static let cases = KernelSet.available.compactMap(\.vector).flatMap { set in
        Kernel.allCases.filter { $0 != .depthwiseInputBias || set.readsInputBias }.map { (set, $0) }
    }

    @Test(arguments: cases)
    func writesItsPlaneAndNothingElse(kernels: VectorKernels, kernel: Kernel) throws {
        let canary = Float(bitPattern: 0x7FC0_1234)
        let guardFloats = 24
        let filter: [Float] = [0.5, -0.25, 0.75, 1, -0.5, 0.25, -1, 0.5, 0.125]
        var checked = 0
        for stride in [1, 2] {
            // Pooling's padding is at most half the window (PyTorch's rule, which the graph enforces).
            for padding in kernel == .depthwise || kernel == .depthwiseInputBias ? [0, 1, 2] : [0, 1] {
                for height in 1...5 {
                    for width in Array(1...40) + Array(60...72) + Array(129...132) + [147] {
                        guard height + 2 * padding >= 3, width + 2 * padding >= 3 else { continue }
                        let outHeight = (height + 2 * padding - 3) / stride + 1
                        let outWidth = (width + 2 * padding - 3) / stride + 1
                        let values = (0..<height * width).map { Float(($0 * 37) % 29) * 0.25 - 3 }
                        // What the kernel reads with the input bias: the bias added, then ReLU.
                        let inputBias: Float = 0.625
                        let read = kernel == .depthwiseInputBias ? values.map { max($0 + inputBias, 0) } : values
                        let input = try Tensor(shape: [1, 1, height, width], storage: read)
                        var g = GraphBuilder()
                        let pool = PoolParameters(kernel: Size2(3), stride: Size2(stride), padding: Size2(padding))
                        let y = switch kernel {
                        case .depthwise, .depthwiseInputBias:
                            g.add(.convolution(g.input, try ConvolutionLayer(weight: try Tensor(shape: [1, 1, 3, 3], storage: filter), bias: [0.375],
                                                                             parameters: Conv2dParameters(stride: Size2(stride), padding: Size2(padding))),
                                               batchNorm: nil, residual: nil, activation: .relu6), name: "dw")
                        case .maxPool: g.add(.maxPool(g.input, pool), name: "max")
                        case .averagePool: g.add(.avgPool(g.input, pool), name: "avg")
                        }
                        let expected = try NaiveExecutor.run(try g.build(output: y), input: input)
                        #expect(expected.shape == [1, 1, outHeight, outWidth])
                        let plane = outHeight * outWidth
                        var buffer = [Float](repeating: canary, count: guardFloats + plane + guardFloats)
                        values.withUnsafeBufferPointer { source in
                            filter.withUnsafeBufferPointer { weights in
                                buffer.withUnsafeMutableBufferPointer { out in
                                    let output = out.baseAddress! + guardFloats
                                    switch kernel {
                                    case .depthwise:
                                        kernels.depthwise3x3(source.baseAddress!, height, width, output, outHeight, outWidth, stride,
                                                             padding, padding, weights.baseAddress!, 0.375, nil,
                                                             nil, Activation.identity.code, Activation.relu6.code)
                                    case .depthwiseInputBias:
                                        withUnsafePointer(to: inputBias) { bias in
                                            kernels.depthwise3x3(source.baseAddress!, height, width, output, outHeight, outWidth, stride,
                                                                 padding, padding, weights.baseAddress!, 0.375, nil,
                                                                 bias, Activation.relu.code, Activation.relu6.code)
                                        }
                                    case .maxPool, .averagePool:
                                        kernels.pool3x3(source.baseAddress!, height, width, output, outHeight, outWidth, stride,
                                                        padding, padding, Int32(kernel == .maxPool ? WC_POOL_MAX : WC_POOL_AVERAGE))
                                    }
                                }
                            }
                        }
                        let where_ = "\(kernels) \(kernel) \(height)×\(width) stride \(stride) padding \(padding)"
                        let outside = buffer[..<guardFloats] + buffer[(guardFloats + plane)...]
                        #expect(outside.allSatisfy { $0.bitPattern == canary.bitPattern }, "\(where_): wrote outside its plane")
                        let result = try Tensor(shape: [1, 1, outHeight, outWidth], storage: Array(buffer[guardFloats..<guardFloats + plane]))
                        let comparison = Comparison(result, expected, atol: 2e-5, rtol: 1e-5)
                        #expect(comparison.passes, "\(where_): \(comparison)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 600)
    }
}
#endif
