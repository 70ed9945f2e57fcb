import Testing
@testable import WeightconvKit

@Suite struct LogitComparisonTests {
    let reference: [Float] = [0.5, -1.25, 3.0, 2.0, 0.0, 1.5, -0.5,   // sample 0: top-1 = 2
                              1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]        // sample 1: top-1 = 6

    @Test func identicalLogitsPass() throws {
        let c = try LogitComparison(actual: reference, reference: reference, classes: 7, tolerance: .float32)
        #expect(c.passed)
        #expect(c.samples.allSatisfy { $0.maxAbsoluteError == 0 && abs($0.cosineSimilarity - 1) < 1e-12 })
    }

    @Test func anElementOutsideToleranceFailsAndIsLocated() throws {
        var actual = reference
        actual[9] += 1e-3   // 1e-3 > 1e-4 + 1e-4 * 1.2
        let c = try LogitComparison(actual: actual, reference: reference, classes: 7, tolerance: .float32)
        #expect(!c.passed)
        #expect(c.samples[0].firstViolation == nil)
        #expect(c.samples[1].firstViolation == 2)
    }

    @Test func swappedNearTiesFailOnTopKEvenWithinTolerance() throws {
        // Classes 5 and 6 of sample 1 are nearly tied in the reference; a 2e-4 change swaps them.
        var tied = reference
        tied[12] = 1.6
        tied[13] = 1.6001
        var actual = tied
        actual[12] = 1.6002
        let loose = Tolerance(atol: 1e-3, rtol: 0)
        let c = try LogitComparison(actual: actual, reference: tied, classes: 7, tolerance: loose)
        #expect(c.samples[1].firstViolation == nil)
        #expect(!c.samples[1].top1Agrees)
        #expect(!c.passed)
    }

    @Test func nanNeverPasses() throws {
        var actual = reference
        actual[0] = .nan
        #expect(try !LogitComparison(actual: actual, reference: reference, classes: 7, tolerance: .float32).passed)
    }
}

@Suite struct LogitComparisonShapeTests {
    @Test func aReferenceForAnotherHeadIsAnErrorNotACrash() {
        #expect(throws: LogitComparison.ShapeMismatch.self) {
            try LogitComparison(actual: [Float](repeating: 0, count: 20), reference: [Float](repeating: 0, count: 2000),
                                classes: 10, tolerance: .float32)
        }
    }

    @Test func theSummaryLocatesTheFirstViolation() throws {
        let reference: [Float] = [0, 1, 2, 3, 4, 5]
        var actual = reference
        actual[4] += 0.5
        let c = try LogitComparison(actual: actual, reference: reference, classes: 3, tolerance: .float32)
        #expect(!c.passed)
        #expect(c.summary.contains("first out of tolerance at [1, 1]"))
        #expect(c.summary.contains("max |diff| 0.5"))
    }
}
