// The ring of padded input rows that Kernels.c and KernelsAVX2.c compute wide planes from (see
// `depthwise_rows` in each): four rows, each an input row copied once (through the input
// activation) between padding, plus a row of padding for the rows above and below the plane. The
// copying and the reading use each file's vectors; what the ring is, is shared here.
#ifndef CKERNELS_ROW_RING_H
#define CKERNELS_ROW_RING_H

/// Longest padded row the ring holds (floats); wider planes take the column order. Five rows of it
/// are 20 KiB on the calling thread's stack.
enum { RING_PITCH = 1024 };

typedef struct {
    float *slot[4];
    long row[4];       // the input row each slot holds, −1 for none
    const float *zero; // a row of padding: the rows above and below the plane
} row_ring;

/// The ring's row length (floats, a multiple of `lanes`) for a kernel over `width` input columns
/// giving `out_width` outputs in blocks of `lanes`: the copy writes whole vectors from column
/// pad_left, and the last block reads up to column stride·lanes·(blocks − 1) + lanes − 1 + 2
/// (stride 1) or + 2·lanes − 2 + 2 (stride 2), both below stride·lanes·blocks + 2.
static inline long ring_pitch(long width, long out_width, long stride, long pad_left, long lanes) {
    const long blocks = (out_width + lanes - 1) / lanes;
    long pitch = pad_left + (width + lanes - 1) / lanes * lanes;
    if (pitch < stride * lanes * blocks + 2) pitch = stride * lanes * blocks + 2;
    return (pitch + lanes - 1) / lanes * lanes;
}

/// The body of both files' 3×3 pooling entry points (wc_pool3x3_avx512, wc_pool3x3_avx2), whose
/// parameters it reads: the file's `pool3x3_rows` (row by row from the ring) where the plane is
/// more than `rows_from` outputs wide and a padded row of `lanes`-float blocks fits the ring, else
/// its `pool3x3` (the column order); each called with the pooling kind, and the ring with the
/// stride, as constants, so that each combination is compiled on its own.
#define POOL3X3_DISPATCH(lanes, rows_from) do { \
        const long pitch_ = ring_pitch(width, out_width, stride, pad_left, lanes); \
        const bool rows_ = out_width > (rows_from) && pitch_ <= RING_PITCH; \
        if (kind == WC_POOL_AVERAGE) POOL3X3_KIND_(WC_POOL_AVERAGE); \
        else POOL3X3_KIND_(WC_POOL_MAX); \
    } while (0)
#define POOL3X3_KIND_(k) do { \
        if (!rows_) pool3x3(input, height, width, output, out_height, out_width, stride, pad_top, pad_left, k); \
        else if (stride == 1) pool3x3_rows(input, height, width, output, out_height, out_width, 1, pad_top, pad_left, k, pitch_); \
        else pool3x3_rows(input, height, width, output, out_height, out_width, 2, pad_top, pad_left, k, pitch_); \
    } while (0)

#endif
