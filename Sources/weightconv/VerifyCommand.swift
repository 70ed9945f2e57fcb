import ArgumentParser
import WeightconvKit

/// `weightconv verify`: run the Swift network on a reference input and compare with PyTorch's logits.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a .wcv file's integrity and reproduce the PyTorch logits it stores (or another reference).",
        discussion: """
            Passes when every logit satisfies |swift - ref| <= atol + rtol·max|ref| over its sample (files \
            imported before this rule had a name keep the element-wise rule they were written with), and the \
            top-1 class and top-5 set agree wherever the reference separates them by more than that. \
            Exit status 0 verified, 1 mismatch, 2 unusable input (damaged file, unreadable reference).
            """)

    @Argument(help: "A .wcv file (imported with --reference, unless --reference is given here).")
    var file: String

    @Option(help: "An .npz with 'input' and 'logits' (tools/make_reference.py) to verify against instead of the stored reference.")
    var reference: String?

    @Option(help: ArgumentHelp("Absolute part of the bound (default: the file's record, else 1e-4).", valueName: "A"))
    var atol: Float?

    @Option(help: ArgumentHelp("Part of the bound relative to each sample's max |logit| (default: the file's record, else 1e-4).",
                               valueName: "R"))
    var rtol: Float?

    @Option(help: ArgumentHelp("An .npz from tools/make_reference.py --trace: compare every layer and name the first that differs.",
                               valueName: "REF.npz"))
    var trace: String?

    @Flag(help: "Print the per-sample metrics, the rule and the verdict as JSON.")
    var json = false

    @OptionGroup var execution: ExecutionOptions

    func run() throws {
        if let trace {
            let report: TraceReport
            do {
                report = try Verifier.trace(path: file, reference: trace, atol: atol, rtol: rtol)
            } catch {
                printErrorLine(error)
                throw ExitCode(2)
            }
            print(report.text)
            guard report.passed else {
                printErrorLine(WeightconvError(file: file, problem: "its layers leave the tolerance against \(trace)",
                                               hint: "the first layer named above is where the conversion differs"))
                throw ExitCode(1)
            }
            print("verified")
            return
        }
        let report: VerificationReport
        do {
            try execution.precision.requireAvailable()
            report = try Verifier.run(VerificationRequest(
                path: file, reference: reference, atol: atol, rtol: rtol, mode: execution.mode))
        } catch {
            printErrorLine(error)
            throw ExitCode(2)
        }
        if json {
            print(report.jsonText)
        } else {
            print("\(file): \(report.family), \(report.comparison.summary)")
        }
        guard report.passed else {
            let against = reference.map { "the logits in \($0)" } ?? "the stored PyTorch logits"
            // bfloat16 rounds the GEMM layers' weights and inputs to 8 significant bits: it is not meant
            // to meet the float32 tolerance, and the comparison printed is what it gives up.
            let bfloat16 = "with --precision bf16 the GEMM convolutions round to bfloat16 and are not expected to meet the float32 tolerance; the comparison above is its accuracy"
            printErrorLine(WeightconvError(file: file, problem: "the Swift logits differ from \(against)",
                                           hint: execution.mode.precision == .bfloat16 ? bfloat16
                                               : report.likelyCause ?? "see the comparison above; re-import to find the layer that differs"))
            throw ExitCode(1)
        }
        if !json { print("verified") }
    }
}
