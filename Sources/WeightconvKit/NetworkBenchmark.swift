import Foundation
import Networks
import TensorEngine
import WeightconvCore
import WeightFormat

/// `weightconv bench`'s work: load a weight file once, then time forward passes on a fixed random input.
package enum NetworkBenchmark {
    package static func run(path: String, batch: Int, iterations: Int, warmup: Int, size: Int?,
                           mode: ExecutionMode) throws -> BenchmarkResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let file = try WeightFile(path: path)
        let loaded = try PretrainedNetwork(file: file, mode: mode)
        let opened = millisecondsSince(start)
        let input = try input(batch: batch, side: size ?? nativeSide(of: loaded))
        var result = try BenchmarkResult.measure(batch: batch, threads: mode.threads, iterations: iterations, warmup: warmup) {
            _ = try loaded(input)
        }
        result.openMs = opened
        if let executor = loaded.network.executor {
            result.fileWeightBytes = file.tensors.reduce(0) { $0 + ($1.byteCount ?? 0) }
            result.weightBytes = executor.weightBytes
            result.activationBytes = executor.plannedBytes(for: input.shape)
        }
        return result
    }
}

extension NetworkBenchmark {
    /// Per-step medians of the fast path on the same input `run` times; `mode` must be the fast path.
    package static func profile(path: String, batch: Int, iterations: Int, size: Int?,
                               mode: ExecutionMode = .fast(threads: 2)) throws -> [StepTiming] {
        let file = try WeightFile(path: path)
        let loaded = try PretrainedNetwork(file: file, mode: mode)
        guard let executor = loaded.network.executor else {
            throw WeightconvError(file: path, problem: "the naive operators have no steps to profile",
                                  hint: "profile the fast path")
        }
        return try executor.profile(input(batch: batch, side: size ?? nativeSide(of: loaded)), iterations: iterations)
    }

    /// The input size the weights were trained at, as the file records it, else the family's default.
    static func nativeSide(of network: PretrainedNetwork) -> Int {
        network.preprocessing?.inputSize.last ?? network.configuration.defaultInputSize
    }

    /// The benchmark input: uniform in [-1, 1) from a fixed seed, so runs time the same numbers.
    static func input(batch: Int, side: Int) throws -> Tensor {
        var generator = SplitMix64(seed: 0x5EED)
        let count = batch * 3 * side * side
        return try Tensor(shape: [batch, 3, side, side], storage: (0..<count).map { _ in Float(generator.nextUnit()) * 2 - 1 })
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
    package var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}

/// `bench --profile`'s table: the total, each operator kind's share, then the slowest steps.
package struct StepTimingReport {
    package let steps: [StepTiming]
    /// Steps listed individually, slowest first.
    package var listed = 25

    package init(_ steps: [StepTiming]) { self.steps = steps }

    package var text: String {
        let total = steps.reduce(0) { $0 + $1.milliseconds }
        var lines = [String(format: "%d steps, %.2f ms in all (sum of per-step medians)", steps.count, total)]
        var byKind: [String: (ms: Double, count: Int)] = [:]
        for step in steps { byKind[step.kind, default: (0, 0)].ms += step.milliseconds; byKind[step.kind]!.count += 1 }
        lines.append("")
        // String(format:) does not pad %@ on Linux.
        func padded(_ text: String) -> String { text + String(repeating: " ", count: max(0, 26 - text.count)) }
        lines.append(padded("operator") + "  steps        ms   share")
        for (kind, value) in byKind.sorted(by: { $0.value.ms > $1.value.ms }) {
            lines.append(padded(kind) + String(format: " %6d %9.3f %6.1f%%", value.count, value.ms, 100 * value.ms / max(total, 1e-9)))
        }
        lines.append("")
        lines.append("slowest steps:")
        let order = steps.indices.sorted { steps[$0].milliseconds > steps[$1].milliseconds }
        for index in order.prefix(listed) {
            let step = steps[index]
            lines.append(String(format: "%4d  %8.3f ms  %@  %@", index, step.milliseconds, step.kind, step.detail))
        }
        return lines.joined(separator: "\n")
    }
}
