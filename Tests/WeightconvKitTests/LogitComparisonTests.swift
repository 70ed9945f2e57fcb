import Testing
@testable import WeightconvKit

@Suite struct LogitComparisonTests {
    let reference: [Float] = [0.5, -1.25, 3.0, 2.0, 0.0, 1.5, -0.5,   // sample 0: top-1 = 2
                              1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]        // sample 1: top-1 = 6

    @Test func identicalLogitsPass() {
        let c = LogitComparison(actual: reference, reference: reference, classes: 7, tolerance: .float32)
        #expect(c.passed)
        #expect(c.samples.allSatisfy { $0.maxAbsoluteError == 0 && abs($0.cosineSimilarity - 1) < 1e-12 })
    }

    @Test func anElementOutsideToleranceFailsAndIsLocated() {
        var actual = reference
        actual[9] += 1e-3   // 1e-3 > 1e-4 + 1e-4 * 1.2
        let c = LogitComparison(actual: actual, reference: reference, classes: 7, tolerance: .float32)
        #expect(!c.passed)
        #expect(c.samples[0].firstViolation == nil)
        #expect(c.samples[1].firstViolation == 2)
    }

    @Test func swappedNearTiesFailOnTopKEvenWithinTolerance() {
        // Classes 5 and 6 of sample 1 are nearly tied in the reference; a 2e-4 change swaps them.
        var tied = reference
        tied[12] = 1.6
        tied[13] = 1.6001
        var actual = tied
        actual[12] = 1.6002
        let loose = Tolerance(atol: 1e-3, rtol: 0)
        let c = LogitComparison(actual: actual, reference: tied, classes: 7, tolerance: loose)
        #expect(c.samples[1].firstViolation == nil)
        #expect(!c.samples[1].top1Agrees)
        #expect(!c.passed)
    }

    @Test func nanNeverPasses() {
        var actual = reference
        actual[0] = .nan
        #expect(!LogitComparison(actual: actual, reference: reference, classes: 7, tolerance: .float32).passed)
    }
}
