import Foundation
import Networks
import TensorEngine
import WeightconvCore
import WeightFormat

/// `weightconv bench`'s work: load a weight file once, then time forward passes on a fixed random input.
public enum NetworkBenchmark {
    public static func run(path: String, batch: Int, threads: Int, iterations: Int, warmup: Int, size: Int?,
                           referenceOperators: Bool, kernels: KernelSet = .best) throws -> BenchmarkResult {
        let file = try WeightFile(path: path)
        let loaded = try PretrainedNetwork(file: file, mode: referenceOperators ? .reference : .fast(threads: threads, kernels: kernels))
        let side = size ?? loaded.preprocessing?.inputSize.last ?? loaded.configuration.defaultInputSize
        // A fixed generator, so runs time the same input.
        var generator = SplitMix64(seed: 0x5EED)
        let count = batch * 3 * side * side
        let input = try Tensor(shape: [batch, 3, side, side],
                               storage: (0..<count).map { _ in Float(generator.nextUnit()) * 2 - 1 })
        return try BenchmarkResult.measure(batch: batch, threads: threads, iterations: iterations, warmup: warmup) {
            _ = try loaded(input)
        }
    }
}

/// A tiny deterministic generator (SplitMix64) for benchmark inputs.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension BenchmarkResult {
    /// `{"median_ms": …, "p90_ms": …, "min_ms": …, "max_ms": …, "batch": …, "threads": …, "iterations": …}`.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}
