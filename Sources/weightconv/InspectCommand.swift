import ArgumentParser
import WeightconvKit

/// `weightconv inspect FILE`: what a file is and what tensors it holds, without executing anything.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the tensors (name, dtype, shape, size, SHA-256) and metadata of a checkpoint.")

    @Argument(help: "A PyTorch checkpoint (zip or legacy format), a pickle or an .npz archive.")
    var file: String

    @Flag(help: "Print JSON: {\"file\", \"kind\", \"tensors\": [{\"name\", \"dtype\", \"shape\", \"sha256\"}], \"metadata\"}.")
    var json = false

    @Option(help: "List (and hash) only the first N tensors; totals still cover all of them.")
    var limit: Int?

    func run() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
        do {
            let inspection = try Inspection.inspect(path: file, limit: limit)
            print(json ? inspection.jsonText : inspection.table)
        } catch {
            printErrorLine(error)
            throw ExitCode.failure
        }
    }
}
