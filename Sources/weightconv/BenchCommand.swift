import ArgumentParser
import Foundation
import WeightconvKit

/// `weightconv bench`: time one forward pass of a converted network.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a forward pass of a .wcv network on random input of its native size.")

    @Argument(help: "A .wcv file with an architecture.")
    var file: String

    @Option(help: "Images per forward pass.")
    var batch = 1

    @Option(help: "Timed forward passes (after warm-up).")
    var iterations = 20

    @Option(help: "Untimed forward passes first.")
    var warmup = 3

    @Option(help: "Input height and width (default: the size the weights were trained at).")
    var size: Int?

    @OptionGroup var execution: ExecutionOptions

    @Flag(help: "Time every step of the fast path and print them, slowest first, with each operator kind's share.")
    var profile = false

    @Flag(help: "Print {\"median_ms\", \"p90_ms\", \"batch\", \"threads\", …} as JSON.")
    var json = false

    func validate() throws {
        guard batch >= 1, iterations >= 1, warmup >= 0 else {
            throw ValidationError("--batch and --iterations must be at least 1, --warmup at least 0")
        }
        guard !(profile && execution.naive) else {
            throw ValidationError("--profile times the fast path's steps; leave out --naive-operators")
        }
    }

    func run() throws {
        try reportingErrors {
            try execution.precision.requireAvailable()
            if profile {
                let steps = try NetworkBenchmark.profile(path: file, batch: batch, iterations: iterations, size: size,
                                                         mode: execution.mode)
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(steps), as: UTF8.self))
                } else {
                    print(StepTimingReport(steps).text)
                }
                return
            }
            let result = try NetworkBenchmark.run(path: file, batch: batch, iterations: iterations, warmup: warmup, size: size,
                                                  mode: execution.mode)
            if json {
                print(result.jsonText)
            } else {
                print(String(format: "%@: median %.2f ms, p90 %.2f ms, min %.2f ms, max %.2f ms (batch %d, %d threads, %d iterations)",
                             file, result.medianMs, result.p90Ms, result.minMs, result.maxMs, batch, result.threads, iterations))
                if let fileWeights = result.fileWeightBytes, let weights = result.weightBytes, let activations = result.activationBytes {
                    print(String(format: "memory: weights %.1f MB in the file, %.1f MB held (folded); activations and scratch %.1f MB",
                                 Double(fileWeights) / 1e6, Double(weights) / 1e6, Double(activations) / 1e6))
                }
                if let open = result.openMs, let first = result.firstPassMs {
                    print(String(format: "first answer: open %.1f ms + first pass %.1f ms", open, first))
                }
            }
        }
    }
}
