import Foundation
import Networks
import WeightconvCore
import WeightFormat

/// Why a layout file was refused: the file, the line and the key path of the value at fault.
package struct LayoutFileProblem: Error, Sendable, Equatable, CustomStringConvertible {
    package var file: String
    /// 1-based; 0 when the problem is the file as a whole (unreadable, too large).
    package var line: Int
    /// Where in the document (`renames[3].pattern`), empty for the document itself.
    package var path: String
    package var problem: String

    package var description: String {
        let place = line > 0 ? ":\(line)" : ""
        return "\(file)\(place): " + (path.isEmpty ? "" : "\(path): ") + problem
    }

    /// The problem as the one-line error the command line prints: `error: FILE: line N: PATH: problem (hint)`.
    package var error: WeightconvError {
        WeightconvError(file: file, problem: (line > 0 ? "line \(line): " : "") + (path.isEmpty ? "" : "\(path): ") + problem,
                        hint: "docs/layout-format.md describes the format; `weightconv layouts --check FILE` checks a file",
                        cause: self)
    }
}

/// A layout file's content: a layout to map, or a network refused by name.
package enum LayoutDefinition: Sendable {
    case layout(LayoutProfile)
    case refusal(ForeignNetwork)
}

/// Reads the layout format (docs/layout-format.md): the built-in layouts and a user's go through
/// this one parser, so a built-in layout is exactly what `weightconv layouts --export` prints.
package enum LayoutFile {
    /// The value of every file's `format` member.
    package static let formatVersion = "weightconv-layout/1"
    /// Layout files are a few kilobytes; anything larger is not one.
    static let sizeLimit = 1 << 20

    /// Reads and checks the layout file at `path`.
    package static func load(path: String) throws(LayoutFileProblem) -> LayoutDefinition {
        let data: Data
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= sizeLimit else {
                throw LayoutFileProblem(file: path, line: 0, path: "",
                                        problem: "\(size) bytes is too large for a layout file (at most \(sizeLimit))")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let problem as LayoutFileProblem {
            throw problem
        } catch {
            throw LayoutFileProblem(file: path, line: 0, path: "",
                                    problem: "cannot be read (\((error as NSError).localizedDescription))")
        }
        return try parse(Array(data), origin: path)
    }

    /// Parses a layout file's bytes; `origin` names it in problems and in the profile.
    package static func parse(_ bytes: [UInt8], origin: String) throws(LayoutFileProblem) -> LayoutDefinition {
        guard bytes.count <= sizeLimit else {
            throw LayoutFileProblem(file: origin, line: 0, path: "", problem: "too large for a layout file")
        }
        let document: MetadataValue
        let offsets: [String: Int]
        do {
            (document, offsets) = try StrictJSON.parseRecordingOffsets(bytes)
        } catch {
            let place = StrictJSON.lineAndColumn(of: error.offset, in: bytes)
            throw LayoutFileProblem(file: origin, line: place.line, path: "",
                                    problem: "not valid JSON: \(error) (column \(place.column))")
        }
        let reader = Reader(origin: origin, bytes: bytes, offsets: offsets)
        return try reader.definition(document)
    }

    /// Reads the members of the document, naming the line of any value it refuses.
    struct Reader {
        let origin: String
        let bytes: [UInt8]
        let offsets: [String: Int]

        func fail(_ path: String, _ problem: String) -> LayoutFileProblem {
            let line = offsets[path].map { StrictJSON.lineAndColumn(of: $0, in: bytes).line } ?? 0
            return LayoutFileProblem(file: origin, line: line, path: path, problem: problem)
        }

        func object(_ value: MetadataValue, _ path: String, allowed: Set<String>) throws(LayoutFileProblem)
            -> [String: MetadataValue]
        {
            guard case .object(let members) = value else { throw fail(path, "expected an object, found \(value.kindName)") }
            for member in members where !allowed.contains(member.key) {
                let key = path.isEmpty ? member.key : "\(path).\(member.key)"
                throw fail(key, "unknown member '\(member.key)' (expected \(allowed.sorted().joined(separator: ", ")))")
            }
            return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        }

        func string(_ value: MetadataValue?, _ path: String) throws(LayoutFileProblem) -> String {
            guard let value else { throw fail(parent(of: path), "missing member '\(leaf(of: path))'") }
            guard case .string(let s) = value else { throw fail(path, "expected a string, found \(value.kindName)") }
            return s
        }

        func array(_ value: MetadataValue?, _ path: String) throws(LayoutFileProblem) -> [MetadataValue] {
            guard let value else { return [] }
            guard case .array(let items) = value else { throw fail(path, "expected an array, found \(value.kindName)") }
            return items
        }

        func pattern(_ value: MetadataValue?, _ path: String) throws(LayoutFileProblem) -> KeyPattern {
            let text = try string(value, path)
            do {
                return try KeyPattern(text)
            } catch {
                throw fail(path, error.description)
            }
        }

        func patterns(_ value: MetadataValue?, _ path: String) throws(LayoutFileProblem) -> [KeyPattern] {
            var result: [KeyPattern] = []
            for (index, item) in try array(value, path).enumerated() { result.append(try pattern(item, "\(path)[\(index)]")) }
            return result
        }

        func integer(_ value: MetadataValue, _ path: String) throws(LayoutFileProblem) -> Int {
            switch value {
            case .int(let i): return i
            case .double(let d) where d == d.rounded() && abs(d) < 1e15: return Int(d)
            default: throw fail(path, "expected an integer, found \(value.jsonText)")
            }
        }

        func fingerprint(_ value: MetadataValue?) throws(LayoutFileProblem) -> Fingerprint {
            guard let value else { throw fail("", "missing member 'fingerprint'") }
            let members = try object(value, "fingerprint", allowed: ["required", "forbidden"])
            let required = try patterns(members["required"], "fingerprint.required")
            guard !required.isEmpty else {
                throw fail("fingerprint", "'required' must list at least one pattern, or the layout would match any file")
            }
            return Fingerprint(required: required, forbidden: try patterns(members["forbidden"], "fingerprint.forbidden"))
        }

        func definition(_ document: MetadataValue) throws(LayoutFileProblem) -> LayoutDefinition {
            let top = try object(document, "", allowed: ["format", "family", "name", "implementation", "fingerprint", "renames", "keys",
                                                         "tables", "repairs", "behaviour", "preprocessing", "notes", "refusal"])
            let format = try string(top["format"], "format")
            guard format == LayoutFile.formatVersion else {
                throw fail("format", "'\(format)' is not a format this weightconv reads (\(LayoutFile.formatVersion))")
            }
            let name = try string(top["name"], "name")
            if top["notes"] != nil { _ = try string(top["notes"], "notes") }
            if top["refusal"] != nil {
                for key in ["renames", "keys", "tables", "repairs", "behaviour", "preprocessing"] where top[key] != nil {
                    throw fail(key, "a refusal (a file with 'refusal') maps nothing, so it has no '\(key)'")
                }
                return .refusal(ForeignNetwork(name: name, fingerprint: try fingerprint(top["fingerprint"]),
                                               reason: try string(top["refusal"], "refusal")))
            }
            guard !name.isEmpty, !name.contains("/") else { throw fail("name", "a layout name is non-empty and has no '/'") }
            let familyName = try string(top["family"], "family")
            guard let family = NetworkFamily(rawValue: familyName) else {
                throw fail("family", "unknown family '\(familyName)' (one of \(NetworkFamily.names))")
            }
            let fingerprint = try fingerprint(top["fingerprint"])

            var tables: [String: [Int]] = [:]
            if let value = top["tables"] {
                guard case .object(let members) = value else { throw fail("tables", "expected an object of integer arrays") }
                for member in members {
                    var entries: [Int] = []
                    for (index, item) in try array(member.value, "tables.\(member.key)").enumerated() {
                        entries.append(try integer(item, "tables.\(member.key)[\(index)]"))
                    }
                    tables[member.key] = entries
                }
            }
            var renames: [RenameRule] = []
            for (index, item) in try array(top["renames"], "renames").enumerated() {
                let path = "renames[\(index)]"
                let members = try object(item, path, allowed: ["pattern", "replacement"])
                let source = try string(members["pattern"], "\(path).pattern")
                let replacement = try string(members["replacement"], "\(path).replacement")
                do {
                    renames.append(try RenameRule(source, replacement, tables: tables))
                } catch {
                    if case .badPattern = error { throw fail("\(path).pattern", error.description) }
                    throw fail("\(path).replacement", error.description)
                }
            }
            var keyMap: [String: String] = [:]
            if let value = top["keys"] {
                guard case .object(let members) = value else { throw fail("keys", "expected an object of key → canonical key") }
                for member in members { keyMap[member.key] = try string(member.value, "keys.\(member.key)") }
            }
            var repairs: [TensorRepair] = []
            for (index, item) in try array(top["repairs"], "repairs").enumerated() {
                let path = "repairs[\(index)]"
                let members = try object(item, path, allowed: ["repair", "pattern"])
                let kind = try string(members["repair"], "\(path).repair")
                let keys = try pattern(members["pattern"], "\(path).pattern")
                switch kind {
                case "pointwise_2d": repairs.append(.appendUnitSpatialDims(keys))
                case "depthwise_3d": repairs.append(.insertUnitInputDim(keys))
                case "classifier_1x1": repairs.append(.dropUnitSpatialDims(keys))
                default: throw fail("\(path).repair", "unknown repair '\(kind)' (pointwise_2d, depthwise_3d or classifier_1x1)")
                }
            }
            var behaviour: [String: BehaviourValue] = [:]
            if let value = top["behaviour"] {
                guard case .object(let members) = value else { throw fail("behaviour", "expected an object") }
                for member in members {
                    let path = "behaviour.\(member.key)"
                    let given: BehaviourValue
                    switch member.value {
                    case .bool(let b): given = .bool(b)
                    case .int(let i): given = .number(Double(i))
                    case .double(let d): given = .number(d)
                    case .string(let s): given = .string(s)
                    default: throw fail(path, "expected a string, number or true/false, found \(member.value.kindName)")
                    }
                    if let problem = BehaviourVocabulary.problem(family: family, key: member.key, value: given) {
                        throw fail(path, problem)
                    }
                    behaviour[member.key] = given
                }
            }
            guard let preprocessingValue = top["preprocessing"] else { throw fail("", "missing member 'preprocessing'") }
            let preprocessing: PreprocessingMember
            do {
                preprocessing = try JSONDecoder().decode(PreprocessingMember.self, from: Data(preprocessingValue.jsonText.utf8))
            } catch {
                throw fail("preprocessing", "does not describe the input: \(Self.decodingProblem(error))")
            }
            if let problem = preprocessing.resizeProblem { throw fail("preprocessing", problem) }
            return .layout(LayoutProfile(name: name, family: family,
                                         implementation: try string(top["implementation"], "implementation"),
                                         fingerprint: fingerprint, renames: renames, keyMap: keyMap, tables: tables, repairs: repairs,
                                         behaviour: behaviour, preprocessing: preprocessing.preprocessing, origin: origin))
        }

        /// A decoding error as one short clause.
        static func decodingProblem(_ error: any Error) -> String {
            switch error as? DecodingError {
            case .keyNotFound(let key, _)?: "missing member '\(key.stringValue)'"
            case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
                "'\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
            default: "\(error)"
            }
        }

        private func parent(of path: String) -> String {
            guard let dot = path.lastIndex(of: ".") else { return "" }
            return String(path[..<dot])
        }

        private func leaf(of path: String) -> String {
            guard let dot = path.lastIndex(of: ".") else { return path }
            return String(path[path.index(after: dot)...])
        }
    }
}

extension MetadataValue {
    /// What kind of JSON value this is, for messages.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "true/false"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        case .opaque: "a value"
        }
    }
}

extension LayoutFile {
    /// `profile` as a layout file, in the layout of the built-in ones (one rule, key or repair a line),
    /// so that `--save-layout` writes what `--layout-file` reads back.
    package static func text(of profile: LayoutProfile, notes: String? = nil) -> String {
        func quote(_ s: String) -> String { MetadataValue.string(s).jsonText }
        func list(_ patterns: [KeyPattern]) -> String { "[" + patterns.map { quote($0.source) }.joined(separator: ", ") + "]" }
        var members: [String] = [
            "  \"format\": \(quote(formatVersion))",
            "  \"family\": \(quote(profile.family.rawValue))",
            "  \"name\": \(quote(profile.name))",
            "  \"implementation\": \(quote(profile.implementation))",
        ]
        var fingerprint = "  \"fingerprint\": {\n    \"required\": \(list(profile.fingerprint.required))"
        if !profile.fingerprint.forbidden.isEmpty { fingerprint += ",\n    \"forbidden\": \(list(profile.fingerprint.forbidden))" }
        members.append(fingerprint + "\n  }")
        if !profile.renames.isEmpty {
            members.append("  \"renames\": [\n" + profile.renames.map {
                "    {\"pattern\": \(quote($0.pattern.source)), \"replacement\": \(quote($0.replacement))}"
            }.joined(separator: ",\n") + "\n  ]")
        }
        if !profile.keyMap.isEmpty {
            members.append("  \"keys\": {\n" + profile.keyMap.sorted { $0.key < $1.key }.map { "    \(quote($0.key)): \(quote($0.value))" }
                .joined(separator: ",\n") + "\n  }")
        }
        if !profile.tables.isEmpty {
            members.append("  \"tables\": {\n" + profile.tables.sorted { $0.key < $1.key }.map {
                "    \(quote($0.key)): [" + $0.value.map(String.init).joined(separator: ", ") + "]"
            }.joined(separator: ",\n") + "\n  }")
        }
        if !profile.repairs.isEmpty {
            members.append("  \"repairs\": [\n" + profile.repairs.map {
                "    {\"repair\": \(quote($0.fileName)), \"pattern\": \(quote($0.pattern.source))}"
            }.joined(separator: ",\n") + "\n  ]")
        }
        members.append("  \"behaviour\": {" + (profile.behaviour.isEmpty ? "}" : "\n" + profile.behaviour.sorted { $0.key < $1.key }
            .map { "    \(quote($0.key)): \($0.value.jsonText)" }.joined(separator: ",\n") + "\n  }"))
        // Through the member's Codable form, so every field the record has is carried.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let preprocessing = (try? encoder.encode(PreprocessingMember(profile.preprocessing))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        members.append("  \"preprocessing\": \(preprocessing)")
        if let notes { members.append("  \"notes\": \(quote(notes))") }
        return "{\n" + members.joined(separator: ",\n") + "\n}\n"
    }
}
