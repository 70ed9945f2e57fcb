import Foundation
import Networks
import TensorEngine
import WeightconvCore
import WeightFormat

extension CanonicalWeights: WeightProvider {}

extension CanonicalWeights: TensorStore {
    public var path: String { store.path }

    /// Canonical names with the shapes the network sees, in file order.
    public var tensors: [TensorDescriptor] { order.compactMap(descriptor(named:)) }

    public var metadata: MetadataValue { store.metadata }

    public func descriptor(named name: String) -> TensorDescriptor? {
        entries[name].map { TensorDescriptor(name: name, dtype: $0.dtype, shape: $0.shape) }
    }

    /// The original tensor's bytes: repairs only add unit dimensions, so they are the same bytes.
    public func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try store.withContiguousBytes(of: source(of: name), body)
    }

    public func forEachPiece(of name: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try store.forEachPiece(of: source(of: name), pieceSize: pieceSize, body)
    }

    /// The source tensor a canonical name maps to.
    private func source(of name: String) throws -> String {
        guard let entry = entries[name] else {
            throw WeightconvError(file: store.path, problem: "no tensor maps to '\(name)'")
        }
        return entry.source
    }
}

/// Tensors already under canonical names (a `.wcv` file) as a network's weight provider.
public struct StoreWeightProvider: WeightProvider, @unchecked Sendable {
    // Stores are read-only after opening; see `CanonicalWeights`.
    public let store: any TensorStore
    private let shapes: [String: [Int]]

    public init(_ store: any TensorStore) {
        self.store = store
        shapes = Dictionary(store.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
    }

    public func shape(of key: String) -> [Int]? { shapes[key] }
    public func floats(of key: String) throws -> [Float] { try store.floats(of: key) }
}

/// A configuration stored in a weight file's header: the family's own configuration as the JSON of its
/// `Codable` form, next to the family name (`architecture.family`).
enum ConfigurationCoding {
    static func metadata(_ configuration: NetworkConfiguration) throws -> MetadataValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        switch configuration {
        case .xception(let c): data = try encoder.encode(c)
        case .mobileNetV2(let c): data = try encoder.encode(c)
        case .shuffleNetV1(let c): data = try encoder.encode(c)
        case .resnext(let c): data = try encoder.encode(c)
        }
        return try StrictJSON.parse(Array(data))
    }

    static func configuration(family: String, _ value: MetadataValue, file: String) throws -> NetworkConfiguration {
        let data = Data(value.jsonText.utf8)
        let decoder = JSONDecoder()
        do {
            switch family {
            case NetworkFamily.xception.rawValue: return .xception(try decoder.decode(XceptionConfiguration.self, from: data))
            case NetworkFamily.mobileNetV2.rawValue: return .mobileNetV2(try decoder.decode(MobileNetV2Configuration.self, from: data))
            case NetworkFamily.shuffleNetV1.rawValue: return .shuffleNetV1(try decoder.decode(ShuffleNetV1Configuration.self, from: data))
            case NetworkFamily.resnext.rawValue: return .resnext(try decoder.decode(ResNeXtConfiguration.self, from: data))
            default:
                throw WeightconvError(file: file, problem: "records the unknown architecture '\(family)'",
                                      hint: "one of " + NetworkFamily.allCases.map(\.rawValue).joined(separator: ", "))
            }
        } catch let error as WeightconvError {
            throw error
        } catch {
            throw WeightconvError(file: file, problem: "its \(family) configuration does not decode: \(error)",
                                  hint: "the file was written by another weightconv version; re-import the checkpoint")
        }
    }
}

extension Preprocessing {
    /// The header's preprocessing entry.
    var document: WeightFileDocument.Preprocessing {
        .init(inputSize: [3] + inputSize, mean: mean.map(Double.init), std: std.map(Double.init),
              channelOrder: channelOrder.rawValue, pixelScale: Double(pixelScale))
    }
}

extension NetworkConfiguration {
    /// The input side the family is usually trained at, when a file records no preprocessing.
    public var defaultInputSize: Int {
        if case .xception = self { return 299 }
        return 224
    }

    /// The configuration as one line of JSON (what the header stores).
    public var summary: String {
        (try? ConfigurationCoding.metadata(self).jsonText) ?? "\(self)"
    }
}

/// The canonical weights' shapes, with storage that is allocated but never written or read: what
/// checking a network's structure needs, without bringing a 100 MB checkpoint into memory.
///
/// Only for networks that are built and thrown away unrun. Large allocations come from fresh zero
/// pages that stay untouched, so they cost address space, not memory.
struct ShapeOnlyProvider: WeightProvider, @unchecked Sendable {
    let weights: CanonicalWeights

    init(_ weights: CanonicalWeights) { self.weights = weights }

    func shape(of key: String) -> [Int]? { weights.shape(of: key) }

    func floats(of key: String) throws -> [Float] {
        guard let shape = weights.shape(of: key), let count = CheckedMath.product(shape) else {
            throw WeightconvError(file: weights.path, problem: "no tensor maps to '\(key)'")
        }
        // Small tensors (batch-norm statistics) are read at build time, so they get real values.
        if count < 4096 { return try weights.floats(of: key) }
        return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}
