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

    @Test func aSwapBeyondTheMarginFailsOnTopKEvenWithinTolerance() throws {
        // Classes 5 and 6 of sample 1 are 1.5e-3 apart, more than the 1e-3 allowed: each logit moves by
        // 8e-4 (within tolerance) and together they swap the top-1 class.
        var separated = reference
        separated[12] = 1.6
        separated[13] = 1.6015
        var actual = separated
        actual[12] += 8e-4
        actual[13] -= 8e-4
        let loose = Tolerance(atol: 1e-3, rtol: 0)
        let c = try LogitComparison(actual: actual, reference: separated, classes: 7, tolerance: loose)
        #expect(c.samples[1].firstViolation == nil)
        #expect(!c.samples[1].top1Agrees && c.samples[1].top1Required)
        #expect(!c.passed)
        #expect(c.summary.contains("sample 1 ranks the classes differently"), "\(c.summary)")
    }

    @Test func aNearTieMayReorderUnderTheSampleScaleRuleButNotTheElementwiseOne() throws {
        // Classes 5 and 6 of sample 1 are 1e-4 apart, inside the 1e-3 tolerance: their order is noise.
        var tied = reference
        tied[12] = 1.6
        tied[13] = 1.6001
        var actual = tied
        actual[12] = 1.6002
        let c = try LogitComparison(actual: actual, reference: tied, classes: 7, tolerance: Tolerance(atol: 1e-3, rtol: 0))
        #expect(!c.samples[1].top1Agrees && !c.samples[1].top1Required)
        #expect(c.passed, "\(c.summary)")
        let old = try LogitComparison(actual: actual, reference: tied, classes: 7,
                                      tolerance: Tolerance(atol: 1e-3, rtol: 0, rule: .elementwise))
        #expect(!old.passed)
    }

    @Test func theBoundScalesWithTheSamplesLargestLogit() throws {
        // Sample 0's scale is 3: 1e-4 + 1e-4·3 = 4e-4 allowed on its near-zero logit 0.0 (index 4),
        // where the element-wise rule allows only 1e-4.
        var actual = reference
        actual[4] += 3.5e-4
        #expect(try LogitComparison(actual: actual, reference: reference, classes: 7, tolerance: .float32).passed)
        var elementwise = Tolerance.float32
        elementwise.rule = .elementwise
        #expect(try !LogitComparison(actual: actual, reference: reference, classes: 7, tolerance: elementwise).passed)
        actual[4] += 1e-4
        #expect(try !LogitComparison(actual: actual, reference: reference, classes: 7, tolerance: .float32).passed)
    }

    @Test func aPermutationAndAConstantFactorAreNamed() {
        let permuted = [reference[1], reference[0]] + reference[2...]
        let cause = MismatchDiagnosis.pattern(actual: permuted, reference: reference, classes: 7, tolerance: .float32)
        #expect(cause?.contains("another order") == true, "\(String(describing: cause))")
        let scaled = reference.map { $0 * 1.25 }
        let factor = MismatchDiagnosis.pattern(actual: scaled, reference: reference, classes: 7, tolerance: .float32)
        #expect(factor?.contains("times a constant (1.25)") == true, "\(String(describing: factor))")
        var noise = reference
        noise[3] += 0.3
        #expect(MismatchDiagnosis.pattern(actual: noise, reference: reference, classes: 7, tolerance: .float32) == nil)
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
