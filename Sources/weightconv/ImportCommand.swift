import ArgumentParser
import Foundation
import WeightFormat
import WeightconvCore
import WeightconvKit

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a checkpoint into a .wcv file.",
        discussion: "Without an architecture, every tensor is stored under its own name (a generic conversion). An output ending in .safetensors is written as safetensors.")

    @Argument(help: "The source file.")
    var file: String

    @Option(name: .shortAndLong, help: "The output file (.wcv or .safetensors).")
    var output: String

    @Option(help: "Store floating-point tensors as f32, f16 or bf16 (default: as the source has them).")
    var dtype: String?

    func run() throws {
        var storedDType: DType?
        if let dtype {
            guard let parsed = DType(rawValue: dtype), [.f32, .f16, .bf16].contains(parsed) else {
                throw ValidationError("--dtype must be f32, f16 or bf16, not '\(dtype)'")
            }
            storedDType = parsed
        }
        let registry = TemporaryFileRegistry()
        InterruptCleanup.install(registry)
        do {
            let source = try openNativeOrSafetensors(path: file)
            let report = try GenericConversion.convert(source, sourcePath: file, to: output, dtype: storedDType, temporaryFiles: registry)
            let converted = report.convertedCount > 0 ? ", \(report.convertedCount) converted to \(dtype ?? "")" : ""
            print("\(report.output): \(report.tensorCount) tensors\(converted), \(report.fileSize) bytes")
        } catch {
            printFailure(error)
            throw ExitCode(1)
        }
    }
}
