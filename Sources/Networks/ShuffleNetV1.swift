// ShuffleNet v1: Zhang et al., "ShuffleNet: An Extremely Efficient Convolutional Neural Network for
// Mobile Devices" (CVPR 2018). Implementations covered, under weightconv's own canonical names
// (the three differ in names and in computation):
// - the paper's network as seed 001 (jaxony/ShuffleNet) builds it: shuffle after the first grouped
//   1×1 with the `view(B, g, C/g)` permutation, biased convolutions, no stem batch norm, the first
//   1×1 of stage 2 not grouped, stride-2 units concatenating a 3×3 average pool of the input;
// - Megvii's official ShuffleNet-Series `ShuffleV1Block`: shuffle after the depthwise convolution
//   with the inverse `reshape(B, C/g, g)` permutation, no biases, stem batch norm and ReLU, ReLU
//   on the main branch only before the concatenation, classifier without bias, 0.5x–2.0x widths;
// - seed 000's variant: bottleneck as wide as the unit's output, a biased 1×1 `shortcut` after
//   the average pool of the first unit, no shuffle in that unit, softmax output.
import TensorEngine

/// Everything that determines a ShuffleNet v1, including the behaviours that distinguish the
/// three implementations.
package struct ShuffleNetV1Configuration: Codable, Sendable, Hashable {
    /// One unit (`stages.s.u`).
    package struct Unit: Codable, Sendable, Hashable {
        package var inputChannels: Int
        /// Width of the compress 1×1 and the depthwise 3×3.
        package var bottleneckChannels: Int
        /// Output of the expand 1×1 (for a stride-2 unit, the unit's output minus the pooled input).
        package var expandChannels: Int
        /// Groups of the compress 1×1 (1 where an implementation does not group it).
        package var compressGroups: Int
        package var stride: Int
        /// Seed 000's 1×1 projection of the pooled shortcut (`shortcut`), and whether a batch norm follows it.
        package var shortcutChannels: Int?
        package var shortcutBatchNorm: Bool

        package init(inputChannels: Int, bottleneckChannels: Int, expandChannels: Int, compressGroups: Int, stride: Int,
                    shortcutChannels: Int? = nil, shortcutBatchNorm: Bool = false) {
            self.inputChannels = inputChannels
            self.bottleneckChannels = bottleneckChannels
            self.expandChannels = expandChannels
            self.compressGroups = compressGroups
            self.stride = stride
            self.shortcutChannels = shortcutChannels
            self.shortcutBatchNorm = shortcutBatchNorm
        }

        /// Channels the unit outputs: added (stride 1) or concatenated after pooling (stride 2).
        package var outputChannels: Int {
            stride == 1 ? expandChannels : (shortcutChannels ?? inputChannels) + expandChannels
        }
    }

    /// Where the channel shuffle sits in a unit.
    package enum ShufflePlacement: String, Codable, Sendable, Hashable {
        /// After the compress 1×1 and its ReLU (the paper, seeds 000 and 001).
        case afterCompress
        /// After the depthwise 3×3 and its batch norm (Megvii).
        case afterDepthwise
    }

    /// Which branch comes first in a stride-2 unit's concatenation.
    package enum ConcatOrder: String, Codable, Sendable, Hashable {
        /// `cat(pool(x), main)` (the paper's figure, seeds 000/001, Megvii, weiaicunzai).
        case shortcutFirst
        /// `cat(main, pool(x))` (pytorchcv's `ShuffleUnit`).
        case mainFirst
    }

    /// Which values the ReLU after a stride-2 unit's concatenation covers.
    package enum ConcatActivation: String, Codable, Sendable, Hashable {
        /// `relu(cat(pool, main))` (seeds 000 and 001).
        case all
        /// `cat(pool, relu(main))` (Megvii).
        case mainBranch
    }

    package var inputChannels: Int = 3
    package var classes: Int
    /// The expand 1×1's groups, `g` in the paper.
    package var groups: Int
    package var stemChannels: Int
    package var stemBias: Bool
    package var stemBatchNorm: Bool
    package var stemActivation: Activation
    /// `stages[s][u]`; the paper's stages 2, 3 and 4.
    package var stages: [[Unit]]
    package var convolutionBias: Bool
    package var shufflePlacement: ShufflePlacement
    package var shufflePermutation: ShufflePermutation
    /// Whether a unit whose compress 1×1 is not grouped still shuffles (seed 001 and Megvii: yes; seed 000: no).
    package var shuffleAfterUngroupedCompress: Bool
    package var concatActivation: ConcatActivation
    package var classifierBias: Bool
    /// `identity` for logits, or `softmax` (seed 000 ends in `nn.Softmax(dim=1)`).
    package var outputSoftmax: Bool
    package var eps: Double = 1e-5
    /// The stem convolution's kernel when not 3 (read from its shape).
    package var stemKernel: Int?
    /// The stem's stride when not 2 (CIFAR implementations keep the 32×32 input: 1).
    package var stemStride: Int?
    /// `false` when the stem has no 3×3 max pool (CIFAR implementations); `nil` means it has one.
    package var stemMaxPool: Bool?
    /// `nil` means `shortcutFirst`.
    package var concatOrder: ConcatOrder?

    package init(inputChannels: Int = 3, classes: Int, groups: Int, stemChannels: Int, stemBias: Bool, stemBatchNorm: Bool,
                stemActivation: Activation, stages: [[Unit]], convolutionBias: Bool, shufflePlacement: ShufflePlacement,
                shufflePermutation: ShufflePermutation, shuffleAfterUngroupedCompress: Bool, concatActivation: ConcatActivation,
                classifierBias: Bool, outputSoftmax: Bool, eps: Double = 1e-5) {
        self.inputChannels = inputChannels
        self.classes = classes
        self.groups = groups
        self.stemChannels = stemChannels
        self.stemBias = stemBias
        self.stemBatchNorm = stemBatchNorm
        self.stemActivation = stemActivation
        self.stages = stages
        self.convolutionBias = convolutionBias
        self.shufflePlacement = shufflePlacement
        self.shufflePermutation = shufflePermutation
        self.shuffleAfterUngroupedCompress = shuffleAfterUngroupedCompress
        self.concatActivation = concatActivation
        self.classifierBias = classifierBias
        self.outputSoftmax = outputSoftmax
        self.eps = eps
    }

    /// Units per stage in all three implementations (the paper's 1 + 3, 1 + 7, 1 + 3).
    package static let unitsPerStage = [4, 8, 4]

    /// The paper's network as seed 001 builds it, for groups 1, 2, 3, 4 or 8.
    package static func paper(groups: Int, classes: Int = 1000) -> ShuffleNetV1Configuration? {
        let widths: [Int: [Int]] = [1: [144, 288, 567], 2: [200, 400, 800], 3: [240, 480, 960], 4: [272, 544, 1088], 8: [384, 768, 1536]]
        guard let stageWidths = widths[groups] else { return nil }
        return bottleneckQuarter(stageWidths: stageWidths, stem: 24, groups: groups, classes: classes, behaviour: .paper)
    }

    /// Megvii's official network for `group` 3 or 8 and `model_size` 0.5x, 1.0x, 1.5x or 2.0x.
    package static func megvii(groups: Int, scale: String, classes: Int = 1000) -> ShuffleNetV1Configuration? {
        let table: [Int: [String: [Int]]] = [
            3: ["0.5x": [12, 120, 240, 480], "1.0x": [24, 240, 480, 960], "1.5x": [24, 360, 720, 1440], "2.0x": [48, 480, 960, 1920]],
            8: ["0.5x": [16, 192, 384, 768], "1.0x": [24, 384, 768, 1536], "1.5x": [24, 576, 1152, 2304], "2.0x": [48, 768, 1536, 3072]],
        ]
        guard let widths = table[groups]?[scale] else { return nil }
        return bottleneckQuarter(stageWidths: Array(widths.dropFirst()), stem: widths[0], groups: groups, classes: classes,
                                 behaviour: .megvii)
    }

    /// Seed 000's variant for groups 1, 2, 3, 4 or 8.
    package static func seed000(groups: Int, classes: Int = 1000) -> ShuffleNetV1Configuration? {
        let widths: [Int: Int] = [1: 144, 2: 200, 3: 240, 4: 272, 8: 384]
        guard let base = widths[groups] else { return nil }
        var stages: [[Unit]] = []
        var input = 24
        for (s, width) in [base, base * 2, base * 4].enumerated() {
            // Stride-2 units halve the unit's width and concatenate the pooled (and, in stage 2,
            // projected) input.
            let half = width / 2
            var units = [Unit(inputChannels: input, bottleneckChannels: half, expandChannels: half, compressGroups: s == 0 ? 1 : groups,
                              stride: 2, shortcutChannels: s == 0 ? half : nil)]
            for _ in 1..<unitsPerStage[s] {
                units.append(Unit(inputChannels: width, bottleneckChannels: width, expandChannels: width, compressGroups: groups, stride: 1))
            }
            stages.append(units)
            input = width
        }
        return Preset.seed000.configure(classes: classes, groups: groups, stem: 24, stages: stages)
    }

    private static func bottleneckQuarter(stageWidths: [Int], stem: Int, groups: Int, classes: Int,
                                          behaviour: Preset) -> ShuffleNetV1Configuration {
        var stages: [[Unit]] = []
        var input = stem
        for (s, width) in stageWidths.enumerated() {
            var units: [Unit] = []
            for u in 0..<unitsPerStage[s] {
                let stride = u == 0 ? 2 : 1
                units.append(Unit(inputChannels: input, bottleneckChannels: width / 4,
                                  expandChannels: stride == 2 ? width - input : width,
                                  compressGroups: s == 0 && u == 0 ? 1 : groups, stride: stride))
                input = width
            }
            stages.append(units)
        }
        return behaviour.configure(classes: classes, groups: groups, stem: stem, stages: stages)
    }

    /// The behaviours of each implementation, which a state_dict cannot show.
    enum Preset: String {
        case paper, megvii, seed000

        func configure(classes: Int, groups: Int, stem: Int, stages: [[Unit]]) -> ShuffleNetV1Configuration {
            switch self {
            case .paper:
                ShuffleNetV1Configuration(classes: classes, groups: groups, stemChannels: stem, stemBias: true, stemBatchNorm: false,
                                          stemActivation: .identity, stages: stages, convolutionBias: true,
                                          shufflePlacement: .afterCompress, shufflePermutation: .groupsFirst,
                                          shuffleAfterUngroupedCompress: true, concatActivation: .all, classifierBias: true,
                                          outputSoftmax: false)
            case .megvii:
                ShuffleNetV1Configuration(classes: classes, groups: groups, stemChannels: stem, stemBias: false, stemBatchNorm: true,
                                          stemActivation: .relu, stages: stages, convolutionBias: false,
                                          shufflePlacement: .afterDepthwise, shufflePermutation: .groupsLast,
                                          shuffleAfterUngroupedCompress: true, concatActivation: .mainBranch, classifierBias: false,
                                          outputSoftmax: false)
            case .seed000:
                ShuffleNetV1Configuration(classes: classes, groups: groups, stemChannels: stem, stemBias: true, stemBatchNorm: false,
                                          stemActivation: .identity, stages: stages, convolutionBias: true,
                                          shufflePlacement: .afterCompress, shufflePermutation: .groupsFirst,
                                          shuffleAfterUngroupedCompress: false, concatActivation: .all, classifierBias: true,
                                          outputSoftmax: true)
            }
        }
    }

    /// Reads widths and groups from the canonical keys (`stages.s.u.compress/depthwise/expand`,
    /// optional `shortcut`), biases and stem batch norm from which keys exist. The behaviours
    /// come from behaviour `implementation` (`paper` (default), `megvii`, `seed000`), each of
    /// which can be overridden: `shufflePlacement`, `shufflePermutation`, `shuffleAfterUngroupedCompress`,
    /// `concatActivation`, `stemActivation`, `outputSoftmax`, `eps`.
    package init(inferringFrom shapes: [String: [Int]], behaviour: [String: BehaviourValue] = [:]) throws {
        let table = ShapeTable(shapes: shapes, behaviour: behaviour, family: .shuffleNetV1)
        let preset = Preset(rawValue: try table.string("implementation", default: "paper")) ?? .paper
        let stem = try table.require("conv1.weight", rank: 4)
        let stageCount = try table.indices(under: "stages")
        guard stageCount >= 1 else {
            throw ConfigurationError(family: .shuffleNetV1, problem: "no units under 'stages'",
                                     hint: "the checkpoint must be renamed to the canonical shufflenet_v1 keys first")
        }
        var stages: [[Unit]] = []
        var groups: Int?
        var input = stem[0]
        for s in 0..<stageCount {
            var units: [Unit] = []
            let unitCount = try table.indices(under: "stages.\(s)")
            for u in 0..<unitCount {
                let prefix = "stages.\(s).\(u)"
                let compress = try table.require("\(prefix).compress.weight", rank: 4)
                let depthwise = try table.require("\(prefix).depthwise.weight", rank: 4)
                let expand = try table.require("\(prefix).expand.weight", rank: 4)
                let g = try table.divide(depthwise[0], by: expand[1], "\(prefix).expand groups")
                if let known = groups, known != g {
                    throw ConfigurationError(family: .shuffleNetV1, problem: "\(prefix).expand has \(g) groups, earlier units \(known)",
                                             hint: "every unit of a ShuffleNet v1 has the same groups")
                }
                groups = g
                let shortcut = table.has("\(prefix).shortcut.weight") ? try table.require("\(prefix).shortcut.weight", rank: 4) : nil
                units.append(Unit(inputChannels: input, bottleneckChannels: compress[0], expandChannels: expand[0],
                                  compressGroups: try table.divide(input, by: compress[1], "\(prefix).compress groups"),
                                  stride: u == 0 ? 2 : 1, shortcutChannels: shortcut?[0],
                                  shortcutBatchNorm: table.has("\(prefix).shortcut_bn.weight")))
                input = units[u].outputChannels
            }
            stages.append(units)
        }
        var c = preset.configure(classes: try table.require("fc.weight", rank: 2)[0], groups: groups ?? 1, stem: stem[0], stages: stages)
        c.inputChannels = stem[1]
        c.stemBias = table.has("conv1.bias")
        c.stemBatchNorm = table.has("bn1.weight")
        c.convolutionBias = table.has("stages.0.0.compress.bias")
        c.classifierBias = table.has("fc.bias")
        if let placement = ShufflePlacement(rawValue: try table.string("shufflePlacement", default: c.shufflePlacement.rawValue)) {
            c.shufflePlacement = placement
        }
        if let permutation = ShufflePermutation(rawValue: try table.string("shufflePermutation", default: c.shufflePermutation.rawValue)) {
            c.shufflePermutation = permutation
        }
        c.shuffleAfterUngroupedCompress = try table.flag("shuffleAfterUngroupedCompress", default: c.shuffleAfterUngroupedCompress)
        if let concat = ConcatActivation(rawValue: try table.string("concatActivation", default: c.concatActivation.rawValue)) {
            c.concatActivation = concat
        }
        c.stemActivation = try table.activation("stemActivation", default: c.stemActivation)
        c.outputSoftmax = try table.flag("outputSoftmax", default: c.outputSoftmax)
        c.eps = try table.number("eps", default: c.eps)
        c.stemKernel = stem[2] == 3 ? nil : stem[2]
        let stemStride = try table.smallInteger("stemStride", default: 2, minimum: 1)
        c.stemStride = stemStride == 2 ? nil : stemStride
        c.stemMaxPool = try table.flag("stemMaxPool", default: true) ? nil : false
        let order = ConcatOrder(rawValue: try table.string("concatOrder", default: ConcatOrder.shortcutFirst.rawValue)) ?? .shortcutFirst
        c.concatOrder = order == .shortcutFirst ? nil : order
        self = c
    }
}

/// ShuffleNet v1 under weightconv's canonical names.
package struct ShuffleNetV1Network: Network {
    package let configuration: ShuffleNetV1Configuration
    package let network: GraphNetwork
    package var graph: Graph { network.graph }
    package var executor: FastExecutor? { network.executor }

    package init(_ configuration: ShuffleNetV1Configuration, weights: WeightSource, mode: ExecutionMode = .naive) throws {
        self.configuration = configuration
        let c = configuration
        var g = GraphBuilder()

        let stemKernel = c.stemKernel ?? 3
        let conv1 = try weights.pp("conv1").convolution(in: c.inputChannels, out: c.stemChannels, kernel: stemKernel,
                                                        stride: c.stemStride ?? 2, padding: stemKernel / 2, bias: c.stemBias)
        let bn1: BatchNorm?
        if c.stemBatchNorm {
            bn1 = try weights.pp("bn1").batchNorm(channels: c.stemChannels, eps: c.eps)
        } else {
            try weights.pp("bn1").requireAbsent("weight")
            bn1 = nil
        }
        var x = g.add(.convolution(g.input, conv1, batchNorm: bn1, residual: nil, activation: c.stemActivation), name: "conv1")
        if c.stemMaxPool ?? true {
            x = g.add(.maxPool(x, PoolParameters(kernel: Size2(3), stride: Size2(2), padding: Size2(1))), name: "maxpool")
        }
        var channels = c.stemChannels

        for (s, stage) in c.stages.enumerated() {
            for (u, unit) in stage.enumerated() {
                let w = weights.pp("stages").pp(s).pp(u)
                guard unit.inputChannels == channels else {
                    throw ConfigurationError(family: .shuffleNetV1, problem: "stages.\(s).\(u) takes \(unit.inputChannels) channels after \(channels)",
                                             hint: "the configuration's units do not chain")
                }
                let input = x
                let shuffles = unit.compressGroups > 1 || c.shuffleAfterUngroupedCompress
                func shuffle(_ v: ValueID, _ name: String) -> ValueID {
                    shuffles && c.groups > 1
                        ? g.add(.shuffle(v, groups: c.groups, permutation: c.shufflePermutation), name: w.pp(name).modulePath) : v
                }
                func convBN(_ v: ValueID, _ name: String, in cin: Int, out cout: Int, kernel: Int, stride: Int = 1, groups: Int,
                            activation: Activation) throws -> ValueID {
                    let conv = try w.pp(name).convolution(in: cin, out: cout, kernel: kernel, stride: stride, padding: kernel / 2,
                                                          groups: groups, bias: c.convolutionBias)
                    let bn = try w.pp(name + "_bn").batchNorm(channels: cout, eps: c.eps)
                    return g.add(.convolution(v, conv, batchNorm: bn, residual: nil, activation: activation), name: w.pp(name).modulePath)
                }

                var h = try convBN(input, "compress", in: channels, out: unit.bottleneckChannels, kernel: 1,
                                   groups: unit.compressGroups, activation: .relu)
                if c.shufflePlacement == .afterCompress { h = shuffle(h, "compress") }
                h = try convBN(h, "depthwise", in: unit.bottleneckChannels, out: unit.bottleneckChannels, kernel: 3,
                               stride: unit.stride, groups: unit.bottleneckChannels, activation: .identity)
                if c.shufflePlacement == .afterDepthwise { h = shuffle(h, "depthwise") }

                let expand = try w.pp("expand").convolution(in: unit.bottleneckChannels, out: unit.expandChannels, kernel: 1,
                                                            groups: c.groups, bias: c.convolutionBias)
                let expandBN = try w.pp("expand_bn").batchNorm(channels: unit.expandChannels, eps: c.eps)
                if unit.stride == 1 {
                    x = g.add(.convolution(h, expand, batchNorm: expandBN, residual: input, activation: .relu), name: w.pp("expand").modulePath)
                } else {
                    let mainActivation: Activation = c.concatActivation == .mainBranch ? .relu : .identity
                    let main = g.add(.convolution(h, expand, batchNorm: expandBN, residual: nil, activation: mainActivation),
                                     name: w.pp("expand").modulePath)
                    var pooled = g.add(.avgPool(input, PoolParameters(kernel: Size2(3), stride: Size2(unit.stride), padding: Size2(1))),
                                       name: w.pp("shortcut_pool").modulePath)
                    if let projected = unit.shortcutChannels {
                        let conv = try w.pp("shortcut").convolution(in: channels, out: projected, kernel: 1, bias: c.convolutionBias)
                        let bn = unit.shortcutBatchNorm ? try w.pp("shortcut_bn").batchNorm(channels: projected, eps: c.eps) : nil
                        pooled = g.add(.convolution(pooled, conv, batchNorm: bn, residual: nil, activation: .identity),
                                       name: w.pp("shortcut").modulePath)
                    } else {
                        try w.pp("shortcut").requireAbsent("weight")
                    }
                    let branches = c.concatOrder == .mainFirst ? [main, pooled] : [pooled, main]
                    x = g.add(.concat(branches, activation: c.concatActivation == .all ? .relu : .identity), name: w.modulePath)
                }
                channels = unit.outputChannels
            }
        }
        x = g.add(.globalAvgPool(x), name: "avgpool")
        x = g.add(.linear(x, try weights.pp("fc").linear(in: channels, out: c.classes, bias: c.classifierBias)), name: "fc")
        if c.outputSoftmax { x = g.add(.softmax(x), name: "softmax") }
        network = try GraphNetwork(graph: try g.build(output: x), mode: mode)
    }

    package func callAsFunction(_ input: Tensor) throws -> Tensor { try network(input) }
}
