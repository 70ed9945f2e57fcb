import Dispatch

/// A pointer that may cross into the worker closures of ``Workers``: each worker writes a
/// disjoint region, which is what makes sharing it safe.
struct SharedPointer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
    subscript(offset: Int) -> UnsafeMutablePointer<Float> { base + offset }
}

/// A fixed number of workers splitting one operator's work; one worker runs inline.
struct Workers: Sendable {
    let count: Int

    init(_ count: Int) { self.count = max(1, count) }

    /// Calls `body(worker)` for every worker concurrently and returns when all are done.
    func run(_ body: @Sendable (Int) -> Void) {
        if count == 1 {
            body(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
    }

    /// Splits `0..<total` into `count` contiguous chunks and calls `body(worker, range)` for each
    /// non-empty one.
    func forEachChunk(_ total: Int, _ body: @Sendable (Int, Range<Int>) -> Void) {
        if count == 1 || total < 2 {
            if total > 0 { body(0, 0..<total) }
            return
        }
        let workers = min(count, total)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let start = total * worker / workers, end = total * (worker + 1) / workers
            if start < end { body(worker, start..<end) }
        }
    }
}
