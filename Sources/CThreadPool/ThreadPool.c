// See include/CThreadPool.h for what the pool is for.
//
// Protocol. `state` holds the region's generation (high 32 bits) and the set of shares claimed so
// far (low 32 bits, one per share). The caller stores `body` and `context`, zeroes `finished`,
// publishes (generation + 1, none claimed) and then claims shares like any worker. A share is
// claimed with a compare-and-swap that keeps the generation, so a worker that read a region's body
// just before the region ended cannot claim (and run that stale body for) a share of the next one:
// the body is read between loading `state` and the successful swap, and while a share is unclaimed
// its region cannot end. Thread t (the caller being thread 0) claims share t first, so that when
// every thread is running, each layer's share t runs on the core that ran share t of the layer
// before and finds its data in that core's cache. Whoever runs a share increments `finished`; the
// caller returns when it equals the number of shares, i.e. it only ever waits for shares already
// being run.
//
// Sleeping. A worker that has spun SPIN_LIMIT times without a new generation registers in
// `sleepers` under the mutex, re-checks the generation and waits; the caller broadcasts under the
// mutex whenever `sleepers` is non-zero after publishing. Both sides use sequentially consistent
// operations on `state` and `sleepers`, so either the worker sees the new generation or the caller
// sees the sleeper: no wake-up is lost.
#include "CThreadPool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void relax(void) { _mm_pause(); }
#elif defined(__aarch64__)
static inline void relax(void) { __asm__ __volatile__("yield"); }
#else
static inline void relax(void) {}
#endif

// Some 0.1–0.5 ms of pause instructions: longer than the gap between two regions of a forward
// pass, far shorter than the gap between two forward passes of a caller that does other work.
enum { SPIN_LIMIT = 1 << 12 };

typedef struct worker_start worker_start;

static inline uint32_t generation_of(uint64_t state) { return (uint32_t)(state >> 32); }
static inline uint32_t claimed_of(uint64_t state) { return (uint32_t)state; }

struct wc_pool {
    long threads;
    pthread_t *handles;
    struct worker_start { struct wc_pool *pool; long self; } *starts;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    _Atomic uint64_t state;
    _Atomic long finished;
    _Atomic long sleepers;
    _Atomic int stopping;
    _Atomic(wc_pool_body) body;
    _Atomic(void *) context;
};

/// Claims and runs shares of region `generation` until none is left or the region has changed:
/// thread `self`'s own share first, then any other still unclaimed.
static void run_shares(wc_pool *pool, uint32_t generation, long self) {
    const uint32_t all = pool->threads == 32 ? UINT32_MAX : (UINT32_C(1) << pool->threads) - 1;
    uint64_t state = atomic_load(&pool->state);
    for (long k = 0; k < pool->threads;) {
        if (generation_of(state) != generation || claimed_of(state) == all) return;
        const long share = (self + k) % pool->threads;
        const uint32_t bit = UINT32_C(1) << share;
        if (claimed_of(state) & bit) { k++; continue; }
        wc_pool_body body = atomic_load_explicit(&pool->body, memory_order_relaxed);
        void *context = atomic_load_explicit(&pool->context, memory_order_relaxed);
        if (atomic_compare_exchange_weak(&pool->state, &state, state | bit)) {
            body(context, share);
            atomic_fetch_add_explicit(&pool->finished, 1, memory_order_release);
            state = atomic_load(&pool->state);
            k++;
        }
    }
}

static void *worker_main(void *raw) {
    const worker_start start = *(const worker_start *)raw;
    wc_pool *pool = start.pool;
    uint32_t seen = generation_of(atomic_load(&pool->state));
    for (;;) {
        uint32_t now = seen;
        for (int spin = 0; spin < SPIN_LIMIT; spin++) {
            now = generation_of(atomic_load_explicit(&pool->state, memory_order_acquire));
            if (now != seen || atomic_load_explicit(&pool->stopping, memory_order_relaxed)) break;
            relax();
        }
        if (now == seen && !atomic_load(&pool->stopping)) {
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleepers, 1);
            while ((now = generation_of(atomic_load(&pool->state))) == seen && !atomic_load(&pool->stopping)) {
                pthread_cond_wait(&pool->wake, &pool->mutex);
            }
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stopping)) return NULL;
        seen = now;
        run_shares(pool, seen, start.self);
    }
}

static void stop_and_join(wc_pool *pool, long started) {
    atomic_store(&pool->stopping, 1);
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (long i = 0; i < started; i++) pthread_join(pool->handles[i], NULL);
}

static void release(wc_pool *pool) {
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->handles);
    free(pool->starts);
    free(pool);
}

wc_pool *wc_pool_create(long threads) {
    if (threads < 1 || threads > WC_POOL_MAX_THREADS) return NULL;
    wc_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads;
    pool->handles = calloc((size_t)threads, sizeof *pool->handles);
    pool->starts = calloc((size_t)threads, sizeof *pool->starts);
    if (!pool->handles || !pool->starts) { free(pool->handles); free(pool->starts); free(pool); return NULL; }
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    long started = 0;
    for (; started < threads - 1; started++) {
        pool->starts[started] = (worker_start){pool, started + 1};
        if (pthread_create(&pool->handles[started], NULL, worker_main, &pool->starts[started]) != 0) break;
    }
    if (started != threads - 1) {
        stop_and_join(pool, started);
        release(pool);
        return NULL;
    }
    return pool;
}

void wc_pool_run(wc_pool *pool, wc_pool_body body, void *context) {
    if (pool->threads == 1) {
        body(context, 0);
        return;
    }
    atomic_store_explicit(&pool->body, body, memory_order_relaxed);
    atomic_store_explicit(&pool->context, context, memory_order_relaxed);
    atomic_store_explicit(&pool->finished, 0, memory_order_relaxed);
    uint32_t generation = generation_of(atomic_load(&pool->state)) + 1;
    atomic_store(&pool->state, (uint64_t)generation << 32);
    if (atomic_load(&pool->sleepers) != 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    run_shares(pool, generation, 0);
    // Only shares that other threads are running remain.
    for (long spin = 0; atomic_load_explicit(&pool->finished, memory_order_acquire) != pool->threads; spin++) {
        if (spin < SPIN_LIMIT) relax(); else sched_yield();
    }
}

void wc_pool_destroy(wc_pool *pool) {
    if (!pool) return;
    stop_and_join(pool, pool->threads - 1);
    release(pool);
}
