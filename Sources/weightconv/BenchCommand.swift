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

    @Option(help: "Threads.")
    var threads = 2

    @Option(help: "Timed forward passes (after warm-up).")
    var iterations = 20

    @Option(help: "Untimed forward passes first.")
    var warmup = 3

    @Option(help: "Input height and width (default: the size the weights were trained at).")
    var size: Int?

    @Flag(name: .customLong("naive-operators"), help: "Use the naive operators (plain loops, obviously correct) instead of the fast path.")
    var naiveFlag = false

    /// The older spelling of --naive-operators, kept so scripts keep working.
    @Flag(name: .customLong("reference-operators"), help: .hidden)
    var referenceOperators = false

    var naiveOperators: Bool { naiveFlag || referenceOperators }

    @OptionGroup var kernelOptions: KernelOptions

    @Flag(help: "Time every step of the fast path and print them, slowest first, with each operator kind's share.")
    var profile = false

    @Flag(help: "Print {\"median_ms\", \"p90_ms\", \"batch\", \"threads\", …} as JSON.")
    var json = false

    func validate() throws {
        guard batch >= 1, threads >= 1, iterations >= 1, warmup >= 0 else {
            throw ValidationError("--batch, --threads and --iterations must be at least 1, --warmup at least 0")
        }
        guard !(profile && naiveOperators) else {
            throw ValidationError("--profile times the fast path's steps; leave out --naive-operators")
        }
    }

    func run() throws {
        try reportingErrors {
            if profile {
                let steps = try NetworkBenchmark.profile(path: file, batch: batch, threads: threads, iterations: iterations,
                                                         size: size, kernels: kernelOptions.chosen)
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(steps), as: UTF8.self))
                } else {
                    print(StepTimingReport(steps).text)
                }
                return
            }
            let result = try NetworkBenchmark.run(path: file, batch: batch, threads: threads, iterations: iterations,
                                                  warmup: warmup, size: size, naiveOperators: naiveOperators,
                                                  kernels: kernelOptions.chosen)
            if json {
                print(result.jsonText)
            } else {
                print(String(format: "%@: median %.2f ms, p90 %.2f ms, min %.2f ms, max %.2f ms (batch %d, %d threads, %d iterations)",
                             file, result.medianMs, result.p90Ms, result.minMs, result.maxMs, batch, threads, iterations))
            }
        }
    }
}
