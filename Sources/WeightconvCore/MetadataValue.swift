/// A JSON-like value: the non-tensor content of a checkpoint (epochs, strings, hyper-parameters)
/// and the free-form metadata of a native weight file.
public indirect enum MetadataValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([MetadataValue])
    /// Keys keep their order: a checkpoint's dict order is part of what a user recognises.
    case object([(key: String, value: MetadataValue)])
    /// Something a file holds that is kept without being interpreted or called, by its type name
    /// (`numpy.float64`, `argparse.Namespace`, `torch.device`).
    case opaque(typeName: String, summary: String)

    public static func == (lhs: MetadataValue, rhs: MetadataValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.double(a), .double(b)): a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.opaque(t1, s1), .opaque(t2, s2)): t1 == t2 && s1 == s2
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let v): hasher.combine(v)
        case .int(let v): hasher.combine(v)
        case .double(let v): hasher.combine(v)
        case .string(let v): hasher.combine(v)
        case .array(let v): hasher.combine(v)
        case .object(let v): for (k, x) in v { hasher.combine(k); hasher.combine(x) }
        case .opaque(let t, let s): hasher.combine(t); hasher.combine(s)
        }
    }
}

extension MetadataValue {
    /// Canonical compact JSON (keys in stored order, opaque values as `{"$opaque": type, "summary": …}`).
    public var jsonText: String {
        var text = ""
        write(to: &text)
        return text
    }

    /// Appends ``jsonText`` to `text`: one buffer for the whole tree, so the cost is linear in the
    /// output however deep the nesting.
    package func write(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let v): text += v ? "true" : "false"
        case .int(let v): text += String(v)
        case .double(let v):
            if v.isNaN { text += "\"NaN\"" } else if v.isInfinite { text += v > 0 ? "\"Infinity\"" : "\"-Infinity\"" } else { text += "\(v)" }
        case .string(let v): JSONText.quote(v, into: &text)
        case .array(let v):
            text += "["
            for (index, item) in v.enumerated() {
                if index > 0 { text += "," }
                item.write(to: &text)
            }
            text += "]"
        case .object(let v):
            text += "{"
            for (index, entry) in v.enumerated() {
                if index > 0 { text += "," }
                JSONText.quote(entry.key, into: &text)
                text += ":"
                entry.value.write(to: &text)
            }
            text += "}"
        case .opaque(let type, let summary):
            text += "{\"$opaque\":"
            JSONText.quote(type, into: &text)
            text += ",\"summary\":"
            JSONText.quote(summary, into: &text)
            text += "}"
        }
    }
}

/// Minimal JSON string quoting shared by everything that prints JSON by hand.
package enum JSONText {
    package static func quote(_ s: String) -> String {
        var out = ""
        quote(s, into: &out)
        return out
    }

    package static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                // \u00XX, lowercase hex, as before; by table (hostile metadata can hold millions).
                let hex: [Unicode.Scalar] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
                out += "\\u00"
                out.unicodeScalars.append(hex[Int(scalar.value >> 4)])
                out.unicodeScalars.append(hex[Int(scalar.value & 0xF)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
