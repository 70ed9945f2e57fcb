import Foundation
import WeightconvCore
import WeightFormat

/// A layout file's `"preprocessing"` member (docs/layout-format.md) as layout files spell it:
/// camelCase, `inputSize` [H, W], float32 numbers. Only a coding form: what it describes is a
/// `WeightFileDocument.Preprocessing`, the one preprocessing type, which a layout carries so that
/// the `.wcv` file records how its weights expect their input.
struct PreprocessingMember: Codable {
    /// Height and width the implementation was trained at.
    var inputSize: [Int]
    var channelOrder: ChannelOrder
    /// Pixel values are `raw / pixelScale` before normalisation: 255 for 0–1 inputs, 1 for 0–255 inputs.
    var pixelScale: Float
    var mean: [Float]
    var std: [Float]
    /// The shorter side is resized to this before the centre crop to `inputSize` (docs/wcv-format.md 5.2).
    var resizeSize: Int?
    /// `torchvision` (Pillow's resampling, as torchvision, timm and Cadene resize) or `opencv` (Megvii's).
    var resizeMethod: String?
    /// The resize filter: `bilinear` or `bicubic`.
    var interpolation: String?
    /// `inputSize / resizeSize` as the source states it (timm's `crop_pct`), where it states one.
    var cropRatio: Double?

    /// The record: three input channels, the numbers widened from float32 (the values every `.wcv`
    /// written from a layout holds).
    var preprocessing: WeightFileDocument.Preprocessing {
        WeightFileDocument.Preprocessing(inputSize: [3] + inputSize, mean: mean.map(Double.init), std: std.map(Double.init),
                                         channelOrder: channelOrder, pixelScale: Double(pixelScale), interpolation: interpolation,
                                         cropRatio: cropRatio, resizeSize: resizeSize, resizeMethod: resizeMethod)
    }

    /// What is wrong with the input size or normalisation, or nil.
    var shapeProblem: String? {
        guard inputSize.count == 2, inputSize.allSatisfy({ $0 > 0 && $0 <= 16384 }) else { return "inputSize must be [H, W], each 1 to 16384" }
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 != 0 }) else { return "mean and std need three channels, std non-zero" }
        guard pixelScale > 0 else { return "pixelScale must be positive" }
        return nil
    }

    /// What is wrong with the resize members, or nil (a file must only say what the library can do).
    var resizeProblem: String? {
        if let resizeSize, resizeSize <= 0 || resizeSize > 16384 { return "resizeSize \(resizeSize) is not between 1 and 16384" }
        if let resizeMethod, resizeMethod != "torchvision" && resizeMethod != "opencv" {
            return "resizeMethod '\(resizeMethod)' is neither \"torchvision\" nor \"opencv\""
        }
        if let interpolation, interpolation != "bilinear" && interpolation != "bicubic" {
            return "interpolation '\(interpolation)' is neither \"bilinear\" nor \"bicubic\""
        }
        if resizeSize == nil && (resizeMethod != nil || interpolation != nil) {
            return "resizeMethod and interpolation need resizeSize"
        }
        return nil
    }
}

extension PreprocessingMember {
    /// A record as a layout file writes it (its numbers were float32 to begin with).
    init(_ record: WeightFileDocument.Preprocessing) {
        self.init(inputSize: Array(record.inputSize.suffix(2)), channelOrder: record.channelOrder,
                  pixelScale: Float(record.pixelScale), mean: record.mean.map { Float($0) }, std: record.std.map { Float($0) },
                  resizeSize: record.resizeSize, resizeMethod: record.resizeMethod, interpolation: record.interpolation,
                  cropRatio: record.cropRatio)
    }
}

extension WeightFileDocument.Preprocessing {
    /// Reads a preprocessing object (a layout file's `"preprocessing"` member) from a JSON file.
    package static func read(contentsOf path: String) throws -> WeightFileDocument.Preprocessing {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else {
            throw WeightconvError(file: path, problem: "cannot be read (or is over 1 MiB)", hint: "give a small JSON file")
        }
        let value: PreprocessingMember
        do {
            value = try JSONDecoder().decode(PreprocessingMember.self, from: data)
        } catch {
            throw WeightconvError(file: path, problem: "does not describe the input: \(LayoutFile.Reader.decodingProblem(error))",
                                  hint: "write a JSON object as a layout file's \"preprocessing\" member (docs/layout-format.md)")
        }
        if let problem = value.resizeProblem ?? value.shapeProblem {
            throw WeightconvError(file: path, problem: problem, hint: "see docs/layout-format.md")
        }
        return value.preprocessing
    }

    /// torchvision's ImageNet normalisation.
    package static func imageNet(_ size: Int) -> WeightFileDocument.Preprocessing {
        PreprocessingMember(inputSize: [size, size], channelOrder: .rgb, pixelScale: 255,
                            mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]).preprocessing
    }

    /// Inception-style normalisation to [-1, 1] (Cadene's and timm's Xception).
    package static func inception(_ size: Int) -> WeightFileDocument.Preprocessing {
        PreprocessingMember(inputSize: [size, size], channelOrder: .rgb, pixelScale: 255,
                            mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]).preprocessing
    }
}

/// A regular expression over tensor keys, compiled once when its layout is loaded: a pattern that
/// does not compile is refused then, naming it, never dropped or trapped on later.
package struct KeyPattern: Sendable, Hashable, CustomStringConvertible {
    package let source: String
    // Regex is an immutable value; it is only not marked Sendable.
    nonisolated(unsafe) private let regex: Regex<AnyRegexOutput>

    package init(_ source: String) throws(LayoutError) {
        do {
            regex = try Regex(source)
        } catch {
            throw .badPattern(source, reason: "\(error)")
        }
        self.source = source
    }

    package var description: String { source }

    package func matches(_ key: String) -> Bool { key.contains(regex) }

    func firstMatch(in key: String) -> Regex<AnyRegexOutput>.Match? { key.firstMatch(of: regex) }

    package static func == (lhs: KeyPattern, rhs: KeyPattern) -> Bool { lhs.source == rhs.source }
    package func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

/// A small fixed set of tensor repairs that real files need.
package enum TensorRepair: Sendable, Hashable {
    /// Cadene's older Xception files store pointwise kernels as `[out, in]`; they become `[out, in, 1, 1]`
    /// (`pointwise_2d` in a layout file).
    case appendUnitSpatialDims(KeyPattern)
    /// Even older ones store depthwise kernels as `[C, k, k]`; they become `[C, 1, k, k]` (`depthwise_3d`).
    case insertUnitInputDim(KeyPattern)
    /// A classifier stored as a 1×1 convolution, `[classes, C, 1, 1]`, becomes `[classes, C]` (`classifier_1x1`).
    case dropUnitSpatialDims(KeyPattern)

    /// The name a layout file gives the repair.
    package var fileName: String {
        switch self {
        case .appendUnitSpatialDims: "pointwise_2d"
        case .insertUnitInputDim: "depthwise_3d"
        case .dropUnitSpatialDims: "classifier_1x1"
        }
    }

    package var pattern: KeyPattern {
        switch self {
        case .appendUnitSpatialDims(let p), .insertUnitInputDim(let p), .dropUnitSpatialDims(let p): p
        }
    }
}

/// Key patterns that recognise a layout: every `required` pattern matches some key, no `forbidden`
/// pattern matches any.
package struct Fingerprint: Sendable {
    package let required: [KeyPattern]
    package let forbidden: [KeyPattern]

    package init(required: [KeyPattern], forbidden: [KeyPattern] = []) {
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
package struct LayoutProfile: Sendable {
    /// Short name used on the command line (`--layout`) and stored in the native file.
    package var name: String
    package var family: NetworkFamily
    /// The implementation it describes, for messages and provenance.
    package var implementation: String
    package var fingerprint: Fingerprint
    /// Applied in order; each rule rewrites a key if it matches.
    package var renames: [RenameRule]
    /// Exact renames (`keys` in a layout file): a key listed here becomes its value and no rule applies
    /// to it. Inferred layouts are written this way, one line per tensor.
    package var keyMap: [String: String]
    package var tables: [String: [Int]]
    package var repairs: [TensorRepair]
    /// Behaviour the weights do not record (bn eps, where stride and shuffle sit, …), in the family's
    /// one vocabulary (`BehaviourVocabulary`), checked when the layout is loaded.
    package var behaviour: [String: BehaviourValue]
    package var preprocessing: WeightFileDocument.Preprocessing
    /// Where the layout was read from: `built-in`, or the file's path.
    package var origin: String

    package init(name: String, family: NetworkFamily, implementation: String, fingerprint: Fingerprint,
                renames: [RenameRule] = [], keyMap: [String: String] = [:], tables: [String: [Int]] = [:], repairs: [TensorRepair] = [],
                behaviour: [String: BehaviourValue] = [:], preprocessing: WeightFileDocument.Preprocessing, origin: String = "built-in") {
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
    package var qualifiedName: String { "\(family.rawValue)/\(name)" }

    /// The shape a tensor has once the profile's repairs are applied: `shape` itself unless a repair's
    /// pattern matches `canonicalKey` AND the tensor has the rank that repair fixes (a 2-D pointwise
    /// kernel, a 3-D depthwise kernel), so a file that is already 4-D is left alone.
    package func repairedShape(canonicalKey: String, shape: [Int]) -> [Int] {
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
    package func canonicalName(for key: String) throws(LayoutError) -> String {
        if let exact = keyMap[key] { return exact }
        var name = key
        for rule in renames {
            if let renamed = try rule.apply(to: name, tables: tables) { name = renamed }
        }
        return name
    }
}
