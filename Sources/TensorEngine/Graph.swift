/// A value produced by one node of a ``Graph``.
package struct ValueID: Hashable, Sendable {
    package let index: Int
}

/// One step of a network's forward pass. Convolutions carry the batch norm, residual addition and
/// activation that follow them in every family (`act(bn(conv(x)) + residual)`); the naive
/// executor runs those as separate naive operators, the fast one folds and fuses them.
package enum Operation: Sendable {
    case input
    case convolution(ValueID, ConvolutionLayer, batchNorm: BatchNorm?, residual: ValueID?, activation: Activation)
    case activation(ValueID, Activation)
    case maxPool(ValueID, PoolParameters)
    case avgPool(ValueID, PoolParameters)
    /// Mean over height and width, flattened: `[N, C, H, W]` → `[N, C]`.
    case globalAvgPool(ValueID)
    case linear(ValueID, LinearLayer)
    case add(ValueID, ValueID, activation: Activation)
    /// Along channels, then the activation over the whole result.
    case concat([ValueID], activation: Activation)
    case shuffle(ValueID, groups: Int, permutation: ShufflePermutation)
    /// `torch.softmax(x, dim=1)`, or `log_softmax` when `log`.
    case softmax(ValueID, log: Bool = false)

    var inputs: [ValueID] {
        switch self {
        case .input: []
        case let .convolution(x, _, _, residual, _): residual.map { [x, $0] } ?? [x]
        case let .activation(x, _), let .maxPool(x, _), let .avgPool(x, _), let .globalAvgPool(x),
             let .linear(x, _), let .shuffle(x, _, _), let .softmax(x, _): [x]
        case let .add(a, b, _): [a, b]
        case let .concat(parts, _): parts
        }
    }
}

/// A node and the module path it was built from (`layer2.0.conv2`), which error messages name.
package struct Node: Sendable {
    package var operation: Operation
    package var name: String
}

/// A network's forward pass as a list of nodes in execution order; node 0 is the input.
package struct Graph: Sendable {
    package internal(set) var nodes: [Node]
    package internal(set) var output: ValueID

    /// The shape of every value for an input of shape `input`, or the error of the first node that
    /// cannot take what it is given (wrong channel count, image too small).
    package func shapes(for input: [Int]) throws -> [[Int]] {
        guard input.count == 4, input.allSatisfy({ $0 >= 1 }) else {
            throw TensorError(operation: "input", problem: "expected [batch, channels, height, width] with positive sizes, got \(input)",
                              hint: "pass an NCHW float32 image batch")
        }
        var shapes: [[Int]] = []
        shapes.reserveCapacity(nodes.count)
        for node in nodes {
            do {
                shapes.append(try shape(of: node.operation, input: input, known: shapes))
            } catch let error as TensorError {
                throw TensorError(operation: "\(error.operation) at '\(node.name)'", problem: error.problem, hint: error.hint)
            }
        }
        return shapes
    }

    private func shape(of operation: Operation, input: [Int], known s: [[Int]]) throws -> [Int] {
        switch operation {
        case .input:
            return input
        case let .convolution(x, layer, bn, residual, _):
            let out = try layer.outputShape(for: s[x.index])
            if let bn, bn.channels != out[1] {
                throw TensorError(operation: "batch_norm", problem: "\(bn.channels) channels after a convolution with \(out[1])",
                                  hint: "the batch norm belongs to another layer")
            }
            if let residual, s[residual.index] != out {
                throw TensorError(operation: "add", problem: "residual \(s[residual.index]) does not match \(out)",
                                  hint: "the shortcut and the main branch must agree")
            }
            return out
        case let .activation(x, _), let .shuffle(x, _, _):
            if case let .shuffle(_, groups, _) = operation, s[x.index].count != 4 || s[x.index][1] % groups != 0 {
                throw TensorError(operation: "channel_shuffle", problem: "shape \(s[x.index]) does not split into \(groups) groups",
                                  hint: "channels must be a multiple of groups")
            }
            return s[x.index]
        case let .maxPool(x, p):
            return try p.outputShape(for: s[x.index], operation: "max_pool2d")
        case let .avgPool(x, p):
            return try p.outputShape(for: s[x.index], operation: "avg_pool2d")
        case let .globalAvgPool(x):
            guard s[x.index].count == 4 else {
                throw TensorError(operation: "adaptive_avg_pool2d", problem: "expected NCHW, got \(s[x.index])", hint: "pool a feature map")
            }
            return [s[x.index][0], s[x.index][1]]
        case let .linear(x, layer):
            try layer.checkInput(s[x.index])
            return [s[x.index][0], layer.outputFeatures]
        case let .add(a, b, _):
            guard s[a.index] == s[b.index] else {
                throw TensorError(operation: "add", problem: "shapes \(s[a.index]) and \(s[b.index]) differ", hint: "a residual connection needs equal shapes")
            }
            return s[a.index]
        case let .concat(parts, _):
            guard let first = parts.first.map({ s[$0.index] }), first.count == 4 else {
                throw TensorError(operation: "cat", problem: "nothing to concatenate", hint: "pass NCHW tensors")
            }
            var channels = 0
            for part in parts {
                let shape = s[part.index]
                guard shape.count == 4, shape[0] == first[0], shape[2] == first[2], shape[3] == first[3] else {
                    throw TensorError(operation: "cat", problem: "shapes \(first) and \(shape) differ outside dim 1",
                                      hint: "the branches of a unit must produce the same spatial size")
                }
                channels += shape[1]
            }
            return [first[0], channels, first[2], first[3]]
        case let .softmax(x, _):
            guard s[x.index].count == 2 else {
                throw TensorError(operation: "softmax", problem: "expected [batch, classes], got \(s[x.index])", hint: "flatten first")
            }
            return s[x.index]
        }
    }

    /// For each value, the index of the last node that reads it (the output lives to the end).
    func lastUses() -> [Int] {
        var last = Array(0..<nodes.count)
        for (index, node) in nodes.enumerated() {
            for value in node.operation.inputs { last[value.index] = max(last[value.index], index) }
        }
        last[output.index] = nodes.count
        return last
    }
}

/// Builds a ``Graph`` node by node; each method returns the value the new node produces.
package struct GraphBuilder: Sendable {
    private var nodes: [Node] = [Node(operation: .input, name: "input")]

    package init() {}

    /// The network's input image batch.
    package var input: ValueID { ValueID(index: 0) }

    package mutating func add(_ operation: Operation, name: String) -> ValueID {
        nodes.append(Node(operation: operation, name: name))
        return ValueID(index: nodes.count - 1)
    }

    /// The graph ending at `output`, which must be a value of this builder.
    /// Hands the nodes over to the graph and leaves the builder empty: the graph is then their only
    /// holder, so the fast executor can replace each convolution's weights by their folded copy
    /// rather than keep both (see ``FastExecutor``).
    package mutating func build(output: ValueID) throws -> Graph {
        guard output.index < nodes.count else {
            throw TensorError(operation: "graph", problem: "output value \(output.index) is not among the \(nodes.count) nodes",
                              hint: "build the graph after adding its last node")
        }
        let built = nodes
        nodes = []
        return Graph(nodes: built, output: output)
    }
}

/// Runs a graph with the naive operators, one fresh tensor per node, freeing each value after
/// its last reader.
package enum NaiveExecutor {
    /// A layer's output as the naive operators compute it, before fusion: `(node name, output)` for
    /// every convolution (its own output, then `"<name>@bn"` after its batch norm) and linear layer, in
    /// execution order. What `weightconv verify --trace` compares with PyTorch's forward hooks.
    package typealias Tap = (String, Tensor) throws -> Void

    package static func run(_ graph: Graph, input: Tensor, tap: Tap? = nil) throws -> Tensor {
        _ = try graph.shapes(for: input.shape)
        let last = graph.lastUses()
        var values = [Tensor?](repeating: nil, count: graph.nodes.count)
        for (index, node) in graph.nodes.enumerated() {
            values[index] = try evaluate(node.operation, input: input, values: values, name: node.name, tap: tap)
            for value in node.operation.inputs where last[value.index] == index { values[value.index] = nil }
        }
        guard let result = values[graph.output.index] else {
            throw TensorError(operation: "graph", problem: "the output was never computed", hint: "a network definition bug")
        }
        return result
    }

    private static func evaluate(_ operation: Operation, input: Tensor, values: [Tensor?], name: String,
                                 tap: Tap?) throws -> Tensor {
        func value(_ id: ValueID) throws -> Tensor {
            guard let v = values[id.index] else {
                throw TensorError(operation: "graph", problem: "value \(id.index) read after it was freed", hint: "a network definition bug")
            }
            return v
        }
        switch operation {
        case .input:
            return input
        case let .convolution(x, layer, bn, residual, activation):
            var y = try Naive.conv2d(try value(x), layer)
            try tap?(name, y)
            if let bn {
                y = try Naive.batchNorm(y, bn)
                try tap?(name + "@bn", y)
            }
            if let residual { y = try Naive.add(y, try value(residual)) }
            return Naive.activation(y, activation)
        case let .activation(x, kind):
            return Naive.activation(try value(x), kind)
        case let .maxPool(x, p):
            return try Naive.maxPool2d(try value(x), p)
        case let .avgPool(x, p):
            return try Naive.avgPool2d(try value(x), p)
        case let .globalAvgPool(x):
            return try Naive.flatten(try Naive.adaptiveAvgPool2d(try value(x), output: Size2(1)))
        case let .linear(x, layer):
            let y = try Naive.linear(try value(x), layer)
            try tap?(name, y)
            return y
        case let .add(a, b, activation):
            return Naive.activation(try Naive.add(try value(a), try value(b)), activation)
        case let .concat(parts, activation):
            var tensors: [Tensor] = []
            for part in parts { tensors.append(try value(part)) }
            return Naive.activation(try Naive.concatChannels(tensors), activation)
        case let .shuffle(x, groups, permutation):
            return try Naive.channelShuffle(try value(x), groups: groups, permutation: permutation)
        case let .softmax(x, log):
            return try Naive.softmax(try value(x), log: log)
        }
    }
}
