import Foundation
import WeightconvCore

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

/// A regular expression over tensor keys, compiled once when its layout is loaded: a pattern that
/// does not compile is refused then, naming it, never dropped or trapped on later.
public struct KeyPattern: Sendable, Hashable, CustomStringConvertible {
    public let source: String
    // Regex is an immutable value; it is only not marked Sendable.
    nonisolated(unsafe) private let regex: Regex<AnyRegexOutput>

    public init(_ source: String) throws(LayoutError) {
        do {
            regex = try Regex(source)
        } catch {
            throw .badPattern(source, reason: "\(error)")
        }
        self.source = source
    }

    public var description: String { source }

    public func matches(_ key: String) -> Bool { key.contains(regex) }

    func firstMatch(in key: String) -> Regex<AnyRegexOutput>.Match? { key.firstMatch(of: regex) }

    public static func == (lhs: KeyPattern, rhs: KeyPattern) -> Bool { lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

/// A small fixed set of tensor repairs that real files need.
public enum TensorRepair: Sendable, Hashable {
    /// Cadene's older Xception files store pointwise kernels as `[out, in]`; they become `[out, in, 1, 1]`
    /// (`pointwise_2d` in a layout file).
    case appendUnitSpatialDims(KeyPattern)
    /// Even older ones store depthwise kernels as `[C, k, k]`; they become `[C, 1, k, k]` (`depthwise_3d`).
    case insertUnitInputDim(KeyPattern)
    /// A classifier stored as a 1×1 convolution, `[classes, C, 1, 1]`, becomes `[classes, C]` (`classifier_1x1`).
    case dropUnitSpatialDims(KeyPattern)

    /// The name a layout file gives the repair.
    public var fileName: String {
        switch self {
        case .appendUnitSpatialDims: "pointwise_2d"
        case .insertUnitInputDim: "depthwise_3d"
        case .dropUnitSpatialDims: "classifier_1x1"
        }
    }

    public var pattern: KeyPattern {
        switch self {
        case .appendUnitSpatialDims(let p), .insertUnitInputDim(let p), .dropUnitSpatialDims(let p): p
        }
    }
}

/// Key patterns that recognise a layout: every `required` pattern matches some key, no `forbidden`
/// pattern matches any.
public struct Fingerprint: Sendable {
    public let required: [KeyPattern]
    public let forbidden: [KeyPattern]

    public init(required: [KeyPattern], forbidden: [KeyPattern] = []) {
        self.required = required
        self.forbidden = forbidden
    }

    func matches(_ keys: [String]) -> Bool {
        required.allSatisfy { pattern in keys.contains { pattern.matches($0) } }
            && !forbidden.contains { pattern in keys.contains { pattern.matches($0) } }
    }
}

/// How one implementation names a family's tensors, and what its state_dict does not record.
///
/// A profile is data: it is read from a layout file (docs/layout-format.md), built-in or the
/// user's, through `LayoutFile.parse`.
public struct LayoutProfile: Sendable {
    /// Short name used on the command line (`--layout`) and stored in the native file.
    public var name: String
    public var family: NetworkFamily
    /// The implementation it describes, for messages and provenance.
    public var implementation: String
    public var fingerprint: Fingerprint
    /// Applied in order; each rule rewrites a key if it matches.
    public var renames: [RenameRule]
    /// Exact renames (`keys` in a layout file): a key listed here becomes its value and no rule applies
    /// to it. Inferred layouts are written this way, one line per tensor.
    public var keyMap: [String: String]
    public var tables: [String: [Int]]
    public var repairs: [TensorRepair]
    /// Behaviour the weights do not record (bn eps, where stride and shuffle sit, …), in the family's
    /// one vocabulary (`BehaviourVocabulary`), checked when the layout is loaded.
    public var behaviour: [String: BehaviourValue]
    public var preprocessing: Preprocessing
    /// Where the layout was read from: `built-in`, or the file's path.
    public var origin: String

    public init(name: String, family: NetworkFamily, implementation: String, fingerprint: Fingerprint,
                renames: [RenameRule] = [], keyMap: [String: String] = [:], tables: [String: [Int]] = [:], repairs: [TensorRepair] = [],
                behaviour: [String: BehaviourValue] = [:], preprocessing: Preprocessing, origin: String = "built-in") {
        self.name = name
        self.family = family
        self.implementation = implementation
        self.fingerprint = fingerprint
        self.renames = renames
        self.keyMap = keyMap
        self.tables = tables
        self.repairs = repairs
        self.behaviour = behaviour
        self.preprocessing = preprocessing
        self.origin = origin
    }

    /// `family/name`, as messages and the native file name a layout.
    public var qualifiedName: String { "\(family.rawValue)/\(name)" }

    /// The shape a tensor has once the profile's repairs are applied: `shape` itself unless a repair's
    /// pattern matches `canonicalKey` AND the tensor has the rank that repair fixes (a 2-D pointwise
    /// kernel, a 3-D depthwise kernel), so a file that is already 4-D is left alone.
    public func repairedShape(canonicalKey: String, shape: [Int]) -> [Int] {
        for repair in repairs {
            switch repair {
            case .appendUnitSpatialDims(let pattern):
                if shape.count == 2, pattern.matches(canonicalKey) { return shape + [1, 1] }
            case .insertUnitInputDim(let pattern):
                if shape.count == 3, pattern.matches(canonicalKey) { return [shape[0], 1, shape[1], shape[2]] }
            case .dropUnitSpatialDims(let pattern):
                if shape.count == 4, shape[2] == 1, shape[3] == 1, pattern.matches(canonicalKey) { return [shape[0], shape[1]] }
            }
        }
        return shape
    }

    /// The canonical key for a layout key (after wrapper prefixes are stripped).
    public func canonicalName(for key: String) throws(LayoutError) -> String {
        if let exact = keyMap[key] { return exact }
        var name = key
        for rule in renames {
            if let renamed = try rule.apply(to: name, tables: tables) { name = renamed }
        }
        return name
    }
}
