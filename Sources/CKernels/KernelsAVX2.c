#include "CKernels.h"
#include "RowRing.h"

// The AVX2 + FMA versions of Kernels.c's AVX-512 kernels, for the x86-64 processors without
// AVX-512 (AMD Zen 2/3, most laptops). Same structure and same results up to the order of sums,
// eight lanes instead of sixteen. AVX2 has no mask registers: lanes outside the plane are loaded
// with vmaskmovps (masked lanes neither fault nor read) only in the column blocks at a plane's
// edges, and blocks wholly inside use plain loads and stores (vmaskmovps stores are slow on AMD).
// One file: the helpers are shared by the kernels and must stay inline.

#if defined(__x86_64__) || defined(_M_X64)

#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>

#define AVX2 __attribute__((target("avx2,fma")))
/// For helpers whose callers pass constants (a pooling's kind, a stride) so that each call is
/// compiled for them: `static inline` alone leaves the choice to the compiler, and clang -O2 kept
/// the pooling helpers as one function each, testing the kind and the stride at every window.
#define SPECIALISED inline __attribute__((always_inline))
/// Loops over accumulators kept in an array: unrolled, so that the array lives in registers.
#define UNROLLED _Pragma("GCC unroll 8")

/// Reads XCR0 (xgetbv is allowed once cpuid says OSXSAVE; written as an instruction so that the
/// function itself needs no target attribute).
static uint64_t xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

bool wc_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const unsigned fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if ((c & (fma | osxsave | avx)) != (fma | osxsave | avx)) return false;
    // The OS saves the SSE and AVX halves of the registers on a context switch.
    if ((xcr0() & 6) != 6) return false;
    if (__get_cpuid_max(0, 0) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) != 0; // AVX2
}

/// One float block of eight lanes and the masks of its loads.
typedef struct {
    __m256i m[5]; // loads at x, x + 1, x + 2, x + 8, x + 10 (see `row_taps`)
    bool full;    // every lane of every load inside the row: plain loads
} taps_mask;

/// Lanes i of 8 with 0 <= first + i < count, as all-ones 32-bit lanes.
static inline AVX2 __m256i inside(long first, long count) {
    // Clamped so that the lane indices fit 32 bits; the answer is the same.
    if (first > count) first = count;
    if (first > INT32_MAX - 8) first = INT32_MAX - 8;
    if (first < -8) first = -8;
    const __m256i index = _mm256_add_epi32(_mm256_set1_epi32((int)first), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i lower = _mm256_cmpgt_epi32(index, _mm256_set1_epi32(-1));
    const __m256i upper = _mm256_cmpgt_epi32(_mm256_set1_epi32(count > INT32_MAX ? INT32_MAX : (int)count), index);
    return _mm256_and_si256(lower, upper);
}

static inline AVX2 bool all_lanes(__m256i m) { return _mm256_movemask_ps(_mm256_castsi256_ps(m)) == 0xff; }

/// max/min return their second operand when either is NaN: with the value second, NaN passes
/// through, as it does in PyTorch's relu and hardtanh.
static inline AVX2 __m256 activate(__m256 v, int kind) {
    if (kind != WC_IDENTITY) v = _mm256_max_ps(_mm256_setzero_ps(), v);
    if (kind == WC_RELU6) v = _mm256_min_ps(_mm256_set1_ps(6.0f), v);
    return v;
}

/// An input value as a depthwise convolution reads it: where `biased`, the bias of the layer that
/// produced it added first (that layer's deferred epilogue, see wc_depthwise3x3_avx2), then the
/// input activation. `biased` is a constant in every caller, so the other callers' code is as
/// without it.
static inline AVX2 __m256 through(__m256 v, int kind, const bool biased, float bias) {
    if (biased) v = _mm256_add_ps(v, _mm256_set1_ps(bias));
    return activate(v, kind);
}

/// `row + first` computed on integers: `first` may point before the row (into the padding), where
/// only masked-off lanes read, and forming such a pointer directly is undefined in C.
static inline const float *at(const float *row, long first) {
    return (const float *)((intptr_t)row + first * (intptr_t)sizeof(float));
}

/// Eight floats from `row + first`, lanes outside `mask` set to `fill`.
static inline AVX2 __m256 load(const float *row, long first, __m256i mask, bool full, __m256 fill) {
    if (full) return _mm256_loadu_ps(at(row, first));
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(at(row, first), mask), _mm256_castsi256_ps(mask));
}

/// The even and odd lanes of the sixteen floats lo:hi.
static inline AVX2 __m256 even_lanes(__m256 lo, __m256 hi) {
    const __m256 mixed = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)); // lo0 lo2 hi0 hi2 lo4 lo6 hi4 hi6
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline AVX2 __m256 odd_lanes(__m256 lo, __m256 hi) {
    const __m256 mixed = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)));
}

/// The three taps t[0..2] of eight outputs from one input row: columns x + s·i + tap for i < 8,
/// s = stride (1 or 2), lanes outside the row set to `fill`. Stride 2 loads sixteen columns and
/// keeps the even and odd lanes.
static inline AVX2 void row_taps(const float *row, long x, const taps_mask *m, __m256 fill, long stride, __m256 t[3]) {
    if (stride == 1) {
        t[0] = load(row, x, m->m[0], m->full, fill);
        t[1] = load(row, x + 1, m->m[1], m->full, fill);
        t[2] = load(row, x + 2, m->m[2], m->full, fill);
        return;
    }
    const __m256 lo = load(row, x, m->m[0], m->full, fill), hi = load(row, x + 8, m->m[3], m->full, fill);
    const __m256 lo2 = load(row, x + 2, m->m[2], m->full, fill), hi2 = load(row, x + 10, m->m[4], m->full, fill);
    t[0] = even_lanes(lo, hi);
    t[1] = odd_lanes(lo, hi);
    t[2] = even_lanes(lo2, hi2);
}

/// The masks `row_taps` needs for the block of outputs whose first input column is x.
static inline AVX2 void tap_masks(long x, long width, long stride, taps_mask *m) {
    m->m[0] = inside(x, width);
    m->m[1] = inside(x + 1, width);
    m->m[2] = inside(x + 2, width);
    m->m[3] = inside(x + 8, width);
    m->m[4] = inside(x + 10, width);
    m->full = all_lanes(m->m[0]) && all_lanes(m->m[2]) && (stride == 1 || all_lanes(m->m[4]));
}

/// The output block's store: all eight lanes, or the first `lanes` of them.
typedef struct {
    __m256i mask;
    long lanes;
    bool full;
} store_mask;

static inline AVX2 store_mask store_for(long first, long count) {
    const long left = count - first;
    store_mask s = {inside(first, count), left < 0 ? 0 : left > 8 ? 8 : left, first + 8 <= count};
    return s;
}

/// The first `lanes` (< 8) floats of v, as four, two and one: vmaskmovps stores are slow on AMD.
static inline AVX2 void store_first(float *out, long lanes, __m256 v) {
    __m128 q = _mm256_castps256_ps128(v);
    if (lanes & 4) {
        _mm_storeu_ps(out, q);
        out += 4;
        q = _mm256_extractf128_ps(v, 1);
    }
    if (lanes & 2) {
        _mm_storel_pi((__m64 *)out, q);
        out += 2;
        q = _mm_movehl_ps(q, q);
    }
    if (lanes & 1) _mm_store_ss(out, q);
}

static inline AVX2 void store(float *out, store_mask s, __m256 v) {
    if (s.full) _mm256_storeu_ps(out, v);
    else store_first(out, s.lanes, v);
}

static inline AVX2 void finish(float *out, const float *extra, store_mask s, __m256 acc, int activation) {
    if (extra) acc = _mm256_add_ps(acc, s.full ? _mm256_loadu_ps(extra) : _mm256_maskload_ps(extra, s.mask));
    store(out, s, activate(acc, activation));
}

/// Eight floats from `row + first` read through the bias and activation (see `through`), lanes
/// outside `mask` zero: the padding is zero after them, so it is set after them.
static SPECIALISED AVX2 __m256 load_through(const float *row, long first, __m256i mask, bool full, int kind, float bias) {
    if (full) return through(_mm256_loadu_ps(at(row, first)), kind, true, bias);
    const __m256 v = through(_mm256_maskload_ps(at(row, first), mask), kind, true, bias);
    return _mm256_blendv_ps(_mm256_setzero_ps(), v, _mm256_castsi256_ps(mask));
}

/// The three taps of a row (see `row_taps`) as read (see `through`), zero outside it.
static SPECIALISED AVX2 void activated_taps(const float *row, long x, const taps_mask *m, long stride, int kind,
                                       const bool biased, float bias, __m256 t[3]) {
    if (!biased) {
        row_taps(row, x, m, _mm256_setzero_ps(), stride, t);
        for (int i = 0; i < 3; i++) t[i] = activate(t[i], kind);
        return;
    }
    if (stride == 1) {
        t[0] = load_through(row, x, m->m[0], m->full, kind, bias);
        t[1] = load_through(row, x + 1, m->m[1], m->full, kind, bias);
        t[2] = load_through(row, x + 2, m->m[2], m->full, kind, bias);
        return;
    }
    const __m256 lo = load_through(row, x, m->m[0], m->full, kind, bias), hi = load_through(row, x + 8, m->m[3], m->full, kind, bias);
    const __m256 lo2 = load_through(row, x + 2, m->m[2], m->full, kind, bias);
    const __m256 hi2 = load_through(row, x + 10, m->m[4], m->full, kind, bias);
    t[0] = even_lanes(lo, hi);
    t[1] = odd_lanes(lo, hi);
    t[2] = even_lanes(lo2, hi2);
}

// As wc_depthwise3x3_avx512: column blocks outside, stride 1 two output rows at a time. What small
// planes (16 columns or fewer) run: a row is one or two blocks, so the ring below would copy more
// than it saves.
static SPECIALISED AVX2 void depthwise_columns(const float *input, long height, long width,
                                          float *output, long out_height, long out_width,
                                          long stride, long pad_top, long pad_left,
                                          const float *filter, float bias, const float *residual,
                                          int input_activation, const bool biased, float input_bias, int activation) {
    __m256 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm256_set1_ps(filter[i]);
    const __m256 b = _mm256_set1_ps(bias);
    for (long ox = 0; ox < out_width; ox += 8) {
        const store_mask s = store_for(ox, out_width);
        const long x = ox * stride - pad_left;
        taps_mask m;
        tap_masks(x, width, stride, &m);
        long oy = 0;
        for (; stride == 1 && oy + 1 < out_height; oy += 2) {
            __m256 acc0 = b, acc1 = b;
            for (int r = 0; r < 4; r++) {
                const long iy = oy - pad_top + r;
                if (iy < 0 || iy >= height) continue;
                __m256 t[3];
                activated_taps(input + iy * width, x, &m, 1, input_activation, biased, input_bias, t);
                for (int k = 0; k < 3; k++) {
                    if (r <= 2) acc0 = _mm256_fmadd_ps(t[k], w[3 * r + k], acc0);
                    if (r >= 1) acc1 = _mm256_fmadd_ps(t[k], w[3 * (r - 1) + k], acc1);
                }
            }
            finish(output + oy * out_width + ox, residual ? residual + oy * out_width + ox : 0, s, acc0, activation);
            finish(output + (oy + 1) * out_width + ox, residual ? residual + (oy + 1) * out_width + ox : 0, s, acc1, activation);
        }
        for (; oy < out_height; oy++) {
            __m256 acc = b;
            for (int ky = 0; ky < 3; ky++) {
                const long iy = oy * stride - pad_top + ky;
                if (iy < 0 || iy >= height) continue;
                __m256 t[3];
                activated_taps(input + iy * width, x, &m, stride, input_activation, biased, input_bias, t);
                for (int k = 0; k < 3; k++) acc = _mm256_fmadd_ps(t[k], w[3 * ky + k], acc);
            }
            finish(output + oy * out_width + ox, residual ? residual + oy * out_width + ox : 0, s, acc, activation);
        }
    }
}

// Wider planes: rows outside, column blocks inside, each input row copied once (through the input
// activation) into a zero-padded row of a ring of four, so that every tap is a plain load. Eight
// lanes make a block half as wide as AVX-512's, so going down a plane block by block (as above)
// streams it twice as often, and the masked loads at both edges of every row cost more than the
// copy. Same results bit for bit. Per layer in the networks (`bench --profile --kernels avx2`,
// 1 thread, against the column order): MobileNetV2 112×112 0.65, 56×56 0.72–0.75, 28×28 0.80;
// Xception 147×147 0.56–0.64, 74×74 0.40–0.49, 37×37 0.68, 19×19 0.80.

/// Input row `iy` as read (see `through`), at column `pad_left` of a row padded with `fill` (zero
/// for the convolutions, the pooling's identity for pooling); `g->zero` outside the plane.
static inline AVX2 const float *ring_row(row_ring *g, const float *input, long height, long width, long pad_left,
                                         long iy, int kind, const bool biased, float bias, __m256 fill) {
    if (iy < 0 || iy >= height) return g->zero;
    float *row = g->slot[iy & 3];
    if (g->row[iy & 3] == iy) return row;
    g->row[iy & 3] = iy;
    const float *from = input + iy * width;
    float *to = row + pad_left;
    long c = 0;
    for (; c + 8 <= width; c += 8) _mm256_storeu_ps(to + c, through(_mm256_loadu_ps(from + c), kind, biased, bias));
    // The last vector's lanes past the row are `fill` (masked loads do not fault), and the ring's
    // rows are long enough to take all eight.
    if (c < width) {
        const __m256i m = inside(c, width);
        _mm256_storeu_ps(to + c, _mm256_blendv_ps(fill, through(_mm256_maskload_ps(from + c, m), kind, biased, bias), _mm256_castsi256_ps(m)));
    }
    return row;
}

/// A ring whose rows are all `fill`, in `rows` (5 · pitch floats, 32-byte aligned).
static inline AVX2 row_ring ring_in(float *rows, long pitch, __m256 fill) {
    for (long i = 0; i < 5 * pitch; i += 8) _mm256_store_ps(rows + i, fill);
    row_ring g = {{rows, rows + pitch, rows + 2 * pitch, rows + 3 * pitch}, {-1, -1, -1, -1}, rows + 4 * pitch};
    return g;
}

/// Eight outputs from a padded row: stride 1 plain loads; stride 2 in-lane shuffles that leave the
/// outputs in the order 0 1 4 5 2 3 6 7 (`in_order` puts them back once per output vector).
static inline AVX2 void ring_taps(const float *row, long ox, long stride, __m256 t[3]) {
    if (stride == 1) {
        t[0] = _mm256_loadu_ps(row + ox);
        t[1] = _mm256_loadu_ps(row + ox + 1);
        t[2] = _mm256_loadu_ps(row + ox + 2);
        return;
    }
    const float *p = row + 2 * ox;
    const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    const __m256 lo2 = _mm256_loadu_ps(p + 2), hi2 = _mm256_loadu_ps(p + 10);
    t[0] = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    t[1] = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    t[2] = _mm256_shuffle_ps(lo2, hi2, _MM_SHUFFLE(2, 0, 2, 0));
}

static inline AVX2 __m256 in_order(__m256 v) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
}

/// Output columns [ox, ox + 8) of a row.
static inline AVX2 void ring_put(float *out, const float *residual, long ox, __m256 acc, int activation) {
    if (residual) acc = _mm256_add_ps(acc, _mm256_loadu_ps(residual + ox));
    _mm256_storeu_ps(out + ox, activate(acc, activation));
}

/// The next block after the one at ox: where a last partial block would start, the block ending at
/// the row's end instead. It recomputes a few outputs to the same values and stores whole vectors
/// (the output overlaps neither the input nor the residual, so the values it reads are unchanged).
static inline long next_block(long ox, long out_width) {
    const long next = ox + 8;
    return next < out_width && next + 8 > out_width ? out_width - 8 : next;
}

static SPECIALISED AVX2 void depthwise_rows(const float *input, long height, long width,
                                       float *output, long out_height, long out_width,
                                       const long stride, long pad_top, long pad_left,
                                       const float *filter, float bias, const float *residual,
                                       int input_activation, const bool biased, float input_bias, int activation,
                                       long pitch) {
    float rows[5 * RING_PITCH] __attribute__((aligned(32)));
    const __m256 zero = _mm256_setzero_ps();
    row_ring g = ring_in(rows, pitch, zero);
    __m256 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm256_set1_ps(filter[i]);
    const __m256 b = _mm256_set1_ps(bias);
    long oy = 0;
    for (; stride == 1 && oy + 1 < out_height; oy += 2) {
        const float *r[4];
        for (int k = 0; k < 4; k++) r[k] = ring_row(&g, input, height, width, pad_left, oy - pad_top + k, input_activation, biased, input_bias, zero);
        float *o0 = output + oy * out_width, *o1 = o0 + out_width;
        const float *e0 = residual ? residual + oy * out_width : 0, *e1 = residual ? e0 + out_width : 0;
        for (long ox = 0; ox < out_width; ox = next_block(ox, out_width)) {
            __m256 acc0 = b, acc1 = b, t[3];
            for (int k = 0; k < 4; k++) {
                ring_taps(r[k], ox, 1, t);
                for (int j = 0; j < 3; j++) {
                    if (k <= 2) acc0 = _mm256_fmadd_ps(t[j], w[3 * k + j], acc0);
                    if (k >= 1) acc1 = _mm256_fmadd_ps(t[j], w[3 * (k - 1) + j], acc1);
                }
            }
            ring_put(o0, e0, ox, acc0, activation);
            ring_put(o1, e1, ox, acc1, activation);
        }
    }
    for (; oy < out_height; oy++) {
        const float *r[3];
        for (int k = 0; k < 3; k++) r[k] = ring_row(&g, input, height, width, pad_left, oy * stride - pad_top + k, input_activation, biased, input_bias, zero);
        float *o = output + oy * out_width;
        const float *e = residual ? residual + oy * out_width : 0;
        for (long ox = 0; ox < out_width; ox = next_block(ox, out_width)) {
            __m256 acc = b, t[3];
            for (int k = 0; k < 3; k++) {
                ring_taps(r[k], ox, stride, t);
                for (int j = 0; j < 3; j++) acc = _mm256_fmadd_ps(t[j], w[3 * k + j], acc);
            }
            ring_put(o, e, ox, stride == 1 ? acc : in_order(acc), activation);
        }
    }
}

// depthwise_rows compiled for each stride, and with and without an input bias, each out of line
// (its 20 KiB ring stays off the frames of the other paths). Left to the compiler it was one
// function testing the stride at every tap.
// The plain ones compile byte for byte as before the input bias existed (objdump), as long as they
// are dispatched apart from the biased ones (see wc_depthwise3x3_avx2).
#define DEPTHWISE_ROWS(name, stride, biased)                                                                          \
    static __attribute__((noinline)) AVX2 void name(const float *input, long height, long width, float *output,       \
                                                    long out_height, long out_width, long pad_top, long pad_left,    \
                                                    const float *filter, float bias, const float *residual,          \
                                                    int input_activation, float input_bias, int activation,          \
                                                    long pitch) {                                                    \
        depthwise_rows(input, height, width, output, out_height, out_width, stride, pad_top, pad_left, filter, bias, \
                       residual, input_activation, biased, input_bias, activation, pitch);                           \
    }
DEPTHWISE_ROWS(depthwise_rows_1, 1, false)
DEPTHWISE_ROWS(depthwise_rows_2, 2, false)
DEPTHWISE_ROWS(depthwise_rows_1_biased, 1, true)
DEPTHWISE_ROWS(depthwise_rows_2_biased, 2, true)

// Small planes at stride 1 (at most SMALL_WIDTH outputs wide and SMALL_HEIGHT high: the 14×14 and
// 7×7 layers of MobileNetV2 and ShuffleNet v1): the plane is first copied (through the input
// activation) into a zero-padded block on the stack, so that every tap is a plain load and no
// masks take registers, then four output rows at a time, in column blocks at 0 and, for a second
// block, at out_width − 8 (overlapping the first, recomputing a few outputs to the same values).
// Same sums in the same order as depthwise_columns, so the same results bit for bit. What it
// replaces kept its weights and masks spilled to the stack and tested rows and lanes at every tap.
// In the networks (`tools/bench_layers_ab.py --changed "conv 3×3 depthwise"`, 1 thread, AMD EPYC
// Zen 3, 6–8 rounds): MobileNetV2's 14×14 layers 0.83–0.89 of the time, its 7×7 ones 0.93–0.99;
// ShuffleNet v1's 14×14 and 7×7 layers 0.85–0.98; skipping the rows outside the plane (small_quad)
// then took 0.89–1.01 of that version's time. Out of line, so that the other paths' frames do
// not carry its 4 KiB block (inlined, the stride-2 layers it does not take read 1.09–1.12).
enum { SMALL_WIDTH = 16, SMALL_HEIGHT = 32, SMALL_PITCH = 32 };

/// Whether depthwise_small takes a plane: it fits the block, rows and columns (padding included).
static inline bool fits_small(long height, long width, long out_height, long out_width, long stride, long pad_top,
                              long pad_left) {
    return stride == 1 && out_width <= SMALL_WIDTH && out_height <= SMALL_HEIGHT && pad_top >= 0 && pad_left >= 0
        && pad_top <= 2 && pad_left <= 2 && height <= SMALL_HEIGHT + 2 && pad_left + (width + 7) / 8 * 8 <= SMALL_PITCH;
}

/// Four output rows from depthwise_small's block, from oy. Where `edge` (a constant in each call:
/// the first and last rows of a plane), rows above and below the plane are skipped, as
/// depthwise_columns skips them: adding their zeros would turn a −0 sum into +0.
static SPECIALISED AVX2 void small_quad(const float *block, long oy, long ox, long pad_top, long height,
                                        const __m256 w[9], __m256 b, __m256 acc[4], const bool edge) {
    UNROLLED for (int q = 0; q < 4; q++) acc[q] = b;
    UNROLLED for (int r = 0; r < 6; r++) {
        if (edge && (oy + r - pad_top < 0 || oy + r - pad_top >= height)) continue;
        const float *row = block + (oy + r) * SMALL_PITCH + ox;
        const __m256 t[3] = {_mm256_loadu_ps(row), _mm256_loadu_ps(row + 1), _mm256_loadu_ps(row + 2)};
        UNROLLED for (int q = 0; q < 4; q++) {
            if (r - q < 0 || r - q > 2) continue;
            UNROLLED for (int j = 0; j < 3; j++) acc[q] = _mm256_fmadd_ps(t[j], w[3 * (r - q) + j], acc[q]);
        }
    }
}

static SPECIALISED AVX2 void depthwise_small(const float *input, long height, long width,
                                        float *output, long out_height, long out_width, long pad_top, long pad_left,
                                        const float *filter, float bias, const float *residual,
                                        int input_activation, const bool biased, float input_bias, int activation) {
    // Rows of the block: out_height + 2 padded input rows (row r is input row r − pad_top).
    float block[(SMALL_HEIGHT + 2) * SMALL_PITCH] __attribute__((aligned(32)));
    const long rows = out_height + 2;
    const __m256 zero = _mm256_setzero_ps();
    for (long r = 0; r < rows; r++) {
        float *to = block + r * SMALL_PITCH;
        for (long c = 0; c < SMALL_PITCH; c += 8) _mm256_store_ps(to + c, zero);
        const long iy = r - pad_top;
        if (iy < 0 || iy >= height) continue;
        const float *from = input + iy * width;
        // Lanes past the row load as zero (vmaskmovps), and are cleared again after an input bias
        // (they are padding); fits_small keeps them inside the block.
        for (long c = 0; c < width; c += 8) {
            const __m256i m = inside(c, width);
            __m256 v = through(_mm256_maskload_ps(from + c, m), input_activation, biased, input_bias);
            if (biased) v = _mm256_and_ps(v, _mm256_castsi256_ps(m));
            _mm256_storeu_ps(to + pad_left + c, v);
        }
    }
    __m256 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm256_set1_ps(filter[i]);
    const __m256 b = _mm256_set1_ps(bias);
    const long blocks = out_width > 8 ? 2 : 1;
    for (long k = 0; k < blocks; k++) {
        const long ox = k == 0 ? 0 : out_width - 8;
        const store_mask s = store_for(ox, out_width);
        long oy = 0;
        for (; oy + 3 < out_height; oy += 4) {
            __m256 acc[4];
            if (oy - pad_top < 0 || oy + 5 - pad_top >= height) small_quad(block, oy, ox, pad_top, height, w, b, acc, true);
            else small_quad(block, oy, ox, pad_top, height, w, b, acc, false);
            UNROLLED for (int q = 0; q < 4; q++)
                finish(output + (oy + q) * out_width + ox, residual ? residual + (oy + q) * out_width + ox : 0, s, acc[q], activation);
        }
        for (; oy < out_height; oy++) {
            __m256 acc = b;
            UNROLLED for (int r = 0; r < 3; r++) {
                if (oy + r - pad_top < 0 || oy + r - pad_top >= height) continue;
                const float *row = block + (oy + r) * SMALL_PITCH + ox;
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(row), w[3 * r], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(row + 1), w[3 * r + 1], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(row + 2), w[3 * r + 2], acc);
            }
            finish(output + oy * out_width + ox, residual ? residual + oy * out_width + ox : 0, s, acc, activation);
        }
    }
}

// Small planes at stride 2 (at most SMALL_WIDTH outputs wide and SMALL2_HEIGHT high, such as the
// 28→14 and 14→7 layers of MobileNetV2 and ShuffleNet v1, where the executor calls this kernel:
// layers of fewer than eight channels and the last channels of a layer whose others run eight at a
// time, see wc_depthwise3x3x8_avx2), as depthwise_small: each padded input row is
// copied once (through the reader) into a block on the stack, split into its even and odd padded
// columns, so that the three taps of eight outputs are three plain loads (even[ox], odd[ox],
// even[ox + 1]) where the column order loaded sixteen floats twice and shuffled them, masked at
// both edges, for every row. Two output rows at a time, rows outside the plane skipped and the
// sums in the column order's order: the same results bit for bit.
enum { SMALL2_HEIGHT = 16, SMALL2_WIDTH = 40, SMALL2_HALF = 32 };

/// Whether depthwise_small2 takes a plane: the block holds its rows, and its split rows hold every
/// column the copy writes (the input's pairs of columns from pad_left / 2) and the taps read
/// (even[out_width]).
static inline bool fits_small2(long height, long width, long out_height, long out_width, long stride, long pad_top,
                               long pad_left) {
    return stride == 2 && out_width <= SMALL_WIDTH && out_height <= SMALL2_HEIGHT && pad_top >= 0 && pad_left >= 0
        && pad_top <= 2 && pad_left <= 2 && width <= SMALL2_WIDTH && height <= 2 * SMALL2_HEIGHT + 1;
}

/// Output rows oy and oy + 1 of one column block from depthwise_small2's block (rows of
/// 2 · SMALL2_HALF floats: the even padded columns, then the odd ones). Where `edge`, rows outside
/// the plane are skipped (see small_quad); `pair` is false for a last single row.
static SPECIALISED AVX2 void small2_pair(const float *block, long oy, long ox, long pad_top, long height,
                                         const __m256 w[9], __m256 b, __m256 acc[2], const bool edge, const bool pair) {
    acc[0] = b;
    acc[1] = b;
    UNROLLED for (int r = 0; r < 5; r++) {
        if (!pair && r > 2) continue;
        const long iy = 2 * oy + r - pad_top;
        if (edge && (iy < 0 || iy >= height)) continue;
        const float *even = block + (2 * oy + r) * 2 * SMALL2_HALF + ox, *odd = even + SMALL2_HALF;
        const __m256 t[3] = {_mm256_loadu_ps(even), _mm256_loadu_ps(odd), _mm256_loadu_ps(even + 1)};
        UNROLLED for (int q = 0; q < 2; q++) {
            const int ky = r - 2 * q;
            if (ky < 0 || ky > 2 || (q == 1 && !pair)) continue;
            UNROLLED for (int j = 0; j < 3; j++) acc[q] = _mm256_fmadd_ps(t[j], w[3 * ky + j], acc[q]);
        }
    }
}

static SPECIALISED AVX2 void depthwise_small2(const float *input, long height, long width,
                                              float *output, long out_height, long out_width, long pad_top, long pad_left,
                                              const float *filter, float bias, const float *residual,
                                              int input_activation, const bool biased, float input_bias, int activation) {
    float block[(2 * SMALL2_HEIGHT + 1) * 2 * SMALL2_HALF] __attribute__((aligned(32)));
    const long rows = 2 * out_height + 1;
    const __m256 zero = _mm256_setzero_ps();
    // Input column x sits at padded column x + pad_left: an even input lands in the even half
    // when pad_left is even, else in the odd half, at index (x + pad_left) / 2.
    const long shift_even = pad_left / 2, shift_odd = (pad_left + 1) / 2;
    for (long r = 0; r < rows; r++) {
        float *even = block + r * 2 * SMALL2_HALF, *odd = even + SMALL2_HALF;
        for (long c = 0; c < 2 * SMALL2_HALF; c += 8) _mm256_store_ps(even + c, zero);
        const long iy = r - pad_top;
        if (iy < 0 || iy >= height) continue;
        const float *from = input + iy * width;
        // Lanes past the row load as zero and are cleared again after an input bias (they are padding).
        for (long c = 0; c < width; c += 16) {
            const __m256i m0 = inside(c, width), m1 = inside(c + 8, width);
            __m256 lo = through(_mm256_maskload_ps(from + c, m0), input_activation, biased, input_bias);
            __m256 hi = through(_mm256_maskload_ps(from + c + 8, m1), input_activation, biased, input_bias);
            if (biased) {
                lo = _mm256_and_ps(lo, _mm256_castsi256_ps(m0));
                hi = _mm256_and_ps(hi, _mm256_castsi256_ps(m1));
            }
            const __m256 e = even_lanes(lo, hi), o = odd_lanes(lo, hi);
            if (pad_left % 2 == 0) {
                _mm256_storeu_ps(even + c / 2 + shift_even, e);
                _mm256_storeu_ps(odd + c / 2 + shift_even, o);
            } else {
                _mm256_storeu_ps(odd + c / 2 + shift_even, e);
                _mm256_storeu_ps(even + c / 2 + shift_odd, o);
            }
        }
    }
    __m256 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm256_set1_ps(filter[i]);
    const __m256 b = _mm256_set1_ps(bias);
    const long blocks = out_width > 8 ? 2 : 1;
    for (long k = 0; k < blocks; k++) {
        const long ox = k == 0 ? 0 : out_width - 8;
        const store_mask s = store_for(ox, out_width);
        for (long oy = 0; oy < out_height; oy += 2) {
            __m256 acc[2];
            const bool pair = oy + 1 < out_height;
            const bool edge = 2 * oy - pad_top < 0 || 2 * oy + 4 - pad_top >= height;
            if (pair && !edge) small2_pair(block, oy, ox, pad_top, height, w, b, acc, false, true);
            else if (pair) small2_pair(block, oy, ox, pad_top, height, w, b, acc, true, true);
            else small2_pair(block, oy, ox, pad_top, height, w, b, acc, true, false);
            finish(output + oy * out_width + ox, residual ? residual + oy * out_width + ox : 0, s, acc[0], activation);
            if (pair)
                finish(output + (oy + 1) * out_width + ox, residual ? residual + (oy + 1) * out_width + ox : 0, s, acc[1],
                       activation);
        }
    }
}

// depthwise_small and depthwise_small2 out of line (their blocks stay off the other paths' frames),
// with and without an input bias.
#define DEPTHWISE_SMALL(name, kernel, biased)                                                                         \
    static __attribute__((noinline)) AVX2 void name(const float *input, long height, long width, float *output,       \
                                                    long out_height, long out_width, long pad_top, long pad_left,    \
                                                    const float *filter, float bias, const float *residual,          \
                                                    int input_activation, float input_bias, int activation) {        \
        kernel(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias, residual,       \
               input_activation, biased, input_bias, activation);                                                    \
    }
DEPTHWISE_SMALL(depthwise_small_plain, depthwise_small, false)
DEPTHWISE_SMALL(depthwise_small_biased, depthwise_small, true)
DEPTHWISE_SMALL(depthwise_small2_plain, depthwise_small2, false)
DEPTHWISE_SMALL(depthwise_small2_biased, depthwise_small2, true)

/// The column order with an input bias, out of line: the plain one stays as it was in the caller.
static __attribute__((noinline)) AVX2 void depthwise_columns_biased(const float *input, long height, long width,
                                                                    float *output, long out_height, long out_width,
                                                                    long stride, long pad_top, long pad_left,
                                                                    const float *filter, float bias, const float *residual,
                                                                    int input_activation, float input_bias, int activation) {
    depthwise_columns(input, height, width, output, out_height, out_width, stride, pad_top, pad_left, filter, bias,
                      residual, input_activation, true, input_bias, activation);
}

void AVX2 wc_depthwise3x3_avx2(const float *input, long height, long width,
                               float *output, long out_height, long out_width,
                               long stride, long pad_top, long pad_left,
                               const float *filter, float bias, const float *residual,
                               const float *input_bias, int input_activation, int activation) {
    const long pitch = ring_pitch(width, out_width, stride, pad_left, 8);
    // With and without an input bias dispatched apart: clang derives from each plain path's
    // conditions what its function is called with (the ring's outputs wider than 16, its pitch at
    // most RING_PITCH) and compiles it for that; mixed with the biased conditions, it did not,
    // and the plain ring kept its weights on the stack.
    if (input_bias) {
        const float b = *input_bias;
        if (fits_small(height, width, out_height, out_width, stride, pad_top, pad_left))
            depthwise_small_biased(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias,
                                   residual, input_activation, b, activation);
        else if (fits_small2(height, width, out_height, out_width, stride, pad_top, pad_left))
            depthwise_small2_biased(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias,
                                    residual, input_activation, b, activation);
        // Planes 8 to 16 outputs wide take the ring too: the column order would add the bias and
        // apply the activation to every tap it loads (three to four times each input), the ring
        // once to each input (ShuffleNet v1's stride-2 layer over 28×28 planes took 1.31× the
        // plain layer's time in the column order).
        else if (out_width < 8 || pitch > RING_PITCH)
            depthwise_columns_biased(input, height, width, output, out_height, out_width, stride, pad_top, pad_left,
                                     filter, bias, residual, input_activation, b, activation);
        else if (stride == 1)
            depthwise_rows_1_biased(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias,
                                    residual, input_activation, b, activation, pitch);
        else
            depthwise_rows_2_biased(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias,
                                    residual, input_activation, b, activation, pitch);
        return;
    }
    if (fits_small(height, width, out_height, out_width, stride, pad_top, pad_left)) {
        depthwise_small_plain(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias,
                              residual, input_activation, 0.0f, activation);
    } else if (fits_small2(height, width, out_height, out_width, stride, pad_top, pad_left) && out_width > 8) {
        // Planes of one column block (14×14 → 7×7) copy more than they save when plain (C test:
        // 1.05–1.11 of the column order's time); with an input bias, the column order pays more.
        depthwise_small2_plain(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias,
                               residual, input_activation, 0.0f, activation);
    } else if (out_width <= 16 || pitch > RING_PITCH) {
        depthwise_columns(input, height, width, output, out_height, out_width, stride, pad_top, pad_left, filter, bias,
                          residual, input_activation, false, 0.0f, activation);
    } else if (stride == 1) {
        depthwise_rows_1(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias, residual,
                         input_activation, 0.0f, activation, pitch);
    } else {
        depthwise_rows_2(input, height, width, output, out_height, out_width, pad_top, pad_left, filter, bias, residual,
                         input_activation, 0.0f, activation, pitch);
    }
}

// Eight planes at once, channels in the lanes (as onnxruntime's NCHWc8 layout): the planes are
// transposed, eight columns at a time, into a zero-padded block of pixels of eight channels
// (through the input bias and activation), every output pixel of the eight channels is then nine
// plain loads and FMAs with no edge cases, and each output row is transposed back into the eight
// planes with the residual and activation. Plane by plane, the small planes paid more for their
// edges, masks and copies than for their sums: 576 × 14×14 → 7×7 took 4.6× onnxruntime's time.
// Same sums in the same order as the plane kernels (rows outside the plane skipped, padding
// columns added as zeros), so the same results bit for bit.

/// The 8×8 transpose of r[0..7] in place: r[i] lane j becomes r[j] lane i.
static inline AVX2 void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

// Where it pays (C test, 1 thread, AMD EPYC Zen 3, against wc_depthwise3x3_avx2 plane by plane,
// with and without an input bias): stride 2 over small planes, which the plane kernels split into
// even and odd columns (192 × 28×28 → 14×14 0.79–0.84 of the time, 576 × 14×14 → 7×7 0.69–0.76),
// and planes less than eight outputs wide, which leave lanes empty (960 and 240 × 7×7 0.81–0.83).
// Elsewhere the transposes cost more than the edges they remove: 14×14 and 28×28 at stride 1
// 1.04–1.10, 56×56 and wider 1.3–1.6. Against the AVX-512 plane kernel (AMD EPYC Zen 4) it pays
// only at stride 1 on planes less than eight outputs wide, where that kernel leaves more than half
// its sixteen lanes empty: MobileNetV2's 960 × 7×7 layers 0.81–0.82 of their time in the network
// (tools/bench_layers_ab.py, 6 rounds, 1 thread), and in a C test 0.83 at 1 image, 0.88 at 8,
// 1.03 at 32 with the caches flushed. At stride 2 the 14×14 → 7×7 layer took 0.83–0.90 at 1 and 8
// images but 1.9–2.1 at 32, and at 14 outputs wide 1.46–1.54 at both strides.
bool wc_depthwise3x3x8_pays(long out_width, long stride, bool against_avx512) {
    if (against_avx512) return stride == 1 && out_width < 8;
    return stride == 2 ? out_width <= 16 : out_width < 8;
}

long wc_depthwise3x3x8_work(long out_height, long out_width, long stride) {
    const long rows = (out_height - 1) * stride + 3, columns = (out_width - 1) * stride + 3;
    return (rows * columns + out_width + 8) * 8;
}

static SPECIALISED AVX2 void depthwise_x8(const float *const input[8], long height, long width,
                                          float *const output[8], long out_height, long out_width, const long stride,
                                          long pad_top, long pad_left, const float *filter, const float *bias,
                                          const float *const residual[8], const float *input_bias,
                                          int input_activation, int activation, float *work) {
    const long rows = (out_height - 1) * stride + 3, columns = (out_width - 1) * stride + 3;
    float *block = work, *line = work + rows * columns * 8; // [rows][columns][8], then [out_width + 8][8]
    const __m256 zero = _mm256_setzero_ps();
    const __m256 in_bias = input_bias ? _mm256_loadu_ps(input_bias) : zero;
    // At stride 1 (planes under eight outputs wide) the eight planes are fetched first: read row by
    // row across eight planes, a batch's planes that have left the cache arrive one miss at a time
    // (C test, AMD EPYC Zen 4, 960 × 7×7, 32 images, caches flushed: 1.13 of the AVX-512 plane
    // kernel's time without this, 1.03 with it; 1.22 and 0.79 of the AVX2 plane kernel's). At
    // stride 2 it cost more than it saved (14×14 → 7×7 at 1 and 8 images: 1.05–1.1).
    if (stride == 1)
        for (int k = 0; k < 8; k++)
            for (long i = 0; i < height * width; i += 16) _mm_prefetch((const char *)(input[k] + i), _MM_HINT_T0);
    // Block row r, column c holds input row r − pad_top, column c − pad_left; the rest is padding.
    const long first_row = pad_top, last_row = height + pad_top < rows ? height + pad_top : rows;
    const long first_col = pad_left, last_col = width + pad_left < columns ? width + pad_left : columns;
    for (long r = 0; r < rows; r++) {
        float *to = block + r * columns * 8;
        if (r < first_row || r >= last_row) {
            for (long c = 0; c < columns; c++) _mm256_storeu_ps(to + c * 8, zero);
            continue;
        }
        for (long c = 0; c < first_col; c++) _mm256_storeu_ps(to + c * 8, zero);
        for (long c = last_col; c < columns; c++) _mm256_storeu_ps(to + c * 8, zero);
        const long iy = r - pad_top;
        for (long x = 0; x < last_col - pad_left; x += 8) {
            const __m256i m = inside(x, width);
            const bool full = x + 8 <= width;
            __m256 v[8];
            UNROLLED for (int k = 0; k < 8; k++) {
                const float *from = input[k] + iy * width + x;
                v[k] = full ? _mm256_loadu_ps(from) : _mm256_maskload_ps(from, m);
            }
            transpose8(v);
            const long n = last_col - pad_left - x < 8 ? last_col - pad_left - x : 8;
            for (long j = 0; j < n; j++) {
                __m256 p = v[j];
                if (input_bias) p = _mm256_add_ps(p, in_bias);
                _mm256_storeu_ps(to + (pad_left + x + j) * 8, activate(p, input_activation));
            }
        }
    }
    __m256 w[9];
    UNROLLED for (int t = 0; t < 9; t++) {
        // Lane k: tap t of channel k.
        w[t] = _mm256_setr_ps(filter[t], filter[9 + t], filter[18 + t], filter[27 + t], filter[36 + t], filter[45 + t],
                              filter[54 + t], filter[63 + t]);
    }
    const __m256 b = _mm256_loadu_ps(bias);
    for (long oy = 0; oy < out_height; oy++) {
        // Taps of rows outside the plane are skipped, as the plane kernels skip them.
        long ky0 = 0, ky1 = 3;
        while (ky0 < 3 && oy * stride + ky0 < first_row) ky0++;
        while (ky1 > ky0 && oy * stride + ky1 - 1 >= last_row) ky1--;
        long ox = 0;
        for (; ox + 4 <= out_width; ox += 4) {
            __m256 acc[4] = {b, b, b, b};
            for (long ky = ky0; ky < ky1; ky++) {
                const float *row = block + ((oy * stride + ky) * columns + ox * stride) * 8;
                UNROLLED for (int kx = 0; kx < 3; kx++) {
                    UNROLLED for (int q = 0; q < 4; q++)
                        acc[q] = _mm256_fmadd_ps(_mm256_loadu_ps(row + (q * stride + kx) * 8), w[ky * 3 + kx], acc[q]);
                }
            }
            UNROLLED for (int q = 0; q < 4; q++) _mm256_storeu_ps(line + (ox + q) * 8, acc[q]);
        }
        for (; ox < out_width; ox++) {
            __m256 acc = b;
            for (long ky = ky0; ky < ky1; ky++) {
                const float *row = block + ((oy * stride + ky) * columns + ox * stride) * 8;
                UNROLLED for (int kx = 0; kx < 3; kx++) acc = _mm256_fmadd_ps(_mm256_loadu_ps(row + kx * 8), w[ky * 3 + kx], acc);
            }
            _mm256_storeu_ps(line + ox * 8, acc);
        }
        for (long x = 0; x < out_width; x += 8) {
            __m256 v[8];
            UNROLLED for (int j = 0; j < 8; j++) v[j] = _mm256_loadu_ps(line + (x + j) * 8);
            transpose8(v);
            const store_mask s = store_for(x, out_width);
            UNROLLED for (int k = 0; k < 8; k++)
                finish(output[k] + oy * out_width + x, residual ? residual[k] + oy * out_width + x : 0, s, v[k], activation);
        }
    }
}

void AVX2 wc_depthwise3x3x8_avx2(const float *const input[8], long height, long width,
                                 float *const output[8], long out_height, long out_width,
                                 long stride, long pad_top, long pad_left, const float *filter, const float *bias,
                                 const float *const residual[8], const float *input_bias,
                                 int input_activation, int activation, float *work) {
    if (stride == 1)
        depthwise_x8(input, height, width, output, out_height, out_width, 1, pad_top, pad_left, filter, bias, residual,
                     input_bias, input_activation, activation, work);
    else
        depthwise_x8(input, height, width, output, out_height, out_width, 2, pad_top, pad_left, filter, bias, residual,
                     input_bias, input_activation, activation, work);
}

// Whole vectors, then the tail: a mask per vector (as the AVX-512 kernel's, which is free there)
// cost this loop a third of its time.
void AVX2 wc_epilogue_avx2(float *row, long count, float bias, const float *residual, int activation) {
    const __m256 b = _mm256_set1_ps(bias);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(row + i), b);
        if (residual) v = _mm256_add_ps(v, _mm256_loadu_ps(residual + i));
        _mm256_storeu_ps(row + i, activate(v, activation));
    }
    if (i < count) {
        const __m256i m = inside(i, count);
        __m256 v = _mm256_add_ps(_mm256_maskload_ps(row + i, m), b);
        if (residual) v = _mm256_add_ps(v, _mm256_maskload_ps(residual + i, m));
        store_first(row + i, count - i, activate(v, activation));
    }
}

/// `a` combined with `b` by the pooling kind: NaN-propagating max (b wins when it is larger or
/// NaN, so a NaN already in `a` stays), or sum.
static inline AVX2 __m256 pool_combine(__m256 a, __m256 b, int kind) {
    if (kind == WC_POOL_AVERAGE) return _mm256_add_ps(a, b);
    const __m256 take = _mm256_or_ps(_mm256_cmp_ps(b, a, _CMP_GT_OQ), _mm256_cmp_ps(b, b, _CMP_UNORD_Q));
    return _mm256_blendv_ps(a, b, take);
}

static SPECIALISED AVX2 void pool3x3(const float *input, long height, long width, float *output, long out_height,
                                long out_width, long stride, long pad_top, long pad_left, const int kind) {
    const __m256 identity = _mm256_set1_ps(kind == WC_POOL_MAX ? -__builtin_inff() : 0.0f);
    const __m256 ninth = _mm256_set1_ps(9.0f);
    for (long ox = 0; ox < out_width; ox += 8) {
        const store_mask s = store_for(ox, out_width);
        const long x = ox * stride - pad_left;
        taps_mask m;
        tap_masks(x, width, stride, &m);
        for (long oy = 0; oy < out_height; oy++) {
            __m256 acc = identity;
            for (int ky = 0; ky < 3; ky++) {
                const long iy = oy * stride - pad_top + ky;
                if (iy < 0 || iy >= height) continue;
                __m256 t[3];
                row_taps(input + iy * width, x, &m, identity, stride, t);
                acc = pool_combine(pool_combine(pool_combine(acc, t[0], kind), t[1], kind), t[2], kind);
            }
            if (kind == WC_POOL_AVERAGE) acc = _mm256_div_ps(acc, ninth);
            store(output + oy * out_width + ox, s, acc);
        }
    }
}

// Planes wider than 16 outputs, row by row from the ring of padded rows (see depthwise_rows): the
// rows are padded with the pooling's identity, rows outside the plane are skipped as above, and
// the window's values are combined in the same order, so the results are the same bit for bit.
// C test, 1 thread, against the column order: 0.72–0.81 of the time over 112×112 planes (ShuffleNet
// v1's max pool), 0.92–0.95 over 56×56 and 28×28.
//
// Both are SPECIALISED into wc_pool3x3_avx2's calls, one per kind and stride. C test (the two
// builds in one process, alternating, 15 rounds, SwiftPM's flags, AMD EPYC Zen 3), against the
// same code left to the compiler: max pool 24 or 64 × 112×112, stride 2, 0.73–0.80 of the time;
// average pool 24 × 56×56 0.74, 240 × 28×28 0.90. Same results bit for bit.
static SPECIALISED AVX2 void pool3x3_rows(const float *input, long height, long width, float *output, long out_height,
                                     long out_width, const long stride, long pad_top, long pad_left, const int kind,
                                     long pitch) {
    const __m256 identity = _mm256_set1_ps(kind == WC_POOL_MAX ? -__builtin_inff() : 0.0f);
    const __m256 ninth = _mm256_set1_ps(9.0f);
    float rows[5 * RING_PITCH] __attribute__((aligned(32)));
    row_ring g = ring_in(rows, pitch, identity);
    for (long oy = 0; oy < out_height; oy++) {
        const float *r[3];
        for (int k = 0; k < 3; k++) {
            const long iy = oy * stride - pad_top + k;
            r[k] = iy < 0 || iy >= height ? 0 : ring_row(&g, input, height, width, pad_left, iy, WC_IDENTITY, false, 0.0f, identity);
        }
        float *o = output + oy * out_width;
        for (long ox = 0; ox < out_width; ox = next_block(ox, out_width)) {
            __m256 acc = identity, t[3];
            for (int k = 0; k < 3; k++) {
                if (!r[k]) continue;
                ring_taps(r[k], ox, stride, t);
                acc = pool_combine(pool_combine(pool_combine(acc, t[0], kind), t[1], kind), t[2], kind);
            }
            if (kind == WC_POOL_AVERAGE) acc = _mm256_div_ps(acc, ninth);
            _mm256_storeu_ps(o + ox, stride == 1 ? acc : in_order(acc));
        }
    }
}

void AVX2 wc_pool3x3_avx2(const float *input, long height, long width, float *output, long out_height,
                          long out_width, long stride, long pad_top, long pad_left, int kind) {
    POOL3X3_DISPATCH(8, 16);
}

// Up to BLOCK output channels at a time: 8 accumulators, 3 taps and a broadcast weight fit AVX2's
// 16 registers. `count` is a constant in each call below, so once inlined the accumulator loops
// unroll and the accumulators stay in registers.
enum { BLOCK = 8, BAND = 8 };

/// `CALL(n)` with n the block size `count` (1 to BLOCK) as a constant, so that each size gets its
/// own code with its accumulators in registers.
#define FOR_BLOCK_SIZE(count, CALL) do { \
        switch (count) { \
        case 1: CALL(1); break; \
        case 2: CALL(2); break; \
        case 3: CALL(3); break; \
        case 4: CALL(4); break; \
        case 5: CALL(5); break; \
        case 6: CALL(6); break; \
        case 7: CALL(7); break; \
        default: CALL(8); break; \
        } \
    } while (0)

static inline AVX2 void grouped_block(const float *input, long height, long width, long in_channels,
                                      float *output, long plane_out, long out_width, long stride, long pad_top,
                                      long x, long ox, const taps_mask *m, store_mask s,
                                      const float *filter, const float *bias, int activation, long oy,
                                      const int count) {
    __m256 acc[BLOCK];
    for (int j = 0; j < count; j++) acc[j] = _mm256_set1_ps(bias[j]);
    const long taps = in_channels * 9;
    for (long i = 0; i < in_channels; i++) {
        const float *plane = input + i * height * width;
        for (int ky = 0; ky < 3; ky++) {
            const long iy = oy * stride - pad_top + ky;
            if (iy < 0 || iy >= height) continue;
            __m256 t[3];
            row_taps(plane + iy * width, x, m, _mm256_setzero_ps(), stride, t);
            const float *w = filter + i * 9 + ky * 3;
            for (int j = 0; j < count; j++) {
                acc[j] = _mm256_fmadd_ps(t[0], _mm256_broadcast_ss(w + j * taps), acc[j]);
                acc[j] = _mm256_fmadd_ps(t[1], _mm256_broadcast_ss(w + j * taps + 1), acc[j]);
                acc[j] = _mm256_fmadd_ps(t[2], _mm256_broadcast_ss(w + j * taps + 2), acc[j]);
            }
        }
    }
    for (int j = 0; j < count; j++) finish(output + j * plane_out + oy * out_width + ox, 0, s, acc[j], activation);
}

// Stems: stride 2 over at most STEM_CHANNELS input channels (the 3-channel stems of ShuffleNet v1,
// MobileNetV2 and Xception). Each input row a band needs is split once into its even and odd
// columns (zero-padded), so that the three taps of eight outputs are three plain loads where the
// general kernel (below) does four loads, three shuffles and three lane-crossing permutes for every
// row of every block of output channels. Same sums in the same order (rows outside the plane
// skipped, padded columns multiplied as zeros), so the same results bit for bit. In the networks
// (`tools/bench_layers_ab.py --changed "conv 3×3"`, 1 thread, AMD EPYC Zen 3, 4–8 rounds, against
// the general kernel): the stems of ShuffleNet v1 0.79, MobileNetV2 0.76, Xception 0.78. Bands of
// four output rows keep the split rows (nine per channel, 46 KiB) on the stack.
enum { STEM_CHANNELS = 4, STEM_BAND = 4, STEM_ROWS = 2 * STEM_BAND + 1, STEM_HALF = 160 };

/// Floats in each half (even or odd columns) of a split row for `out_width` outputs: the last
/// block's third tap reads up to column out_width + 7 of the even half.
static inline long stem_half(long out_width) { return (out_width + 8 + 7) / 8 * 8; }

static inline bool fits_stem(long in_channels, long out_width, long stride, long pad_left) {
    return stride == 2 && in_channels <= STEM_CHANNELS && pad_left >= 0 && pad_left <= 2 && stem_half(out_width) <= STEM_HALF;
}

typedef struct {
    float half[STEM_CHANNELS][STEM_ROWS][2][STEM_HALF];
    bool inside[STEM_ROWS]; // whether the band's row r is a row of the plane
} stem_rows;

static SPECIALISED AVX2 void stem_block(const stem_rows *rows, long in_channels, long r0, float *output, long plane_out,
                                        long out_width, long oy, long ox, store_mask s, const float *filter,
                                        const float *bias, int activation, const int count) {
    const long taps = in_channels * 9;
    __m256 acc[BLOCK];
    UNROLLED for (int j = 0; j < count; j++) acc[j] = _mm256_set1_ps(bias[j]);
    for (long i = 0; i < in_channels; i++) {
        for (int ky = 0; ky < 3; ky++) {
            if (!rows->inside[r0 + ky]) continue;
            const float *even = rows->half[i][r0 + ky][0] + ox, *odd = rows->half[i][r0 + ky][1] + ox;
            const __m256 t0 = _mm256_loadu_ps(even), t1 = _mm256_loadu_ps(odd), t2 = _mm256_loadu_ps(even + 1);
            const float *w = filter + i * 9 + ky * 3;
            UNROLLED for (int j = 0; j < count; j++) {
                acc[j] = _mm256_fmadd_ps(t0, _mm256_broadcast_ss(w + j * taps), acc[j]);
                acc[j] = _mm256_fmadd_ps(t1, _mm256_broadcast_ss(w + j * taps + 1), acc[j]);
                acc[j] = _mm256_fmadd_ps(t2, _mm256_broadcast_ss(w + j * taps + 2), acc[j]);
            }
        }
    }
    UNROLLED for (int j = 0; j < count; j++) finish(output + j * plane_out + oy * out_width + ox, 0, s, acc[j], activation);
}

static __attribute__((noinline)) AVX2 void stem(const float *input, long height, long width, long in_channels,
                                                float *output, long out_height, long out_width, long out_channels,
                                                long plane_out, long pad_top, long pad_left, const float *filter,
                                                const float *bias, int activation) {
    stem_rows rows;
    const long half = stem_half(out_width), taps = in_channels * 9;
    for (long band = 0; band < out_height; band += STEM_BAND) {
        const long band_end = band + STEM_BAND < out_height ? band + STEM_BAND : out_height;
        const long first = 2 * band - pad_top, count = 2 * (band_end - band) + 1;
        for (long r = 0; r < count; r++) {
            const long iy = first + r;
            rows.inside[r] = iy >= 0 && iy < height;
            if (!rows.inside[r]) continue;
            for (long i = 0; i < in_channels; i++) {
                const float *row = input + (i * height + iy) * width;
                // Padded column 2j + l is input column 2j + l − pad_left; masked lanes load zero.
                for (long j = 0; j < half; j += 8) {
                    const long x = 2 * j - pad_left;
                    const __m256i m0 = inside(x, width), m1 = inside(x + 8, width);
                    const __m256 lo = load(row, x, m0, all_lanes(m0), _mm256_setzero_ps());
                    const __m256 hi = load(row, x + 8, m1, all_lanes(m1), _mm256_setzero_ps());
                    _mm256_storeu_ps(rows.half[i][r][0] + j, even_lanes(lo, hi));
                    _mm256_storeu_ps(rows.half[i][r][1] + j, odd_lanes(lo, hi));
                }
            }
        }
        for (long o = 0; o < out_channels; o += BLOCK) {
            float *out = output + o * plane_out;
            const float *f = filter + o * taps, *b = bias + o;
            const long block = out_channels - o < BLOCK ? out_channels - o : BLOCK;
            for (long oy = band; oy < band_end; oy++) {
                for (long ox = 0; ox < out_width; ox += 8) {
                    const store_mask s = store_for(ox, out_width);
#define STEM_OF(n) stem_block(&rows, in_channels, 2 * (oy - band), out, plane_out, out_width, oy, ox, s, f, b, activation, n)
                    FOR_BLOCK_SIZE(block, STEM_OF);
#undef STEM_OF
                }
            }
        }
    }
}

void AVX2 wc_grouped3x3_avx2(const float *input, long height, long width, long in_channels,
                             float *output, long out_height, long out_width, long out_channels, long out_plane,
                             long stride, long pad_top, long pad_left,
                             const float *filter, const float *bias, int activation) {
    const long taps = in_channels * 9, plane_out = out_plane;
    if (fits_stem(in_channels, out_width, stride, pad_left)) {
        stem(input, height, width, in_channels, output, out_height, out_width, out_channels, plane_out, pad_top, pad_left,
             filter, bias, activation);
        return;
    }
    // Bands of BAND output rows outside, then blocks of output channels, then rows and column
    // blocks. The AVX-512 kernel's order (rows outside, every channel block inside) writes to all
    // of the layer's output planes at once: a 3-channel stem's 24–32 streams of stores into memory
    // the layer has not touched yet, too many for the prefetchers. Here one block's eight planes
    // are written at a time, and a band's input rows stay in L1 and L2 across the blocks. Same
    // sums in the same order. C test, 1 thread, AMD EPYC Zen 3, input and output out of cache:
    // the stems 0.68–0.88 of the time (Xception's 1.80 → 1.30 ms), ResNeXt-50's grouped layers
    // 0.89–1.02; in ShuffleNet v1 (`bench --profile`, alternating builds) its stem 0.72–0.78.
    for (long band = 0; band < out_height; band += BAND) {
        const long band_end = band + BAND < out_height ? band + BAND : out_height;
        for (long o = 0; o < out_channels; o += BLOCK) {
            float *out = output + o * plane_out;
            const float *f = filter + o * taps, *b = bias + o;
            const long count = out_channels - o < BLOCK ? out_channels - o : BLOCK;
            for (long oy = band; oy < band_end; oy++) {
                for (long ox = 0; ox < out_width; ox += 8) {
                    const store_mask s = store_for(ox, out_width);
                    const long x = ox * stride - pad_left;
                    taps_mask m;
                    tap_masks(x, width, stride, &m);
#define BLOCK_OF(n) grouped_block(input, height, width, in_channels, out, plane_out, out_width, stride, pad_top, \
                                  x, ox, &m, s, f, b, activation, oy, n)
                    FOR_BLOCK_SIZE(count, BLOCK_OF);
#undef BLOCK_OF
                }
            }
        }
    }
}


// MARK: GEMM

// wc_gemm_avx512's contract in eight lanes, for the GEMMs the executor gives the engine under the
// AVX2 set: those over output planes narrower than 64 columns (7×7: 49), where oneDNN's AVX2
// kernels ran MobileNetV2's and ShuffleNet v1's 1×1 layers at 1.4–1.7 of the AVX-512 engine
// kernel's time. Tiles of up to 4 rows × 24 columns: 12 accumulators, three loads of B and four
// broadcasts of A a step of k, in AVX2's sixteen registers (6 rows × 16 columns, the other shape
// that fits, ran 0.8–0.95 as fast: C test, 1 thread, AMD EPYC Zen 4, the networks' 7×7 shapes with
// A cold). A row's last columns take a tile of one, two or three vectors, the last one masked; a
// single column past a multiple of 24 (49 = 2 · 24 + 1) is summed as dot products of A's rows with
// that column (gathered once) rather than costing a whole tile. Blocks of 128 steps of k, so that
// a block of B over a 7×7 plane (25 KiB) stays in L1 while the row blocks pass over it (with 256,
// the 960 × 49 × 160 and 320 × 49 × 960 layers took 1.1–1.3 of the time: each row block of four
// reads all of B); C's sums are carried from block to block, so each element is summed over k in
// order.
enum { GEMM2_ROWS = 4, GEMM2_COLUMNS = 24, GEMM2_DEPTH = 128, GEMM2_SPAN = 240 };

/// A vector of C's row `r` stored through `s`: as it is, or (`finish`) with the epilogue, bias
/// first, then `residual` and the activation (see `finish`); no bias is the plain product.
static inline AVX2 void gemm2_put(float *to, store_mask s, __m256 v, bool finished, const float *bias, long r,
                                  const float *residual, int activation) {
    if (finished && bias) finish(to, residual, s, _mm256_add_ps(v, _mm256_set1_ps(bias[r])), activation);
    else store(to, s, v);
}

/// Rows [0, rows) × `vectors` vectors of 8 columns of C (lanes outside `s[v]` neither read nor
/// written), over `depth` steps of k; `more` adds to what C holds, `last` applies the epilogue.
/// `next`, when not NULL, is the next row block's A. `whole` (a constant in every call): every
/// lane of the tile inside C, so B takes plain loads.
static SPECIALISED AVX2 void gemm2_tile(const int rows, const int vectors, const bool whole, long depth, const float *a,
                                        long lda, const float *b, long ldb, float *c, long ldc, const store_mask s[3],
                                        bool more, bool last, const float *bias, const float *residual, int activation,
                                        const float *next) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 c0[GEMM2_ROWS], c1[GEMM2_ROWS], c2[GEMM2_ROWS];
    UNROLLED for (int r = 0; r < rows; r++) {
        c0[r] = more ? load(c + r * ldc, 0, s[0].mask, s[0].full, zero) : zero;
        if (vectors > 1) c1[r] = more ? load(c + r * ldc, 8, s[1].mask, s[1].full, zero) : zero;
        if (vectors > 2) c2[r] = more ? load(c + r * ldc, 16, s[2].mask, s[2].full, zero) : zero;
    }
    // Runs of sixteen steps, so that the step loop has no test in it: with 12 products a step it
    // has half the arithmetic of wc_gemm_avx512's to hide its loads and loop overhead behind.
    for (long p0 = 0; p0 < depth; p0 += 16) {
        const long stop = p0 + 16 < depth ? p0 + 16 : depth;
        // A cache line of each of the next block's rows of A (as wc_gemm_avx512, for the same reasons).
        if (next)
            for (int r = 0; r < GEMM2_ROWS; r++) _mm_prefetch((const char *)at(next, r * lda + p0), _MM_HINT_T0);
        for (long p = p0; p < stop; p++) {
            const float *row = b + p * ldb;
            // The next tile's part of this row of B.
            _mm_prefetch((const char *)at(row, GEMM2_COLUMNS), _MM_HINT_T0);
            _mm_prefetch((const char *)at(row, GEMM2_COLUMNS + 8), _MM_HINT_T0);
            __m256 b0, b1, b2;
            if (whole) {
                b0 = _mm256_loadu_ps(row);
                b1 = vectors > 1 ? _mm256_loadu_ps(row + 8) : b0;
                b2 = vectors > 2 ? _mm256_loadu_ps(row + 16) : b0;
            } else {
                b0 = _mm256_maskload_ps(row, s[0].mask);
                b1 = vectors > 1 ? _mm256_maskload_ps(at(row, 8), s[1].mask) : b0;
                b2 = vectors > 2 ? _mm256_maskload_ps(at(row, 16), s[2].mask) : b0;
            }
            UNROLLED for (int r = 0; r < rows; r++) {
                const __m256 x = _mm256_broadcast_ss(a + r * lda + p);
                c0[r] = _mm256_fmadd_ps(x, b0, c0[r]);
                if (vectors > 1) c1[r] = _mm256_fmadd_ps(x, b1, c1[r]);
                if (vectors > 2) c2[r] = _mm256_fmadd_ps(x, b2, c2[r]);
            }
        }
    }
    UNROLLED for (int r = 0; r < rows; r++) {
        const float *extra = residual ? residual + r * ldc : NULL;
        gemm2_put(c + r * ldc, s[0], c0[r], last, bias, r, extra, activation);
        if (vectors > 1) gemm2_put(c + r * ldc + 8, s[1], c1[r], last, bias, r, extra ? extra + 8 : NULL, activation);
        if (vectors > 2) gemm2_put(c + r * ldc + 16, s[2], c2[r], last, bias, r, extra ? extra + 16 : NULL, activation);
    }
}

#define GEMM2_TILE(rows_, vectors, whole) \
    gemm2_tile(rows_, vectors, whole, depth, ai, lda, bj, ldb, cj, ldc, stores, more, last, bi, rj, activation, next)
#define GEMM2_ROWS_OF(vectors, whole) do { \
        switch (rows) { \
        case 4: GEMM2_TILE(4, vectors, whole); break; \
        case 3: GEMM2_TILE(3, vectors, whole); break; \
        case 2: GEMM2_TILE(2, vectors, whole); break; \
        default: GEMM2_TILE(1, vectors, whole); break; \
        } \
    } while (0)

/// The sum of the eight lanes.
static inline AVX2 float lanes_sum(__m256 s) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

/// Column `j` of rows [0, rows) of C over `depth` steps of k: each row's dot product with the
/// column of B, gathered once into `column`.
static inline AVX2 void gemm2_column(long rows, long j, long depth, const float *a, long lda, const float *column,
                                     float *c, long ldc, bool more, bool last, const float *bias,
                                     const float *residual, int activation) {
    for (long i = 0; i < rows; i++) {
        const float *row = a + i * lda;
        __m256 s = _mm256_setzero_ps();
        long p = 0;
        for (; p + 8 <= depth; p += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(row + p), _mm256_loadu_ps(column + p), s);
        if (p < depth) {
            const __m256i mp = inside(p, depth);
            s = _mm256_fmadd_ps(_mm256_maskload_ps(row + p, mp), _mm256_maskload_ps(column + p, mp), s);
        }
        // In lane 0 of a vector, so that the tiles' epilogue finishes it too.
        gemm2_put(c + i * ldc + j, store_for(0, 1), _mm256_set1_ps(lanes_sum(s) + (more ? c[i * ldc + j] : 0.0f)), last,
                  bias, i, residual ? residual + i * ldc + j : NULL, activation);
    }
}

void AVX2 wc_gemm_avx2(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                       float *c, long ldc, const float *bias, const float *residual, int activation) {
    if (k == 0) {
        // No products: C is the epilogue of zero.
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j += 8)
                gemm2_put(c + i * ldc + j, store_for(j, n), _mm256_setzero_ps(), true, bias, i,
                          residual ? residual + i * ldc + j : NULL, activation);
        return;
    }
    // One column past a multiple of 24 goes to gemm2_column; the tiles cover the rest.
    const long tiled = n > 1 && n % GEMM2_COLUMNS == 1 ? n - 1 : n;
    float column[GEMM2_DEPTH];
    // k in blocks of equal depth (144: 72 + 72, not 128 + 16, whose second block would load and
    // store C for a few steps of k).
    const long blocks = (k + GEMM2_DEPTH - 1) / GEMM2_DEPTH, step = (k + blocks - 1) / blocks;
    for (long pc = 0; pc < k; pc += step) {
        const long depth = k - pc < step ? k - pc : step;
        const bool more = pc > 0, last = pc + depth == k;
        if (tiled < n)
            for (long p = 0; p < depth; p++) column[p] = b[(pc + p) * ldb + tiled];
        for (long jc = 0; jc < tiled; jc += GEMM2_SPAN) {
            const long end = jc + GEMM2_SPAN < tiled ? jc + GEMM2_SPAN : tiled;
            for (long i = 0; i < m; i += GEMM2_ROWS) {
                const long rows = m - i < GEMM2_ROWS ? m - i : GEMM2_ROWS;
                const float *ai = a + i * lda + pc, *bi = bias ? bias + i : NULL;
                for (long j = jc; j < end; j += GEMM2_COLUMNS) {
                    const float *next = j == jc && i + GEMM2_ROWS < m ? ai + GEMM2_ROWS * lda : NULL;
                    const float *bj = b + pc * ldb + j, *rj = residual ? residual + i * ldc + j : NULL;
                    float *cj = c + i * ldc + j;
                    const store_mask stores[3] = {store_for(j, tiled), store_for(j + 8, tiled), store_for(j + 16, tiled)};
                    const long width = tiled - j;
                    if (width >= 24) GEMM2_ROWS_OF(3, true);
                    else if (width > 16) GEMM2_ROWS_OF(3, false);
                    else if (width >= 16) GEMM2_ROWS_OF(2, true);
                    else if (width > 8) GEMM2_ROWS_OF(2, false);
                    else if (width == 8) GEMM2_ROWS_OF(1, true);
                    else GEMM2_ROWS_OF(1, false);
                }
                if (end == tiled && tiled < n)
                    gemm2_column(rows, tiled, depth, ai, lda, column, c + i * ldc, ldc, more, last, bi,
                                 residual ? residual + i * ldc : NULL, activation);
            }
        }
    }
}


/// x[b]·w[o] for `batches` rows of x (≤ 2) and `outputs` rows of w (≤ 6), each sum kept in eight
/// lanes and added across them once at the end.
static SPECIALISED AVX2 void linear2_block(const int batches, const int outputs, long k, const float *x, const float *w,
                                           const float *bias, float *y, long ldy) {
    __m256 s0[6], s1[6];
    UNROLLED for (int o = 0; o < outputs; o++) s0[o] = s1[o] = _mm256_setzero_ps();
    long p = 0;
    for (; p + 8 <= k; p += 8) {
        const __m256 x0 = _mm256_loadu_ps(x + p);
        const __m256 x1 = batches > 1 ? _mm256_loadu_ps(x + k + p) : x0;
        UNROLLED for (int o = 0; o < outputs; o++) {
            const __m256 wv = _mm256_loadu_ps(w + o * k + p);
            s0[o] = _mm256_fmadd_ps(x0, wv, s0[o]);
            if (batches > 1) s1[o] = _mm256_fmadd_ps(x1, wv, s1[o]);
        }
    }
    if (p < k) {
        const __m256i m = inside(p, k);
        const __m256 x0 = _mm256_maskload_ps(x + p, m);
        const __m256 x1 = batches > 1 ? _mm256_maskload_ps(x + k + p, m) : x0;
        UNROLLED for (int o = 0; o < outputs; o++) {
            const __m256 wv = _mm256_maskload_ps(w + o * k + p, m);
            s0[o] = _mm256_fmadd_ps(x0, wv, s0[o]);
            if (batches > 1) s1[o] = _mm256_fmadd_ps(x1, wv, s1[o]);
        }
    }
    UNROLLED for (int o = 0; o < outputs; o++) {
        y[o] = lanes_sum(s0[o]) + (bias ? bias[o] : 0.0f);
        if (batches > 1) y[ldy + o] = lanes_sum(s1[o]) + (bias ? bias[o] : 0.0f);
    }
}

#define LINEAR2_OUTPUTS(batches) do { \
        switch (outputs - o < 6 ? outputs - o : 6) { \
        case 6: linear2_block(batches, 6, k, xi, wo, bo, yio, ldy); break; \
        case 5: linear2_block(batches, 5, k, xi, wo, bo, yio, ldy); break; \
        case 4: linear2_block(batches, 4, k, xi, wo, bo, yio, ldy); break; \
        case 3: linear2_block(batches, 3, k, xi, wo, bo, yio, ldy); break; \
        case 2: linear2_block(batches, 2, k, xi, wo, bo, yio, ldy); break; \
        default: linear2_block(batches, 1, k, xi, wo, bo, yio, ldy); break; \
        } \
    } while (0)

// As wc_linear_avx512: six rows of weights at a time (twelve sums in AVX2's sixteen registers),
// over every row of the batch two at a time, so each block of weights is read from memory once.
void AVX2 wc_linear_avx2(long batch, long outputs, long k, const float *x, const float *w, const float *bias,
                         float *y, long ldy) {
    for (long o = 0; o < outputs; o += 6) {
        const float *wo = w + o * k, *bo = bias ? bias + o : NULL;
        for (long i = 0; i < batch; i += 2) {
            const float *xi = x + i * k;
            float *yio = y + i * ldy + o;
            if (batch - i >= 2) LINEAR2_OUTPUTS(2);
            else LINEAR2_OUTPUTS(1);
        }
    }
}

#else

bool wc_has_avx2_fma(void) { return false; }

#endif
