import Testing
@testable import TensorEngine
#if arch(x86_64)
import CKernels
#endif

/// The engine's own GEMM and linear kernels (``EngineGEMM``): where the rule sends a layer, and what
/// the layers compute there against the naive operators.
@Suite struct EngineGEMMTests {
    /// The engine runs a network's GEMMs with the AVX-512 kernels at float32 when none of its GEMM
    /// convolutions has more than 2²⁰ weights (depthwise ones do not count), and nowhere else; the
    /// executor warms the library up exactly where the engine does not run them all.
    @Test func theRuleAndTheWarmUpAgree() throws {
        let small = try Self.graph(inputs: 300, outputs: 19, linearBias: false)
        let limit = try Self.graph(inputs: 1024, outputs: 1024, linearBias: true)
        let large = try Self.graph(inputs: 1024, outputs: 1025, linearBias: true)
        for kernels in KernelSet.allCases {
            for precision in Precision.allCases {
                let engine = kernels == .avx512 && precision == .float32
                #expect(EngineGEMM.runsAll(small, kernels: kernels, precision: precision) == engine, "\(kernels) \(precision)")
                #expect(EngineGEMM.runsAll(limit, kernels: kernels, precision: precision) == engine, "\(kernels) \(precision)")
                #expect(!EngineGEMM.runsAll(large, kernels: kernels, precision: precision), "\(kernels) \(precision)")
            }
        }
        var g = GraphBuilder()
        let wide = 1025
        let depthwise = try ConvolutionLayer(weight: Tensor(shape: [wide * 1024, 1, 1, 1], storage: [Float](repeating: 0.5, count: wide * 1024)),
                                             bias: nil, parameters: Conv2dParameters(groups: wide * 1024))
        let onlyDepthwise = try g.build(output: g.add(.convolution(g.input, depthwise, batchNorm: nil, residual: nil, activation: .identity),
                                                      name: "dw"))
        #expect(EngineGEMM.runsAll(onlyDepthwise, kernels: .avx512, precision: .float32))
        for kernels in KernelSet.available {
            for graph in [small, large] {
                let executor = try FastExecutor(graph: graph, threads: 1, kernels: kernels)
                #expect(executor.engineGEMM == EngineGEMM.runsAll(graph, kernels: kernels, precision: .float32))
            }
        }
    }

    /// A deep 1×1 convolution (300 input channels: two blocks of k), a grouped one with a residual,
    /// and linear layers with and without a bias, on every kernel set at batch 1 and 3 and 1–3
    /// threads, against the naive operators.
    @Test(arguments: KernelSet.available)
    func layersMatchNaive(kernels: KernelSet) throws {
        for linearBias in [false, true] {
            let graph = try Self.graph(inputs: 300, outputs: 19, linearBias: linearBias)
            for batch in [1, 3] {
                let count = batch * 300 * 5 * 7
                let input = try Tensor(shape: [batch, 300, 5, 7], storage: (0..<count).map { Float(($0 * 7919) % 101) / 50 - 1 })
                let naive = try NaiveExecutor.run(graph, input: input)
                for threads in [1, 2, 3] {
                    let fast = try FastExecutor(graph: graph, threads: threads, kernels: kernels).run(input)
                    let comparison = Comparison(fast, naive, atol: 1e-4, rtol: 1e-5)
                    #expect(comparison.passes, "\(kernels), bias \(linearBias), batch \(batch), \(threads) threads: \(comparison)")
                }
            }
        }
    }

    /// In a network whose other GEMMs the library computes, the engine takes the layers over
    /// output planes narrower than ``EngineGEMM/narrowPlane`` columns, and the linear layers at
    /// batches up to ``EngineGEMM/linearBatch``, with the AVX-512 or AVX2 kernels at float32, and
    /// no others.
    @Test func narrowPlanesRunOnTheEngine() {
        for kernels in KernelSet.allCases {
            for precision in Precision.allCases {
                let engine = kernels != .portable && precision == .float32
                #expect(EngineGEMM.takes(columns: 1, kernels: kernels, precision: precision) == engine)
                #expect(EngineGEMM.takes(columns: 49, kernels: kernels, precision: precision) == engine)
                #expect(EngineGEMM.takes(columns: EngineGEMM.narrowPlane - 1, kernels: kernels, precision: precision) == engine)
                #expect(!EngineGEMM.takes(columns: EngineGEMM.narrowPlane, kernels: kernels, precision: precision))
                #expect(!EngineGEMM.takes(columns: 100, kernels: kernels, precision: precision))
                #expect(EngineGEMM.takesLinear(batch: 1, kernels: kernels, precision: precision) == engine)
                #expect(EngineGEMM.takesLinear(batch: EngineGEMM.linearBatch, kernels: kernels, precision: precision) == engine)
                #expect(!EngineGEMM.takesLinear(batch: EngineGEMM.linearBatch + 1, kernels: kernels, precision: precision))
            }
        }
    }

    /// A network past ``EngineGEMM/largestWeights`` (so the library runs its GEMMs) over a 5×7
    /// plane, where the engine takes its 1×1 layers at batch 1 (see
    /// ``EngineGEMM/takes(columns:kernels:precision:)``; at batch 2 the executor packs the planes
    /// side by side for the library) and over an 8×8 plane, where the library keeps them: 1 and 2
    /// threads, every kernel set, against the naive operators (run once for all the sets: they are
    /// the slow part).
    @Test func narrowLayersOfALibraryNetworkMatchNaive() throws {
        let graph = try Self.graph(inputs: 1024, outputs: 1026, linearBias: true)
        #expect(!EngineGEMM.runsAll(graph, kernels: .avx512, precision: .float32))
        for (height, width, batch) in [(5, 7, 1), (5, 7, 2), (8, 8, 1)] {
            let count = batch * 1024 * height * width
            let input = try Tensor(shape: [batch, 1024, height, width],
                                   storage: (0..<count).map { Float(($0 * 7919) % 101) / 50 - 1 })
            let naive = try NaiveExecutor.run(graph, input: input)
            for kernels in KernelSet.available {
                for threads in [1, 2] {
                    let fast = try FastExecutor(graph: graph, threads: threads, kernels: kernels).run(input)
                    let comparison = Comparison(fast, naive, atol: 1e-3, rtol: 1e-5)
                    #expect(comparison.passes, "\(kernels), \(height)×\(width), batch \(batch), \(threads) threads: \(comparison)")
                }
            }
        }
    }

    /// 1×1 `inputs → outputs` (ReLU6), 1×1 grouped `outputs → outputs` (3 groups: `outputs` must
    /// divide by 3) with the first as residual, global average pooling, then a linear layer.
    static func graph(inputs: Int, outputs: Int, linearBias: Bool) throws -> Graph {
        func values(_ count: Int, _ scale: Float) -> [Float] { (0..<count).map { Float(($0 * 37) % 23) / 23 * scale - scale / 2 } }
        let first = try ConvolutionLayer(weight: Tensor(shape: [outputs, inputs, 1, 1], storage: values(outputs * inputs, 0.2)),
                                         bias: values(outputs, 1), parameters: Conv2dParameters())
        let grouped = outputs % 3 == 0 ? 3 : 1
        let second = try ConvolutionLayer(weight: Tensor(shape: [outputs, outputs / grouped, 1, 1],
                                                         storage: values(outputs * outputs / grouped, 0.5)),
                                          bias: values(outputs, 0.5), parameters: Conv2dParameters(groups: grouped))
        let linear = try LinearLayer(weight: Tensor(shape: [7, outputs], storage: values(7 * outputs, 1)),
                                     bias: linearBias ? values(7, 2) : nil)
        var g = GraphBuilder()
        let a = g.add(.convolution(g.input, first, batchNorm: nil, residual: nil, activation: .relu6), name: "first")
        let b = g.add(.convolution(a, second, batchNorm: nil, residual: a, activation: .relu), name: "second")
        let pooled = g.add(.globalAvgPool(b), name: "pool")
        return try g.build(output: g.add(.linear(pooled, linear), name: "fc"))
    }
}

#if arch(x86_64)
/// The vector kernel sets this machine runs.
private let vectorSets = KernelSet.available.compactMap(\.vector)

/// The engine's GEMM and linear kernels of each vector set the machine runs (`wc_gemm_avx512` and
/// `wc_linear_avx512`, `wc_gemm_avx2` and `wc_linear_avx2`) called directly: row counts around the
/// blocks of eight and four, widths around the 8-, 16-, 24-, 32- and 48-column tiles (25, 49, 73
/// and 97: a lone last column), depths around the 128- and 256-step blocks of k (144: two even
/// blocks), with and without bias, residual and activation, against sums in double precision; the
/// floats between rows (the output's row stride is wider) and after the last row stay as they were.
@Suite(.enabled(if: !vectorSets.isEmpty, "this processor has neither AVX2 nor AVX-512"))
struct EngineGEMMKernelTests {
    static let canary = Float(bitPattern: 0x7FC0_4321)

    @Test(arguments: vectorSets)
    func gemmWritesItsTileAndNothingElse(kernels: VectorKernels) {
        var checked = 0
        for k in [0, 1, 2, 127, 128, 129, 144, 255, 256, 257, 513] {
            for m in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17] {
                for n in [1, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 70, 73, 97, 196]
                where (k < 200 || n > 30 || m > 8) && (k < 500 || m % 8 < 2) {
                    for variant in 0..<3 {
                        check(kernels, m: m, n: n, k: k, variant: variant)
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 3000)
    }

    /// variant 0: bias + residual + ReLU6; 1: bias, identity; 2: no bias (the plain product).
    func check(_ kernels: VectorKernels, m: Int, n: Int, k: Int, variant: Int) {
        let ldb = n + 2, ldc = n + 3, tail = 19
        let a = (0..<m * k).map { Float(($0 * 29) % 31) / 31 - 0.5 }
        let b = (0..<k * ldb).map { Float(($0 * 17) % 37) / 37 - 0.5 }
        let bias = (0..<m).map { Float($0 % 7) * 0.5 - 1.5 }
        let residual = (0..<m * ldc).map { Float(($0 * 13) % 11) * 0.25 - 1 }
        var c = [Float](repeating: Self.canary, count: m * ldc + tail)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                bias.withUnsafeBufferPointer { bias in
                    residual.withUnsafeBufferPointer { residual in
                        c.withUnsafeMutableBufferPointer { c in
                            kernels.gemm(m, n, k, a.baseAddress!, k, b.baseAddress!, ldb, c.baseAddress!, ldc,
                                         variant == 2 ? nil : bias.baseAddress, variant == 0 ? residual.baseAddress : nil,
                                         variant == 0 ? Activation.relu6.code : Activation.identity.code)
                        }
                    }
                }
            }
        }
        let setting = "\(kernels) m \(m) n \(n) k \(k) variant \(variant)"
        Self.expectRows(c, rows: m, width: n, stride: ldc, setting) { i, j in
            var sum = 0.0, magnitude = 0.0
            for p in 0..<k {
                sum += Double(a[i * k + p]) * Double(b[p * ldb + j])
                magnitude += abs(Double(a[i * k + p]) * Double(b[p * ldb + j]))
            }
            if variant != 2 { sum += Double(bias[i]) }
            if variant == 0 { sum = min(max(sum + Double(residual[i * ldc + j]), 0), 6) }
            return (sum, 1e-6 * (magnitude + 1))
        }
        #expect(c[(m * ldc)...].allSatisfy { $0.bitPattern == Self.canary.bitPattern }, "\(setting): wrote past the last row")
    }

    @Test(arguments: vectorSets)
    func linearMatchesDotProducts(kernels: VectorKernels) {
        for hasBias in [false, true] {
            for batch in 1...9 {
                for outputs in 1...9 {
                    for k in [1, 15, 16, 17, 40] {
                        let ldy = outputs + 2
                        let x = (0..<batch * k).map { Float(($0 * 29) % 31) / 31 - 0.5 }
                        let w = (0..<outputs * k).map { Float(($0 * 17) % 37) / 37 - 0.5 }
                        let bias = (0..<outputs).map { Float($0) * 0.25 - 1 }
                        var y = [Float](repeating: Self.canary, count: batch * ldy)
                        x.withUnsafeBufferPointer { x in
                            w.withUnsafeBufferPointer { w in
                                bias.withUnsafeBufferPointer { bias in
                                    y.withUnsafeMutableBufferPointer { y in
                                        kernels.linear(batch, outputs, k, x.baseAddress!, w.baseAddress!,
                                                       hasBias ? bias.baseAddress : nil, y.baseAddress!, ldy)
                                    }
                                }
                            }
                        }
                        let setting = "\(kernels) batch \(batch) outputs \(outputs) k \(k) bias \(hasBias)"
                        Self.expectRows(y, rows: batch, width: outputs, stride: ldy, setting) { i, o in
                            var sum = hasBias ? Double(bias[o]) : 0
                            for p in 0..<k { sum += Double(x[i * k + p]) * Double(w[o * k + p]) }
                            return (sum, 1e-5)
                        }
                    }
                }
            }
        }
    }

    /// Each of `rows` rows of `values` (`stride` floats apart) holds `expected(i, j)` within its
    /// allowance in its first `width` floats and the canary in the rest of its stride.
    static func expectRows(_ values: [Float], rows: Int, width: Int, stride: Int, _ setting: String,
                           expected: (Int, Int) -> (value: Double, allowed: Double)) {
        for i in 0..<rows {
            for j in 0..<stride {
                let got = values[i * stride + j]
                guard j < width else {
                    #expect(got.bitPattern == canary.bitPattern, "\(setting): wrote [\(i)][\(j)], past its \(width) columns")
                    continue
                }
                let (value, allowed) = expected(i, j)
                #expect(abs(Double(got) - value) <= allowed, "\(setting): [\(i)][\(j)] is \(got), expected \(value)")
            }
        }
    }
}
#endif
