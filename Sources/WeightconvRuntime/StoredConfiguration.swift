import Foundation
import Networks
import TensorEngine
import WeightconvCore
import WeightFormat

/// Tensors already under canonical names (a `.wcv` file) as a network's weight provider.
package struct StoreWeightProvider: WeightProvider, @unchecked Sendable {
    // Stores are read-only after opening; see `CanonicalWeights`.
    package let store: any TensorStore
    private let shapes: [String: [Int]]
    /// The store when it is a mapped `.wcv` file, whose pages a read can give back.
    private let mapped: WeightFile?

    package init(_ store: any TensorStore) {
        self.store = store
        shapes = Dictionary(store.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        mapped = store as? WeightFile
    }

    package func shape(of key: String) -> [Int]? { shapes[key] }

    /// The tensor as floats; a mapped file's pages of it then leave the resident set, so that a
    /// built network does not hold its weights twice (the copy and the file's pages). A network
    /// reads each tensor once.
    package func floats(of key: String) throws -> [Float] {
        let values = try store.floats(of: key)
        mapped?.releasePages(of: key)
        return values
    }
}

/// A configuration stored in a weight file's header: the family's own configuration as the JSON of its
/// `Codable` form, next to the family name (`architecture.family`).
package enum ConfigurationCoding {
    package static func metadata(_ configuration: NetworkConfiguration) throws -> MetadataValue {
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

    /// The configuration a header's `architecture` records. Its family name is read here, once: the
    /// one place a `.wcv` file's family is text.
    package static func configuration(_ architecture: WeightFileDocument.Architecture, file: String) throws -> NetworkConfiguration {
        guard let family = NetworkFamily(rawValue: architecture.family) else {
            throw WeightconvError(file: file, problem: "records the unknown architecture '\(architecture.family)'",
                                  hint: "one of " + NetworkFamily.names)
        }
        let data = Data(architecture.config.jsonText.utf8)
        let decoder = JSONDecoder()
        do {
            return switch family {
            case .xception: .xception(try decoder.decode(XceptionConfiguration.self, from: data))
            case .mobileNetV2: .mobileNetV2(try decoder.decode(MobileNetV2Configuration.self, from: data))
            case .shuffleNetV1: .shuffleNetV1(try decoder.decode(ShuffleNetV1Configuration.self, from: data))
            case .resnext: .resnext(try decoder.decode(ResNeXtConfiguration.self, from: data))
            }
        } catch {
            throw WeightconvError(file: file, problem: "its \(family) configuration does not decode: \(error)",
                                  hint: "the file was written by another weightconv version; re-import the checkpoint", cause: error)
        }
    }
}

extension NetworkConfiguration {
    /// The input side the family is usually trained at, when a file records no preprocessing.
    package var defaultInputSize: Int {
        if case .xception = self { return 299 }
        return 224
    }

    /// The configuration as one line of JSON (what the header stores).
    package var summary: String {
        (try? ConfigurationCoding.metadata(self).jsonText) ?? "\(self)"
    }
}

