/// Text from a file made safe to print on a terminal line.
package enum TerminalText {
    /// Control characters (C0, DEL, C1, and the Unicode line and paragraph separators) become
    /// `\u{…}` escapes, so a name read from a file cannot break a line or send terminal escapes.
    package static func escaped(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 {
                out.append(contentsOf: "\\u{\(String(v, radix: 16))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
