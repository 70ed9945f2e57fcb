import TensorEngine

/// A network ready to run: NCHW float32 images in, `[batch, classes]` out.
package protocol Network: Sendable {
    func callAsFunction(_ input: Tensor) throws -> Tensor
    /// The operators the network runs, whichever executor runs them (on the fast path, with batch
    /// norms folded into the convolutions' weights: see ``FastExecutor/graph``).
    var graph: Graph { get }
    /// The fast path's executor; `nil` when the naive operators run.
    var executor: FastExecutor? { get }
}

/// How a built network computes: the obviously-correct naive operators, or the fast path
/// (batch norm folded, activations fused, SGEMM convolutions) on a number of threads, with the
/// widest kernels the CPU runs unless `kernels` says otherwise, in float32 unless `precision`
/// asks for bfloat16 GEMM convolutions where the machine has them.
public enum ExecutionMode: Sendable, Hashable {
    case naive
    case fast(threads: Int, kernels: KernelSet = .best, precision: Precision = .float32)

    /// The threads a forward pass runs on: the naive operators run on the calling thread alone.
    public var threads: Int {
        switch self {
        case .naive: 1
        case .fast(let threads, _, _): threads
        }
    }

    /// The arithmetic of the GEMM convolutions: float32 for the naive operators.
    public var precision: Precision {
        switch self {
        case .naive: .float32
        case .fast(_, _, let precision): precision
        }
    }
}

/// A network expressed as a ``Graph`` of operators, run by the executor its mode selects.
package struct GraphNetwork: Network {
    package let mode: ExecutionMode
    /// The graph as built, for the naive operators; on the fast path the executor holds the
    /// graph alone, so that each layer's weights are held once (folded).
    private let runner: Runner

    private enum Runner {
        case naive(Graph)
        case fast(FastExecutor)
    }

    package init(graph: consuming Graph, mode: ExecutionMode) throws {
        self.mode = mode
        switch mode {
        case .naive: runner = .naive(graph)
        case .fast(let threads, let kernels, let precision):
            runner = .fast(try FastExecutor(graph: consume graph, threads: threads, kernels: kernels, precision: precision))
        }
    }

    package var graph: Graph {
        switch runner {
        case .naive(let graph): graph
        case .fast(let executor): executor.graph
        }
    }

    package var executor: FastExecutor? {
        if case .fast(let executor) = runner { executor } else { nil }
    }

    package func callAsFunction(_ input: Tensor) throws -> Tensor {
        switch runner {
        case .naive(let graph): try NaiveExecutor.run(graph, input: input)
        case .fast(let executor): try executor.run(input)
        }
    }
}

/// A behaviour a state_dict does not record (eps, activation, where the stride sits), given by
/// the user or a layout profile: a string, a number or a flag.
package enum BehaviourValue: Sendable, Hashable, Codable, ExpressibleByStringLiteral, ExpressibleByFloatLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    case string(String)
    case number(Double)
    case bool(Bool)

    package init(stringLiteral value: String) { self = .string(value) }
    package init(floatLiteral value: Double) { self = .number(value) }
    package init(integerLiteral value: Int) { self = .number(Double(value)) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }

    /// As a plain JSON scalar: `true`, `1e-3`, `"conv1"`.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let s): try container.encode(s)
        case .number(let d): try container.encode(d)
        case .bool(let b): try container.encode(b)
        }
    }
}

/// What a behaviour's value may be.
package enum BehaviourKind: Sendable, Hashable {
    case number
    case flag
    /// A comma-separated list of integers, e.g. `"2,4,7,14"`.
    case indexList
    case oneOf([String])

    package var description: String {
        switch self {
        case .number: "a number"
        case .flag: "true or false"
        case .indexList: "a string of comma-separated block indices, e.g. \"2,4,7,14\""
        case .oneOf(let values): "one of " + values.map { "\"\($0)\"" }.joined(separator: ", ")
        }
    }

    /// Whether `value` is of this kind.
    package func accepts(_ value: BehaviourValue) -> Bool {
        switch (self, value) {
        case (.number, .number(let d)): d.isFinite
        case (.flag, .bool): true
        case (.indexList, .string(let list)): list.split(separator: ",").allSatisfy { Int($0.filter { $0 != " " }) != nil }
        case (.oneOf(let allowed), .string(let s)): allowed.contains(s)
        default: false
        }
    }
}

/// The one vocabulary of behaviours (what a state_dict does not record): the keys each family's
/// configuration reads in `init(inferringFrom:behaviour:)`, which layout files, `--check` and
/// `infer` all use. A key outside it is an error, never a behaviour silently left at its default.
package enum BehaviourVocabulary {
    static let activations = ["identity", "relu", "relu6"]

    /// Every key a family understands, with the values it accepts.
    package static func keys(of family: NetworkFamily) -> [String: BehaviourKind] {
        switch family {
        case .xception: ["eps": .number, "stemStride": .number, "stemPadding": .number, "strideOneBlocks": .indexList,
                          "skipAfterReLUBlocks": .indexList]
        case .mobileNetV2: ["eps": .number, "activation": .oneOf(["relu6", "relu"]), "strideTwoBlocks": .indexList]
        case .resnext: ["eps": .number, "stridePlacement": .oneOf(["conv1", "conv2"]), "stemStride": .number,
                         "stemMaxPool": .flag, "outputLogSoftmax": .flag]
        case .shuffleNetV1:
            ["eps": .number, "implementation": .oneOf(["paper", "megvii", "seed000"]),
             "shufflePlacement": .oneOf(["afterCompress", "afterDepthwise"]),
             "shufflePermutation": .oneOf(["groupsFirst", "groupsLast"]),
             "shuffleAfterUngroupedCompress": .flag, "concatActivation": .oneOf(["all", "mainBranch"]),
             "stemActivation": .oneOf(activations), "outputSoftmax": .flag, "stemStride": .number, "stemMaxPool": .flag,
             "concatOrder": .oneOf(["shortcutFirst", "mainFirst"])]
        }
    }

    /// Why `key = value` is not a behaviour of `family`, or `nil` when it is.
    package static func problem(family: NetworkFamily, key: String, value: BehaviourValue) -> String? {
        let known = keys(of: family)
        guard let kind = known[key] else {
            return "'\(key)' is not a \(family) behaviour (known: \(known.keys.sorted().joined(separator: ", ")))"
        }
        return kind.accepts(value) ? nil : "behaviour '\(key)' is \(value.jsonText), expected \(kind.description)"
    }
}

extension BehaviourValue {
    /// As JSON text: `true`, `1e-05`, `"conv1"`.
    package var jsonText: String {
        switch self {
        case .string(let s): "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .number(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)"
        case .bool(let b): b ? "true" : "false"
        }
    }
}

/// A configuration that cannot be derived from the shapes and behaviours given.
package struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    package var family: NetworkFamily
    package var problem: String
    package var hint: String

    package init(family: NetworkFamily, problem: String, hint: String) {
        self.family = family
        self.problem = problem
        self.hint = hint
    }

    package var description: String { "\(family): \(problem) (\(hint))" }
}

/// The configuration of any of the four families, as the import step infers it and a weight
/// file records it.
package enum NetworkConfiguration: Codable, Sendable, Hashable {
    case xception(XceptionConfiguration)
    case mobileNetV2(MobileNetV2Configuration)
    case shuffleNetV1(ShuffleNetV1Configuration)
    case resnext(ResNeXtConfiguration)

    /// The family the configuration belongs to.
    package var family: NetworkFamily {
        switch self {
        case .xception: .xception
        case .mobileNetV2: .mobileNetV2
        case .shuffleNetV1: .shuffleNetV1
        case .resnext: .resnext
        }
    }

    /// Builds the network, reading every parameter from `weights` under the canonical names.
    package func build(_ weights: WeightSource, mode: ExecutionMode = .naive) throws -> any Network {
        // The GEMM library's warm-up, where a layer calls it, starts in FastExecutor.init, where
        // the layers are known.
        return switch self {
        case .xception(let c): try XceptionNetwork(c, weights: weights, mode: mode)
        case .mobileNetV2(let c): try MobileNetV2Network(c, weights: weights, mode: mode)
        case .shuffleNetV1(let c): try ShuffleNetV1Network(c, weights: weights, mode: mode)
        case .resnext(let c): try ResNeXtNetwork(c, weights: weights, mode: mode)
        }
    }

    /// Derives the configuration from the canonical keys' shapes and the behaviours that shapes
    /// cannot show.
    package static func infer(family: NetworkFamily, shapes: [String: [Int]],
                             behaviour: [String: BehaviourValue] = [:]) throws -> NetworkConfiguration {
        for (key, value) in behaviour.sorted(by: { $0.key < $1.key }) {
            if let problem = BehaviourVocabulary.problem(family: family, key: key, value: value) {
                throw ConfigurationError(family: family, problem: problem, hint: "see docs/layout-format.md for the behaviours")
            }
        }
        return switch family {
        case .xception: .xception(try XceptionConfiguration(inferringFrom: shapes, behaviour: behaviour))
        case .mobileNetV2: .mobileNetV2(try MobileNetV2Configuration(inferringFrom: shapes, behaviour: behaviour))
        case .shuffleNetV1: .shuffleNetV1(try ShuffleNetV1Configuration(inferringFrom: shapes, behaviour: behaviour))
        case .resnext: .resnext(try ResNeXtConfiguration(inferringFrom: shapes, behaviour: behaviour))
        }
    }
}

/// Reading a state_dict's shapes while inferring a configuration, with errors that name the key.
struct ShapeTable {
    let shapes: [String: [Int]]
    let behaviour: [String: BehaviourValue]
    let family: NetworkFamily

    func has(_ key: String) -> Bool { shapes[key] != nil }

    /// The shape of `key`, which must have `rank` dimensions.
    func require(_ key: String, rank: Int) throws -> [Int] {
        guard let shape = shapes[key] else {
            throw ConfigurationError(family: family, problem: "no '\(key)' in the weights",
                                     hint: "the checkpoint must be renamed to the canonical \(family) keys first")
        }
        guard shape.count == rank, shape.allSatisfy({ $0 >= 1 }) else {
            throw ConfigurationError(family: family, problem: "'\(key)' has shape \(shape), expected \(rank) positive dimensions",
                                     hint: "the tensor does not belong to a \(family) layer")
        }
        return shape
    }

    /// The integers `i` such that some key starts with `prefix.i.`, which must be `0..<n`.
    func indices(under prefix: String) throws -> Int {
        let lead = prefix.isEmpty ? "" : prefix + "."
        var found = Set<Int>()
        for key in shapes.keys where key.hasPrefix(lead) {
            let rest = key.dropFirst(lead.count)
            if let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]), index >= 0 { found.insert(index) }
        }
        guard found.count == (found.max().map { $0 + 1 } ?? 0) else {
            throw ConfigurationError(family: family, problem: "the indices under '\(prefix)' are not contiguous: \(found.sorted())",
                                     hint: "a block is missing from the weights")
        }
        return found.count
    }

    /// `n / d` when `d` divides `n`.
    func divide(_ n: Int, by d: Int, _ what: String) throws -> Int {
        guard d >= 1, n % d == 0 else {
            throw ConfigurationError(family: family, problem: "\(what): \(n) is not a multiple of \(d)", hint: "the shapes are inconsistent")
        }
        return n / d
    }

    /// A behaviour whose values the vocabulary lists (`BehaviourVocabulary`).
    func string(_ key: String, default value: String) throws -> String {
        guard let given = behaviour[key] else { return value }
        guard case .oneOf(let allowed)? = BehaviourVocabulary.keys(of: family)[key],
              case .string(let s) = given, allowed.contains(s) else {
            throw ConfigurationError(family: family, problem: "behaviour '\(key)' is \(given)",
                                     hint: BehaviourVocabulary.keys(of: family)[key]?.description ?? "not a \(family) behaviour")
        }
        return s
    }

    func number(_ key: String, default value: Double) throws -> Double {
        guard let given = behaviour[key] else { return value }
        guard case .number(let d) = given, d.isFinite else {
            throw ConfigurationError(family: family, problem: "behaviour '\(key)' is \(given)", hint: "a number is expected")
        }
        return d
    }

    func flag(_ key: String, default value: Bool) throws -> Bool {
        guard let given = behaviour[key] else { return value }
        guard case .bool(let b) = given else {
            throw ConfigurationError(family: family, problem: "behaviour '\(key)' is \(given)", hint: "true or false is expected")
        }
        return b
    }

    /// A comma-separated list of block indices (`"2,4,7,14"`), or `nil` when the behaviour is not given.
    func indexList(_ key: String) throws -> Set<Int>? {
        guard let given = behaviour[key] else { return nil }
        guard case .string(let list) = given, BehaviourKind.indexList.accepts(given) else {
            throw ConfigurationError(family: family, problem: "behaviour \(key) is \(given.jsonText)",
                                     hint: "a comma-separated list of block indices, e.g. \"2,4,7,14\"")
        }
        return Set(list.split(separator: ",").compactMap { Int($0.filter { $0 != " " }) })
    }

    /// A stride or padding given as a behaviour: a whole number from 0 (or 1) to 8.
    func smallInteger(_ key: String, default value: Int, minimum: Int) throws -> Int {
        let d = try number(key, default: Double(value))
        guard d == d.rounded(), d >= Double(minimum), d <= 8 else {
            throw ConfigurationError(family: family, problem: "behaviour '\(key)' is \(d)", hint: "a whole number from \(minimum) to 8")
        }
        return Int(d)
    }

    func activation(_ key: String, default value: Activation) throws -> Activation {
        let name = try string(key, default: value.rawValue)
        return Activation(rawValue: name) ?? value
    }
}
