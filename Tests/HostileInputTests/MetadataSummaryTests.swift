import Testing
@testable import WeightconvKit

/// `inspect`'s metadata line for a file whose metadata is huge (found by FuzzLegacy:
/// fixtures/fuzz/FuzzLegacy/timeout-eaddd387…, 585 bytes, a million shared values): the line is the
/// start of the JSON, rendered only as far as it is shown.
@Suite struct MetadataSummaryTests {
    static let huge = MetadataValue.array(Array(repeating: .array(Array(repeating: .object([("list", .array([]))]), count: 1000)), count: 1000))

    @Test func theSummaryIsTheStartOfTheJSON() {
        let lines = Inspection.metadataSummary(Self.huge)
        #expect(lines.count == 1)
        let line = lines[0]
        #expect(line.hasPrefix("metadata: [[{\"list\":[]},"), "\(line)")
        #expect(line.hasSuffix("..."))
        #expect(line.count <= "metadata: ".count + 100)
        let shown = line.dropFirst("metadata: ".count).dropLast(3)
        #expect(Self.huge.jsonText.hasPrefix(shown))
    }

    @Test func aPrefixStopsAtItsBudget() {
        var budget = 50
        let text = Inspection.jsonPrefix(Self.huge, budget: &budget)
        // Written until the budget ran out, plus the closing brackets of the open containers.
        #expect(text.count < 70, "\(text.count) characters")
        var small = 1000
        #expect(Inspection.jsonPrefix(.array([.int(1), .string("a")]), budget: &small) == #"[1,"a"]"#)
    }
}
