import Foundation
import TensorEngine

/// Where a network's parameters come from: a checkpoint, a `.wcv` file, a dictionary in a test.
///
/// Keys are the canonical dotted names of the family (`layer1.0.conv2.weight`); the import
/// pipeline renames other implementations' keys onto them before a provider sees them.
package protocol WeightProvider: Sendable {
    /// The stored shape of `key`, or `nil` if the provider has no such tensor.
    func shape(of key: String) -> [Int]?
    /// The tensor's elements widened to Float32, row-major.
    func floats(of key: String) throws -> [Float]
    /// Called before a module asks for `key` with the shape it expects; providers that record what
    /// a network needs (``RecordingProvider``) implement it, others need not.
    func willRequest(_ key: String, shape: [Int])
}

extension WeightProvider {
    package func willRequest(_ key: String, shape: [Int]) {}
}

/// A missing or mis-shaped parameter, named by its full key and the module that asked for it.
package struct WeightError: Error, CustomStringConvertible, Sendable, Equatable {
    package var key: String
    /// The module path (`layer2.0.conv2`) whose initializer asked for the key.
    package var modulePath: String
    package var expected: [Int]?
    /// `nil` when the key is absent.
    package var actual: [Int]?
    package var hint: String

    package var description: String {
        let module = modulePath.isEmpty ? "the network" : "module '\(modulePath)'"
        switch (expected, actual) {
        case (let expected?, nil):
            return "\(module) needs '\(key)' with shape \(expected), which the weights do not have (\(hint))"
        case (let expected?, let actual?):
            return "\(module) needs '\(key)' with shape \(expected), the weights have \(actual) (\(hint))"
        case (nil, let actual?):
            return "\(module) does not use '\(key)' (shape \(actual)), which the weights have (\(hint))"
        case (nil, nil):
            return "\(module): '\(key)' is unusable (\(hint))"
        }
    }
}

/// A scoped view of a ``WeightProvider``, in the manner of candle's `VarBuilder`: each module adds
/// its own path segment and asks for its parameters by their short names, so that a wrong layout
/// fails at the layer that is wrong, with its full key.
package struct WeightSource: Sendable {
    package let provider: any WeightProvider
    package let path: [String]

    package init(_ provider: any WeightProvider, path: [String] = []) {
        self.provider = provider
        self.path = path
    }

    /// The source one level down (`features` → `features.0`).
    package func pp(_ segment: String) -> WeightSource {
        WeightSource(provider, path: path + [segment])
    }

    package func pp(_ index: Int) -> WeightSource { pp(String(index)) }

    /// The full dotted key of `name` under this path.
    package func key(_ name: String) -> String { (path + [name]).joined(separator: ".") }

    package var modulePath: String { path.joined(separator: ".") }

    package func contains(_ name: String) -> Bool { provider.shape(of: key(name)) != nil }

    /// The shape stored under `name`, if any.
    package func shape(of name: String) -> [Int]? { provider.shape(of: key(name)) }

    /// The tensor `name` with exactly `shape`, or a ``WeightError`` naming the key and module.
    package func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let fullKey = key(name)
        provider.willRequest(fullKey, shape: shape)
        guard let actual = provider.shape(of: fullKey) else {
            throw WeightError(key: fullKey, modulePath: modulePath, expected: shape, actual: nil,
                              hint: "the checkpoint's names may follow another implementation's layout, or the configuration is for a different variant")
        }
        guard actual == shape else {
            throw WeightError(key: fullKey, modulePath: modulePath, expected: shape, actual: actual,
                              hint: "the configuration's widths or groups differ from the checkpoint's")
        }
        let values = try provider.floats(of: fullKey)
        do {
            return try Tensor(shape: shape, storage: values)
        } catch {
            throw WeightError(key: fullKey, modulePath: modulePath, expected: shape, actual: actual,
                              hint: "the provider returned \(values.count) values")
        }
    }

    /// The tensor if the weights have `name`; `nil` otherwise.
    package func optionalTensor(_ name: String, shape: [Int]) throws -> Tensor? {
        contains(name) ? try tensor(name, shape: shape) : nil
    }

    /// Refuses a parameter the configuration says the layer does not have (a bias where the
    /// variant has none): silently ignoring it would compute something else than PyTorch.
    package func requireAbsent(_ name: String) throws {
        if let actual = shape(of: name) {
            throw WeightError(key: key(name), modulePath: modulePath, expected: nil, actual: actual,
                              hint: "the configuration says this layer has no '\(name)'; infer the configuration from the checkpoint")
        }
    }
}

/// Answers every request with zeros of the requested shape and records what was asked, in order:
/// how the command line lists the keys a network expects without a checkpoint.
package final class RecordingProvider: WeightProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [(key: String, shape: [Int])] = []
    private var shapes: [String: [Int]] = [:]

    package init() {}

    /// Every `(key, shape)` requested so far, in request order.
    package var requests: [(key: String, shape: [Int])] { lock.withLock { recorded } }

    package func willRequest(_ key: String, shape: [Int]) {
        lock.withLock {
            if shapes[key] == nil { recorded.append((key, shape)) }
            shapes[key] = shape
        }
    }

    package func shape(of key: String) -> [Int]? { lock.withLock { shapes[key] } }

    package func floats(of key: String) throws -> [Float] {
        let count = lock.withLock { shapes[key]?.reduce(1, *) ?? 0 }
        return [Float](repeating: 0, count: count)
    }
}

/// Tensors held in memory, for tests and for weights built in code.
package struct DictionaryProvider: WeightProvider {
    package var tensors: [String: (shape: [Int], values: [Float])]

    package init(_ tensors: [String: (shape: [Int], values: [Float])]) {
        self.tensors = tensors
    }

    package func shape(of key: String) -> [Int]? { tensors[key]?.shape }

    package func floats(of key: String) throws -> [Float] {
        guard let entry = tensors[key] else {
            throw WeightError(key: key, modulePath: "", expected: nil, actual: nil, hint: "no such tensor")
        }
        return entry.values
    }
}

/// The layer-building vocabulary every family shares: each reads its parameters under its own
/// path with the shapes PyTorch stores them in.
extension WeightSource {
    /// `nn.Conv2d` weights (`weight` [out, in/groups, k, k], `bias` [out] when `bias`).
    func convolution(in inChannels: Int, out outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                     groups: Int = 1, bias: Bool) throws -> ConvolutionLayer {
        guard groups >= 1, inChannels % groups == 0, outChannels % groups == 0 else {
            throw WeightError(key: key("weight"), modulePath: modulePath, expected: nil, actual: shape(of: "weight"),
                              hint: "\(inChannels) → \(outChannels) channels do not split into \(groups) groups")
        }
        let weight = try tensor("weight", shape: [outChannels, inChannels / groups, kernel, kernel])
        let biasValues: [Float]?
        if bias {
            biasValues = try tensor("bias", shape: [outChannels]).storage
        } else {
            try requireAbsent("bias")
            biasValues = nil
        }
        return try ConvolutionLayer(weight: weight, bias: biasValues,
                                    parameters: Conv2dParameters(stride: Size2(stride), padding: Size2(padding), groups: groups))
    }

    /// `nn.BatchNorm2d` in eval mode (`weight`, `bias`, `running_mean`, `running_var`).
    func batchNorm(channels: Int, eps: Double) throws -> BatchNorm {
        try BatchNorm(gamma: tensor("weight", shape: [channels]).storage,
                      beta: tensor("bias", shape: [channels]).storage,
                      mean: tensor("running_mean", shape: [channels]).storage,
                      variance: tensor("running_var", shape: [channels]).storage,
                      eps: Float(eps))
    }

    /// `nn.Linear` (`weight` [out, in], `bias` [out] when `bias`).
    func linear(in inFeatures: Int, out outFeatures: Int, bias: Bool) throws -> LinearLayer {
        let weight = try tensor("weight", shape: [outFeatures, inFeatures])
        let biasValues: [Float]?
        if bias {
            biasValues = try tensor("bias", shape: [outFeatures]).storage
        } else {
            try requireAbsent("bias")
            biasValues = nil
        }
        return try LinearLayer(weight: weight, bias: biasValues)
    }
}
