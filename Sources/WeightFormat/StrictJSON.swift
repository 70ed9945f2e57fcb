import WeightconvCore

/// Why a JSON document was refused, and the byte offset (within the document) where it was noticed.
public struct JSONProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case syntax(String)
        case duplicateKey(String)
        case invalidUTF8
        case loneSurrogate
        case tooDeep(limit: Int)
        case nonFiniteNumber
    }

    public var kind: Kind
    public var offset: Int

    public var description: String {
        switch kind {
        case .syntax(let what): "JSON syntax error at byte \(offset): \(what)"
        case .duplicateKey(let key): "JSON object has the key \(JSONText.quote(key)) twice (byte \(offset))"
        case .invalidUTF8: "JSON text is not valid UTF-8 (string ending at byte \(offset))"
        case .loneSurrogate: "JSON string has a lone UTF-16 surrogate escape at byte \(offset)"
        case .tooDeep(let limit): "JSON nesting deeper than \(limit) at byte \(offset)"
        case .nonFiniteNumber: "JSON number at byte \(offset) overflows a double"
        }
    }
}

/// A JSON parser stricter than RFC 8259 where parsers disagree (the Trail of Bits finding on
/// safetensors): duplicate keys, invalid UTF-8 and lone surrogates are refused instead of resolved
/// one way or another, and nesting is bounded so hostile input cannot exhaust the stack.
package enum StrictJSON {
    package static let defaultDepthLimit = 64

    /// Parses one JSON value spanning all of `bytes` (surrounding whitespace allowed).
    package static func parse(_ bytes: UnsafeRawBufferPointer,
                             depthLimit: Int = defaultDepthLimit) throws(JSONProblem) -> MetadataValue {
        var parser = Parser(bytes: bytes, depthLimit: depthLimit)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else {
            throw JSONProblem(kind: .syntax("unexpected content after the document"), offset: parser.position)
        }
        return value
    }

    package static func parse(_ bytes: [UInt8], depthLimit: Int = defaultDepthLimit) throws(JSONProblem) -> MetadataValue {
        // Typed throws do not pass through withUnsafeBytes' rethrows, so carry the result out.
        let result: Result<MetadataValue, JSONProblem> = bytes.withUnsafeBytes { buffer in
            do throws(JSONProblem) { return .success(try parse(buffer, depthLimit: depthLimit)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses like `parse(_:depthLimit:)` and also returns where each value starts: byte offsets keyed
    /// by path (`""` for the document, `renames[3].pattern` for a member of an element), so a reader
    /// that checks the values can name the line of the one it refuses.
    package static func parseRecordingOffsets(_ bytes: [UInt8], depthLimit: Int = defaultDepthLimit)
        throws(JSONProblem) -> (value: MetadataValue, offsets: [String: Int])
    {
        let result: Result<(MetadataValue, [String: Int]), JSONProblem> = bytes.withUnsafeBytes { buffer in
            var parser = Parser(bytes: buffer, depthLimit: depthLimit)
            parser.offsets = [:]
            do throws(JSONProblem) {
                parser.skipWhitespace()
                let value = try parser.parseValue(depth: 0)
                parser.skipWhitespace()
                guard parser.position == buffer.count else {
                    throw JSONProblem(kind: .syntax("unexpected content after the document"), offset: parser.position)
                }
                return .success((value, parser.offsets ?? [:]))
            } catch {
                return .failure(error)
            }
        }
        let (value, offsets) = try result.get()
        return (value, offsets)
    }

    /// The 1-based line and column of byte `offset` in `bytes`.
    package static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for byte in bytes.prefix(max(0, offset)) {
            if byte == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        let depthLimit: Int
        var position = 0
        /// Where each value starts, by path; recorded only when not `nil`.
        var offsets: [String: Int]?
        var path = ""

        init(bytes: UnsafeRawBufferPointer, depthLimit: Int) {
            self.bytes = bytes
            self.depthLimit = depthLimit
        }

        private func fail(_ what: String) -> JSONProblem { JSONProblem(kind: .syntax(what), offset: position) }

        private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }

        mutating func parseValue(depth: Int) throws(JSONProblem) -> MetadataValue {
            guard let byte = current else { throw fail("unexpected end of document") }
            if offsets != nil { offsets?[path] = position }
            switch byte {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw fail("unexpected character '\(Character(Unicode.Scalar(byte)))'")
            }
        }

        private mutating func expectLiteral(_ literal: StaticString) throws(JSONProblem) {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - position >= count else { throw fail("truncated literal") }
            for index in 0..<count where bytes[position + index] != literal.utf8Start[index] {
                throw fail("invalid literal")
            }
            position += count
        }

        private mutating func parseObject(depth: Int) throws(JSONProblem) -> MetadataValue {
            guard depth <= depthLimit else { throw JSONProblem(kind: .tooDeep(limit: depthLimit), offset: position) }
            position += 1
            var members: [(key: String, value: MetadataValue)] = []
            var seen = Set<String>()
            skipWhitespace()
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let keyOffset = position
                let key = try parseString()
                guard seen.insert(key).inserted else { throw JSONProblem(kind: .duplicateKey(key), offset: keyOffset) }
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                skipWhitespace()
                let outer = path
                if offsets != nil { path = outer.isEmpty ? key : outer + "." + key }
                let value = try parseValue(depth: depth)
                path = outer
                members.append((key, value))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"): position += 1; return .object(members)
                default: throw fail("expected ',' or '}'")
                }
            }
        }

        private mutating func parseArray(depth: Int) throws(JSONProblem) -> MetadataValue {
            guard depth <= depthLimit else { throw JSONProblem(kind: .tooDeep(limit: depthLimit), offset: position) }
            position += 1
            var elements: [MetadataValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
            while true {
                skipWhitespace()
                let outer = path
                if offsets != nil { path = outer + "[\(elements.count)]" }
                elements.append(try parseValue(depth: depth))
                path = outer
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"): position += 1; return .array(elements)
                default: throw fail("expected ',' or ']'")
                }
            }
        }

        private mutating func parseHex4() throws(JSONProblem) -> UInt32 {
            guard bytes.count - position >= 4 else { throw fail("truncated \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail("invalid hex digit in \\u escape")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }

        mutating func parseString() throws(JSONProblem) -> String {
            position += 1  // opening quote
            var decoded: [UInt8] = []
            var runStart = position
            while true {
                guard let byte = current else { throw fail("unterminated string") }
                if byte == UInt8(ascii: "\"") {
                    decoded.append(contentsOf: bytes[runStart..<position])
                    position += 1
                    break
                }
                if byte < 0x20 { throw fail("control character in string") }
                if byte != UInt8(ascii: "\\") { position += 1; continue }
                decoded.append(contentsOf: bytes[runStart..<position])
                position += 1
                guard let escape = current else { throw fail("unterminated escape") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""): decoded.append(0x22)
                case UInt8(ascii: "\\"): decoded.append(0x5C)
                case UInt8(ascii: "/"): decoded.append(0x2F)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    let escapeOffset = position - 2
                    var scalarValue = try parseHex4()
                    if (0xDC00...0xDFFF).contains(scalarValue) {
                        throw JSONProblem(kind: .loneSurrogate, offset: escapeOffset)
                    }
                    if (0xD800...0xDBFF).contains(scalarValue) {
                        guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                              bytes[position + 1] == UInt8(ascii: "u") else {
                            throw JSONProblem(kind: .loneSurrogate, offset: escapeOffset)
                        }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw JSONProblem(kind: .loneSurrogate, offset: escapeOffset) }
                        scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(scalarValue) else { throw JSONProblem(kind: .loneSurrogate, offset: escapeOffset) }
                    decoded.append(contentsOf: String(Character(scalar)).utf8)
                default: throw fail("invalid escape")
                }
                runStart = position
            }
            guard let string = String(validating: decoded, as: UTF8.self) else {
                throw JSONProblem(kind: .invalidUTF8, offset: position)
            }
            return string
        }

        private mutating func consumeDigits() -> Int {
            let start = position
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
            return position - start
        }

        private mutating func parseNumber() throws(JSONProblem) -> MetadataValue {
            let start = position
            var isInteger = true
            if current == UInt8(ascii: "-") { position += 1 }
            if current == UInt8(ascii: "0") {
                position += 1
            } else if consumeDigits() == 0 {
                throw fail("expected a digit")
            }
            if current == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                guard consumeDigits() > 0 else { throw fail("expected a digit after '.'") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard consumeDigits() > 0 else { throw fail("expected a digit in the exponent") }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if isInteger, let value = Int(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else {
                throw JSONProblem(kind: .nonFiniteNumber, offset: start)
            }
            return .double(value)
        }
    }
}
