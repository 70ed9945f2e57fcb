#if canImport(Accelerate)
import Accelerate
#elseif canImport(CDNNL)
import CDNNL
#endif
import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The library behind ``multiplyMatrices``, chosen when the package is built.
///
/// - `accelerate`: Apple platforms (`cblas_sgemm`).
/// - `oneDNN`: Linux with the package's default `OneDNN` trait (Debian's `libdnnl-dev`), whose
///   `dnnl_sgemm` picks JIT kernels from the CPU's features.
/// - `portable`: anywhere else, or when built with `--disable-default-traits`: a blocked SGEMM in C
///   (`CKernels/Gemm.c`) that compilers vectorise for the target.
package enum MatrixMultiplyBackend: String, Sendable {
    case accelerate, oneDNN, portable

    /// The backend this build multiplies with.
    package static var current: MatrixMultiplyBackend {
        #if canImport(Accelerate)
        .accelerate
        #elseif canImport(CDNNL)
        .oneDNN
        #else
        .portable
        #endif
    }
}

/// `C = A·op(B) + beta·C` on row-major float32 matrices, on the calling thread.
///
/// One GEMM for the whole engine (1×1 and im2col convolutions, linear layers), so the library
/// behind it is chosen in one place (``MatrixMultiplyBackend``). The fast executor splits work over
/// its own threads, so each call stays on the calling thread: oneDNN is limited to one OpenMP
/// thread (a per-thread setting in libgomp; setting it again is a store), and Accelerate's
/// `cblas_sgemm` is called from the executor's own workers.
///
/// - Parameters:
///   - a: `[m, k]`, row stride `lda`.
///   - b: `[k, n]` with row stride `ldb`, or with `transposeB` `[n, k]`.
///   - c: `[m, n]`, row stride `ldc`; read when `beta` is not zero.
@inline(__always)
func multiplyMatrices(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      transposeB: Bool = false, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    #if canImport(Accelerate)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    #elseif canImport(CDNNL)
    omp_set_num_threads(1)
    let no = CChar(UInt8(ascii: "N")), yes = CChar(UInt8(ascii: "T"))
    // oneDNN's kernels work in blocks of 16 columns (AVX-512; 8 on AVX2) and compute a last block
    // of one column at a whole block's cost, while a single column goes to its matrix-vector
    // path. So a width of 16j + 1, every 7×7 plane (49) among them, is split into 16j columns and
    // one. Measured with dnnl_sgemm alone, m = 960, k = 160, one thread (AMD EPYC Zen 4):
    // n = 48 0.128 ms, n = 49 0.191 ms, 48 + 1 0.146 ms; under ONEDNN_MAX_CPU_ISA=AVX2 0.132,
    // 0.162 and 0.139 ms; the 1280×320 and 2048×512 layers gain alike (ratio 0.73–0.79).
    // Only the final column's sums change order (the matrix-vector path accumulates differently).
    let split = n > 16 && n % 16 == 1 ? n - 1 : n
    /// Columns `first..<first + count` of C.
    func columns(_ first: Int, _ count: Int) -> dnnl_status_t {
        dnnl_sgemm(no, transposeB ? yes : no, dnnl_dim_t(m), dnnl_dim_t(count), dnnl_dim_t(k), 1, a, dnnl_dim_t(lda),
                   transposeB ? b + first * ldb : b + first, dnnl_dim_t(ldb), beta, c + first, dnnl_dim_t(ldc))
    }
    // Only invalid arguments make dnnl_sgemm fail, and the shapes come from a graph whose shapes
    // were checked when it was planned.
    var status = columns(0, split)
    if split < n, status == dnnl_success { status = columns(split, 1) }
    assert(status == dnnl_success, "dnnl_sgemm(\(m), \(n), \(k)) failed with \(status)")
    #else
    wc_sgemm_portable(m, n, k, a, lda, b, ldb, transposeB, beta, c, ldc)
    #endif
}

/// Whether the engine computes a network's GEMMs itself rather than through ``multiplyMatrices``.
///
/// With the AVX-512 kernels at float32, a network none of whose 1×1 or unfolded convolutions has
/// more than ``largestWeights`` weights (ShuffleNet v1 and MobileNetV2 at their published widths)
/// runs all of them on `wc_gemm_avx512`, which applies the layer's bias, residual and activation
/// while each tile of the result is still in registers, and its linear layers on
/// `wc_linear_avx512`. Such a network never calls the library, so its process never spends the
/// 30–45 ms oneDNN takes to generate its kernels (see ``MatrixMultiplyWarmUp``).
///
/// Measured against `dnnl_sgemm` and the separate epilogue (C test, 1 thread, AMD EPYC Zen 4, the
/// networks' GEMM shapes cut into the engine's column tiles): 0.96–1.04 of the time on planes up
/// to 56×56, 0.71–0.86 on 7×7 planes, but 1.1–1.3 on ResNeXt's and Xception's wide layers (128 to
/// 256 channels over 56×56 to 147×147 planes), where oneDNN's packing of B pays. Those networks
/// also have layers past the limit, so they call the library anyway and it keeps their GEMMs,
/// except those over output planes narrower than ``narrowPlane`` columns (ResNeXt's 7×7 stage),
/// where oneDNN's kernels run at two thirds of the core's peak and the engine's take them (see
/// ``takes(columns:kernels:precision:)``). With the AVX2 set the engine takes those narrow layers
/// too, on `wc_gemm_avx2`, in every network, and the library the rest: run on every GEMM of
/// MobileNetV2 the AVX2 kernel took 1.05–1.35 of oneDNN's time on its planes from 14×14 up (per
/// layer, `tools/bench_layers_ab.py --kernels avx2` under `ONEDNN_MAX_CPU_ISA=AVX2`, batch 1 and
/// 8), and the whole pass at batch 8 and 32 1.03–1.25. Linear layers run on the engine's kernel
/// at batches up to ``linearBatch`` under either set (see ``takesLinear(batch:kernels:precision:)``).
/// With bfloat16 or the portable set the library computes every GEMM.
package enum EngineGEMM {
    /// The most weights (floats, all groups) a convolution may have for the engine to run it.
    package static let largestWeights = 1 << 20

    /// Output planes of fewer columns than this run on the engine in every network (see
    /// ``takes(columns:kernels:precision:)``).
    package static let narrowPlane = 64

    /// Whether the engine computes a GEMM convolution over output planes of `columns` (one image's
    /// plane a GEMM) in a network whose other GEMMs the library computes: with the AVX-512 or the
    /// AVX2 set, at float32, over planes narrower than ``narrowPlane``.
    ///
    /// C test, 1 thread, AMD EPYC Zen 4, the epilogue a separate pass after the library's GEMM, the
    /// minimum of 7–9 alternating rounds:
    /// - AVX-512: over one 7×7 plane (49 columns) `dnnl_sgemm` reaches 72–75 GFLOP/s and
    ///   `wc_gemm_avx512` 85–97: ResNeXt-50's 7×7 layers 2048 × 49 × 1024 0.81 of the time,
    ///   1024 × 49 × 2048 0.85, and at two threads' halves (1024 × 49 × 1024, 512 × 49 × 2048)
    ///   0.77–0.79. From 10×10 planes on the library is as fast or faster (100 columns 1.0–1.07,
    ///   196 columns 1.0–1.1, Xception's 361 columns 1.04–1.05), and so are the batches of 7×7
    ///   planes the executor packs side by side (5 planes, 245 columns: 1.11–1.15), which stay
    ///   with the library.
    /// - AVX2 (oneDNN held to AVX2 with `ONEDNN_MAX_CPU_ISA=AVX2`, weights cold as in a network):
    ///   `wc_gemm_avx2` against `dnnl_sgemm` on the 7×7 layers of MobileNetV2 and ShuffleNet v1
    ///   0.64–0.91 of the time (960 × 49 × 160 0.72, 320 × 49 × 80 0.64, 1280 × 49 × 320 0.85),
    ///   level where k is large (160 × 49 × 960 1.0–1.1).
    package static func takes(columns: Int, kernels: KernelSet, precision: Precision) -> Bool {
        hasKernels(kernels, precision) && columns < narrowPlane
    }

    /// Whether `kernels` has the engine's GEMM and linear kernels at `precision` (float32 only).
    private static func hasKernels(_ kernels: KernelSet, _ precision: Precision) -> Bool {
        kernels.vector != nil && precision == .float32
    }

    /// The largest batch whose linear layers run on the engine in a network whose GEMMs the library
    /// computes (see ``takesLinear(batch:kernels:precision:)``).
    package static let linearBatch = 8

    /// Whether a linear layer over `batch` rows runs on the engine's kernel (`wc_linear_avx512`,
    /// `wc_linear_avx2`) in a network whose other GEMMs the library computes.
    ///
    /// At small batches a linear layer only streams its weights, which the engine's kernel reads
    /// once, eight or six rows at a time, for every row of the batch: against `dnnl_sgemm` plus a
    /// bias pass, 1000 × 2048 weights from memory, 1 thread, AMD EPYC Zen 4, 0.92 of the time at
    /// batch 1, 0.81–1.10 at 2 to 8 and 1.03 at 32; with the AVX2 set, in MobileNetV2 (1000 × 1280),
    /// 0.81 at batch 1 and 0.96 at batch 8, 2 threads (`tools/bench_layers_ab.py`).
    package static func takesLinear(batch: Int, kernels: KernelSet, precision: Precision) -> Bool {
        hasKernels(kernels, precision) && batch <= linearBatch
    }

    /// Whether the engine computes every GEMM of `graph` (see the type's description).
    package static func runsAll(_ graph: borrowing Graph, kernels: KernelSet, precision: Precision) -> Bool {
        guard kernels == .avx512, precision == .float32 else { return false }
        for node in graph.nodes {
            guard case let .convolution(_, layer, _, _, _) = node.operation else { continue }
            if !layer.isDepthwise && layer.weight.count > largestWeights { return false }
        }
        return true
    }
}

/// Getting the GEMM library ready before the first forward pass.
///
/// oneDNN generates its SGEMM kernels for the CPU on the first `dnnl_sgemm` call of a process, any
/// shape: 30–45 ms (AMD EPYC Zen 4, AVX-512; about 12 ms under AVX2), where ShuffleNet v1's whole
/// forward pass takes 3 ms. ``begin(_:)`` starts that generation on another thread, so that it
/// overlaps folding the weights; the caller waits for it before it returns (see
/// `FastExecutor.init`, which starts it only where a layer will call the library: see
/// ``EngineGEMM``). Waiting matters: a process that exits while libdnnl is still
/// generating crashes in libdnnl's static destructors (a background generation left running
/// crashed 60 of 60 `bench --size 1` runs of the seed example).
package enum MatrixMultiplyWarmUp {
    /// Starts the generation the first time it is called in a process and returns what to wait
    /// on; later calls return the same group, already done or still running. Nothing runs where
    /// the backend generates no code (Accelerate, the portable GEMM). With `.bfloat16`, the
    /// bfloat16 GEMM's kernels (which are its own) are generated on a second thread alongside, and
    /// the group returned is done when both are.
    package static func begin(_ precision: Precision = .float32) -> DispatchGroup {
        precision == .bfloat16 ? startedWithBFloat16 : started
    }

    private static let started: DispatchGroup = {
        let group = DispatchGroup()
        #if !canImport(Accelerate) && canImport(CDNNL)
        DispatchQueue.global(qos: .userInitiated).async(group: group) {
            // Any GEMM of at least two rows and two columns generates every kernel (one row or
            // column takes the matrix-vector path, which generates only its own).
            let a = [Float](repeating: 1, count: 4), b = a
            var c = [Float](repeating: 0, count: 4)
            multiplyMatrices(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, beta: 0, c: &c, ldc: 2)
        }
        #endif
        return group
    }()

    private static let startedWithBFloat16: DispatchGroup = {
        let float32 = started
        let group = DispatchGroup()
        DispatchQueue.global(qos: .userInitiated).async(group: group) {
            if BFloat16Multiply.available {
                let ones = [UInt16](repeating: 0x3f80, count: 4) // 1.0
                var c = [Float](repeating: 0, count: 4)
                BFloat16Multiply.multiply(m: 2, n: 2, k: 2, a: ones, lda: 2, b: ones, ldb: 2, c: &c, ldc: 2)
            }
            float32.wait()
        }
        return group
    }()
}

/// The arithmetic of the fast path's GEMM convolutions (the 1×1 layers and those unfolded by im2col),
/// the bulk of every network's work (75–88% of the time of the four families at batch 1).
public enum Precision: String, Sendable, Hashable, CaseIterable {
    /// Float32 throughout: the default, and what the verification rule holds to PyTorch's logits.
    case float32 = "fp32"
    /// The GEMM convolutions multiply bfloat16 weights (rounded once, at load) by their inputs
    /// rounded to bfloat16 as they are read, summing in float32; depthwise and grouped 3×3 layers,
    /// the stems, every other operator, the bias, residual and activation stay float32. About 1.8×
    /// the float32 GEMM's speed where the CPU multiplies bfloat16 in hardware (AVX512_BF16), at an
    /// accuracy the README states per network. Opt-in: only where ``isAvailable`` says so.
    case bfloat16 = "bf16"

    /// Whether this machine runs the precision: float32 always; bfloat16 where the CPU has
    /// AVX512_BF16 and the linked oneDNN exports its bfloat16 GEMM.
    public var isAvailable: Bool {
        switch self {
        case .float32: true
        case .bfloat16: BFloat16Multiply.available
        }
    }

    /// What running at this precision needs, for the error where it is not ``isAvailable``.
    public var requirement: String {
        switch self {
        case .float32: "nothing: float32 runs everywhere"
        case .bfloat16: "bf16 needs a CPU with AVX512_BF16 and a oneDNN that exports its bfloat16 GEMM (dnnl_gemm_bf16bf16f32); use fp32"
        }
    }
}

/// oneDNN's bfloat16 GEMM (`dnnl_gemm_bf16bf16f32`): exported by libdnnl 2.x with C linkage but not
/// declared in its public header, so it is looked up when first needed rather than linked, and a
/// oneDNN without it leaves bfloat16 unavailable instead of failing to build or load.
enum BFloat16Multiply {
    typealias Function = @convention(c) (CChar, CChar, Int, Int, Int, Float, UnsafePointer<UInt16>?, Int,
                                         UnsafePointer<UInt16>?, Int, Float, UnsafeMutablePointer<Float>?, Int) -> Int32

    static let function: Function? = {
        #if !canImport(Accelerate) && canImport(CDNNL) && canImport(Glibc)
        guard wc_has_avx512_bf16(), let symbol = dlsym(nil, "dnnl_gemm_bf16bf16f32") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }()

    static var available: Bool { function != nil }

    /// `C = A·B` (beta 0) for row-major bfloat16 A `[m][k]` and B `[k][n]` and float32 C, on the
    /// calling thread. Only where ``available``.
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard let function else { return }
        #if canImport(CDNNL) && !canImport(Accelerate)
        omp_set_num_threads(1)
        #endif
        let no = CChar(UInt8(ascii: "N"))
        // As dnnl_sgemm: only invalid arguments fail, and the shapes come from a planned graph.
        let status = function(no, no, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
        assert(status == 0, "dnnl_gemm_bf16bf16f32(\(m), \(n), \(k)) failed with \(status)")
    }
}
