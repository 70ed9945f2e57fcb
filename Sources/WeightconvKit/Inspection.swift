import TorchCheckpoint
import WeightconvCore

/// What `weightconv inspect` reports about a file: its kind, each tensor (name, dtype, shape, size,
/// SHA-256 of its contiguous little-endian bytes) and its metadata.
///
/// The SHA-256 is the contract later steps use to prove a conversion lossless: the same listing
/// computed on the source checkpoint and on the converted file must agree.
public struct Inspection: Sendable {
    public struct Row: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var byteCount: Int
        public var sha256: String
    }

    public var file: String
    public var kind: FileKind
    /// The listed tensors (all of them, or the first `limit`).
    public var rows: [Row]
    public var tensorCount: Int
    public var totalElements: Int
    public var totalBytes: Int
    public var metadata: MetadataValue
    /// Names that share one storage (tied weights), when the file records it.
    public var sharedStorageGroups: [[String]]
    /// The class of a whole pickled model, when the file is one.
    public var modelClass: String?

    /// Opens `path` and hashes the first `limit` tensors (all when `nil`); totals cover every tensor.
    public static func inspect(path: String, limit: Int? = nil) throws -> Inspection {
        let kind = try detectFileKind(path: path)
        let store = try openTensorStore(path: path)
        // One pass over every tensor: keep memory near the largest storage, not the file.
        (store as? Checkpoint)?.releasesPagesAfterRead = true
        var rows: [Row] = []
        var totalElements = 0
        var totalBytes = 0
        for (index, descriptor) in store.tensors.enumerated() {
            let elements = descriptor.elementCount ?? 0
            let bytes = descriptor.byteCount ?? 0
            totalElements = totalElements &+ elements
            totalBytes = totalBytes &+ bytes
            if let limit, index >= limit { continue }
            rows.append(Row(name: descriptor.name, dtype: descriptor.dtype, shape: descriptor.shape, byteCount: bytes,
                            sha256: try store.sha256(of: descriptor.name)))
        }
        let checkpoint = store as? Checkpoint
        return Inspection(file: path, kind: kind, rows: rows, tensorCount: store.tensors.count, totalElements: totalElements,
                          totalBytes: totalBytes, metadata: store.metadata, sharedStorageGroups: checkpoint?.sharedStorageGroups ?? [],
                          modelClass: checkpoint?.modelClass)
    }

    /// `{"file":…, "kind":…, "tensors":[{"name","dtype","shape","sha256"}], "metadata":…}`.
    public var jsonText: String {
        var out = "{\"file\":" + JSONText.quote(file) + ",\"kind\":" + JSONText.quote(kind.rawValue) + ",\"tensors\":["
        out += rows.map { row in
            "{\"name\":" + JSONText.quote(row.name) + ",\"dtype\":" + JSONText.quote(row.dtype.rawValue)
                + ",\"shape\":[" + row.shape.map(String.init).joined(separator: ",") + "],\"sha256\":\"" + row.sha256 + "\"}"
        }.joined(separator: ",")
        out += "],\"tensor_count\":\(tensorCount),\"total_bytes\":\(totalBytes)"
        if !sharedStorageGroups.isEmpty {
            out += ",\"shared_storages\":[" + sharedStorageGroups.map { "[" + $0.map(JSONText.quote).joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        }
        if let modelClass { out += ",\"model_class\":" + JSONText.quote(modelClass) }
        return out + ",\"metadata\":" + metadata.jsonText + "}"
    }

    /// A readable table with totals and a metadata summary.
    public var table: String {
        var lines = ["\(TerminalText.escaped(file)): \(kind.phrase)"]
        if let modelClass { lines.append("whole pickled model of class \(TerminalText.escaped(modelClass)); state_dict recovered from its modules") }
        let header = ("name", "dtype", "shape", "size", "sha256")
        let cells = rows.map { (TerminalText.escaped($0.name), $0.dtype.rawValue, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]",
                                Self.size($0.byteCount), String($0.sha256.prefix(16))) }
        let nameWidth = max(header.0.count, cells.map(\.0.count).max() ?? 0)
        let shapeWidth = max(header.2.count, cells.map(\.2.count).max() ?? 0)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        func line(_ c: (String, String, String, String, String)) -> String {
            pad(c.0, nameWidth) + "  " + pad(c.1, 5) + "  " + pad(c.2, shapeWidth) + "  " + pad(c.3, 9) + "  " + c.4
        }
        if !cells.isEmpty {
            lines.append(line(header))
            lines += cells.map(line)
        }
        if rows.count < tensorCount { lines.append("… \(tensorCount - rows.count) more tensors (raise --limit to list them)") }
        lines.append("total: \(tensorCount) tensors, \(totalElements) elements, \(Self.size(totalBytes))")
        if !sharedStorageGroups.isEmpty {
            lines.append("shared storages: " + TerminalText.escaped(sharedStorageGroups.map { $0.joined(separator: " = ") }.joined(separator: "; ")))
        }
        lines.append(contentsOf: Self.metadataSummary(metadata))
        return lines.joined(separator: "\n")
    }

    static func size(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return String(Int((value * 10).rounded()) / 10) + "." + String(Int((value * 10).rounded()) % 10) + " " + units[unit]
    }

    /// One line per top-level metadata key, each value cut to a readable length.
    static func metadataSummary(_ metadata: MetadataValue) -> [String] {
        func brief(_ value: MetadataValue) -> String {
            let text: String
            switch value {
            case .opaque(let type, let summary): text = "\(type)(\(summary))"
            case .object(let entries): text = "{" + entries.prefix(40).map(\.key).joined(separator: ", ") + "}"
            default:
                var budget = 101
                text = jsonPrefix(value, budget: &budget)
            }
            return text.count > 100 ? String(text.prefix(97)) + "..." : text
        }
        switch metadata {
        case .object(let entries) where entries.isEmpty: return []
        case .object(let entries): return ["metadata:"] + entries.map { TerminalText.escaped("  \($0.key): \(brief($0.value))") }
        default: return [TerminalText.escaped("metadata: \(brief(metadata))")]
        }
    }

    /// The value's JSON, stopped once about `budget` characters are written: a summary line must not
    /// render a hostile file's million shared values only to show the first hundred characters.
    static func jsonPrefix(_ value: MetadataValue, budget: inout Int) -> String {
        var out: String
        switch value {
        case .array(let items):
            out = "["
            for (index, item) in items.enumerated() {
                guard out.count < budget else { break }
                if index > 0 { out += "," }
                var inner = budget - out.count
                out += jsonPrefix(item, budget: &inner)
            }
            out += "]"
        case .object(let entries):
            out = "{"
            for (index, entry) in entries.enumerated() {
                guard out.count < budget else { break }
                if index > 0 { out += "," }
                out += JSONText.quote(entry.key) + ":"
                var inner = budget - out.count
                out += jsonPrefix(entry.value, budget: &inner)
            }
            out += "}"
        default:
            out = value.jsonText
        }
        budget -= out.count
        return out
    }
}
