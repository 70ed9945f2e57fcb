#if canImport(Accelerate)
import Accelerate
#elseif canImport(CDNNL)
import CDNNL
#endif
import CKernels

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
    // Only invalid arguments make dnnl_sgemm fail, and the shapes come from a graph whose shapes
    // were checked when it was planned.
    let status = dnnl_sgemm(no, transposeB ? yes : no, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1,
                            a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
    assert(status == dnnl_success, "dnnl_sgemm(\(m), \(n), \(k)) failed with \(status)")
    #else
    wc_sgemm_portable(m, n, k, a, lda, b, ldb, transposeB, beta, c, ldc)
    #endif
}
