#include "CKernels.h"

#include <immintrin.h>
#include <stdint.h>

#define AVX512 __attribute__((target("avx512f")))

bool wc_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/// Lanes i of 16 with 0 <= first + i < count.
static inline __mmask16 inside(long first, long count) {
    long lo = first < 0 ? -first : 0;
    long hi = count - first;
    if (hi > 16) hi = 16;
    if (lo >= hi) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/// max/min return their second operand when either is NaN: with the value second, NaN passes
/// through, as it does in PyTorch's relu and hardtanh.
static inline AVX512 __m512 activate(__m512 v, int kind) {
    if (kind != WC_IDENTITY) v = _mm512_max_ps(_mm512_setzero_ps(), v);
    if (kind == WC_RELU6) v = _mm512_min_ps(_mm512_set1_ps(6.0f), v);
    return v;
}

/// Sixteen floats from `row + first`, zero where the column is outside [0, width). Masked-off lanes
/// are not read, so the address may point before or past the row.
static inline AVX512 __m512 load(const float *row, long first, long width, __mmask16 also) {
    __mmask16 m = inside(first, width) & also;
    return _mm512_maskz_loadu_ps(m, (const void *)((intptr_t)row + first * (intptr_t)sizeof(float)));
}

void AVX512 wc_depthwise3x3_avx512(const float *input, long height, long width,
                                   float *output, long out_height, long out_width,
                                   long stride, long pad_top, long pad_left,
                                   const float *filter, float bias, const float *residual,
                                   int input_activation, int activation) {
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(filter[i]);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __mmask16 all = 0xFFFF;

    for (long oy = 0; oy < out_height; oy++) {
        float *out = output + oy * out_width;
        const float *extra = residual ? residual + oy * out_width : 0;
        for (long ox = 0; ox < out_width; ox += 16) {
            __mmask16 store = inside(ox, out_width);
            __m512 acc = _mm512_set1_ps(bias);
            for (int ky = 0; ky < 3; ky++) {
                long iy = oy * stride - pad_top + ky;
                if (iy < 0 || iy >= height) continue;
                const float *row = input + iy * width;
                if (stride == 1) {
                    long x = ox - pad_left;
                    __m512 a = activate(load(row, x, width, all), input_activation);
                    __m512 b = activate(load(row, x + 1, width, all), input_activation);
                    __m512 c = activate(load(row, x + 2, width, all), input_activation);
                    acc = _mm512_fmadd_ps(a, w[3 * ky], acc);
                    acc = _mm512_fmadd_ps(b, w[3 * ky + 1], acc);
                    acc = _mm512_fmadd_ps(c, w[3 * ky + 2], acc);
                } else {
                    // Outputs ox…ox+15 read columns x, x+2, … (tap 0), x+1, x+3, … (tap 1) and
                    // x+2, x+4, … (tap 2): even and odd lanes of 32 columns from x, and even lanes
                    // of 32 columns from x + 2.
                    long x = ox * 2 - pad_left;
                    __m512 lo = activate(load(row, x, width, all), input_activation);
                    __m512 hi = activate(load(row, x + 16, width, all), input_activation);
                    __m512 lo2 = activate(load(row, x + 2, width, all), input_activation);
                    __m512 hi2 = activate(load(row, x + 18, width, all), input_activation);
                    acc = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, even, hi), w[3 * ky], acc);
                    acc = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, odd, hi), w[3 * ky + 1], acc);
                    acc = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo2, even, hi2), w[3 * ky + 2], acc);
                }
            }
            if (extra) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(store, extra + ox));
            _mm512_mask_storeu_ps(out + ox, store, activate(acc, activation));
        }
    }
}
