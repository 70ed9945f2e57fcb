// Xception: Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions" (CVPR 2017).
// Implementations covered: Cadene's pretrainedmodels `xception` (the canonical names), timm's
// `legacy_xception` and seed 004 (same module tree: `conv1/bn1`, `conv2/bn2`, `block1..12` with
// `rep`/`skip`/`skipbn`, separable `conv3/conv4` with `bn3/bn4`, `fc`). What other implementations
// do differently is expressed by behaviours: a CIFAR stem (stride 1, padding 1), blocks with a skip
// that keep the resolution (and pool 3×3 at stride 1), a skip that reads relu(x) (an in-place ReLU
// at the start of the block run before the skip is computed).
import TensorEngine

/// Everything that determines an Xception: the blocks of the entry, middle and exit flows and
/// the widths around them.
package struct XceptionConfiguration: Codable, Sendable, Hashable {
    /// One `Block(in, out, reps, strides, start_with_relu, grow_first)`.
    package struct Block: Codable, Sendable, Hashable {
        package var inputChannels: Int
        package var outputChannels: Int
        /// Separable convolutions in the block.
        package var repetitions: Int
        /// A stride other than 1 appends `MaxPool2d(3, stride, 1)` and makes the skip a strided 1×1.
        package var stride: Int
        package var startWithReLU: Bool
        /// Whether the first separable convolution widens to `outputChannels` (otherwise the last does).
        package var growFirst: Bool
        /// `true` when a stride-1 block with a skip projection still max pools (3×3, stride 1); `nil` means it
        /// pools exactly when it strides (Cadene's `Block`).
        package var maxPool: Bool?
        /// `true` when the skip projection has a bias.
        package var skipBias: Bool?
        /// `true` when the skip (projection or identity) reads relu(input) rather than the input: a block whose
        /// leading ReLU is in place and runs before the skip is computed.
        package var skipAfterReLU: Bool?

        package init(inputChannels: Int, outputChannels: Int, repetitions: Int, stride: Int, startWithReLU: Bool, growFirst: Bool) {
            self.inputChannels = inputChannels
            self.outputChannels = outputChannels
            self.repetitions = repetitions
            self.stride = stride
            self.startWithReLU = startWithReLU
            self.growFirst = growFirst
        }

        var hasSkipConvolution: Bool { inputChannels != outputChannels || stride != 1 }

        /// The block's `rep` Sequential as Cadene's `Block.__init__` assembles it; a module's index
        /// in this list is the index in its key (`rep.4.pointwise.weight`).
        enum Item: Equatable { case relu, separable(in: Int, out: Int), batchNorm(Int), maxPool }
        var items: [Item] {
            var items: [Item] = []
            var filters = inputChannels
            if growFirst {
                items += [.relu, .separable(in: inputChannels, out: outputChannels), .batchNorm(outputChannels)]
                filters = outputChannels
            }
            for _ in 0..<max(repetitions - 1, 0) {
                items += [.relu, .separable(in: filters, out: filters), .batchNorm(filters)]
            }
            if !growFirst {
                items += [.relu, .separable(in: inputChannels, out: outputChannels), .batchNorm(outputChannels)]
            }
            if !startWithReLU { items.removeFirst() }
            if stride != 1 || maxPool == true { items.append(.maxPool) }
            return items
        }
    }

    package var inputChannels: Int = 3
    package var classes: Int
    /// Widths of `conv1` and `conv2` (32, 64).
    package var stemChannels: [Int]
    package var blocks: [Block]
    /// Widths of the exit flow's separable `conv3` and `conv4` (1536, 2048).
    package var exitChannels: [Int]
    package var eps: Double = 1e-5
    /// `conv1`'s stride when not 2 (CIFAR implementations: 1).
    package var stemStride: Int?
    /// The padding of `conv1` and `conv2` when not 0 (CIFAR implementations: 1).
    package var stemPadding: Int?

    package init(inputChannels: Int = 3, classes: Int, stemChannels: [Int] = [32, 64], blocks: [Block],
                exitChannels: [Int] = [1536, 2048], eps: Double = 1e-5) {
        self.inputChannels = inputChannels
        self.classes = classes
        self.stemChannels = stemChannels
        self.blocks = blocks
        self.exitChannels = exitChannels
        self.eps = eps
    }

    /// The network of the paper, Cadene's and seed 004's code.
    package static func standard(classes: Int = 1000) -> XceptionConfiguration {
        var blocks = [
            Block(inputChannels: 64, outputChannels: 128, repetitions: 2, stride: 2, startWithReLU: false, growFirst: true),
            Block(inputChannels: 128, outputChannels: 256, repetitions: 2, stride: 2, startWithReLU: true, growFirst: true),
            Block(inputChannels: 256, outputChannels: 728, repetitions: 2, stride: 2, startWithReLU: true, growFirst: true),
        ]
        blocks += Array(repeating: Block(inputChannels: 728, outputChannels: 728, repetitions: 3, stride: 1,
                                         startWithReLU: true, growFirst: true), count: 8)
        blocks.append(Block(inputChannels: 728, outputChannels: 1024, repetitions: 2, stride: 2, startWithReLU: true, growFirst: false))
        return XceptionConfiguration(classes: classes, blocks: blocks)
    }

    /// Reads every block's widths and separable-convolution count from `blockN.rep.K.*` keys:
    /// `start_with_relu` from whether the first separable sits at index 0 or 1, `grow_first` from
    /// whether the first pointwise widens. A block with a `skip` convolution is taken as strided
    /// (true of every Xception block) unless behaviour `strideOneBlocks` lists it (1-based: it then keeps the
    /// resolution and max pools at stride 1); behaviour `skipAfterReLUBlocks` lists the blocks whose skip reads
    /// relu(input); `stemStride` and `stemPadding` (2 and 0) describe the stem; `eps` the batch norms.
    package init(inferringFrom shapes: [String: [Int]], behaviour: [String: BehaviourValue] = [:]) throws {
        let table = ShapeTable(shapes: shapes, behaviour: behaviour, family: .xception)
        let strideOne = try table.indexList("strideOneBlocks") ?? []
        let skipAfterReLU = try table.indexList("skipAfterReLUBlocks") ?? []
        let conv1 = try table.require("conv1.weight", rank: 4)
        let conv2 = try table.require("conv2.weight", rank: 4)
        var blocks: [Block] = []
        var n = 1
        while shapes.keys.contains(where: { $0.hasPrefix("block\(n).") }) {
            let indices = Set(shapes.keys.compactMap { key -> Int? in
                let lead = "block\(n).rep."
                guard key.hasPrefix(lead), key.hasSuffix(".conv1.weight") else { return nil }
                return Int(key.dropFirst(lead.count).prefix { $0 != "." })
            }).sorted()
            guard let first = indices.first, let last = indices.last else {
                throw ConfigurationError(family: .xception, problem: "block\(n) has no separable convolutions",
                                         hint: "expected keys like block\(n).rep.1.conv1.weight")
            }
            let depthwise = try table.require("block\(n).rep.\(first).conv1.weight", rank: 4)
            let firstPointwise = try table.require("block\(n).rep.\(first).pointwise.weight", rank: 4)
            let lastPointwise = try table.require("block\(n).rep.\(last).pointwise.weight", rank: 4)
            let input = depthwise[0], output = lastPointwise[0]
            let skipped = table.has("block\(n).skip.weight")
            var block = Block(inputChannels: input, outputChannels: output, repetitions: indices.count,
                              stride: skipped && !strideOne.contains(n) ? 2 : 1, startWithReLU: first != 0,
                              growFirst: input == output || firstPointwise[0] == output)
            if skipped, strideOne.contains(n) { block.maxPool = true }
            if table.has("block\(n).skip.bias") { block.skipBias = true }
            if skipAfterReLU.contains(n), block.startWithReLU { block.skipAfterReLU = true }
            blocks.append(block)
            n += 1
        }
        let conv3 = try table.require("conv3.pointwise.weight", rank: 4)
        let conv4 = try table.require("conv4.pointwise.weight", rank: 4)
        let fc = try table.require("fc.weight", rank: 2)
        self.init(inputChannels: conv1[1], classes: fc[0], stemChannels: [conv1[0], conv2[0]], blocks: blocks,
                  exitChannels: [conv3[0], conv4[0]], eps: try table.number("eps", default: 1e-5))
        let stemStride = try table.smallInteger("stemStride", default: 2, minimum: 1)
        let stemPadding = try table.smallInteger("stemPadding", default: 0, minimum: 0)
        self.stemStride = stemStride == 2 ? nil : stemStride
        self.stemPadding = stemPadding == 0 ? nil : stemPadding
    }
}

/// Xception under Cadene's names.
package struct XceptionNetwork: Network {
    package let configuration: XceptionConfiguration
    package let network: GraphNetwork
    package var graph: Graph { network.graph }
    package var executor: FastExecutor? { network.executor }

    package init(_ configuration: XceptionConfiguration, weights: WeightSource, mode: ExecutionMode = .naive) throws {
        self.configuration = configuration
        let c = configuration
        guard c.stemChannels.count == 2, c.exitChannels.count == 2 else {
            throw ConfigurationError(family: .xception, problem: "stem and exit widths need two entries each",
                                     hint: "[conv1, conv2] and [conv3, conv4]")
        }
        var g = GraphBuilder()

        // SeparableConv2d: `conv1` depthwise k×k (no bias) then `pointwise` 1×1 (no bias), followed
        // here by the batch norm and activation that come after it in the module tree.
        func separable(_ x: ValueID, _ w: WeightSource, in cin: Int, out cout: Int, bn: WeightSource,
                       activation: Activation, residual: ValueID? = nil) throws -> ValueID {
            let depthwise = try w.pp("conv1").convolution(in: cin, out: cin, kernel: 3, padding: 1, groups: cin, bias: false)
            let h = g.add(.convolution(x, depthwise, batchNorm: nil, residual: nil, activation: .identity), name: w.pp("conv1").modulePath)
            let pointwise = try w.pp("pointwise").convolution(in: cin, out: cout, kernel: 1, bias: false)
            let norm = try bn.batchNorm(channels: cout, eps: c.eps)
            return g.add(.convolution(h, pointwise, batchNorm: norm, residual: residual, activation: activation),
                         name: w.pp("pointwise").modulePath)
        }

        let conv1 = try weights.pp("conv1").convolution(in: c.inputChannels, out: c.stemChannels[0], kernel: 3, stride: c.stemStride ?? 2,
                                                        padding: c.stemPadding ?? 0, bias: false)
        var x = g.add(.convolution(g.input, conv1, batchNorm: try weights.pp("bn1").batchNorm(channels: c.stemChannels[0], eps: c.eps),
                                   residual: nil, activation: .relu), name: "conv1")
        let conv2 = try weights.pp("conv2").convolution(in: c.stemChannels[0], out: c.stemChannels[1], kernel: 3,
                                                        padding: c.stemPadding ?? 0, bias: false)
        x = g.add(.convolution(x, conv2, batchNorm: try weights.pp("bn2").batchNorm(channels: c.stemChannels[1], eps: c.eps),
                               residual: nil, activation: .relu), name: "conv2")
        var channels = c.stemChannels[1]

        for (index, block) in c.blocks.enumerated() {
            let w = weights.pp("block\(index + 1)")
            guard block.inputChannels == channels else {
                throw ConfigurationError(family: .xception, problem: "block\(index + 1) takes \(block.inputChannels) channels after \(channels)",
                                         hint: "the configuration's blocks do not chain")
            }
            let input = x
            // The skip's source: relu(input) where the block's leading ReLU ran in place first.
            let skipInput = block.skipAfterReLU == true ? g.add(.activation(input, .relu), name: w.pp("skip_relu").modulePath) : input
            let skip: ValueID
            if block.hasSkipConvolution {
                let conv = try w.pp("skip").convolution(in: block.inputChannels, out: block.outputChannels, kernel: 1,
                                                        stride: block.stride, bias: block.skipBias ?? false)
                let norm = try w.pp("skipbn").batchNorm(channels: block.outputChannels, eps: c.eps)
                skip = g.add(.convolution(skipInput, conv, batchNorm: norm, residual: nil, activation: .identity), name: w.pp("skip").modulePath)
            } else {
                try w.pp("skip").requireAbsent("weight")
                skip = skipInput
            }
            let items = block.items
            let rep = w.pp("rep")
            var h = input
            var k = 0
            while k < items.count {
                switch items[k] {
                case .relu:
                    // Only the block's first ReLU stands alone: its input also feeds the skip path.
                    h = g.add(.activation(h, .relu), name: rep.pp(k).modulePath)
                    k += 1
                case let .separable(cin, cout):
                    guard k + 1 < items.count, items[k + 1] == .batchNorm(cout) else {
                        throw ConfigurationError(family: .xception, problem: "block\(index + 1) separable without batch norm",
                                                 hint: "a configuration bug")
                    }
                    let next = k + 2 < items.count ? items[k + 2] : nil
                    let isLast = k + 2 == items.count
                    h = try separable(h, rep.pp(k), in: cin, out: cout, bn: rep.pp(k + 1),
                                      activation: next == .relu ? .relu : .identity, residual: isLast ? skip : nil)
                    k += next == .relu ? 3 : 2
                case .batchNorm:
                    throw ConfigurationError(family: .xception, problem: "block\(index + 1) batch norm without a convolution",
                                             hint: "a configuration bug")
                case .maxPool:
                    h = g.add(.maxPool(h, PoolParameters(kernel: Size2(3), stride: Size2(block.stride), padding: Size2(1))),
                              name: rep.pp(k).modulePath)
                    h = g.add(.add(h, skip, activation: .identity), name: w.modulePath)
                    k += 1
                }
            }
            x = h
            channels = block.outputChannels
        }
        x = try separable(x, weights.pp("conv3"), in: channels, out: c.exitChannels[0], bn: weights.pp("bn3"), activation: .relu)
        x = try separable(x, weights.pp("conv4"), in: c.exitChannels[0], out: c.exitChannels[1], bn: weights.pp("bn4"), activation: .relu)
        x = g.add(.globalAvgPool(x), name: "avgpool")
        x = g.add(.linear(x, try weights.pp("fc").linear(in: c.exitChannels[1], out: c.classes, bias: true)), name: "fc")
        network = try GraphNetwork(graph: try g.build(output: x), mode: mode)
    }

    package func callAsFunction(_ input: Tensor) throws -> Tensor { try network(input) }
}
