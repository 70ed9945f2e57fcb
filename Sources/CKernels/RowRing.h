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

#endif
