import CThreadPool

/// A pointer that may cross into the worker closures of ``Workers``: each worker writes a
/// disjoint region, which is what makes sharing it safe.
struct SharedPointer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
    subscript(offset: Int) -> UnsafeMutablePointer<Float> { base + offset }
}

/// The threads of one executor (see CThreadPool.h for why they spin between regions instead of
/// being dispatched per region). Destroying it joins them.
final class ThreadPool: @unchecked Sendable {
    let threads: Int
    private let pool: OpaquePointer

    init?(threads: Int) {
        guard threads > 1, let pool = wc_pool_create(threads) else { return nil }
        self.threads = threads
        self.pool = pool
    }

    deinit { wc_pool_destroy(pool) }

    /// One region: `body(share)` once for every share 0..<threads, on whichever threads are free
    /// (the calling thread included).
    func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var body = body
            withUnsafeMutablePointer(to: &body) { closure in
                wc_pool_run(pool, { context, worker in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(worker)
                }, closure)
            }
        }
    }
}

/// A fixed number of workers splitting one operator's work; one worker runs inline.
struct Workers: Sendable {
    let count: Int
    private let pool: ThreadPool?

    /// `count` workers, at most `WC_POOL_MAX_THREADS`; if the threads cannot be started, one (the caller).
    init(_ count: Int) {
        pool = ThreadPool(threads: min(max(1, count), Int(WC_POOL_MAX_THREADS)))
        self.count = pool?.threads ?? 1
    }

    /// Calls `body(share)` for every share 0..<count, concurrently where threads are free, and
    /// returns when all are done. A share runs on one thread at a time, so scratch indexed by the
    /// share is private to it.
    func run(_ body: @Sendable (Int) -> Void) {
        if let pool { pool.run(body) } else { body(0) }
    }

    /// Splits `0..<total` into `count` contiguous chunks and calls `body(worker, range)` for each
    /// non-empty one.
    func forEachChunk(_ total: Int, _ body: @Sendable (Int, Range<Int>) -> Void) {
        if count == 1 || total < 2 {
            if total > 0 { body(0, 0..<total) }
            return
        }
        let workers = min(count, total)
        run { worker in
            guard worker < workers else { return }
            let start = total * worker / workers, end = total * (worker + 1) / workers
            if start < end { body(worker, start..<end) }
        }
    }
}
