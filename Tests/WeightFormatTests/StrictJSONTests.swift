import Testing
import WeightFormat
import WeightconvCore

@Suite struct StrictJSONTests {
    private func parse(_ text: String) throws(JSONProblem) -> MetadataValue {
        try StrictJSON.parse(Array(text.utf8))
    }

    private func problem(_ bytes: [UInt8]) -> JSONProblem.Kind? {
        do {
            _ = try StrictJSON.parse(bytes)
            return nil
        } catch {
            return error.kind
        }
    }

    private func problem(_ text: String) -> JSONProblem.Kind? { problem(Array(text.utf8)) }

    @Test func parsesEveryValueKindKeepingKeyOrder() throws {
        let value = try parse(#" {"b": [1, -2.5, 1e3, true, false, null], "a": {"x": "y\n\u00e9\ud83d\ude00"}} "#)
        #expect(value == .object([
            ("b", .array([.int(1), .double(-2.5), .double(1000), .bool(true), .bool(false), .null])),
            ("a", .object([("x", .string("y\né😀"))])),
        ]))
    }

    @Test func duplicateKeysAreRefusedAtAnyDepth() {
        #expect(problem(#"{"a":1,"a":2}"#) == .duplicateKey("a"))
        #expect(problem(#"{"o":{"k":1,"k":1}}"#) == .duplicateKey("k"))
        // Same key after unescaping is still the same key.
        #expect(problem(#"{"ab":1,"a\u0062":2}"#) == .duplicateKey("ab"))
    }

    @Test func invalidUTF8IsRefused() {
        #expect(problem([0x22, 0xFF, 0x22]) == .invalidUTF8)
        // Overlong encoding of '/'.
        #expect(problem([0x22, 0xC0, 0xAF, 0x22]) == .invalidUTF8)
        // Truncated multi-byte sequence.
        #expect(problem([0x22, 0xE2, 0x82, 0x22]) == .invalidUTF8)
    }

    @Test func loneSurrogateEscapesAreRefused() {
        #expect(problem(#""\ud800""#) == .loneSurrogate)
        #expect(problem(#""\udc00""#) == .loneSurrogate)
        #expect(problem(#""\ud800\u0041""#) == .loneSurrogate)
    }

    @Test func nestingIsBoundedWithoutExhaustingTheStack() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(problem(ok) == nil)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(problem(deep) == .tooDeep(limit: 64))
        #expect(problem(String(repeating: #"{"a":"#, count: 1_000_000)) == .tooDeep(limit: 64))
    }

    @Test func numbersFollowRFC8259AndMustBeFinite() throws {
        #expect(try parse("-0") == .int(0))
        #expect(try parse("9223372036854775807") == .int(Int.max))
        #expect(try parse("9223372036854775808") == .double(9223372036854775808))
        #expect(problem("1e999") == .nonFiniteNumber)
        for bad in ["01", "1.", ".5", "+1", "-", "1e", "NaN", "Infinity", "0x10"] {
            #expect(problem(bad) != nil, "\(bad) accepted")
        }
    }

    @Test func malformedDocumentsAreRefused() {
        for bad in [#"{"a":1,}"#, "[1,]", #"{"a" 1}"#, #"{'a':1}"#, "\"tab\there\"", "[1] [2]", "", "tru", #""\x""#, #"{"a":1"#] {
            #expect(problem(bad) != nil, "\(bad) accepted")
        }
    }
}
