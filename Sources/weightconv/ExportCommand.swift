import ArgumentParser
import Foundation
import WeightFormat
import WeightconvKit

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the tensors of a .wcv (or safetensors) file to another format.")

    @Argument(help: "The source file.")
    var file: String

    @Option(name: .shortAndLong, help: "The output file (default: the source with the new extension).")
    var output: String?

    @Option(help: "The output format. Only 'safetensors' exists.")
    var to = "safetensors"

    func run() throws {
        guard to == "safetensors" else {
            throw ValidationError("unknown format '\(to)'; the only export format is safetensors")
        }
        let destination = output ?? ((file.hasSuffix(".wcv") ? String(file.dropLast(4)) : file) + ".safetensors")
        Interruption.install()
        try reportingErrors {
            let source = try openTensorStore(path: file)
            guard destination.hasSuffix(".safetensors") else {
                throw ValidationError("the output of --to safetensors must end in .safetensors")
            }
            let report = try GenericConversion.convert(source, sourcePath: file, to: destination,
                                                       temporaryFiles: Interruption.registry)
            print("\(report.output): \(report.tensorCount) tensors, \(report.fileSize) bytes")
        }
    }
}
