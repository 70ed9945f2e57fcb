import Foundation
import ImageDecoding
import ImagePipeline
import Networks
import TensorEngine
import WeightconvCore
import WeightFormat

extension WeightFileDocument.Preprocessing {
    /// The recipe these weights were evaluated with: resize, centre crop, channel order, scale,
    /// normalisation (docs/wcv-format.md, section 5.2). Files without `resize_size` only crop.
    public func imagePreprocessing() throws(WeightconvError) -> ImagePreprocessing {
        guard inputSize.count == 3, inputSize[0] == 3 else {
            throw WeightconvError(file: "preprocessing", problem: "input size \(inputSize) is not [3, H, W]",
                                  hint: "the weight file's preprocessing record is incomplete")
        }
        var resize: ImagePreprocessing.Resize?
        if let side = resizeSize {
            switch resizeMethod ?? "torchvision" {
            case "opencv":
                resize = .openCV(shorterSide: side)
            default:
                guard let filter = Resampling.PillowFilter(rawValue: interpolation ?? "bilinear") else {
                    throw WeightconvError(file: "preprocessing", problem: "interpolation '\(interpolation ?? "")' is not one Pillow resize this library restates",
                                          hint: "use \(Resampling.PillowFilter.allCases.map(\.rawValue).joined(separator: " or "))")
                }
                resize = .torchvision(shorterSide: side, filter: filter)
            }
        }
        return ImagePreprocessing(resize: resize, cropHeight: inputSize[1], cropWidth: inputSize[2],
                                  channelOrder: channelOrder, pixelScale: Float(pixelScale),
                                  mean: mean.map { Float($0) }, std: std.map { Float($0) })
    }

    /// The image file as the `[1, 3, H, W]` input these weights expect.
    public func input(contentsOf path: String, orientation: OrientationHandling = .ignore) throws -> Tensor {
        let recipe = try imagePreprocessing()
        let values = try recipe.values(contentsOf: path, orientation: orientation)
        return try Tensor(shape: [1, 3, recipe.cropHeight, recipe.cropWidth], storage: values)
    }

    /// A decoded image as the `[1, 3, H, W]` input these weights expect.
    public func input(_ image: RGBImage) throws -> Tensor {
        let recipe = try imagePreprocessing()
        return try Tensor(shape: [1, 3, recipe.cropHeight, recipe.cropWidth], storage: try recipe.values(image))
    }
}

/// One class of a classification: its index, name, probability (softmax over all logits) and logit.
public struct ClassScore: Sendable, Equatable, Codable {
    public var index: Int
    public var label: String
    public var probability: Double
    public var logit: Float
}

/// What a network makes of one image, best class first.
public struct Classification: Sendable, Equatable {
    /// The image file, or nil for an image given as pixels.
    public var image: String?
    /// Every class, most probable first (ties: lower index first).
    public var scores: [ClassScore]

    public var top: ClassScore? { scores.first }

    /// Ranks one row of logits: softmax in double precision, sorted by logit.
    public static func ranking(logits: ArraySlice<Float>, labels: [String]?) -> [ClassScore] {
        let row = Array(logits)
        let largest = row.max() ?? 0
        let exps = row.map { exp(Double($0) - Double(largest)) }
        let total = exps.reduce(0, +)
        let order = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }
        return order.map { i in
            ClassScore(index: i, label: labels.flatMap { i < $0.count ? $0[i] : nil } ?? String(i),
                       probability: exps[i] / total, logit: row[i])
        }
    }
}

extension PretrainedNetwork {
    /// The file's preprocessing as a recipe, or an error naming what is missing.
    public func imagePreprocessing() throws -> ImagePreprocessing {
        guard let preprocessing else {
            throw WeightconvError(file: "network", problem: "its weight file records no preprocessing",
                                  hint: "re-import the checkpoint so the file records how its inputs were prepared")
        }
        return try preprocessing.imagePreprocessing()
    }

    /// Decodes, preprocesses and classifies the image file; labels from the weight file.
    public func classify(imageAt path: String, orientation: OrientationHandling = .ignore) throws -> Classification {
        let recipe = try imagePreprocessing()
        let values = try recipe.values(contentsOf: path, orientation: orientation)
        var result = try classify(batch: [values], recipe: recipe)[0]
        result.image = path
        return result
    }

    /// Preprocesses and classifies a decoded image.
    public func classify(_ image: RGBImage) throws -> Classification {
        let recipe = try imagePreprocessing()
        return try classify(batch: [try recipe.values(image)], recipe: recipe)[0]
    }

    /// Classifies preprocessed inputs (each `[3, H, W]` values from `recipe`) in one forward pass.
    public func classify(batch inputs: [[Float]], recipe: ImagePreprocessing) throws -> [Classification] {
        let plane = 3 * recipe.cropHeight * recipe.cropWidth
        var storage: [Float] = []
        storage.reserveCapacity(plane * inputs.count)
        for input in inputs { storage += input }
        let logits = try self(try Tensor(shape: [inputs.count, 3, recipe.cropHeight, recipe.cropWidth], storage: storage))
        let classes = logits.shape.last ?? 0
        return (0..<inputs.count).map { n in
            Classification(image: nil, scores: Classification.ranking(logits: logits.storage[(n * classes)..<((n + 1) * classes)],
                                                                      labels: labels))
        }
    }
}

extension NetworkConfiguration {
    /// The number of outputs.
    package var classes: Int {
        switch self {
        case .xception(let c): c.classes
        case .mobileNetV2(let c): c.classes
        case .shuffleNetV1(let c): c.classes
        case .resnext(let c): c.classes
        }
    }
}

/// The `classify --json` document: `{"results": [{"image", "top": [{"class", "label", "probability", "logit"}]}]}`.
package enum ClassificationJSON {
    package static func text(_ results: [Classification], top: Int) -> String {
        let value = MetadataValue.object([("results", .array(results.map { result in
            .object([
                ("image", result.image.map(MetadataValue.string) ?? .null),
                ("top", .array(result.scores.prefix(top).map { score in
                    .object([("class", .int(score.index)), ("label", .string(score.label)),
                             ("probability", .double(score.probability)), ("logit", .double(Double(score.logit)))])
                })),
            ])
        }))])
        return value.jsonText
    }
}
