import ArgumentParser
import WeightconvKit

/// `weightconv verify`: run the Swift network on the file's reference input and compare with PyTorch's logits.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a .wcv file's integrity and reproduce the PyTorch logits it stores.")

    @Argument(help: "A .wcv file imported with --reference.")
    var file: String

    @Option(help: "Threads for the forward pass.")
    var threads = 2

    @Flag(help: "Use the reference operators instead of the fast path.")
    var referenceOperators = false

    @Flag(help: "Only the portable Swift kernels, not the AVX-512 ones.")
    var portableKernels = false

    func run() throws {
        try reportingErrors {
            let report = try Verifier.run(path: file, threads: threads, mode: referenceOperators ? .reference : .fast(threads: threads, kernels: portableKernels ? .portable : .best))
            print("\(file): \(report.family), \(report.comparison.summary)")
            guard report.passed else {
                throw WeightconvError(file: file, problem: "the Swift logits differ from the stored PyTorch logits",
                                      hint: "see the comparison above; re-import to find the layer that differs")
            }
            print("verified")
        }
    }
}
