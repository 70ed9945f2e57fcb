// Vector kernels the Swift engine calls where the CPU has wider registers than the baseline x86-64
// it is compiled for. Swift has no per-function target attributes, so these live in C, compiled for
// AVX-512 or AVX2 + FMA function by function and chosen at run time; the Swift kernels remain the
// fallback.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdbool.h>
#include <stdint.h>

/// Activation codes shared with TensorEngine.Activation.
enum { WC_IDENTITY = 0, WC_RELU = 1, WC_RELU6 = 2 };

/// Whether this CPU runs the AVX-512 (F) kernels below (always false off x86-64).
bool wc_has_avx512(void);

/// Whether this CPU runs the AVX2 + FMA kernels below and the OS saves the AVX registers (cpuid
/// and xgetbv; always false off x86-64).
bool wc_has_avx2_fma(void);

/// Whether this CPU converts and multiplies bfloat16 in hardware (AVX512_BF16 with AVX-512F; always
/// false off x86-64): what the opt-in bf16 precision needs.
bool wc_has_avx512_bf16(void);

/// Pooling kinds for the wc_pool3x3 kernels.
enum { WC_POOL_MAX = 0, WC_POOL_AVERAGE = 1 };

// The AVX-512 kernels are declared and compiled only for x86-64; callers guard their use with
// `#if arch(x86_64)` and fall back to the portable kernels elsewhere.
#if defined(__x86_64__) || defined(_M_X64)

/// One plane of a 3×3 depthwise convolution, dilation 1, stride 1 or 2 in both directions, any
/// padding, reading the unpadded input directly (lanes outside the plane are masked to zero):
///   output[oy][ox] = act(bias + residual[oy][ox] + Σ filter[ky][kx] · in_act(input[s·oy − pad_top + ky][s·ox − pad_left + kx]))
/// `residual` may be NULL; `output` overlaps neither `input` nor `residual`. Requires AVX-512F
/// (wc_has_avx512).
void wc_depthwise3x3_avx512(const float *input, long height, long width,
                            float *output, long out_height, long out_width,
                            long stride, long pad_top, long pad_left,
                            const float *filter, float bias, const float *residual,
                            int input_activation, int activation);

/// `dst[r·cols + c] = bf16(src[r·ld + c])` for r < rows, c < cols: float32 rounded to the nearest
/// bfloat16, ties to even, as PyTorch's `.bfloat16()` (NaN stays NaN; the instruction also reads
/// float32 subnormals as zero), packed row after row. Requires AVX512_BF16 (wc_has_avx512_bf16),
/// which the bfloat16 precision needs anyway for its GEMM.
void wc_rows_to_bf16_avx512(const float *src, long rows, long cols, long ld, uint16_t *dst);

/// `row[i] = act(row[i] + bias + residual[i])` for i < count (`residual` may be NULL): the
/// epilogue of a GEMM tile. Requires AVX-512F.
void wc_epilogue_avx512(float *row, long count, float bias, const float *residual, int activation);

/// One group of a grouped 3×3 convolution (ResNeXt's), dilation 1, stride 1 or 2 in both
/// directions, any padding, reading the group's `in_channels` unpadded input planes directly:
///   output[o][oy][ox] = act(bias[o] + Σ_i Σ_ky,kx filter[o][i][ky][kx] · input[i][s·oy − pad_top + ky][s·ox − pad_left + kx])
/// for each of the group's `out_channels` planes o, which lie `out_plane` floats apart; `filter`
/// is [out_channels][in_channels][3][3]. Sixteen columns of up to eight output channels are
/// accumulated in registers, so each input vector loaded serves eight filters. A band of output
/// rows [r, r + out_height) of a larger output is computed by passing `output` + r·out_width,
/// `pad_top` − r·stride and the whole output's plane size as `out_plane`. Requires AVX-512F.
void wc_grouped3x3_avx512(const float *input, long height, long width, long in_channels,
                          float *output, long out_height, long out_width, long out_channels, long out_plane,
                          long stride, long pad_top, long pad_left,
                          const float *filter, const float *bias, int activation);

/// One plane of 3×3 pooling, dilation 1, stride 1 or 2 in both directions, any padding, reading
/// the unpadded input directly:
///   max:     output[oy][ox] = the largest in-plane input of the window (NaN if any is NaN; −∞ if
///            the window holds none), as PyTorch's max_pool2d;
///   average: output[oy][ox] = (Σ in-plane inputs of the window) / 9, i.e. avg_pool2d with
///            count_include_pad when no window reaches past the padding (the caller checks).
/// Requires AVX-512F.
void wc_pool3x3_avx512(const float *input, long height, long width, float *output, long out_height,
                       long out_width, long stride, long pad_top, long pad_left, int kind);

/// `C = act(A·B + bias + residual)`, row-major float32: A `[m][k]` (row stride `lda`), B `[k][n]`
/// (`ldb`), C `[m][n]` (`ldc`), `bias[m]` added to each row, `residual[m][n]` (row stride `ldc`)
/// added element by element, then the activation:
///   C[i][j] = act((Σ_p A[i][p]·B[p][j] + bias[i]) + residual[i][j])
/// Each sum runs over p in order. With `bias` NULL, C = A·B and `residual` and `activation` are
/// ignored; `residual` may be NULL. C overlaps neither A, B nor `residual`. Requires AVX-512F.
void wc_gemm_avx512(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                    float *c, long ldc, const float *bias, const float *residual, int activation);

/// `y[i][o] = Σ_p x[i][p]·w[o][p] + bias[o]` for i < batch, o < outputs: a linear layer, x
/// `[batch][k]` and w `[outputs][k]` packed row after row, y with row stride `ldy`; `bias` may be
/// NULL. y overlaps neither x nor w. Requires AVX-512F.
void wc_linear_avx512(long batch, long outputs, long k, const float *x, const float *w, const float *bias,
                      float *y, long ldy);

// The AVX2 + FMA kernels (KernelsAVX2.c): the same contracts as the AVX-512 ones above, for
// processors without AVX-512. Require AVX2 and FMA (wc_has_avx2_fma).

/// As wc_depthwise3x3_avx512, and where `input_bias` is not NULL, each input inside the plane is
/// read as in_act(input + *input_bias): the bias and activation of the layer that produced it,
/// whose epilogue was deferred to this read (the padding stays zero):
///   output[oy][ox] = act(bias + residual[oy][ox] + Σ filter[ky][kx] · in_act(input[…] + *input_bias))
void wc_depthwise3x3_avx2(const float *input, long height, long width,
                          float *output, long out_height, long out_width,
                          long stride, long pad_top, long pad_left,
                          const float *filter, float bias, const float *residual,
                          const float *input_bias, int input_activation, int activation);

void wc_epilogue_avx2(float *row, long count, float bias, const float *residual, int activation);

/// Eight planes of a 3×3 depthwise convolution at once, as wc_depthwise3x3_avx2 on each: plane k
/// reads `input[k]` and writes `output[k]` (and adds `residual[k]` when `residual` is not NULL),
/// with filter `filter + 9k`, bias `bias[k]` and, when `input_bias` is not NULL, input bias
/// `input_bias[k]`. The same results bit for bit. `work` holds wc_depthwise3x3x8_work(out_height,
/// out_width, stride) floats; `pad_top` and `pad_left` are at least 0, and the padding at the
/// bottom and right is whatever the output size implies.
void wc_depthwise3x3x8_avx2(const float *const input[8], long height, long width,
                            float *const output[8], long out_height, long out_width,
                            long stride, long pad_top, long pad_left, const float *filter, const float *bias,
                            const float *const residual[8], const float *input_bias,
                            int input_activation, int activation, float *work);

/// Floats of work space wc_depthwise3x3x8_avx2 needs.
long wc_depthwise3x3x8_work(long out_height, long out_width, long stride);

/// Whether wc_depthwise3x3x8_avx2 is faster than the plane kernel (wc_depthwise3x3_avx512 when
/// `against_avx512`, else wc_depthwise3x3_avx2) plane by plane on planes of this output width and
/// stride (1 or 2).
bool wc_depthwise3x3x8_pays(long out_width, long stride, bool against_avx512);

void wc_grouped3x3_avx2(const float *input, long height, long width, long in_channels,
                        float *output, long out_height, long out_width, long out_channels, long out_plane,
                        long stride, long pad_top, long pad_left,
                        const float *filter, const float *bias, int activation);

/// As wc_gemm_avx512. Requires AVX2 and FMA.
void wc_gemm_avx2(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                  float *c, long ldc, const float *bias, const float *residual, int activation);

/// As wc_linear_avx512. Requires AVX2 and FMA.
void wc_linear_avx2(long batch, long outputs, long k, const float *x, const float *w, const float *bias,
                    float *y, long ldy);

void wc_pool3x3_avx2(const float *input, long height, long width, float *output, long out_height,
                     long out_width, long stride, long pad_top, long pad_left, int kind);

#endif // x86-64

/// `C = A·op(B) + beta·C` for row-major float32 matrices (`op(B)` = B, or Bᵀ with `transpose_b`):
/// the portable GEMM, used where neither oneDNN nor Accelerate is available. A is `[m][k]` with row
/// stride `lda`, B `[k][n]` (or `[n][k]`) with row stride `ldb`, C `[m][n]` with row stride `ldc`.
void wc_sgemm_portable(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                       bool transpose_b, float beta, float *c, long ldc);

#endif
