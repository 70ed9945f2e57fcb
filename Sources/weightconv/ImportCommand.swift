import ArgumentParser
import Foundation
import WeightconvCore
import WeightconvKit

/// `weightconv import`: a checkpoint in, a native weight file out.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a PyTorch checkpoint (or safetensors file) into a native .wcv weight file.",
        discussion: """
            With --arch, the tensor names are mapped onto the Swift network (recognised from the names, or \
            forced with --layout), every shape is checked by building the network, and with --reference the \
            Swift logits must match PyTorch's before anything is written. Without --arch, every tensor is \
            stored under its own name (a generic conversion for any network).
            """)

    @Argument(help: "The checkpoint: .pth/.pt/.bin (zip or legacy torch.save) or .safetensors.")
    var input: String

    @Option(name: .shortAndLong, help: "The weight file to write (.wcv; without --arch also .safetensors).")
    var output: String

    @Option(name: .customLong("arch"), help: "The network family, or auto to recognise it from the tensor names.")
    var architecture: ArchitectureChoice?

    @Option(help: "Force a name layout (see `weightconv layouts`).")
    var layout: String?

    @Option(name: .customLong("layout-file"),
            help: ArgumentHelp("Use the layout in this file (docs/layout-format.md) instead of recognising one.", valueName: "FILE"))
    var layoutFile: String?

    @Option(help: ArgumentHelp("When the file holds several state_dicts (timm's state_dict and state_dict_ema), take the one under KEY.",
                               valueName: "KEY"))
    var select: String?

    @Option(name: .customLong("save-layout"),
            help: ArgumentHelp("Write the layout the import used (inferred or not) to FILE, in the layout format.", valueName: "FILE"))
    var saveLayout: String?

    @Option(help: ArgumentHelp("Class names for the outputs: one per line, or a JSON list (default: the ImageNet-1k names for 1000 classes).",
                               valueName: "FILE"))
    var labels: String?

    @Option(help: ArgumentHelp("How the weights' inputs were prepared, when not as their layout's (a JSON object as a layout file's \"preprocessing\", docs/layout-format.md).",
                               valueName: "FILE"))
    var preprocessing: String?

    @Flag(name: .shortAndLong, help: "Also print the configuration as JSON (what the .wcv header stores).")
    var verbose = false

    @Option(help: "An .npz with 'input' and 'logits' from PyTorch (tools/make_reference.py) to verify against and store.")
    var reference: String?

    @Option(help: "Store floating-point tensors as this type (default: as in the source).")
    var dtype: DType?

    @Option(help: ArgumentHelp("Shorthand for --atol T --rtol T (e.g. 1e-2 for f16 weights checked against a float32 reference).",
                               valueName: "T"))
    var tolerance: Float?

    @Option(help: ArgumentHelp("Accept |swift - torch| <= A + R·max|torch| per sample; A defaults to 1e-4.", valueName: "A"))
    var atol: Float?

    @Option(help: ArgumentHelp("The R of --atol; defaults to 1e-4.", valueName: "R"))
    var rtol: Float?

    /// How the network runs when it is checked against --reference.
    @OptionGroup var execution: ExecutionOptions

    func run() throws {
        Interruption.install()
        try reportingErrors {
            // Import checks the network against --reference (and decides an inferred layout's behaviour
            // by it) under the verification rule's float32 tolerance, which bf16 is not meant to meet;
            // the file holds float32 weights either way. bf16 is for running the imported file.
            guard execution.precision == .float32 else {
                throw WeightconvError(file: "--precision \(execution.precision.rawValue)",
                                      problem: "import checks the network at float32, as the verification rule asks",
                                      hint: "import without it, then `weightconv verify \(output) --precision bf16` or `bench` it")
            }
            guard let architecture else {
                let report = try GenericConversion.convert(openTensorStore(path: input, streaming: true), sourcePath: input, to: output,
                                                           dtype: dtype, temporaryFiles: Interruption.registry)
                let converted = report.convertedCount > 0 ? ", \(report.convertedCount) stored as \(dtype?.rawValue ?? "")" : ""
                print("wrote \(output): \(report.tensorCount) tensors under their own names\(converted), \(report.fileSize) bytes")
                return
            }
            let tolerance = Tolerance(atol: atol ?? self.tolerance ?? Tolerance.float32.atol,
                                      rtol: rtol ?? self.tolerance ?? Tolerance.float32.rtol)
            var request = ImportRequest(input: input, output: output, family: architecture.family, layout: layout,
                                        reference: reference, dtype: dtype, tolerance: tolerance,
                                        mode: execution.mode, layoutFile: layoutFile,
                                        layoutSearchPath: LayoutSearchPath.fromEnvironment, select: select,
                                        saveLayout: saveLayout)
            request.labels = try labels.map(ClassLabels.read(contentsOf:))
            request.preprocessing = try preprocessing.map(WeightFileDocument.Preprocessing.read(contentsOf:))
            let report = try Importer.run(request, temporaryFiles: Interruption.registry)
            if let inferred = report.inferred {
                print("inferred a \(report.profile.family.rawValue) layout (no known layout matched): \(inferred.tensorCount) tensors "
                      + "aligned by shape and role" + (report.prefix.isEmpty ? "" : ", inside '\(report.prefix)'"))
                let behaviour = report.profile.behaviour.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.jsonText)" }
                print("  behaviour decided by the reference: " + behaviour.joined(separator: ", ")
                      + " (\(inferred.trials.count) variant(s) tried" + (inferred.alsoPassing.isEmpty ? ")"
                          : "; also within tolerance: " + inferred.alsoPassing.joined(separator: " | ") + ")"))
            } else {
                print("recognised \(report.profile.qualifiedName) (\(report.profile.implementation))"
                      + (report.prefix.isEmpty ? "" : ", inside '\(report.prefix)'"))
            }
            if let choice = report.choice {
                print("took '\(report.prefix.isEmpty ? "the top level" : String(report.prefix.dropLast()))': \(choice)"
                      + (report.alternatives.isEmpty ? ""
                         : " (also in the file: " + report.alternatives.map { $0.isEmpty ? "the top level" : String($0.dropLast()) }
                            .joined(separator: ", ") + ")"))
            }
            print("network: \(report.configuration.headline)")
            if verbose { print("configuration: \(report.configuration.summary)") }
            for transform in report.transforms { print("  \(transform)") }
            if !report.outside.isEmpty {
                print("ignored \(report.outside.count) entries outside the model: "
                      + report.outside.prefix(5).joined(separator: ", ") + (report.outside.count > 5 ? ", …" : ""))
            }
            if let comparison = report.comparison { print("verified against \(reference ?? ""): \(comparison.summary)") }
            print("wrote \(output): \(report.tensorCount) tensors, \(report.fileSize) bytes")
            if let saveLayout { print("wrote the layout to \(saveLayout)") }
        }
    }
}

/// `WEIGHTCONV_LAYOUT_PATH`: directories of the user's layout files, colon-separated.
enum LayoutSearchPath {
    static var fromEnvironment: String? { ProcessInfo.processInfo.environment["WEIGHTCONV_LAYOUT_PATH"] }
}
