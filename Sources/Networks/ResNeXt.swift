// ResNeXt: Xie et al., "Aggregated Residual Transformations for Deep Neural Networks" (CVPR 2017),
// on the ResNet of He et al. (CVPR 2016). Implementations covered: torchvision `resnext50_32x4d`,
// `resnext101_32x8d`, `resnext101_64x4d` (canonical names; stride on the 3×3) and seed 003's
// `ResNeXtBottleNeck` (stride on the first 1×1 as in the original ResNet, biased 7×7 stem).
import TensorEngine

/// Everything that determines a ResNeXt: per-stage depth and widths, cardinality, stride placement,
/// and the stem.
package struct ResNeXtConfiguration: Codable, Sendable, Hashable {
    package struct Stage: Codable, Sendable, Hashable {
        package var blocks: Int
        /// Channels of the grouped 3×3 (`cardinality × width per group`).
        package var width: Int
        package var outputChannels: Int
        /// Stride of the stage's first block.
        package var stride: Int

        package init(blocks: Int, width: Int, outputChannels: Int, stride: Int) {
            self.blocks = blocks
            self.width = width
            self.outputChannels = outputChannels
            self.stride = stride
        }
    }

    /// Which convolution of a bottleneck carries the block's stride.
    package enum StridePlacement: String, Codable, Sendable, Hashable {
        /// The first 1×1 (the original ResNet, seed 003).
        case conv1
        /// The grouped 3×3 (torchvision, "ResNet v1.5").
        case conv2
    }

    package var inputChannels: Int = 3
    package var classes: Int
    package var stemChannels: Int = 64
    /// Seed 003's 7×7 stem has a bias; torchvision's has none.
    package var stemBias: Bool = false
    package var stages: [Stage]
    package var cardinality: Int
    package var stridePlacement: StridePlacement = .conv2
    package var eps: Double = 1e-5
    package var classifierBias: Bool = true
    /// The stem convolution's kernel, when not torchvision's 7 (CIFAR implementations use 3); read from its shape.
    package var stemKernel: Int?
    /// The stem's stride, when not 2 (CIFAR implementations keep the 32×32 input: 1).
    package var stemStride: Int?
    /// `false` when the stem has no 3×3 max pool (CIFAR implementations); `nil` means it has one.
    package var stemMaxPool: Bool?
    /// `true` when the network ends in `log_softmax` (some CIFAR training scripts return it from `forward`).
    package var outputLogSoftmax: Bool?

    package init(inputChannels: Int = 3, classes: Int, stemChannels: Int = 64, stemBias: Bool = false, stages: [Stage],
                cardinality: Int, stridePlacement: StridePlacement = .conv2, eps: Double = 1e-5, classifierBias: Bool = true) {
        self.inputChannels = inputChannels
        self.classes = classes
        self.stemChannels = stemChannels
        self.stemBias = stemBias
        self.stages = stages
        self.cardinality = cardinality
        self.stridePlacement = stridePlacement
        self.eps = eps
        self.classifierBias = classifierBias
    }

    /// Blocks per stage for ResNet/ResNeXt depths 50, 101 and 152.
    package static func blocks(depth: Int) -> [Int]? {
        [50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]][depth]
    }

    /// torchvision's `ResNet(Bottleneck, layers, groups: cardinality, width_per_group:)`.
    package static func torchvision(depth: Int = 50, cardinality: Int = 32, widthPerGroup: Int = 4,
                                   classes: Int = 1000) -> ResNeXtConfiguration? {
        guard let counts = blocks(depth: depth) else { return nil }
        let stages = counts.enumerated().map { index, count in
            let planes = 64 << index
            return Stage(blocks: count, width: planes * widthPerGroup / 64 * cardinality, outputChannels: planes * 4,
                         stride: index == 0 ? 1 : 2)
        }
        return ResNeXtConfiguration(classes: classes, stages: stages, cardinality: cardinality)
    }

    /// Reads depth per stage from `layerL.i` indices, widths from `conv2`/`conv3`, and cardinality
    /// from the grouped 3×3's `[width, width/cardinality, 3, 3]`.
    /// Behaviours: `stridePlacement` (`conv1`|`conv2`, default `conv2`), `eps`.
    package init(inferringFrom shapes: [String: [Int]], behaviour: [String: BehaviourValue] = [:]) throws {
        let table = ShapeTable(shapes: shapes, behaviour: behaviour, family: .resnext)
        let stem = try table.require("conv1.weight", rank: 4)
        var stages: [Stage] = []
        var cardinality: Int?
        // Four stages in torchvision's ResNeXt, three in the CIFAR ones (ResNeXt-29): as many as the weights hold.
        var stageCount = 0
        while table.has("layer\(stageCount + 1).0.conv1.weight") { stageCount += 1 }
        guard stageCount >= 1 else {
            throw ConfigurationError(family: .resnext, problem: "no blocks under 'layer1'",
                                     hint: "the checkpoint must be renamed to the canonical resnext keys first")
        }
        for layer in 1...stageCount {
            let count = try table.indices(under: "layer\(layer)")
            let conv2 = try table.require("layer\(layer).0.conv2.weight", rank: 4)
            let conv3 = try table.require("layer\(layer).0.conv3.weight", rank: 4)
            let groups = try table.divide(conv2[0], by: conv2[1], "layer\(layer).0.conv2 cardinality")
            if let known = cardinality, known != groups {
                throw ConfigurationError(family: .resnext, problem: "cardinality \(groups) in layer\(layer) differs from \(known)",
                                         hint: "every stage of a ResNeXt has the same cardinality")
            }
            cardinality = groups
            stages.append(Stage(blocks: count, width: conv2[0], outputChannels: conv3[0], stride: layer == 1 ? 1 : 2))
        }
        let fc = try table.require("fc.weight", rank: 2)
        let placement = try table.string("stridePlacement", default: "conv2")
        let stemStride = try table.number("stemStride", default: 2)
        guard stemStride == 1 || stemStride == 2 else {
            throw ConfigurationError(family: .resnext, problem: "behaviour stemStride is \(stemStride)", hint: "1 or 2")
        }
        let maxPool = try table.flag("stemMaxPool", default: true)
        let logSoftmax = try table.flag("outputLogSoftmax", default: false)
        self.init(inputChannels: stem[1], classes: fc[0], stemChannels: stem[0], stemBias: table.has("conv1.bias"),
                  stages: stages, cardinality: cardinality ?? 1,
                  stridePlacement: StridePlacement(rawValue: placement) ?? .conv2,
                  eps: try table.number("eps", default: 1e-5), classifierBias: table.has("fc.bias"))
        stemKernel = stem[2] == 7 ? nil : stem[2]
        self.stemStride = stemStride == 2 ? nil : Int(stemStride)
        stemMaxPool = maxPool ? nil : false
        outputLogSoftmax = logSoftmax ? true : nil
    }
}

/// ResNeXt under torchvision's names: `conv1`/`bn1` stem, `layerL.i` bottlenecks with
/// `conv1..3`/`bn1..3` and `downsample.0/1`, `fc`.
package struct ResNeXtNetwork: Network {
    package let configuration: ResNeXtConfiguration
    package let network: GraphNetwork
    package var graph: Graph { network.graph }
    package var executor: FastExecutor? { network.executor }

    package init(_ configuration: ResNeXtConfiguration, weights: WeightSource, mode: ExecutionMode = .naive) throws {
        self.configuration = configuration
        let c = configuration
        var g = GraphBuilder()

        func convBN(_ x: ValueID, _ w: WeightSource, conv: String, bn: String, in cin: Int, out cout: Int, kernel: Int,
                    stride: Int, padding: Int, groups: Int = 1, bias: Bool = false, activation: Activation,
                    residual: ValueID? = nil) throws -> ValueID {
            let layer = try w.pp(conv).convolution(in: cin, out: cout, kernel: kernel, stride: stride, padding: padding,
                                                   groups: groups, bias: bias)
            let norm = try w.pp(bn).batchNorm(channels: cout, eps: c.eps)
            return g.add(.convolution(x, layer, batchNorm: norm, residual: residual, activation: activation),
                         name: w.pp(conv).modulePath)
        }

        let stemKernel = c.stemKernel ?? 7
        var x = try convBN(g.input, weights, conv: "conv1", bn: "bn1", in: c.inputChannels, out: c.stemChannels, kernel: stemKernel,
                           stride: c.stemStride ?? 2, padding: stemKernel / 2, bias: c.stemBias, activation: .relu)
        if c.stemMaxPool ?? true {
            x = g.add(.maxPool(x, PoolParameters(kernel: Size2(3), stride: Size2(2), padding: Size2(1))), name: "maxpool")
        }
        var channels = c.stemChannels
        for (index, stage) in c.stages.enumerated() {
            let layer = weights.pp("layer\(index + 1)")
            for b in 0..<stage.blocks {
                let w = layer.pp(b)
                let stride = b == 0 ? stage.stride : 1
                let (stride1, stride2) = c.stridePlacement == .conv1 ? (stride, 1) : (1, stride)
                let shortcut: ValueID
                if stride != 1 || channels != stage.outputChannels {
                    shortcut = try convBN(x, w.pp("downsample"), conv: "0", bn: "1", in: channels, out: stage.outputChannels,
                                          kernel: 1, stride: stride, padding: 0, activation: .identity)
                } else {
                    try w.pp("downsample").pp("0").requireAbsent("weight")
                    shortcut = x
                }
                var h = try convBN(x, w, conv: "conv1", bn: "bn1", in: channels, out: stage.width, kernel: 1, stride: stride1,
                                   padding: 0, activation: .relu)
                h = try convBN(h, w, conv: "conv2", bn: "bn2", in: stage.width, out: stage.width, kernel: 3, stride: stride2,
                               padding: 1, groups: c.cardinality, activation: .relu)
                x = try convBN(h, w, conv: "conv3", bn: "bn3", in: stage.width, out: stage.outputChannels, kernel: 1, stride: 1,
                               padding: 0, activation: .relu, residual: shortcut)
                channels = stage.outputChannels
            }
        }
        x = g.add(.globalAvgPool(x), name: "avgpool")
        x = g.add(.linear(x, try weights.pp("fc").linear(in: channels, out: c.classes, bias: c.classifierBias)), name: "fc")
        if c.outputLogSoftmax ?? false { x = g.add(.softmax(x, log: true), name: "log_softmax") }
        network = try GraphNetwork(graph: try g.build(output: x), mode: mode)
    }

    package func callAsFunction(_ input: Tensor) throws -> Tensor { try network(input) }
}
