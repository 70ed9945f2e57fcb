// MobileNetV2: Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks" (CVPR 2018).
// Implementations covered: torchvision `mobilenet_v2` (the canonical key names), and seed 002's
// `InvertedBottleneck`/`MobileNetV2` (same computation under other names; the import pipeline renames).
import TensorEngine

/// Everything that determines a MobileNetV2: the widths as stored (never recomputed from a
/// multiplier), the strides, and what a state_dict does not record.
package struct MobileNetV2Configuration: Codable, Sendable, Hashable {
    /// One inverted residual block (`features.i`, i ≥ 1).
    package struct Block: Codable, Sendable, Hashable {
        /// Width after the 1×1 expansion; `nil` when the expansion factor is 1 (no expansion layer).
        package var expandedChannels: Int?
        package var outputChannels: Int
        /// The depthwise convolution's stride.
        package var stride: Int

        package init(expandedChannels: Int?, outputChannels: Int, stride: Int) {
            self.expandedChannels = expandedChannels
            self.outputChannels = outputChannels
            self.stride = stride
        }
    }

    package var inputChannels: Int = 3
    package var classes: Int
    package var stemChannels: Int
    package var blocks: [Block]
    package var lastChannels: Int
    /// `nn.BatchNorm2d` eps: torchvision and seed 002 use PyTorch's default 1e-5; ports of the
    /// TensorFlow weights use 1e-3.
    package var eps: Double = 1e-5
    package var activation: Activation = .relu6
    package var classifierBias: Bool = true

    package init(inputChannels: Int = 3, classes: Int, stemChannels: Int, blocks: [Block], lastChannels: Int,
                eps: Double = 1e-5, activation: Activation = .relu6, classifierBias: Bool = true) {
        self.inputChannels = inputChannels
        self.classes = classes
        self.stemChannels = stemChannels
        self.blocks = blocks
        self.lastChannels = lastChannels
        self.eps = eps
        self.activation = activation
        self.classifierBias = classifierBias
    }

    /// The paper's table (expansion t, channels c, repeats n, first stride s).
    static let settings: [(t: Int, c: Int, n: Int, s: Int)] =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    /// torchvision's rounding of a scaled width: to the nearest multiple of 8, at least 8, and
    /// never more than 10% below the unrounded value.
    package static func makeDivisible(_ value: Double, divisor: Int = 8) -> Int {
        var rounded = max(divisor, Int(value + Double(divisor) / 2) / divisor * divisor)
        if Double(rounded) < 0.9 * value { rounded += divisor }
        return rounded
    }

    /// The network torchvision's `mobilenet_v2(width_mult:)` builds.
    package static func torchvision(widthMultiplier: Double = 1.0, classes: Int = 1000) -> MobileNetV2Configuration {
        var input = makeDivisible(32 * widthMultiplier)
        var blocks: [Block] = []
        for setting in settings {
            let output = makeDivisible(Double(setting.c) * widthMultiplier)
            for i in 0..<setting.n {
                let hidden = Int((Double(input * setting.t)).rounded())
                blocks.append(Block(expandedChannels: setting.t == 1 ? nil : hidden, outputChannels: output,
                                    stride: i == 0 ? setting.s : 1))
                input = output
            }
        }
        return MobileNetV2Configuration(classes: classes, stemChannels: makeDivisible(32 * widthMultiplier), blocks: blocks,
                                        lastChannels: makeDivisible(1280 * max(1.0, widthMultiplier)))
    }

    /// Reads the widths from torchvision-named shapes. Strides cannot be seen in a state_dict: the
    /// paper's schedule is used for the standard 17 blocks, otherwise behaviour `strideTwoBlocks`
    /// (`"2,4,7,14"`, indices into `features`) must say where they are.
    /// Behaviours: `eps` (number), `activation` (`relu6`|`relu`), `strideTwoBlocks`.
    package init(inferringFrom shapes: [String: [Int]], behaviour: [String: BehaviourValue] = [:]) throws {
        let table = ShapeTable(shapes: shapes, behaviour: behaviour, family: .mobileNetV2)
        let count = try table.indices(under: "features")
        guard count >= 3 else {
            throw ConfigurationError(family: .mobileNetV2, problem: "only \(count) entries under 'features'",
                                     hint: "expected the stem, the inverted residual blocks and the last 1x1 convolution")
        }
        let stem = try table.require("features.0.0.weight", rank: 4)
        let strideTwo: Set<Int>
        switch try table.indexList("strideTwoBlocks") {
        case let list?:
            strideTwo = list
        case nil where count - 2 == 17:
            strideTwo = [2, 4, 7, 14]
        default:
            throw ConfigurationError(family: .mobileNetV2, problem: "\(count - 2) blocks and no stride schedule",
                                     hint: "give behaviour strideTwoBlocks as a string, e.g. \"2,4,7,14\"")
        }
        var blocks: [Block] = []
        for i in 1..<(count - 1) {
            let prefix = "features.\(i).conv"
            let first = try table.require("\(prefix).0.0.weight", rank: 4)
            let expands = first[2] == 1
            let pointwise = try table.require("\(prefix).\(expands ? 2 : 1).weight", rank: 4)
            blocks.append(Block(expandedChannels: expands ? first[0] : nil, outputChannels: pointwise[0],
                                stride: strideTwo.contains(i) ? 2 : 1))
        }
        let last = try table.require("features.\(count - 1).0.weight", rank: 4)
        let classifier = try table.require("classifier.1.weight", rank: 2)
        self.init(inputChannels: stem[1], classes: classifier[0], stemChannels: stem[0], blocks: blocks,
                  lastChannels: last[0], eps: try table.number("eps", default: 1e-5),
                  activation: try table.activation("activation", default: .relu6),
                  classifierBias: table.has("classifier.1.bias"))
    }
}

/// MobileNetV2 under torchvision's names: `features.0` stem, `features.1…n` inverted residuals
/// (`conv.0` expand, `conv.1` depthwise, `conv.2` project, `conv.3` its BN), last 1×1 conv,
/// `classifier.1`.
package struct MobileNetV2Network: Network {
    package let configuration: MobileNetV2Configuration
    package let network: GraphNetwork
    package var graph: Graph { network.graph }
    package var executor: FastExecutor? { network.executor }

    package init(_ configuration: MobileNetV2Configuration, weights: WeightSource, mode: ExecutionMode = .naive) throws {
        self.configuration = configuration
        let c = configuration
        var g = GraphBuilder()
        let features = weights.pp("features")

        // Conv2dNormActivation: `.0` conv without bias, `.1` batch norm, activation.
        func convBN(_ x: ValueID, _ w: WeightSource, in cin: Int, out cout: Int, kernel: Int, stride: Int = 1,
                    groups: Int = 1, activation: Activation, residual: ValueID? = nil) throws -> ValueID {
            let conv = try w.pp("0").convolution(in: cin, out: cout, kernel: kernel, stride: stride, padding: kernel / 2,
                                                 groups: groups, bias: false)
            let bn = try w.pp("1").batchNorm(channels: cout, eps: c.eps)
            return g.add(.convolution(x, conv, batchNorm: bn, residual: residual, activation: activation), name: w.modulePath)
        }

        var x = try convBN(g.input, features.pp(0), in: c.inputChannels, out: c.stemChannels, kernel: 3, stride: 2,
                           activation: c.activation)
        var channels = c.stemChannels
        for (offset, block) in c.blocks.enumerated() {
            let body = features.pp(offset + 1).pp("conv")
            let input = x
            var h = x
            var index = 0
            var width = channels
            if let expanded = block.expandedChannels {
                h = try convBN(h, body.pp(index), in: channels, out: expanded, kernel: 1, activation: c.activation)
                width = expanded
                index += 1
            }
            h = try convBN(h, body.pp(index), in: width, out: width, kernel: 3, stride: block.stride, groups: width,
                           activation: c.activation)
            // The projection is linear (no activation) and carries the identity shortcut when
            // the block keeps resolution and width.
            let project = try body.pp(index + 1).convolution(in: width, out: block.outputChannels, kernel: 1, bias: false)
            let bn = try body.pp(index + 2).batchNorm(channels: block.outputChannels, eps: c.eps)
            let residual = block.stride == 1 && channels == block.outputChannels ? input : nil
            x = g.add(.convolution(h, project, batchNorm: bn, residual: residual, activation: .identity),
                      name: body.pp(index + 1).modulePath)
            channels = block.outputChannels
        }
        x = try convBN(x, features.pp(c.blocks.count + 1), in: channels, out: c.lastChannels, kernel: 1, activation: c.activation)
        x = g.add(.globalAvgPool(x), name: "avgpool")
        // classifier.0 is Dropout, inactive at inference.
        let classifier = weights.pp("classifier").pp(1)
        x = g.add(.linear(x, try classifier.linear(in: c.lastChannels, out: c.classes, bias: c.classifierBias)), name: classifier.modulePath)
        network = try GraphNetwork(graph: try g.build(output: x), mode: mode)
    }

    package func callAsFunction(_ input: Tensor) throws -> Tensor { try network(input) }
}
