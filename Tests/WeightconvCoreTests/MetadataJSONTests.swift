import Testing
import WeightconvCore

/// The canonical JSON of metadata values: what `inspect --json`, the `.wcv` document and the
/// safetensors export print. Expected texts are Python's `json.dumps(v, separators=(",", ":"),
/// ensure_ascii=False)` of the same values.
@Suite struct MetadataJSONTests {
    @Test func stringsEscapeQuotesBackslashesAndControlCharacters() {
        // json.dumps("\x00\x1f\"\\\n\r\té✓", ensure_ascii=False)
        #expect(JSONText.quote("\u{0}\u{1f}\"\\\n\r\té✓") == #""\u0000\u001f\"\\\n\r\té✓""#)
        #expect(JSONText.quote("\u{0b}\u{10}") == #""\u000b\u0010""#)
    }

    @Test func nestedValuesKeepOrderAndNonFiniteNumbersAreStrings() {
        let value = MetadataValue.object([
            ("b", .array([.int(1), .double(0.5), .null, .bool(true)])),
            ("a", .object([("nan", .double(.nan)), ("inf", .double(-.infinity))])),
            ("t", .opaque(typeName: "torch.device", summary: "cpu")),
        ])
        #expect(value.jsonText
            == #"{"b":[1,0.5,null,true],"a":{"nan":"NaN","inf":"-Infinity"},"t":{"$opaque":"torch.device","summary":"cpu"}}"#)
    }

    @Test func deepNestingIsWrittenInOnePass() {
        // 10,000 levels: the recursive text concatenation this replaced copied every level's text
        // into its parent's (quadratic); this only checks the result, the fuzz seeds check the time.
        var value = MetadataValue.array([])
        for _ in 0..<10_000 { value = .array([value]) }
        let text = value.jsonText
        #expect(text.utf8.count == 20_002)
        #expect(text.hasPrefix("[[[[") && text.hasSuffix("]]]]"))
    }
}
