import Foundation
import Networks
import TensorEngine
// Exported so every test file in this target sees the shared helpers without its own import.
@_exported import TestSupport
import WeightconvCore

/// Reads a float32 `.npy` fixture into a tensor.
func loadTensor(_ url: URL) throws -> Tensor {
    let (shape, values) = try readNumpyFloats(url)
    return try Tensor(shape: shape, storage: values)
}

/// A test-only safetensors reader (8-byte little-endian header length, JSON header, data): just
/// enough to feed the network fixtures to a ``WeightProvider`` without the checkpoint reader.
struct SafetensorsProvider: WeightProvider {
    let entries: [String: (dtype: DType, shape: [Int], range: Range<Int>)]
    let data: [UInt8]
    let path: String

    init(_ url: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: url))
        path = url.path
        guard bytes.count >= 8 else { throw WeightconvError(file: path, problem: "too short for safetensors") }
        var length = 0
        for i in 0..<8 { length |= Int(bytes[i]) << (8 * i) }
        guard length >= 2, length <= bytes.count - 8 else { throw WeightconvError(file: path, problem: "bad header length") }
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any] ?? [:]
        var entries: [String: (DType, [Int], Range<Int>)] = [:]
        let dataStart = 8 + length
        for (key, value) in header where key != "__metadata__" {
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                  let dtype = DType(safetensorsName: dtypeName), let shape = info["shape"] as? [Int],
                  let offsets = info["data_offsets"] as? [Int], offsets.count == 2, offsets[0] <= offsets[1],
                  dataStart + offsets[1] <= bytes.count,
                  CheckedMath.product(shape).flatMap({ CheckedMath.multiply($0, dtype.byteSize) }) == offsets[1] - offsets[0] else {
                throw WeightconvError(file: path, problem: "bad entry \(key)")
            }
            entries[key] = (dtype, shape, (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        self.entries = entries
        data = bytes
    }

    var shapes: [String: [Int]] { entries.mapValues(\.shape) }

    func shape(of key: String) -> [Int]? { entries[key]?.shape }

    func floats(of key: String) throws -> [Float] {
        guard let entry = entries[key] else { throw WeightconvError(file: path, problem: "no tensor \(key)") }
        return try data[entry.range].withUnsafeBytes { try FloatConversion.floats(from: $0, dtype: entry.dtype, file: path) }
    }
}

/// One network fixture from `tools/make_network_fixtures.py`.
struct NetworkCase {
    let name: String
    let family: NetworkFamily
    let behaviour: [String: BehaviourValue]
    let weights: SafetensorsProvider
    let input: Tensor
    let logits: Tensor

    init(_ name: String) throws {
        self.name = name
        let directory = fixturesRoot.appendingPathComponent("networks").appendingPathComponent(name)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json")))
            as? [String: Any] ?? [:]
        let familyName = config["family"] as? String ?? ""
        guard let family = NetworkFamily(rawValue: familyName) else {
            throw WeightconvError(file: directory.appendingPathComponent("config.json").path,
                                  problem: "unknown family '\(familyName)'", hint: "one of \(NetworkFamily.names)")
        }
        self.family = family
        struct Behaviour: Decodable { let behaviour: [String: BehaviourValue] }
        let behaviour = try JSONDecoder().decode(Behaviour.self, from: Data(contentsOf: directory.appendingPathComponent("config.json"))).behaviour
        self.behaviour = behaviour
        weights = try SafetensorsProvider(directory.appendingPathComponent("weights.safetensors"))
        input = try loadTensor(directory.appendingPathComponent("input.npy"))
        logits = try loadTensor(directory.appendingPathComponent("logits.npy"))
    }

    func configuration(behaviour override: [String: BehaviourValue] = [:]) throws -> NetworkConfiguration {
        try NetworkConfiguration.infer(family: family, shapes: weights.shapes, behaviour: behaviour.merging(override) { $1 })
    }
}

/// Largest difference relative to the logits' scale, and the first index over `tolerance`.
struct LogitDifference: CustomStringConvertible {
    var maxRelative: Float = .infinity
    var worstIndex = -1
    var firstViolation: Int?

    init(_ actual: Tensor, _ expected: Tensor, tolerance: Float) {
        guard actual.shape == expected.shape else { firstViolation = 0; return }
        let scale = max(1, expected.storage.map(abs).max() ?? 1)
        maxRelative = 0
        for i in 0..<expected.count {
            let d = abs(actual.storage[i] - expected.storage[i]) / scale
            if d > maxRelative || d.isNaN { maxRelative = d; worstIndex = i }
            if firstViolation == nil, !(d <= tolerance) { firstViolation = i }
        }
    }

    var passes: Bool { firstViolation == nil }
    var description: String {
        "max |diff|/max(1,|logit|max) = \(maxRelative) at index \(worstIndex); first over tolerance: \(firstViolation.map(String.init) ?? "none")"
    }
}
