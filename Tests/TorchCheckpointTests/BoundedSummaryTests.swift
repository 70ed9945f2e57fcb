import Testing
@testable import TorchCheckpoint

/// Summaries of keys and opaque values are cut after a fixed number of scalars, reading no more
/// than that: a megabyte key reached a million times through shared references must not be
/// walked a million times.
@Suite struct BoundedSummaryTests {
    @Test func shortTextIsKept() {
        #expect(PickleCallables.bounded("abc", 120) == "abc")
        #expect(PickleCallables.bounded(String(repeating: "x", count: 120), 120) == String(repeating: "x", count: 120))
    }

    @Test func longTextIsCutToTheLimitWithAnEllipsis() {
        let cut = PickleCallables.bounded(String(repeating: "é", count: 121), 120)
        #expect(cut.unicodeScalars.count == 120)
        #expect(cut == String(repeating: "é", count: 117) + "...")
        let huge = String(repeating: "k", count: 1 << 20)
        #expect(PickleCallables.bounded(huge, 200).count == 200)
    }

    @Test func keysOfOtherTypesAreSummarisedTheSameWay() {
        let digits = String(repeating: "9", count: 5000)
        let summary = PickleCallables.shortSummary(.bigInt(digits))
        #expect(summary.count == 120 && summary.hasSuffix("..."))
        #expect(PickleCallables.shortSummary(.string("key")) == "'key'")
    }
}
