import Foundation
import WeightconvCore

/// The four network families weightconv models.
public enum NetworkFamily: String, Sendable, CaseIterable, Codable {
    case xception
    case mobileNetV2 = "mobilenet_v2"
    case shuffleNetV1 = "shufflenet_v1"
    case resnext
}

/// How an implementation expects its input: the preprocessing travels with the weights so that a
/// library user feeds the network the way it was trained.
public struct Preprocessing: Sendable, Hashable, Codable {
    public enum ChannelOrder: String, Sendable, Codable { case rgb = "RGB", bgr = "BGR" }
    /// Height and width the implementation was trained at.
    public var inputSize: [Int]
    public var channelOrder: ChannelOrder
    /// Pixel values are `raw / pixelScale` before normalisation: 255 for 0–1 inputs, 1 for 0–255 inputs.
    public var pixelScale: Float
    public var mean: [Float]
    public var std: [Float]

    public init(inputSize: [Int], channelOrder: ChannelOrder = .rgb, pixelScale: Float = 255,
                mean: [Float], std: [Float]) {
        self.inputSize = inputSize
        self.channelOrder = channelOrder
        self.pixelScale = pixelScale
        self.mean = mean
        self.std = std
    }

    /// torchvision's ImageNet normalisation.
    public static func imageNet(_ size: Int) -> Preprocessing {
        Preprocessing(inputSize: [size, size], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    }

    /// Inception-style normalisation to [-1, 1] (Cadene's and timm's Xception).
    public static func inception(_ size: Int) -> Preprocessing {
        Preprocessing(inputSize: [size, size], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    }
}

/// A small fixed set of tensor repairs that real files need.
public enum TensorRepair: Sendable, Hashable {
    /// Cadene's older Xception files store pointwise kernels as `[out, in]`; they become `[out, in, 1, 1]`.
    case appendUnitSpatialDims(keyPattern: String)
    /// Even older ones store depthwise kernels as `[C, k, k]`; they become `[C, 1, k, k]`.
    case insertUnitInputDim(keyPattern: String)
}

/// Key patterns that recognise a layout: every `required` pattern matches some key, no `forbidden`
/// pattern matches any.
public struct Fingerprint: Sendable {
    public let required: [String]
    public let forbidden: [String]
    // Compiled once: recognising a layout tries every profile's patterns, and compiling them on
    // each try was 5% of an import's CPU. Patterns are literals in Profiles.swift, checked by the
    // profile tests; an invalid one matches nothing. Regex is an immutable value, only not marked
    // Sendable (as in RenameRule).
    nonisolated(unsafe) private let requiredRegexes: [Regex<AnyRegexOutput>]
    nonisolated(unsafe) private let forbiddenRegexes: [Regex<AnyRegexOutput>]

    public init(required: [String], forbidden: [String] = []) {
        self.required = required
        self.forbidden = forbidden
        requiredRegexes = required.compactMap { try? Regex($0) }
        forbiddenRegexes = forbidden.compactMap { try? Regex($0) }
    }

    func matches(_ keys: [String]) -> Bool {
        requiredRegexes.count == required.count
            && requiredRegexes.allSatisfy { regex in keys.contains { $0.contains(regex) } }
            && !forbiddenRegexes.contains { regex in keys.contains { $0.contains(regex) } }
    }
}

/// How one implementation names a family's tensors, and what its state_dict does not record.
///
/// A profile is data: adding a layout means adding one value that a reader can check against the
/// implementation's PyTorch source, not writing a loop.
public struct LayoutProfile: Sendable {
    /// Short name used on the command line (`--layout`) and stored in the native file.
    public var name: String
    public var family: NetworkFamily
    /// The implementation it describes, for messages and provenance.
    public var implementation: String
    public var fingerprint: Fingerprint
    /// Applied in order; each rule rewrites a key if it matches.
    public var renames: [RenameRule]
    public var tables: [String: [Int]]
    public var repairs: [TensorRepair]
    /// Behaviour the weights do not record (bn eps, where stride and shuffle sit, …), as values of the
    /// family's configuration keys.
    public var behaviour: [String: MetadataValue]
    public var preprocessing: Preprocessing

    public init(name: String, family: NetworkFamily, implementation: String, fingerprint: Fingerprint,
                renames: [RenameRule] = [], tables: [String: [Int]] = [:], repairs: [TensorRepair] = [],
                behaviour: [String: MetadataValue] = [:], preprocessing: Preprocessing) {
        self.name = name
        self.family = family
        self.implementation = implementation
        self.fingerprint = fingerprint
        self.renames = renames
        self.tables = tables
        self.repairs = repairs
        self.behaviour = behaviour
        self.preprocessing = preprocessing
    }

    /// The shape a tensor has once the profile's repairs are applied: `shape` itself unless a repair's
    /// pattern matches `canonicalKey` AND the tensor has the rank that repair fixes (a 2-D pointwise
    /// kernel, a 3-D depthwise kernel), so a file that is already 4-D is left alone.
    public func repairedShape(canonicalKey: String, shape: [Int]) -> [Int] {
        for repair in repairs {
            switch repair {
            case .appendUnitSpatialDims(let pattern):
                if shape.count == 2, Self.matches(pattern, canonicalKey) { return shape + [1, 1] }
            case .insertUnitInputDim(let pattern):
                if shape.count == 3, Self.matches(pattern, canonicalKey) { return [shape[0], 1, shape[1], shape[2]] }
            }
        }
        return shape
    }

    private static func matches(_ pattern: String, _ key: String) -> Bool {
        // Patterns are literals in Profiles.swift, checked by the profile tests; an invalid one matches nothing.
        guard let regex = try? Regex(pattern) else { return false }
        return key.contains(regex)
    }

    /// The canonical key for a layout key (after wrapper prefixes are stripped).
    public func canonicalName(for key: String) throws(LayoutError) -> String {
        var name = key
        for rule in renames {
            if let renamed = try rule.apply(to: name, tables: tables) { name = renamed }
        }
        return name
    }
}
