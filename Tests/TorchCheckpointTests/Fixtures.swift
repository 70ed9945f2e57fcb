import Foundation
// Exported so every test file in this target sees the shared helpers without its own import.
@_exported import TestSupport
import Testing
import WeightconvCore

/// Where the committed fixtures are, and their torch-made expectations.
enum Fixtures {
    /// `<package>/fixtures` (``fixturesRoot``), kept under this name for the tests that use it.
    static let root = fixturesRoot
    static let checkpoints = fixturesRoot.appendingPathComponent("checkpoints")
    static let hostile = fixturesRoot.appendingPathComponent("hostile")

    static func path(_ name: String) -> String { checkpoints.appendingPathComponent(name).path }

    /// Fixture files that have an `<name>.expected.json` (written by tools/make_checkpoint_fixtures.py).
    static var checkpointNames: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        return files.filter { $0.hasSuffix(".expected.json") }.map { String($0.dropLast(".expected.json".count)) }.sorted()
    }

    static func decode<T: Decodable>(_ type: T.Type, _ url: URL) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url))
    }

    static func expectation(_ name: String) throws -> Expectation {
        try decode(Expectation.self, checkpoints.appendingPathComponent(name + ".expected.json"))
    }

    /// The expectation torch wrote for one fixture.
    struct Expectation: Decodable {
        struct Tensor: Decodable {
            var name: String
            var dtype: String
            var shape: [Int]
            var sha256: String
            /// First elements; booleans as 1 and 0.
            var values: [Double]

            enum CodingKeys: String, CodingKey { case name, dtype, shape, sha256, values }

            init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                name = try c.decode(String.self, forKey: .name)
                dtype = try c.decode(String.self, forKey: .dtype)
                shape = try c.decode([Int].self, forKey: .shape)
                sha256 = try c.decode(String.self, forKey: .sha256)
                values = try c.decode([JSONValue].self, forKey: .values).map { value in
                    switch value {
                    case .bool(let b): b ? 1 : 0
                    case .int(let i): Double(i)
                    case .double(let d): d
                    default: .nan
                    }
                }
            }
        }

        var kind: String
        var tensors: [Tensor]
        var shared_storages: [[String]]
        var metadata: JSONValue
        var model_class: String?
    }
}

/// A JSON value as the fixture script wrote it (booleans kept apart from numbers).
indirect enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let i = try? container.decode(Int64.self) { self = .int(i) }
        else if let d = try? container.decode(Double.self) { self = .double(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

/// Compares a reader's metadata with the JSON form the fixture script wrote: plain values must be
/// equal; `{"$opaque": type, "summary"?: s}` matches an opaque value of that type (and summary).
/// Returns a description of the first difference, or nil.
func metadataDifference(_ value: MetadataValue, _ json: JSONValue, at path: String = "$") -> String? {
    if case .object(let object) = json, case .string(let type)? = object["$opaque"] {
        guard case .opaque(let gotType, let summary) = value else { return "\(path): expected opaque \(type), got \(value.jsonText)" }
        if gotType != type { return "\(path): expected opaque \(type), got \(gotType)" }
        if case .string(let expected)? = object["summary"], expected != summary { return "\(path): summary '\(summary)' != '\(expected)'" }
        return nil
    }
    switch (value, json) {
    case (.null, .null): return nil
    case let (.bool(a), .bool(b)) where a == b: return nil
    case let (.int(a), .int(b)) where Int64(a) == b: return nil
    case let (.double(a), .double(b)) where a == b: return nil
    case let (.double(a), .int(b)) where a == Double(b): return nil
    case let (.string(a), .string(b)) where a == b: return nil
    case let (.array(items), .array(expected)) where items.count == expected.count:
        for (index, (item, want)) in zip(items, expected).enumerated() {
            if let difference = metadataDifference(item, want, at: "\(path)[\(index)]") { return difference }
        }
        return nil
    case let (.object(entries), .object(expected)) where entries.count == expected.count:
        for (key, item) in entries {
            guard let want = expected[key] else { return "\(path): unexpected key \(key)" }
            if let difference = metadataDifference(item, want, at: "\(path).\(key)") { return difference }
        }
        return nil
    default:
        return "\(path): got \(value.jsonText), expected \(json)"
    }
}
