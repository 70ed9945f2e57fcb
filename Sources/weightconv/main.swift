import ArgumentParser
import WeightconvKit

struct Weightconv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weightconv",
        abstract: "Convert PyTorch checkpoints of efficient CNNs into verified native Swift weights.",
        version: ConverterIdentity.version,
        subcommands: [ImportCommand.self, VerifyCommand.self, InspectCommand.self, CheckCommand.self,
                      ExportCommand.self, BenchCommand.self, LayoutsCommand.self, ExpectCommand.self,
                      PreprocessCommand.self, ClassifyCommand.self, EvaluateCommand.self])
}
Weightconv.main()
