// A fixed set of worker threads that run one parallel region at a time for the fast executor.
//
// A network runs a hundred or more parallel regions per image, each a few tens of microseconds
// long. Waking parked threads for each one (as a general-purpose dispatcher does) costs as much as
// the region itself, so the workers here spin on the region counter for a short while after each
// region and only then park on a condition variable; an idle pool costs no CPU.
//
// A region is a number of shares. Thread t takes share t when it is free to, so that a share's
// part of each layer stays on one core from layer to layer; a share nobody has claimed yet is
// taken by whichever thread gets to it first, the caller included: when the workers are not
// running (more threads than cores, as when tests run side by side) the caller does every share
// itself instead of waiting for them to be scheduled.
#ifndef CTHREADPOOL_H
#define CTHREADPOOL_H

typedef struct wc_pool wc_pool;

/// Called once for each share `share` (0 ..< threads) of a region, on some thread of the pool.
typedef void (*wc_pool_body)(void *context, long share);

/// Most threads a pool has (one bit per share in the region state).
#define WC_POOL_MAX_THREADS 32

/// A pool of `threads` − 1 background threads (the caller of wc_pool_run is the remaining one).
/// Returns NULL if `threads` is not in 1 ... WC_POOL_MAX_THREADS or a thread could not be started.
wc_pool *wc_pool_create(long threads);

/// Runs `body(context, s)` once for every share s in 0 ..< threads, concurrently where threads are
/// free, and returns when all have returned. One region at a time: calls must not overlap or nest.
void wc_pool_run(wc_pool *pool, wc_pool_body body, void *context);

/// Stops and joins the threads, then frees the pool.
void wc_pool_destroy(wc_pool *pool);

#endif
