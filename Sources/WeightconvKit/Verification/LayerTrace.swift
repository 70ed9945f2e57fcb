import Foundation
import TensorEngine
import TorchCheckpoint
import WeightFormat

/// Every layer's output PyTorch computed on a reference input (`tools/make_reference.py --trace`):
/// `trace.<module>` for each convolution and linear layer and `trace.<conv>@bn` after the batch norm
/// that follows a convolution, named as the converted file's tensors are.
public struct TraceRecord: Sendable {
    public var reference: ReferenceRecord
    /// Module name → (shape, values), as stored.
    public var outputs: [String: (shape: [Int], values: [Float])]

    public init(path: String) throws {
        reference = try ReferenceRecord(path: path)
        let arrays = try NumpyArchive(path: path).floatArrays()
        outputs = [:]
        for (name, array) in arrays where name.hasPrefix("trace.") { outputs[String(name.dropFirst(6))] = array }
        guard !outputs.isEmpty else {
            throw WeightconvError(file: path, problem: "holds no layer outputs ('trace.<module>' arrays)",
                                  hint: "make it with tools/make_reference.py --trace")
        }
    }
}

/// How each traced layer of the Swift network compares with PyTorch's, in execution order.
public struct TraceReport: Sendable {
    public struct Layer: Sendable {
        public var name: String
        public var maxAbsoluteError: Float
        /// `maxAbsoluteError` over the reference output's largest magnitude.
        public var maxScaledError: Float
        /// Set when the shapes differ (a stride in the wrong place shows here first).
        public var shapes: (swift: [Int], torch: [Int])?
        public var passed: Bool
    }

    public var layers: [Layer]
    public var tolerance: Tolerance
    /// Taps of the Swift network the reference does not hold, and the reverse.
    public var unmatched: [String]

    public var firstFailure: Layer? { layers.first { !$0.passed } }
    public var passed: Bool { firstFailure == nil }

    /// One line per finding: the first layer out of tolerance and the next few, or that all passed.
    public var text: String {
        func describe(_ layer: Layer) -> String {
            let shown = layer.name.hasSuffix("@bn") ? "\(layer.name.dropLast(3)) (after its batch norm)" : layer.name
            if let shapes = layer.shapes { return "\(shown): output \(shapes.swift), PyTorch's \(shapes.torch)" }
            return "\(shown): max |Δ| \(layer.maxAbsoluteError), \(layer.maxScaledError) of its max |output|"
        }
        guard let index = layers.firstIndex(where: { !$0.passed }) else {
            return "\(layers.count) layers within |Δ| ≤ \(tolerance.atol) + \(tolerance.rtol)·max|output| each"
                + (unmatched.isEmpty ? "" : " (\(unmatched.count) without a counterpart: \(unmatched.prefix(3).joined(separator: ", ")))")
        }
        var lines = ["first layer leaving |Δ| ≤ \(tolerance.atol) + \(tolerance.rtol)·max|output|: \(describe(layers[index]))"]
        let later = layers[(index + 1)...].filter { !$0.passed }.prefix(3)
        if !later.isEmpty { lines.append("then: " + later.map(describe).joined(separator: "; ")) }
        if index > 0 { lines.append("the \(index) layers before it match") }
        if !unmatched.isEmpty { lines.append("\(unmatched.count) layers without a counterpart: \(unmatched.prefix(3).joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }
}

extension Verifier {
    /// `weightconv verify FILE --trace REF.npz`: runs the file's network with the naive operators,
    /// tapping every layer before fusion, and compares each with PyTorch's output of the same module.
    public static func trace(path: String, reference tracePath: String, atol: Float? = nil, rtol: Float? = nil) throws -> TraceReport {
        let file = try WeightFile(path: path)
        if let problem = file.verifyChecksums() {
            throw WeightconvError(file: path, problem: "\(problem)", hint: "the file is damaged; convert the checkpoint again")
        }
        let record = try TraceRecord(path: tracePath)
        let network = try PretrainedNetwork(file: file, mode: .naive)
        var tolerance = Tolerance.float32
        if let atol { tolerance.atol = atol }
        if let rtol { tolerance.rtol = rtol }
        return try trace(network.network.graph, against: record, tolerance: tolerance)
    }

    /// Runs `graph` on the record's input with the naive operators and compares every tap with the
    /// record's output of the same name: `|Δ| ≤ atol + rtol·max|ref|` over the layer's output.
    package static func trace(_ graph: Graph, against record: TraceRecord, tolerance: Tolerance = .float32) throws -> TraceReport {
        var layers: [TraceReport.Layer] = []
        var unmatched: [String] = []
        _ = try NaiveExecutor.run(graph, input: record.reference.input) { tapName, output in
            // A step named after its container (MobileNetV2's Conv2dNormActivation `features.0`) holds
            // its convolution as child 0, the module PyTorch's hook names (`features.0.0`).
            let (base, suffix) = tapName.hasSuffix("@bn") ? (String(tapName.dropLast(3)), "@bn") : (tapName, "")
            guard let name = [tapName, base + ".0" + suffix].first(where: { record.outputs[$0] != nil }),
                  let expected = record.outputs[name] else { unmatched.append(tapName); return }
            guard expected.shape == output.shape else {
                layers.append(.init(name: name, maxAbsoluteError: .infinity, maxScaledError: .infinity,
                                    shapes: (output.shape, expected.shape), passed: false))
                return
            }
            let scale = expected.values.reduce(Float(0)) { max($0, abs($1)) }
            let bound = tolerance.bound(reference: scale, scale: scale)
            var worst: Float = 0
            for (a, b) in zip(output.storage, expected.values) {
                let difference = abs(a - b)
                worst = difference.isNaN ? .infinity : max(worst, difference)
            }
            layers.append(.init(name: name, maxAbsoluteError: worst, maxScaledError: scale > 0 ? worst / scale : worst,
                                shapes: nil, passed: worst <= bound))
        }
        let tapped = Set(layers.map(\.name) + unmatched)
        unmatched += record.outputs.keys.filter { !tapped.contains($0) }.sorted()
        guard !layers.isEmpty else {
            throw WeightconvError(file: "trace", problem: "no layer of the network has a reference output (first unmatched: \(unmatched.prefix(3)))",
                                  hint: "make the trace from the same checkpoint with tools/make_reference.py --trace")
        }
        return TraceReport(layers: layers, tolerance: tolerance, unmatched: unmatched)
    }
}
