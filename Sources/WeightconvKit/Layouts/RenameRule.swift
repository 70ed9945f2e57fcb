import Foundation

/// One step of a layout's renaming: a regular expression over a tensor key and the replacement it
/// becomes.
///
/// Replacements are data a reader can check against the implementation's source: `$1`…`$9` insert
/// capture groups, and `{TABLE[$1]}` or `{TABLE[$1]+$2}` look a capture up in one of the profile's
/// index tables (parameter-free modules such as ReLU shift `nn.Sequential` indices, so a layout's
/// `rep.1` is another's `rep.0`; a table says so once, instead of a loop in code).
package struct RenameRule: Sendable, CustomStringConvertible {
    package let pattern: KeyPattern
    package let replacement: String

    /// A rule whose pattern compiles and whose template is well formed: every `{…}` closes and names
    /// one of `tables` (when given).
    package init(_ pattern: String, _ replacement: String, tables: [String: [Int]]? = nil) throws(LayoutError) {
        self.pattern = try KeyPattern(pattern)
        self.replacement = replacement
        try Self.checkTemplate(replacement, tables: tables)
    }

    private static func checkTemplate(_ template: String, tables: [String: [Int]]?) throws(LayoutError) {
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { throw .badTemplate(String(rest[open...])) }
            let body = rest[rest.index(after: open)..<close]
            let parts = body.split(separator: "+", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = parts.first, let bracket = first.firstIndex(of: "["), first.last == "]" else {
                throw .badTemplate(String(body))
            }
            let table = String(first[..<bracket])
            if let tables, tables[table] == nil { throw .unknownTable(table, template: template) }
            rest = rest[rest.index(after: close)...]
        }
    }
    package var description: String { "\(pattern) → \(replacement)" }

    /// The renamed key, or `nil` when the rule does not match. Throws when a table lookup is out of range.
    func apply(to key: String, tables: [String: [Int]]) throws(LayoutError) -> String? {
        guard let match = pattern.firstMatch(in: key) else { return nil }
        var groups: [String] = []
        for index in 0..<match.output.count {
            groups.append(match.output[index].substring.map(String.init) ?? "")
        }
        let expanded = try Self.expand(replacement, groups: groups, tables: tables, key: key)
        return String(key[..<match.range.lowerBound]) + expanded + String(key[match.range.upperBound...])
    }

    private static func expand(_ template: String, groups: [String], tables: [String: [Int]], key: String)
        throws(LayoutError) -> String
    {
        var out = ""
        var chars = Array(template)[...]
        func group(_ digit: Character) -> String {
            guard let n = digit.wholeNumberValue, n < groups.count else { return "" }
            return groups[n]
        }
        while let c = chars.popFirst() {
            if c == "$", let d = chars.first, d.isNumber {
                chars.removeFirst()
                out += group(d)
            } else if c == "{", let close = chars.firstIndex(of: "}") {
                // {TABLE[$n]} or {TABLE[$n]+$m}
                let body = String(chars[chars.startIndex..<close])
                chars = chars[chars.index(after: close)...]
                out += try lookUp(body, groups: groups, tables: tables, key: key)
            } else {
                out.append(c)
            }
        }
        return out
    }

    private static func lookUp(_ body: String, groups: [String], tables: [String: [Int]], key: String)
        throws(LayoutError) -> String
    {
        let parts = body.split(separator: "+", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        func value(of ref: String) -> Int? {
            guard ref.first == "$", let n = Int(ref.dropFirst()), n < groups.count else { return Int(ref) }
            return Int(groups[n])
        }
        guard let open = parts[0].firstIndex(of: "["), parts[0].last == "]" else {
            throw .badTemplate(body)
        }
        let tableName = String(parts[0][..<open])
        let ref = String(parts[0][parts[0].index(after: open)..<parts[0].index(before: parts[0].endIndex)])
        guard let table = tables[tableName] else { throw .badTemplate(body) }
        guard let index = value(of: ref), table.indices.contains(index) else {
            throw .indexOutOfTable(key: key, table: tableName, count: table.count)
        }
        var result = table[index]
        if parts.count == 2 {
            guard let extra = value(of: parts[1]) else { throw .badTemplate(body) }
            // `extra` is a number from a key in the file: a 19-digit block index must not trap.
            let (sum, overflow) = result.addingReportingOverflow(extra)
            if overflow { throw .indexOutOfTable(key: key, table: tableName, count: table.count) }
            result = sum
        }
        return String(result)
    }
}

/// What can go wrong while a profile renames keys.
package enum LayoutError: Error, Equatable, CustomStringConvertible {
    case badTemplate(String)
    case indexOutOfTable(key: String, table: String, count: Int)
    case badPattern(String, reason: String)
    case unknownTable(String, template: String)

    package var description: String {
        switch self {
        case .badTemplate(let t): "malformed rename template {\(t)}"
        case let .indexOutOfTable(key, table, count):
            "key '\(key)' indexes past the \(count) entries of table \(table)"
        case let .badPattern(pattern, reason):
            "the regular expression \(pattern) does not compile (\(reason))"
        case let .unknownTable(table, template):
            "the replacement \(template) looks up table '\(table)', which the layout does not define"
        }
    }
}
