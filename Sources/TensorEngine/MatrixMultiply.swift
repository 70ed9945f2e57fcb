#if canImport(Accelerate)
import Accelerate
#elseif canImport(CDNNL)
import CDNNL
#endif
import CKernels
import Dispatch

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

/// Getting the GEMM library ready before the first forward pass.
///
/// oneDNN generates its SGEMM kernels for the CPU on the first `dnnl_sgemm` call of a process, any
/// shape: 30–45 ms (AMD EPYC Zen 4, AVX-512; about 12 ms under AVX2), where ShuffleNet v1's whole
/// forward pass takes 3 ms. ``begin()`` starts that generation on another thread, so that it
/// overlaps reading and folding the weights; the caller waits for it before it returns (see
/// `NetworkConfiguration.build`). Waiting matters: a process that exits while libdnnl is still
/// generating crashes in libdnnl's static destructors (a background generation left running
/// crashed 60 of 60 `bench --size 1` runs of the seed example).
package enum MatrixMultiplyWarmUp {
    /// Starts the generation the first time it is called in a process and returns what to wait
    /// on; later calls return the same group, already done or still running. Nothing runs where
    /// the backend generates no code (Accelerate, the portable GEMM).
    package static func begin() -> DispatchGroup { started }

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
}
