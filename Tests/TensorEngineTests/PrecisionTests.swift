import CKernels
import Testing
@testable import TensorEngine
import WeightconvCore

// The opt-in bfloat16 precision of the 1×1 convolutions. Where the machine has it (AVX512_BF16 and
// oneDNN's bfloat16 GEMM), it must round as PyTorch does and stay close to the float32 result;
// where it does not, asking for it must be refused, never silently run as float32.
@Suite struct PrecisionTests {
    /// The rounding kernel agrees bit for bit with `FloatConversion.floatToBFloat16`, which
    /// FloatConversionTests pins to PyTorch's `.bfloat16()`: ties to even both ways, carries into the
    /// exponent, overflow to infinity, infinities, NaN (quiet, sign kept), signed zeros, and 200,000
    /// scattered bit patterns, in rows with a stride and a tail shorter than a vector. Subnormal
    /// inputs are left out: the instruction reads them as zero, PyTorch rounds them.
    @Test func roundingMatchesPyTorch() throws {
        // The kernel needs the CPU's instruction only (not oneDNN): it runs in the portable-GEMM suite too.
        guard wc_has_avx512_bf16() else {
            #expect(!Precision.bfloat16.isAvailable, "bf16 offered on a CPU without AVX512_BF16")
            return
        }
        #if arch(x86_64)
        var values: [Float] = [1, -1, 0, -0.0, 1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, 1.99999, -255.5,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity,
                               .nan, -Float.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC1_2345),
                               .leastNormalMagnitude, 3.3895314e38]
        var state: UInt32 = 0x2545_F491
        while values.count < 200_000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            let value = Float(bitPattern: state)
            if value.isSubnormal { continue }
            values.append(value)
        }
        let columns = 37, stride = 41, rows = values.count / columns
        var source = [Float](repeating: .nan, count: rows * stride)
        for r in 0..<rows { for c in 0..<columns { source[r * stride + c] = values[r * columns + c] } }
        var rounded = [UInt16](repeating: 0, count: rows * columns)
        wc_rows_to_bf16_avx512(source, rows, columns, stride, &rounded)
        var mismatches = 0
        for i in 0..<rows * columns {
            let expected = FloatConversion.floatToBFloat16(values[i])
            if rounded[i] != expected {
                if mismatches < 5 { Issue.record("\(values[i]) (0x\(String(values[i].bitPattern, radix: 16))): 0x\(String(rounded[i], radix: 16)), PyTorch 0x\(String(expected, radix: 16))") }
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
        #endif
    }

    /// GEMM convolutions at bfloat16 against the naive float32 operators: 1×1 layers dense and
    /// grouped, over planes wide enough for several GEMM tiles and small enough to be packed several
    /// images to a GEMM, with a residual and ReLU6; and a strided 3×3 layer unfolded into its GEMM;
    /// one and two threads, one and five images. Each output is within 2%
    /// of the largest, the results differ from the float32 fast path's (so the bfloat16 GEMM ran),
    /// and the network's other arithmetic is untouched. Where bfloat16 is not available the
    /// executor refuses it.
    @Test func bfloat16PointwiseIsCloseToFloat32OrRefused() throws {
        for (inputs, outputs, groups, side) in [(16, 96, 1, 60), (24, 64, 1, 7), (24, 192, 3, 5), (40, 48, 2, 14)] {
            let weights = (0..<outputs * inputs / groups).map { Float(($0 * 37) % 23) / 23 - 0.5 }
            let layer = try ConvolutionLayer(weight: Tensor(shape: [outputs, inputs / groups, 1, 1], storage: weights),
                                             bias: (0..<outputs).map { Float($0 % 5) * 0.1 - 0.2 },
                                             parameters: Conv2dParameters(groups: groups))
            let square = try ConvolutionLayer(weight: Tensor(shape: [outputs, outputs, 1, 1],
                                                             storage: (0..<outputs * outputs).map { Float(($0 * 13) % 17) / 170 - 0.04 }),
                                              bias: nil, parameters: Conv2dParameters())
            // The same input through an unfolded 3×3 layer (im2col + GEMM: one group of more than 4
            // inputs, which the direct 3×3 kernel leaves to the GEMM; stride 2).
            let unfolded = try ConvolutionLayer(weight: Tensor(shape: [24, inputs, 3, 3],
                                                               storage: (0..<24 * inputs * 9).map { Float(($0 * 29) % 31) / 31 - 0.5 }),
                                                bias: nil, parameters: Conv2dParameters(stride: Size2(2), padding: Size2(1)))
            var g = GraphBuilder()
            let first = g.add(.convolution(g.input, layer, batchNorm: nil, residual: nil, activation: .identity), name: "first")
            let y = g.add(.convolution(first, square, batchNorm: nil, residual: first, activation: .relu6), name: "second")
            var u = GraphBuilder()
            let z = u.add(.convolution(u.input, unfolded, batchNorm: nil, residual: nil, activation: .relu), name: "unfolded")
            for graph in [try g.build(output: y), try u.build(output: z)] {
            guard Precision.bfloat16.isAvailable else {
                #expect(throws: TensorError.self) { try FastExecutor(graph: graph, threads: 1, precision: .bfloat16) }
                continue
            }
            for batch in [1, 5] {
                let count = batch * inputs * side * side
                let input = try Tensor(shape: [batch, inputs, side, side],
                                       storage: (0..<count).map { Float(($0 * 7919) % 101) / 50 - 1 + Float($0 / (count / batch)) * 0.3 })
                let naive = try NaiveExecutor.run(graph, input: input)
                let largest = naive.storage.reduce(0) { max($0, abs($1)) }
                for threads in [1, 2] {
                    let setting = "\(inputs)→\(outputs) groups \(groups) \(side)×\(side), batch \(batch), \(threads) threads"
                    let half = try FastExecutor(graph: graph, threads: threads, precision: .bfloat16).run(input)
                    let close = Comparison(half, naive, atol: 0.02 * largest, rtol: 0)
                    #expect(close.passes, "\(setting): \(close) (largest \(largest))")
                    let float32 = try FastExecutor(graph: graph, threads: threads).run(input)
                    #expect(Comparison(half, float32, atol: 0, rtol: 0).maxDifference > 0, "\(setting): bfloat16 gave float32's result")
                }
            }
            }
        }
    }
}
