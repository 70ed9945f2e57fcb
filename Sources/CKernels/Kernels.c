#include "CKernels.h"
#include "RowRing.h"

// One file: the helpers (masks, activation) are shared by the kernels and must stay inline.
// The AVX-512 kernels exist only where they can run (x86-64); elsewhere wc_has_avx512 says no and
// the engine's portable Swift kernels run. Apple's x86-64 clang and GCC take the same attributes.

#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>
#include <stdint.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX512_BF16 __attribute__((target("avx512f,avx512bf16")))

bool wc_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

bool wc_has_avx512_bf16(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}

/// Lanes i of 16 with 0 <= first + i < count.
static inline __mmask16 inside(long first, long count) {
    long lo = first < 0 ? -first : 0;
    long hi = count - first;
    if (hi > 16) hi = 16;
    if (lo >= hi) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

void AVX512_BF16 wc_rows_to_bf16_avx512(const float *src, long rows, long cols, long ld, uint16_t *dst) {
    for (long r = 0; r < rows; r++) {
        const float *from = src + r * ld;
        uint16_t *to = dst + r * cols;
        long c = 0;
        for (; c + 16 <= cols; c += 16) {
            const __m256bh packed = _mm512_cvtneps_pbh(_mm512_loadu_ps(from + c));
            _mm256_storeu_si256((__m256i *)(to + c), (__m256i)packed);
        }
        if (c < cols) {
            // The tail through a buffer: a masked 16-bit store would need AVX-512BW as well.
            uint16_t tail[16];
            const __m256bh packed = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(inside(c, cols), from + c));
            _mm256_storeu_si256((__m256i *)tail, (__m256i)packed);
            for (long i = c; i < cols; i++) to[i] = tail[i - c];
        }
    }
}

/// max/min return their second operand when either is NaN: with the value second, NaN passes
/// through, as it does in PyTorch's relu and hardtanh.
static inline AVX512 __m512 activate(__m512 v, int kind) {
    if (kind != WC_IDENTITY) v = _mm512_max_ps(_mm512_setzero_ps(), v);
    if (kind == WC_RELU6) v = _mm512_min_ps(_mm512_set1_ps(6.0f), v);
    return v;
}

/// `row + first` computed on integers: `first` may point before the row (into the padding), where
/// only masked-off lanes read, and forming such a pointer directly is undefined in C.
static inline const float *at(const float *row, long first) {
    return (const float *)((intptr_t)row + first * (intptr_t)sizeof(float));
}

/// The three taps t[0..2] of sixteen outputs from one input row: columns x + s·i + tap for
/// i < 16, s = stride (1 or 2), lanes outside the row set to `fill`. `m` holds the masks of the
/// loads at x, x + 1, x + 2, x + 16 and x + 18 (see `tap_masks`); stride 2 loads 32 columns and
/// keeps the even and odd lanes.
static inline AVX512 void row_taps(const float *row, long x, const __mmask16 m[5], __m512 fill, long stride, __m512 t[3]) {
    if (stride == 1) {
        t[0] = _mm512_mask_loadu_ps(fill, m[0], at(row, x));
        t[1] = _mm512_mask_loadu_ps(fill, m[1], at(row, x + 1));
        t[2] = _mm512_mask_loadu_ps(fill, m[2], at(row, x + 2));
        return;
    }
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512 lo = _mm512_mask_loadu_ps(fill, m[0], at(row, x)), hi = _mm512_mask_loadu_ps(fill, m[3], at(row, x + 16));
    const __m512 lo2 = _mm512_mask_loadu_ps(fill, m[2], at(row, x + 2)), hi2 = _mm512_mask_loadu_ps(fill, m[4], at(row, x + 18));
    t[0] = _mm512_permutex2var_ps(lo, even, hi);
    t[1] = _mm512_permutex2var_ps(lo, odd, hi);
    t[2] = _mm512_permutex2var_ps(lo2, even, hi2);
}

/// The masks `row_taps` needs for the block of outputs whose first input column is x.
static inline void tap_masks(long x, long width, __mmask16 m[5]) {
    m[0] = inside(x, width);
    m[1] = inside(x + 1, width);
    m[2] = inside(x + 2, width);
    m[3] = inside(x + 16, width);
    m[4] = inside(x + 18, width);
}

static inline AVX512 void finish(float *out, const float *extra, __mmask16 store, __m512 acc, int activation) {
    if (extra) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(store, extra));
    _mm512_mask_storeu_ps(out, store, activate(acc, activation));
}

/// The three taps of a row (see `row_taps`), zero outside it, through the input activation.
static inline AVX512 void activated_taps(const float *row, long x, const __mmask16 m[5], long stride, int kind, __m512 t[3]) {
    row_taps(row, x, m, _mm512_setzero_ps(), stride, t);
    for (int i = 0; i < 3; i++) t[i] = activate(t[i], kind);
}

// Column blocks of sixteen outputs, the outer loop, so that the masks (which depend only on the
// columns) are computed once per block and not per load. Stride 1 computes two output rows at a
// time from the four input rows they share: 12 loads per 32 outputs instead of 18.
static inline AVX512 void depthwise_columns(const float *input, long height, long width,
                                            float *output, long out_height, long out_width,
                                            long stride, long pad_top, long pad_left,
                                            const float *filter, float bias, const float *residual,
                                            int input_activation, int activation) {
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(filter[i]);
    const __m512 b = _mm512_set1_ps(bias);
    for (long ox = 0; ox < out_width; ox += 16) {
        const __mmask16 store = inside(ox, out_width);
        const long x = ox * stride - pad_left;
        __mmask16 m[5];
        tap_masks(x, width, m);
        long oy = 0;
        for (; stride == 1 && oy + 1 < out_height; oy += 2) {
            __m512 acc0 = b, acc1 = b;
            for (int r = 0; r < 4; r++) {
                const long iy = oy - pad_top + r;
                if (iy < 0 || iy >= height) continue;
                __m512 t[3];
                activated_taps(input + iy * width, x, m, 1, input_activation, t);
                for (int k = 0; k < 3; k++) {
                    if (r <= 2) acc0 = _mm512_fmadd_ps(t[k], w[3 * r + k], acc0);
                    if (r >= 1) acc1 = _mm512_fmadd_ps(t[k], w[3 * (r - 1) + k], acc1);
                }
            }
            finish(output + oy * out_width + ox, residual ? residual + oy * out_width + ox : 0, store, acc0, activation);
            finish(output + (oy + 1) * out_width + ox, residual ? residual + (oy + 1) * out_width + ox : 0, store, acc1, activation);
        }
        for (; oy < out_height; oy++) {
            __m512 acc = b;
            for (int ky = 0; ky < 3; ky++) {
                const long iy = oy * stride - pad_top + ky;
                if (iy < 0 || iy >= height) continue;
                __m512 t[3];
                activated_taps(input + iy * width, x, m, stride, input_activation, t);
                for (int k = 0; k < 3; k++) acc = _mm512_fmadd_ps(t[k], w[3 * ky + k], acc);
            }
            finish(output + oy * out_width + ox, residual ? residual + oy * out_width + ox : 0, store, acc, activation);
        }
    }
}

// Wide planes at stride 1 (48 columns and more: Xception's 147×147 and 74×74 layers, MobileNetV2's
// 112×112 and 56×56): rows outside, column blocks inside, each input row copied once (through the
// input activation) into a zero-padded row of a ring of four, so that every tap is a plain load.
// Going down such a plane block by block, as above, reads it from L2 once per block; here each row
// is read once. Same results bit for bit. Per layer in the networks (`bench --profile`, 1 thread,
// against the column order): Xception 147×147 0.63–0.75, 74×74 0.88–1.06, MobileNetV2 112×112 0.78,
// 56×56 0.83; at 37×37 and 28×28 it took 1.4–1.45 (hence the threshold), and at stride 2 the column
// order is faster at every size measured. KernelsAVX2.c has the eight-lane version, which pays from
// 17 columns.

/// Input row `iy` activated, at column `pad_left` of a row padded with `fill` (zero for the
/// convolutions, the pooling's identity for pooling).
static inline AVX512 const float *ring_row(row_ring *g, const float *input, long height, long width, long pad_left,
                                           long iy, int kind, __m512 fill) {
    if (iy < 0 || iy >= height) return g->zero;
    float *row = g->slot[iy & 3];
    if (g->row[iy & 3] == iy) return row;
    g->row[iy & 3] = iy;
    const float *from = input + iy * width;
    float *to = row + pad_left;
    // Whole vectors, lanes past the row `fill` through the activation (the convolutions' zero stays
    // zero; pooling reads the row as it is): the ring's rows are long enough to take them.
    for (long c = 0; c < width; c += 16)
        _mm512_storeu_ps(to + c, activate(_mm512_mask_loadu_ps(fill, inside(c, width), from + c), kind));
    return row;
}

/// A ring whose rows are all `fill`, in `rows` (5 · pitch floats, 64-byte aligned).
static inline AVX512 row_ring ring_in(float *rows, long pitch, __m512 fill) {
    for (long i = 0; i < 5 * pitch; i += 16) _mm512_store_ps(rows + i, fill);
    row_ring g = {{rows, rows + pitch, rows + 2 * pitch, rows + 3 * pitch}, {-1, -1, -1, -1}, rows + 4 * pitch};
    return g;
}

static inline AVX512 void depthwise_rows(const float *input, long height, long width,
                                         float *output, long out_height, long out_width,
                                         long pad_top, long pad_left,
                                         const float *filter, float bias, const float *residual,
                                         int input_activation, int activation, long pitch) {
    float rows[5 * RING_PITCH] __attribute__((aligned(64)));
    row_ring g = ring_in(rows, pitch, _mm512_setzero_ps());
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(filter[i]);
    const __m512 b = _mm512_set1_ps(bias);
    long oy = 0;
    for (; oy < out_height; oy += 2) {
        const bool pair = oy + 1 < out_height;
        const float *r[4];
        for (int k = 0; k < 4; k++) r[k] = ring_row(&g, input, height, width, pad_left, oy - pad_top + k, input_activation,
                                                  _mm512_setzero_ps());
        float *o0 = output + oy * out_width, *o1 = o0 + out_width;
        const float *e0 = residual ? residual + oy * out_width : 0, *e1 = residual ? e0 + out_width : 0;
        for (long ox = 0; ox < out_width; ox += 16) {
            const __mmask16 store = inside(ox, out_width);
            __m512 acc0 = b, acc1 = b;
            for (int k = 0; k < 4; k++) {
                const __m512 t[3] = {_mm512_loadu_ps(r[k] + ox), _mm512_loadu_ps(r[k] + ox + 1), _mm512_loadu_ps(r[k] + ox + 2)};
                for (int j = 0; j < 3; j++) {
                    if (k <= 2) acc0 = _mm512_fmadd_ps(t[j], w[3 * k + j], acc0);
                    if (k >= 1) acc1 = _mm512_fmadd_ps(t[j], w[3 * (k - 1) + j], acc1);
                }
            }
            finish(o0 + ox, e0 ? e0 + ox : 0, store, acc0, activation);
            if (pair) finish(o1 + ox, e1 ? e1 + ox : 0, store, acc1, activation);
        }
    }
}

void AVX512 wc_depthwise3x3_avx512(const float *input, long height, long width,
                                   float *output, long out_height, long out_width,
                                   long stride, long pad_top, long pad_left,
                                   const float *filter, float bias, const float *residual,
                                   int input_activation, int activation) {
    const long pitch = ring_pitch(width, out_width, 1, pad_left, 16);
    if (stride == 1 && out_width >= 48 && pitch <= RING_PITCH) {
        depthwise_rows(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias,
                       residual, input_activation, activation, pitch);
    } else {
        depthwise_columns(input, height, width, output, out_height, out_width, stride, pad_top, pad_left, filter,
                          bias, residual, input_activation, activation);
    }
}

void AVX512 wc_epilogue_avx512(float *row, long count, float bias, const float *residual, int activation) {
    const __m512 b = _mm512_set1_ps(bias);
    for (long i = 0; i < count; i += 16) {
        const __mmask16 m = inside(i, count);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, row + i), b);
        if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual + i));
        _mm512_mask_storeu_ps(row + i, m, activate(v, activation));
    }
}

/// `a` combined with `b` by the pooling kind: NaN-propagating max (b wins when it is larger or
/// NaN, so a NaN already in `a` stays), or sum.
static inline AVX512 __m512 pool_combine(__m512 a, __m512 b, int kind) {
    if (kind == WC_POOL_AVERAGE) return _mm512_add_ps(a, b);
    const __mmask16 take = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
    return _mm512_mask_blend_ps(take, a, b);
}

// Same structure as the depthwise kernel: column blocks of sixteen outputs outside, masks per block.
static inline AVX512 void pool3x3(const float *input, long height, long width, float *output, long out_height,
                                  long out_width, long stride, long pad_top, long pad_left, const int kind) {
    const __m512 identity = _mm512_set1_ps(kind == WC_POOL_MAX ? -__builtin_inff() : 0.0f);
    const __m512 ninth = _mm512_set1_ps(9.0f);
    for (long ox = 0; ox < out_width; ox += 16) {
        const __mmask16 store = inside(ox, out_width);
        const long x = ox * stride - pad_left;
        __mmask16 m[5];
        tap_masks(x, width, m);
        for (long oy = 0; oy < out_height; oy++) {
            __m512 acc = identity;
            for (int ky = 0; ky < 3; ky++) {
                const long iy = oy * stride - pad_top + ky;
                if (iy < 0 || iy >= height) continue;
                __m512 t[3];
                row_taps(input + iy * width, x, m, identity, stride, t);
                acc = pool_combine(pool_combine(pool_combine(acc, t[0], kind), t[1], kind), t[2], kind);
            }
            if (kind == WC_POOL_AVERAGE) acc = _mm512_div_ps(acc, ninth);
            _mm512_mask_storeu_ps(output + oy * out_width + ox, store, acc);
        }
    }
}

// Wide planes row by row from the ring of padded rows (see depthwise_rows), as KernelsAVX2.c's
// pool3x3_rows: each input row is copied once into a row padded with the pooling's identity, and
// every tap is a plain load (stride 2: two loads and a permute per tap pair, as row_taps), where
// the column order reads each row once per block of sixteen outputs, through masked loads at the
// edges. Rows outside the plane are skipped and the window's values combined in the same order,
// so the results are the same bit for bit. It pays only on the widest planes: C test (1 thread, AMD
// EPYC Zen 4, against the column order, minimum of 9 alternating rounds) 128 × 147×147 → 74×74
// 0.53–0.77 of the time, but 24 and 64 × 112×112 → 56×56 1.03–1.08 and 256 × 74×74 → 37×37
// 1.11–1.35 (where KernelsAVX2.c's eight-lane version pays from 17 outputs).
enum { POOL_ROWS_FROM = 64 };

static inline __attribute__((always_inline)) AVX512 void pool3x3_rows(const float *input, long height, long width,
                                                                      float *output, long out_height, long out_width,
                                                                      const long stride, long pad_top, long pad_left,
                                                                      const int kind, long pitch) {
    const __m512 identity = _mm512_set1_ps(kind == WC_POOL_MAX ? -__builtin_inff() : 0.0f);
    const __m512 ninth = _mm512_set1_ps(9.0f);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    float rows[5 * RING_PITCH] __attribute__((aligned(64)));
    row_ring g = ring_in(rows, pitch, identity);
    for (long oy = 0; oy < out_height; oy++) {
        const float *r[3];
        for (int k = 0; k < 3; k++) {
            const long iy = oy * stride - pad_top + k;
            r[k] = iy < 0 || iy >= height ? 0 : ring_row(&g, input, height, width, pad_left, iy, WC_IDENTITY, identity);
        }
        float *o = output + oy * out_width;
        for (long ox = 0; ox < out_width; ox += 16) {
            __m512 acc = identity;
            for (int k = 0; k < 3; k++) {
                if (!r[k]) continue;
                __m512 t[3];
                if (stride == 1) {
                    t[0] = _mm512_loadu_ps(r[k] + ox);
                    t[1] = _mm512_loadu_ps(r[k] + ox + 1);
                    t[2] = _mm512_loadu_ps(r[k] + ox + 2);
                } else {
                    const float *p = r[k] + 2 * ox;
                    const __m512 lo = _mm512_loadu_ps(p), hi = _mm512_loadu_ps(p + 16);
                    const __m512 lo2 = _mm512_loadu_ps(p + 2), hi2 = _mm512_loadu_ps(p + 18);
                    t[0] = _mm512_permutex2var_ps(lo, even, hi);
                    t[1] = _mm512_permutex2var_ps(lo, odd, hi);
                    t[2] = _mm512_permutex2var_ps(lo2, even, hi2);
                }
                acc = pool_combine(pool_combine(pool_combine(acc, t[0], kind), t[1], kind), t[2], kind);
            }
            if (kind == WC_POOL_AVERAGE) acc = _mm512_div_ps(acc, ninth);
            _mm512_mask_storeu_ps(o + ox, inside(ox, out_width), acc);
        }
    }
}

void AVX512 wc_pool3x3_avx512(const float *input, long height, long width, float *output, long out_height,
                              long out_width, long stride, long pad_top, long pad_left, int kind) {
    POOL3X3_DISPATCH(16, POOL_ROWS_FROM);
}

// Up to BLOCK output channels at a time; `count` is a constant in each call below, so once inlined
// the accumulator loops unroll and the accumulators stay in registers.
enum { BLOCK = 8 };

static inline AVX512 void grouped_block(const float *input, long height, long width, long in_channels,
                                        float *output, long plane_out, long out_width, long stride, long pad_top,
                                        long x, long ox, const __mmask16 *m, __mmask16 store,
                                        const float *filter, const float *bias, int activation, long oy,
                                        const int count) {
    __m512 acc[BLOCK];
    for (int j = 0; j < count; j++) acc[j] = _mm512_set1_ps(bias[j]);
    const long taps = in_channels * 9;
    for (long i = 0; i < in_channels; i++) {
        const float *plane = input + i * height * width;
        for (int ky = 0; ky < 3; ky++) {
            const long iy = oy * stride - pad_top + ky;
            if (iy < 0 || iy >= height) continue;
            __m512 t[3];
            row_taps(plane + iy * width, x, m, _mm512_setzero_ps(), stride, t);
            const float *w = filter + i * 9 + ky * 3;
            for (int j = 0; j < count; j++) {
                acc[j] = _mm512_fmadd_ps(t[0], _mm512_set1_ps(w[j * taps]), acc[j]);
                acc[j] = _mm512_fmadd_ps(t[1], _mm512_set1_ps(w[j * taps + 1]), acc[j]);
                acc[j] = _mm512_fmadd_ps(t[2], _mm512_set1_ps(w[j * taps + 2]), acc[j]);
            }
        }
    }
    for (int j = 0; j < count; j++) finish(output + j * plane_out + oy * out_width + ox, 0, store, acc[j], activation);
}

void AVX512 wc_grouped3x3_avx512(const float *input, long height, long width, long in_channels,
                                 float *output, long out_height, long out_width, long out_channels, long out_plane,
                                 long stride, long pad_top, long pad_left,
                                 const float *filter, const float *bias, int activation) {
    const long taps = in_channels * 9, plane_out = out_plane;
    // Rows outside, column blocks inside: each output row is written whole before the next, and
    // the three input rows it reads stay in L1. With column blocks outside, a plane larger than L2
    // (Xception's 3-channel stem: 299×299 in, 32 × 149×149 out) was streamed from memory once per
    // column block and each output line was fetched twice (0.86 ms against 0.72 as im2col + GEMM).
    for (long oy = 0; oy < out_height; oy++) {
        for (long ox = 0; ox < out_width; ox += 16) {
            const __mmask16 store = inside(ox, out_width);
            const long x = ox * stride - pad_left;
            __mmask16 m[5];
            tap_masks(x, width, m);
            for (long o = 0; o < out_channels; o += BLOCK) {
                float *out = output + o * plane_out;
                const float *f = filter + o * taps, *b = bias + o;
#define BLOCK_OF(n) grouped_block(input, height, width, in_channels, out, plane_out, out_width, stride, pad_top, \
                                  x, ox, m, store, f, b, activation, oy, n)
                switch (out_channels - o < BLOCK ? out_channels - o : BLOCK) {
                case 1: BLOCK_OF(1); break;
                case 2: BLOCK_OF(2); break;
                case 3: BLOCK_OF(3); break;
                case 4: BLOCK_OF(4); break;
                case 5: BLOCK_OF(5); break;
                case 6: BLOCK_OF(6); break;
                case 7: BLOCK_OF(7); break;
                default: BLOCK_OF(8); break;
                }
#undef BLOCK_OF
            }
        }
    }
}

// MARK: GEMM

// The float32 GEMM of 1×1 and unfolded convolutions, with the epilogue applied while a tile of C
// is still in registers. C is computed in tiles of up to 8 rows × 48 columns (24 accumulator
// registers; three loads of B and eight broadcasts of A per step of k), reading A and B where they
// lie: the layers' GEMMs are small (ShuffleNet v1's largest group is 320 × 80), and packing them,
// as oneDNN does, cost more than it saved (C test, 1 thread, AMD EPYC Zen 4: packing B changed
// nothing measurable on 26 shapes of the four networks). A row's last columns take a tile of 1, 2
// or 3 vectors, whichever covers them; a single column left past a multiple of 48 (every 7×7
// plane: 49) is summed as dot products of A's rows with that column, in sixteen lanes, instead of
// costing a whole tile (C test, 7×7 layers of MobileNetV2 and ResNeXt: 1.21–1.25 of oneDNN's time
// as 32 + 17 columns, 0.94–0.98 as 48 + 1). Blocks of 256 steps of k keep a panel of B in L1; a
// block's sums go to C and come back in the next, so an element of a tile is summed over k in
// order whatever the blocking.
enum { GEMM_ROWS = 8, GEMM_DEPTH = 256, GEMM_SPAN = 240 };

static inline __attribute__((always_inline)) AVX512 __m512 gemm_finish(__m512 v, const float *bias, long r, const float *residual,
                                                                        __mmask16 m, int activation) {
    if (!bias) return v;
    v = _mm512_add_ps(v, _mm512_set1_ps(bias[r]));
    if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual));
    return activate(v, activation);
}

/// Rows [0, rows) × `vectors` vectors of 16 columns of C (lanes outside `m[v]` neither read nor
/// written), over `depth` steps of k; `more` adds to what C holds, `last` applies the epilogue.
/// `next`, when not NULL, is the next row block's A (GEMM_ROWS rows), fetched into L1 meanwhile.
static inline __attribute__((always_inline)) AVX512 void gemm_tile(const int rows, const int vectors, long depth,
                                                                   const float *a, long lda, const float *b, long ldb,
                                                                   float *c, long ldc, const __mmask16 m[3], bool more, bool last,
                                                                   const float *bias, const float *residual, int activation,
                                                                   const float *next) {
    // Three named arrays, not one [3][rows]: clang keeps these in registers, and spilled the
    // two-dimensional one (an 8 × 48 tile ran at half speed).
    __m512 c0[GEMM_ROWS], c1[GEMM_ROWS], c2[GEMM_ROWS];
    for (int r = 0; r < rows; r++) {
        c0[r] = more ? _mm512_maskz_loadu_ps(m[0], c + r * ldc) : _mm512_setzero_ps();
        if (vectors > 1) c1[r] = more ? _mm512_maskz_loadu_ps(m[1], at(c + r * ldc, 16)) : _mm512_setzero_ps();
        if (vectors > 2) c2[r] = more ? _mm512_maskz_loadu_ps(m[2], at(c + r * ldc, 32)) : _mm512_setzero_ps();
    }
    const __mmask16 m0 = m[0], m1 = m[1], m2 = m[2];
    for (long p = 0; p < depth; p++) {
        const float *row = b + p * ldb;
        // The next tile's part of this row of B: k rows are as many short streams (see the C rows).
        for (int v = 0; v < vectors; v++) _mm_prefetch((const char *)at(row, 48 + 16 * v), _MM_HINT_T0);
        // A cache line of each of the next block's rows of A every sixteen steps: all of them by
        // the end of the tile.
        if (next && (p & 15) == 0)
            for (int r = 0; r < GEMM_ROWS; r++) _mm_prefetch((const char *)at(next, r * lda + p), _MM_HINT_T0);
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, row);
        const __m512 b1 = vectors > 1 ? _mm512_maskz_loadu_ps(m1, at(row, 16)) : b0;
        const __m512 b2 = vectors > 2 ? _mm512_maskz_loadu_ps(m2, at(row, 32)) : b0;
        for (int r = 0; r < rows; r++) {
            const __m512 x = _mm512_set1_ps(a[r * lda + p]);
            c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
            if (vectors > 1) c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
            if (vectors > 2) c2[r] = _mm512_fmadd_ps(x, b2, c2[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        const float *extra = last && residual ? residual + r * ldc : NULL;
        _mm512_mask_storeu_ps(c + r * ldc, m0, last ? gemm_finish(c0[r], bias, r, extra, m0, activation) : c0[r]);
        if (vectors > 1)
            _mm512_mask_storeu_ps((float *)at(c + r * ldc, 16), m1,
                                  last ? gemm_finish(c1[r], bias, r, extra ? at(extra, 16) : NULL, m1, activation) : c1[r]);
        if (vectors > 2)
            _mm512_mask_storeu_ps((float *)at(c + r * ldc, 32), m2,
                                  last ? gemm_finish(c2[r], bias, r, extra ? at(extra, 32) : NULL, m2, activation) : c2[r]);
    }
}

#define GEMM_ROWS_OF(vectors) do { \
        switch (rows) { \
        case 8: gemm_tile(8, vectors, depth, ai, lda, bj, ldb, cj, ldc, masks, more, last, bi, rj, activation, next); break; \
        case 7: gemm_tile(7, vectors, depth, ai, lda, bj, ldb, cj, ldc, masks, more, last, bi, rj, activation, next); break; \
        case 6: gemm_tile(6, vectors, depth, ai, lda, bj, ldb, cj, ldc, masks, more, last, bi, rj, activation, next); break; \
        case 5: gemm_tile(5, vectors, depth, ai, lda, bj, ldb, cj, ldc, masks, more, last, bi, rj, activation, next); break; \
        case 4: gemm_tile(4, vectors, depth, ai, lda, bj, ldb, cj, ldc, masks, more, last, bi, rj, activation, next); break; \
        case 3: gemm_tile(3, vectors, depth, ai, lda, bj, ldb, cj, ldc, masks, more, last, bi, rj, activation, next); break; \
        case 2: gemm_tile(2, vectors, depth, ai, lda, bj, ldb, cj, ldc, masks, more, last, bi, rj, activation, next); break; \
        default: gemm_tile(1, vectors, depth, ai, lda, bj, ldb, cj, ldc, masks, more, last, bi, rj, activation, next); break; \
        } \
    } while (0)

/// Column `j` of rows [0, rows) of C over `depth` steps of k: each row's dot product with the
/// column of B, gathered once into `column`.
static inline AVX512 void gemm_column(long rows, long j, long depth, const float *a, long lda, const float *column,
                                      float *c, long ldc, bool more, bool last, const float *bias,
                                      const float *residual, int activation) {
    for (long i = 0; i < rows; i++) {
        const float *row = a + i * lda;
        __m512 s = _mm512_setzero_ps();
        for (long p = 0; p < depth; p += 16) {
            const __mmask16 mp = inside(p, depth);
            s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mp, row + p), _mm512_maskz_loadu_ps(mp, column + p), s);
        }
        // In lane 0 of a vector, so that the tiles' epilogue (gemm_finish) finishes it too.
        __m512 v = _mm512_set1_ps(_mm512_reduce_add_ps(s) + (more ? c[i * ldc + j] : 0.0f));
        if (last) v = gemm_finish(v, bias, i, residual ? residual + i * ldc + j : NULL, 1, activation);
        _mm512_mask_storeu_ps(c + i * ldc + j, 1, v);
    }
}

void AVX512 wc_gemm_avx512(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                           float *c, long ldc, const float *bias, const float *residual, int activation) {
    if (k == 0) {
        // No products: C is the epilogue of zero (BLAS with beta = 0 would give zeros).
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j += 16) {
                const __mmask16 mj = inside(j, n);
                _mm512_mask_storeu_ps(c + i * ldc + j, mj,
                                      gemm_finish(_mm512_setzero_ps(), bias, i, residual ? residual + i * ldc + j : NULL, mj, activation));
            }
        return;
    }
    // One column past a multiple of 48 goes to gemm_column; the tiles cover the rest.
    const long tiled = n > 1 && n % 48 == 1 ? n - 1 : n;
    float column[GEMM_DEPTH];
    for (long pc = 0; pc < k; pc += GEMM_DEPTH) {
        const long depth = k - pc < GEMM_DEPTH ? k - pc : GEMM_DEPTH;
        const bool more = pc > 0, last = pc + depth == k;
        if (tiled < n)
            for (long p = 0; p < depth; p++) column[p] = b[(pc + p) * ldb + tiled];
        // A span of columns at a time, so that its panels of B stay in L2 while every row block
        // passes over them, and a row block's A in L1 across the span.
        for (long jc = 0; jc < tiled; jc += GEMM_SPAN) {
            const long end = jc + GEMM_SPAN < tiled ? jc + GEMM_SPAN : tiled;
            for (long i = 0; i < m; i += GEMM_ROWS) {
                const long rows = m - i < GEMM_ROWS ? m - i : GEMM_ROWS;
                const float *ai = a + i * lda + pc, *bi = bias ? bias + i : NULL;
                for (long j = jc; j < end; j += 48) {
                    // In a network A (the weights) comes from memory, not cache, and a layer over
                    // few columns (7×7 planes: one tile a row block) reads it as fast as it
                    // computes: eight rows are eight streams the hardware prefetchers follow too
                    // late. The first tile of each row block fetches the next block's rows (C test
                    // with A cold, AMD EPYC Zen 4: 960 × 49 × 160 0.85 of the time, 1280 × 49 × 320
                    // 0.89, 576 × 196 × 96 0.88, the rest 0.95–1.0; with A in cache 0.98–1.02).
                    const float *next = j == jc && i + GEMM_ROWS < m ? ai + GEMM_ROWS * lda : NULL;
                    const float *bj = b + pc * ldb + j, *rj = residual ? residual + i * ldc + j : NULL;
                    float *cj = c + i * ldc + j;
                    const __mmask16 masks[3] = {inside(j, tiled), inside(j + 16, tiled), inside(j + 32, tiled)};
                    const long width = tiled - j;
                    if (last) {
                        // The next tile's rows of C and of the residual: 8 rows a tile are 8 short
                        // streams, too many for the hardware prefetchers to follow once they come
                        // from memory rather than L2 (ShuffleNet v1 at batch 8).
                        for (long r = 0; r < rows; r++)
                            for (long v = 48; v < 96; v += 16) {
                                _mm_prefetch((const char *)at(cj + r * ldc, v), _MM_HINT_T0);
                                if (rj) _mm_prefetch((const char *)at(rj + r * ldc, v), _MM_HINT_T0);
                            }
                    }
                    if (width > 32) GEMM_ROWS_OF(3);
                    else if (width > 16) GEMM_ROWS_OF(2);
                    else GEMM_ROWS_OF(1);
                }
                // The lone column after the row block's last tile, while its rows of A are in L1.
                if (end == tiled && tiled < n)
                    gemm_column(rows, tiled, depth, ai, lda, column, c + i * ldc, ldc, more, last, bi,
                                residual ? residual + i * ldc : NULL, activation);
            }
        }
    }
}

/// x[b]·w[o] for `batches` rows of x (≤ 2) and `outputs` rows of w (≤ 8), each sum kept in sixteen
/// lanes and added across them once at the end.
static inline __attribute__((always_inline)) AVX512 void linear_block(const int batches, const int outputs, long k,
                                                                      const float *x, const float *w, const float *bias,
                                                                      float *y, long ldy) {
    __m512 s0[8], s1[8];
    for (int o = 0; o < outputs; o++) s0[o] = s1[o] = _mm512_setzero_ps();
    for (long p = 0; p < k; p += 16) {
        const __mmask16 m = inside(p, k);
        const __m512 x0 = _mm512_maskz_loadu_ps(m, x + p);
        const __m512 x1 = batches > 1 ? _mm512_maskz_loadu_ps(m, x + k + p) : x0;
        for (int o = 0; o < outputs; o++) {
            const __m512 wv = _mm512_maskz_loadu_ps(m, w + o * k + p);
            s0[o] = _mm512_fmadd_ps(x0, wv, s0[o]);
            if (batches > 1) s1[o] = _mm512_fmadd_ps(x1, wv, s1[o]);
        }
    }
    for (int o = 0; o < outputs; o++) {
        y[o] = _mm512_reduce_add_ps(s0[o]) + (bias ? bias[o] : 0.0f);
        if (batches > 1) y[ldy + o] = _mm512_reduce_add_ps(s1[o]) + (bias ? bias[o] : 0.0f);
    }
}

#define LINEAR_OUTPUTS(batches) do { \
        switch (outputs - o < 8 ? outputs - o : 8) { \
        case 8: linear_block(batches, 8, k, xi, wo, bo, yio, ldy); break; \
        case 7: linear_block(batches, 7, k, xi, wo, bo, yio, ldy); break; \
        case 6: linear_block(batches, 6, k, xi, wo, bo, yio, ldy); break; \
        case 5: linear_block(batches, 5, k, xi, wo, bo, yio, ldy); break; \
        case 4: linear_block(batches, 4, k, xi, wo, bo, yio, ldy); break; \
        case 3: linear_block(batches, 3, k, xi, wo, bo, yio, ldy); break; \
        case 2: linear_block(batches, 2, k, xi, wo, bo, yio, ldy); break; \
        default: linear_block(batches, 1, k, xi, wo, bo, yio, ldy); break; \
        } \
    } while (0)

void AVX512 wc_linear_avx512(long batch, long outputs, long k, const float *x, const float *w, const float *bias,
                             float *y, long ldy) {
    // Eight rows of weights at a time, over every row of the batch two at a time, so each block of
    // weights is read from memory once (a classifier at batch 1 only streams its weights, and eight
    // streams kept the memory busier than four: 1280 × 1000 from memory, 1 thread, Zen 4: 0.25–0.27
    // ms against 0.30–0.34 with blocks of 4 × 4 and 0.33–0.39 for dnnl_sgemm; software prefetching
    // made it slower).
    for (long o = 0; o < outputs; o += 8) {
        const float *wo = w + o * k, *bo = bias ? bias + o : NULL;
        for (long i = 0; i < batch; i += 2) {
            const float *xi = x + i * k;
            float *yio = y + i * ldy + o;
            if (batch - i >= 2) LINEAR_OUTPUTS(2);
            else LINEAR_OUTPUTS(1);
        }
    }
}

#else

bool wc_has_avx512(void) { return false; }
bool wc_has_avx512_bf16(void) { return false; }

#endif

