// Why each share of the fast executor writes long runs of memory (PreparedConvolution.split).
//
// Two threads of the executor's own pool (Sources/CThreadPool) copy a [planes × plane] float
// tensor back and forth between two buffers, region after region, the way consecutive layers
// hand data to each other. Each thread owns either
//   - bands: the same part of every plane (a band of `plane / 2` floats per plane, alternating
//     between the threads through memory), or
//   - runs:  half of the planes, one contiguous run per thread,
// and the same thread always writes the same part. One thread alone is the baseline.
//
//   tools/bench_share_layout.sh          (builds this with the pool and prints the table)
#include "CThreadPool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *buffers[2];
static long planes, plane;
static int threads, runs, region;

static void copy_share(void *context, long share) {
    (void)context;
    const float *from = buffers[region & 1];
    float *to = buffers[(region & 1) ^ 1];
    if (runs) {
        const long first = planes * share / threads, end = planes * (share + 1) / threads;
        memcpy(to + first * plane, from + first * plane, sizeof(float) * (size_t)((end - first) * plane));
        return;
    }
    const long lo = plane * share / threads, hi = plane * (share + 1) / threads;
    for (long p = 0; p < planes; p++) memcpy(to + p * plane + lo, from + p * plane + lo, sizeof(float) * (size_t)(hi - lo));
}

static double microseconds_per_region(long count, long size, int thread_count, int in_runs) {
    planes = count, plane = size, threads = thread_count, runs = in_runs;
    for (int i = 0; i < 2; i++) {
        buffers[i] = aligned_alloc(64, sizeof(float) * (size_t)(planes * plane));
        memset(buffers[i], 0, sizeof(float) * (size_t)(planes * plane));
    }
    wc_pool *pool = wc_pool_create(threads);
    for (region = 0; region < 200; region++) wc_pool_run(pool, copy_share, NULL);
    const int timed = 5000;
    const double start = now();
    for (int i = 0; i < timed; i++, region++) wc_pool_run(pool, copy_share, NULL);
    const double elapsed = (now() - start) / timed;
    wc_pool_destroy(pool);
    free(buffers[0]);
    free(buffers[1]);
    return elapsed * 1e6;
}

int main(void) {
    // 188,160 floats (735 KiB) in planes of 196, 784, 2048 and 3136 floats.
    const long sizes[] = {196, 784, 2048, 3136};
    printf("| plane (floats) | band per thread (floats) | 1 thread µs | 2 threads, bands µs | 2 threads, runs of planes µs |\n");
    printf("|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < 4; i++) {
        const long count = 188160 / sizes[i];
        printf("| %ld | %ld | %.1f | %.1f | %.1f |\n", sizes[i], sizes[i] / 2, microseconds_per_region(count, sizes[i], 1, 1),
               microseconds_per_region(count, sizes[i], 2, 0), microseconds_per_region(count, sizes[i], 2, 1));
    }
    return 0;
}
