import Foundation

/// Timing of repeated forward passes: what `weightconv bench` prints.
package struct BenchmarkResult: Sendable, Codable {
    package var medianMs: Double
    package var p90Ms: Double
    package var minMs: Double
    package var maxMs: Double
    package var batch: Int
    package var threads: Int
    package var iterations: Int
    /// What the network's memory is made of, when the fast path ran (`bench`; see README, Memory):
    /// the tensors' bytes in the file, the weights the executor holds (folded, Float32), and the
    /// activation buffers and scratch planned for the input.
    package var fileWeightBytes: Int?
    package var weightBytes: Int?
    package var activationBytes: Int?
    /// What a program pays before its first answer (`bench`; see README, Time to first answer):
    /// opening the file and building the network (mapping, checks, folding, planning), and the
    /// first forward pass, which in a fresh process also has the GEMM library generate its kernels.
    /// The process start before them is not included.
    package var openMs: Double?
    /// The first forward pass: the first warm-up pass, or the first timed one when there is none.
    package var firstPassMs: Double?

    enum CodingKeys: String, CodingKey {
        case medianMs = "median_ms", p90Ms = "p90_ms", minMs = "min_ms", maxMs = "max_ms"
        case batch, threads, iterations
        case fileWeightBytes = "file_weight_bytes", weightBytes = "weight_bytes", activationBytes = "activation_bytes"
        case openMs = "open_ms", firstPassMs = "first_pass_ms"
    }

    /// Runs `body` `warmup` times untimed, then `iterations` times timed with a monotonic clock.
    package static func measure(batch: Int, threads: Int, iterations: Int, warmup: Int,
                               _ body: () throws -> Void) rethrows -> BenchmarkResult {
        func timed() throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return millisecondsSince(start)
        }
        var first: Double?
        for _ in 0..<warmup {
            let time = try timed()
            if first == nil { first = time }
        }
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        for _ in 0..<max(iterations, 1) { samples.append(try timed()) }
        var result = BenchmarkResult(samples: samples, batch: batch, threads: threads)
        result.firstPassMs = first ?? samples[0]
        return result
    }

    init(samples: [Double], batch: Int, threads: Int) {
        let sorted = samples.sorted()
        func quantile(_ q: Double) -> Double {
            // Nearest-rank quantile: an observed time, never an interpolation between two.
            let rank = Int((q * Double(sorted.count)).rounded(.up))
            return sorted[min(max(rank, 1), sorted.count) - 1]
        }
        medianMs = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        p90Ms = quantile(0.9)
        minMs = sorted[0]
        maxMs = sorted[sorted.count - 1]
        self.batch = batch
        self.threads = threads
        iterations = sorted.count
    }
}

/// Milliseconds from `start` (a `DispatchTime` uptime in nanoseconds, monotonic) to now.
func millisecondsSince(_ start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}
