#include "CKernels.h"

#include <string.h>

// The portable GEMM: what the engine multiplies with where neither oneDNN (Linux) nor Accelerate
// (Apple) is linked. Plain loops over contiguous rows, which compilers vectorise for the target's
// own vector unit (SSE2, NEON), blocked so that a panel of B (KC rows of NC columns, 1 MiB) stays
// in L2 while every row block of A passes over it, with four rows of C sharing each loaded row of
// B. Without a transposed B, each element of C is summed over k in order, so results do not
// depend on the blocking.

enum { KC = 256, NC = 1024 };

/// C[0..rows)[0..nc) += A[0..rows)[0..kc) · B[0..kc)[0..nc), rows ≤ 4.
static void panel(long rows, long nc, long kc, const float *a, long lda, const float *b, long ldb,
                  float *c, long ldc) {
    if (rows == 4) {
        float *restrict c0 = c, *restrict c1 = c + ldc, *restrict c2 = c + 2 * ldc, *restrict c3 = c + 3 * ldc;
        for (long p = 0; p < kc; p++) {
            const float *restrict row = b + p * ldb;
            const float a0 = a[p], a1 = a[lda + p], a2 = a[2 * lda + p], a3 = a[3 * lda + p];
            for (long j = 0; j < nc; j++) {
                const float x = row[j];
                c0[j] += a0 * x;
                c1[j] += a1 * x;
                c2[j] += a2 * x;
                c3[j] += a3 * x;
            }
        }
        return;
    }
    for (long r = 0; r < rows; r++) {
        float *restrict out = c + r * ldc;
        for (long p = 0; p < kc; p++) {
            const float *restrict row = b + p * ldb;
            const float x = a[r * lda + p];
            for (long j = 0; j < nc; j++) out[j] += x * row[j];
        }
    }
}

/// Σ x[p]·y[p] over eight interleaved partial sums (lanes a compiler keeps in one vector register,
/// since each lane's order is fixed), added in a fixed order at the end.
static float dot(const float *restrict x, const float *restrict y, long count) {
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long p = 0;
    for (; p + 8 <= count; p += 8)
        for (int l = 0; l < 8; l++) lanes[l] += x[p + l] * y[p + l];
    float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; p < count; p++) sum += x[p] * y[p];
    return sum;
}

void wc_sgemm_portable(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                       bool transpose_b, float beta, float *c, long ldc) {
    for (long i = 0; i < m; i++) {
        float *row = c + i * ldc;
        // beta = 0 ignores what C held (NaN included), as BLAS does.
        if (beta == 0) memset(row, 0, (size_t)n * sizeof(float));
        else if (beta != 1) for (long j = 0; j < n; j++) row[j] *= beta;
    }
    if (transpose_b) {
        // Bᵀ rows are contiguous along k: each element of C is one dot product (linear layers,
        // where m is the batch and B the weight matrix streamed once).
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] += dot(a + i * lda, b + j * ldb, k);
        return;
    }
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) {
            const long kc = k - pc < KC ? k - pc : KC;
            for (long i = 0; i < m; i += 4) {
                const long rows = m - i < 4 ? m - i : 4;
                panel(rows, nc, kc, a + i * lda + pc, lda, b + pc * ldb + jc, ldb, c + i * ldc + jc, ldc);
            }
        }
    }
}
