import WeightconvCore

/// A checkpoint's model tensors grouped into modules (`features.3.conv.0.weight` and `.bias` are one
/// module), in the order `state_dict` stores them: registration order, which follows the forward pass
/// in nearly every implementation. Inference aligns these with a family's layers by shape and role.
struct StoredModule: Sendable {
    enum Role: Sendable, Equatable {
        /// `[out, in/groups, kh, kw]` (a 3-D depthwise kernel and a 2-D pointwise one are read as 4-D).
        case convolution(out: Int, inPerGroup: Int, kernel: Int, bias: Bool)
        case batchNorm(channels: Int)
        case linear(out: Int, in: Int, bias: Bool)
    }

    /// The module's key without the leaf (`features.3.conv.0`), wrapper prefix excluded.
    var name: String
    /// Leaf (`weight`, `running_mean`) → (full key in the file, shape as stored).
    var tensors: [String: (key: String, shape: [Int])]
    var role: Role
    /// The repair the stored weight needs to have the canonical rank, if any.
    var repair: String?

    /// The first key of the module in the file, for messages.
    var firstKey: String { tensors["weight"]?.key ?? tensors.values.map(\.key).min() ?? name }

    var weightShape: [Int] { tensors["weight"]?.shape ?? [] }
}

/// Why a checkpoint cannot be aligned with a family: the first tensor that does not fit, and what
/// was expected there.
package struct AlignmentFailure: Error, Sendable, CustomStringConvertible {
    package var family: NetworkFamily
    /// The file key of the first tensor that does not fit (empty when the checkpoint ended early).
    package var key: String
    package var shape: [Int]
    package var expected: String
    /// How many tensors fitted before it.
    package var aligned: Int

    package var description: String {
        key.isEmpty
            ? "\(family.rawValue): the checkpoint ends after \(aligned) aligned tensor(s) where \(expected) was expected"
            : "\(family.rawValue): the first tensor that does not fit is '\(key)' \(shape) (after \(aligned) aligned), where \(expected) was expected"
    }
}

enum StoredModules {
    /// Groups `keys` (file order, already under one wrapper prefix) into modules. A key whose module has
    /// no role (an unknown buffer, a 5-D weight) is the first thing that does not fit any family.
    static func group(_ keys: [(key: String, local: String, shape: [Int])]) throws(StoredModuleProblem) -> [StoredModule] {
        var order: [String] = []
        var members: [String: [String: (key: String, shape: [Int])]] = [:]
        for entry in keys where !entry.local.hasSuffix("num_batches_tracked") {
            let name: String
            let leaf: String
            if let dot = entry.local.lastIndex(of: ".") {
                name = String(entry.local[..<dot])
                leaf = String(entry.local[entry.local.index(after: dot)...])
            } else {
                name = ""
                leaf = entry.local
            }
            if members[name] == nil { order.append(name) }
            members[name, default: [:]][leaf] = (entry.key, entry.shape)
        }
        var modules: [StoredModule] = []
        for name in order {
            guard let tensors = members[name] else { continue }
            modules.append(try module(name, tensors))
        }
        return modules
    }

    private static func module(_ name: String, _ tensors: [String: (key: String, shape: [Int])]) throws(StoredModuleProblem)
        -> StoredModule
    {
        let leaves = Set(tensors.keys)
        let firstKey = tensors["weight"]?.key ?? tensors.values.map(\.key).min() ?? name
        if leaves.isSuperset(of: ["running_mean", "running_var"]) {
            let channels = tensors["running_mean"]?.shape ?? []
            guard channels.count == 1,
                  leaves.subtracting(["weight", "bias", "running_mean", "running_var"]).isEmpty,
                  tensors.values.allSatisfy({ $0.shape == channels })
            else {
                throw StoredModuleProblem(key: firstKey, shape: tensors["weight"]?.shape ?? channels,
                                          problem: "a batch norm whose tensors are not all [C]")
            }
            guard leaves.contains("weight"), leaves.contains("bias") else {
                throw StoredModuleProblem(key: firstKey, shape: channels,
                                          problem: "a batch norm without its affine weight and bias")
            }
            return StoredModule(name: name, tensors: tensors, role: .batchNorm(channels: channels[0]))
        }
        guard let weight = tensors["weight"], leaves.subtracting(["weight", "bias"]).isEmpty else {
            let odd = tensors.filter { !["weight", "bias"].contains($0.key) }.min { $0.value.key < $1.value.key }
            throw StoredModuleProblem(key: odd?.value.key ?? firstKey, shape: odd?.value.shape ?? [],
                                      problem: "a tensor that is neither a weight, a bias nor a batch-norm statistic "
                                          + "(or a batch norm missing running_mean or running_var)")
        }
        let shape = weight.shape
        let bias = tensors["bias"]
        if let bias, bias.shape != [shape.first ?? -1] {
            throw StoredModuleProblem(key: bias.key, shape: bias.shape, problem: "a bias that does not match its weight \(shape)")
        }
        switch shape.count {
        case 4 where shape[2] == shape[3] && shape.allSatisfy({ $0 >= 1 }):
            return StoredModule(name: name, tensors: tensors,
                                role: .convolution(out: shape[0], inPerGroup: shape[1], kernel: shape[2], bias: bias != nil))
        case 3 where shape[1] == shape[2] && shape.allSatisfy({ $0 >= 1 }):
            return StoredModule(name: name, tensors: tensors,
                                role: .convolution(out: shape[0], inPerGroup: 1, kernel: shape[1], bias: bias != nil),
                                repair: "depthwise_3d")
        case 2 where shape.allSatisfy({ $0 >= 1 }):
            return StoredModule(name: name, tensors: tensors, role: .linear(out: shape[0], in: shape[1], bias: bias != nil))
        default:
            throw StoredModuleProblem(key: weight.key, shape: shape, problem: "a weight of no layer the families have")
        }
    }
}

struct StoredModuleProblem: Error, Sendable {
    var key: String
    var shape: [Int]
    var problem: String
}

/// Walks a module sequence, naming each module canonically; the first module that does not fit
/// stops it with an `AlignmentFailure`.
struct ModuleCursor {
    let family: NetworkFamily
    let modules: [StoredModule]
    var index = 0
    /// Module index → canonical module name, and repairs by canonical module name.
    var names: [(module: StoredModule, canonical: String)] = []

    init(family: NetworkFamily, modules: [StoredModule]) {
        self.family = family
        self.modules = modules
    }

    var atEnd: Bool { index >= modules.count }
    func peek(_ offset: Int = 0) -> StoredModule? { index + offset < modules.count ? modules[index + offset] : nil }

    func failure(_ expected: String) -> AlignmentFailure {
        let aligned = names.reduce(0) { $0 + $1.module.tensors.count }
        guard let module = peek() else { return AlignmentFailure(family: family, key: "", shape: [], expected: expected, aligned: aligned) }
        return AlignmentFailure(family: family, key: module.firstKey, shape: module.weightShape, expected: expected, aligned: aligned)
    }

    /// The next module as a convolution that `accept` takes, named `canonical`.
    @discardableResult
    mutating func convolution(_ canonical: String, _ expected: String,
                              _ accept: (_ out: Int, _ inPerGroup: Int, _ kernel: Int, _ bias: Bool) -> Bool) throws(AlignmentFailure)
        -> (out: Int, inPerGroup: Int, kernel: Int, bias: Bool)
    {
        guard var module = peek() else { throw failure(expected) }
        let found: (out: Int, inPerGroup: Int, kernel: Int, bias: Bool)
        switch module.role {
        case let .convolution(out, inPerGroup, kernel, bias):
            found = (out, inPerGroup, kernel, bias)
        case let .linear(out, input, bias) where peek(1)?.role == .batchNorm(channels: out):
            // A pointwise kernel stored 2-D (Cadene's older files): a batch norm follows it, a classifier would not.
            found = (out, input, 1, bias)
            module.repair = "pointwise_2d"
        default:
            throw failure(expected)
        }
        guard accept(found.out, found.inPerGroup, found.kernel, found.bias) else { throw failure(expected) }
        names.append((module, canonical))
        index += 1
        return found
    }

    /// The next module as a batch norm of `channels`.
    mutating func batchNorm(_ canonical: String, channels: Int) throws(AlignmentFailure) {
        guard let module = peek(), module.role == .batchNorm(channels: channels) else {
            throw failure("a batch norm of \(channels) channels (\(canonical))")
        }
        names.append((module, canonical))
        index += 1
    }

    /// The classifier: a linear layer, or a 1×1 convolution (repaired to 2-D), from `features` inputs.
    mutating func classifier(_ canonical: String, features: Int) throws(AlignmentFailure) -> Int {
        guard let module = peek() else { throw failure("the classifier (\(canonical)) over \(features) features") }
        switch module.role {
        case let .linear(out, input, _) where input == features:
            names.append((module, canonical))
            index += 1
            return out
        case let .convolution(out, input, 1, _) where input == features:
            var repaired = module
            repaired.repair = "classifier_1x1"
            names.append((repaired, canonical))
            index += 1
            return out
        default:
            throw failure("the classifier (\(canonical)) over \(features) features")
        }
    }

    func finish() throws(AlignmentFailure) -> [(module: StoredModule, canonical: String)] {
        guard atEnd else { throw failure("nothing more (the network is complete)") }
        return names
    }
}
