import CKernels

/// The kernels a ``FastExecutor`` runs where there is a choice.
///
/// The Swift code is compiled for baseline x86-64 (SSE2), which every machine runs; the C kernels in
/// `CKernels` are compiled for AVX-512 or for AVX2 + FMA and used only when the CPU has them. Tests
/// run every set the machine can run against the naive operators.
public enum KernelSet: String, Sendable, Hashable, CaseIterable {
    /// The portable Swift kernels only.
    case portable
    /// The AVX2 + FMA kernels where they exist (the same operators as `.avx512`, eight lanes wide,
    /// and the GEMMs over planes under 64 columns and linear layers at small batches: see
    /// `EngineGEMM`), else the portable ones: what processors without AVX-512 (AMD Zen 2/3, most
    /// laptops) run.
    case avx2
    /// The AVX-512 kernels where they exist (3×3 depthwise and grouped convolution, 3×3 max and
    /// average pooling, the GEMM tiles' epilogue, and, for a network whose GEMM layers are all
    /// small enough, its GEMMs and linear layers; elsewhere its GEMMs over planes under 64 columns
    /// and its linear layers at small batches), else the portable ones.
    case avx512

    /// The widest set this CPU runs: AVX-512, else AVX2 + FMA, else the portable kernels.
    public static let best: KernelSet = wc_has_avx512() ? .avx512 : wc_has_avx2_fma() ? .avx2 : .portable

    private static let hasAVX2 = wc_has_avx2_fma()

    /// Every set this CPU runs as it is (the portable one always): what tests check against the
    /// naive operators, since a machine without a set would run a narrower one in its place.
    package static let available: [KernelSet] = allCases.filter { $0.runnable == $0 }

    /// The widest set no wider than this one that the CPU runs: asking for AVX-512 on a processor
    /// with only AVX2 gives the AVX2 kernels, and asking for either off x86-64 (where they are not
    /// compiled) or on a processor without them gives the portable ones, never a fault.
    public var runnable: KernelSet {
        switch self {
        case .portable: .portable
        case .avx2: Self.hasAVX2 ? .avx2 : .portable
        case .avx512: Self.best == .avx512 ? .avx512 : KernelSet.avx2.runnable
        }
    }

    /// The C kernels of this set, or nil for the portable Swift ones. Only for a set that is
    /// ``runnable`` as it is (the executor keeps to those).
    package var vector: VectorKernels? {
        switch self {
        case .portable: nil
        case .avx2: .avx2
        case .avx512: .avx512
        }
    }
}

/// One of the C kernel sets, each function calling that set's version (see `CKernels.h` for what
/// each computes). They exist only on x86-64; elsewhere `KernelSet.runnable` is always `.portable`.
package enum VectorKernels: Sendable {
    case avx2, avx512

    #if arch(x86_64)
    func depthwise3x3(_ input: UnsafePointer<Float>, _ height: Int, _ width: Int,
                      _ output: UnsafeMutablePointer<Float>, _ outHeight: Int, _ outWidth: Int,
                      _ stride: Int, _ padTop: Int, _ padLeft: Int,
                      _ filter: UnsafePointer<Float>, _ bias: Float, _ residual: UnsafePointer<Float>?,
                      _ inputBias: UnsafePointer<Float>?, _ inputActivation: Int32, _ activation: Int32) {
        switch self {
        case .avx2:
            wc_depthwise3x3_avx2(input, height, width, output, outHeight, outWidth, stride, padTop, padLeft,
                                 filter, bias, residual, inputBias, inputActivation, activation)
        case .avx512:
            // The executor defers no epilogue to this set (see `readsInputBias`).
            assert(inputBias == nil, "the AVX-512 depthwise kernel reads no input bias")
            wc_depthwise3x3_avx512(input, height, width, output, outHeight, outWidth, stride, padTop, padLeft,
                                   filter, bias, residual, inputActivation, activation)
        }
    }
    #endif

    /// Whether this set's depthwise kernel adds an input bias as it reads (see
    /// `wc_depthwise3x3_avx2`), so that the GEMM layer producing its input may leave its epilogue to
    /// it. The AVX-512 set needs no such thing where it matters: its own GEMM applies the epilogue
    /// to each tile in registers (see ``EngineGEMM``).
    var readsInputBias: Bool { self == .avx2 }

    #if arch(x86_64)

    func epilogue(_ row: UnsafeMutablePointer<Float>, _ count: Int, _ bias: Float, _ residual: UnsafePointer<Float>?,
                  _ activation: Int32) {
        switch self {
        case .avx2: wc_epilogue_avx2(row, count, bias, residual, activation)
        case .avx512: wc_epilogue_avx512(row, count, bias, residual, activation)
        }
    }

    func grouped3x3(_ input: UnsafePointer<Float>, _ height: Int, _ width: Int, _ inChannels: Int,
                    _ output: UnsafeMutablePointer<Float>, _ outHeight: Int, _ outWidth: Int, _ outChannels: Int, _ outPlane: Int,
                    _ stride: Int, _ padTop: Int, _ padLeft: Int,
                    _ filter: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ activation: Int32) {
        switch self {
        case .avx2:
            wc_grouped3x3_avx2(input, height, width, inChannels, output, outHeight, outWidth, outChannels, outPlane,
                               stride, padTop, padLeft, filter, bias, activation)
        case .avx512:
            wc_grouped3x3_avx512(input, height, width, inChannels, output, outHeight, outWidth, outChannels, outPlane,
                                 stride, padTop, padLeft, filter, bias, activation)
        }
    }

    /// `C = act(A·B + bias + residual)` (see `wc_gemm_avx512`): the engine's GEMM in this set.
    func gemm(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
              _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
              _ activation: Int32) {
        switch self {
        case .avx2: wc_gemm_avx2(m, n, k, a, lda, b, ldb, c, ldc, bias, residual, activation)
        case .avx512: wc_gemm_avx512(m, n, k, a, lda, b, ldb, c, ldc, bias, residual, activation)
        }
    }

    /// `y = x·Wᵀ + bias` over `batch` rows (see `wc_linear_avx512`): the engine's linear layer in this set.
    func linear(_ batch: Int, _ outputs: Int, _ k: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        switch self {
        case .avx2: wc_linear_avx2(batch, outputs, k, x, w, bias, y, ldy)
        case .avx512: wc_linear_avx512(batch, outputs, k, x, w, bias, y, ldy)
        }
    }

    func pool3x3(_ input: UnsafePointer<Float>, _ height: Int, _ width: Int, _ output: UnsafeMutablePointer<Float>,
                 _ outHeight: Int, _ outWidth: Int, _ stride: Int, _ padTop: Int, _ padLeft: Int, _ kind: Int32) {
        switch self {
        case .avx2: wc_pool3x3_avx2(input, height, width, output, outHeight, outWidth, stride, padTop, padLeft, kind)
        case .avx512: wc_pool3x3_avx512(input, height, width, output, outHeight, outWidth, stride, padTop, padLeft, kind)
        }
    }
    #endif
}

extension Activation {
    /// The code `CKernels` uses for this activation.
    var code: Int32 {
        switch self {
        case .identity: Int32(WC_IDENTITY)
        case .relu: Int32(WC_RELU)
        case .relu6: Int32(WC_RELU6)
        }
    }
}
