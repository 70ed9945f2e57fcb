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
}
