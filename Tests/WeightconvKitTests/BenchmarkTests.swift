import Foundation
import Testing
@testable import WeightconvKit

@Suite struct BenchmarkTests {
    @Test func statisticsAreObservedSamples() {
        let r = BenchmarkResult(samples: [5, 1, 4, 2, 3, 10, 6, 7, 8, 9], batch: 1, threads: 2)
        #expect(r.medianMs == 5.5)
        #expect(r.p90Ms == 9)
        #expect(r.minMs == 1 && r.maxMs == 10 && r.iterations == 10)
        let odd = BenchmarkResult(samples: [3, 1, 2], batch: 1, threads: 1)
        #expect(odd.medianMs == 2 && odd.p90Ms == 3)
    }

    /// The first pass is timed on its own, whether it is a warm-up pass or, without warm-up, the
    /// first timed one (a first call that sleeps 30 ms stands in for a first forward pass that waits).
    @Test func theFirstPassIsReportedApart() throws {
        for warmup in [0, 2] {
            var calls = 0
            let result = BenchmarkResult.measure(batch: 1, threads: 1, iterations: 3, warmup: warmup) {
                calls += 1
                if calls == 1 { usleep(30_000) }
            }
            #expect(calls == warmup + 3)
            let first = try #require(result.firstPassMs)
            #expect(first >= 30, "warm-up \(warmup): first pass \(first) ms")
            #expect(warmup == 0 ? result.maxMs == first : result.maxMs < 30, "warm-up \(warmup): \(result)")
            #expect(result.jsonText.contains("\"first_pass_ms\":"))
        }
    }
}
