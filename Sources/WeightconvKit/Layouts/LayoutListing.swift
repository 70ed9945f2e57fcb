import Networks
import WeightconvCore

extension LayoutProfile {
    /// A readable account of the profile: what it recognises, how it renames, what it assumes.
    ///
    /// `weightconv layouts --verbose` prints it so a user can check a layout against the
    /// implementation's source without reading Swift.
    package var listing: String {
        var lines = ["\(qualifiedName): \(implementation)" + (origin == "built-in" ? "" : " (\(origin))")]
        lines.append("  recognised by: " + fingerprint.required.map(\.source).joined(separator: "  "))
        if !fingerprint.forbidden.isEmpty {
            lines.append("  and none of: " + fingerprint.forbidden.map(\.source).joined(separator: "  "))
        }
        for rule in renames { lines.append("  rename \(rule.pattern)  →  \(rule.replacement)") }
        for (source, canonical) in keyMap.sorted(by: { $0.key < $1.key }) { lines.append("  key \(source)  →  \(canonical)") }
        for (table, values) in tables.sorted(by: { $0.key < $1.key }) {
            lines.append("  table \(table) = \(values)")
        }
        for repair in repairs {
            switch repair {
            case .appendUnitSpatialDims(let pattern): lines.append("  repair [out, in] → [out, in, 1, 1] for \(pattern)")
            case .insertUnitInputDim(let pattern): lines.append("  repair [C, k, k] → [C, 1, k, k] for \(pattern)")
            case .dropUnitSpatialDims(let pattern): lines.append("  repair [out, in, 1, 1] → [out, in] for \(pattern)")
            }
        }
        let behaviourText = behaviour.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.jsonText)" }
        if !behaviourText.isEmpty { lines.append("  behaviour: " + behaviourText.joined(separator: ", ")) }
        let p = PreprocessingMember(preprocessing)
        lines.append("  input: \(p.inputSize.map(String.init).joined(separator: "x")) \(p.channelOrder.rawValue), "
                     + "x/\(p.pixelScale) then mean \(p.mean) std \(p.std)")
        return lines.joined(separator: "\n")
    }
}
