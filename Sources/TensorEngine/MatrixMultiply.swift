import CDNNL

/// `C = A·op(B) + beta·C` on row-major float32 matrices, on the calling thread.
///
/// One GEMM for the whole engine (1×1 and im2col convolutions, linear layers), so the library
/// behind it is chosen in one place: oneDNN's `dnnl_sgemm`, which selects its JIT kernels from the
/// CPU's features. The fast executor splits work over its own threads, so each call is limited to
/// one OpenMP thread (a per-thread setting in libgomp; setting it again is a store).
///
/// - Parameters:
///   - a: `[m, k]`, row stride `lda`.
///   - b: `[k, n]` with row stride `ldb`, or with `transposeB` `[n, k]`.
///   - c: `[m, n]`, row stride `ldc`; read when `beta` is not zero.
@inline(__always)
func multiplyMatrices(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      transposeB: Bool = false, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    omp_set_num_threads(1)
    let no = CChar(UInt8(ascii: "N")), yes = CChar(UInt8(ascii: "T"))
    // Only invalid arguments make dnnl_sgemm fail, and the shapes come from a graph whose shapes
    // were checked when it was planned.
    let status = dnnl_sgemm(no, transposeB ? yes : no, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1,
                            a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
    assert(status == dnnl_success, "dnnl_sgemm(\(m), \(n), \(k)) failed with \(status)")
}
