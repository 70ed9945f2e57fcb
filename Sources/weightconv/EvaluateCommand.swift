import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightconvKit

/// `weightconv evaluate`: accuracy over an ImageFolder, whole or as shards that merge.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Top-1 and top-5 accuracy of a .wcv network over a folder laid out as DIR/<class>/<image>.",
        discussion: """
            Classes are the sorted sub-folder names, as torchvision's ImageFolder numbers them. \
            --shard K/N evaluates images K, K+N, K+2N, … and writes a partial result (-o FILE, or stdout); \
            `evaluate --merge PART…` combines the parts of all N shards into the whole result.
            """)

    @Argument(help: "MODEL.wcv DIR, or with --merge the partial result files.")
    var arguments: [String]

    @Option(help: "Images per forward pass.")
    var batch = 32

    @Option(help: "Threads for the network.")
    var threads = 2

    @Option(help: ArgumentHelp("The arithmetic of the GEMM convolutions (1×1 and unfolded): fp32, or bf16 to measure the accuracy bfloat16 costs (see bench --help).",
                               valueName: "precision"))
    var precision: Precision = .float32

    @Option(help: ArgumentHelp("Evaluate shard K of N (0 <= K < N).", valueName: "K/N"))
    var shard: String?

    @Option(name: .shortAndLong, help: "Write the result as JSON to this file (a shard's partial result).")
    var output: String?

    @Flag(help: "Combine partial results (the files given) into one.")
    var merge = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard batch >= 1, threads >= 1 else { throw ValidationError("--batch and --threads must be at least 1") }
        if merge {
            guard !arguments.isEmpty else { throw ValidationError("--merge needs the partial result files") }
            guard shard == nil else { throw ValidationError("--merge and --shard do not go together") }
        } else {
            guard arguments.count == 2 else { throw ValidationError("give MODEL.wcv and DIR") }
        }
        if let shard { _ = try parseShard(shard) }
    }

    func parseShard(_ text: String) throws -> (Int, Int) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 0, k < n else {
            throw ValidationError("--shard must be K/N with 0 <= K < N, e.g. 0/4")
        }
        return (k, n)
    }

    func run() throws {
        try reportingErrors {
            try precision.requireAvailable()
            let result: EvaluationResult
            if merge {
                result = try EvaluationResult.merge(try arguments.map { ($0, try EvaluationResult.read(contentsOf: $0)) })
            } else {
                let (k, n) = try shard.map(parseShard) ?? (0, 1)
                let folder = try ImageFolder(root: arguments[1])
                let terminal = isatty(2) == 1
                result = try Evaluation.run(model: arguments[0], folder: folder, batch: batch, threads: threads, shard: k, shards: n,
                                            precision: precision,
                                            progress: terminal ? { done, count in
                                                let width = 30, filled = count > 0 ? done * width / count : width
                                                let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
                                                FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(count)".utf8))
                                                if done == count { FileHandle.standardError.write(Data("\n".utf8)) }
                                            } : nil)
            }
            if let output {
                try writeFileAtomically(Array((result.jsonText + "\n").utf8), to: output, protecting: arguments)
            }
            if json || (shard != nil && output == nil) {
                print(result.jsonText)
            } else {
                print(result.summary)
            }
        }
    }
}
