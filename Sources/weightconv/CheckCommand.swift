import ArgumentParser
import Foundation
import WeightconvKit

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a .wcv file: header, every tensor checksum, padding.",
        discussion: "Exit status 0 when intact, 1 when damaged, with one line naming the damaged tensor or header and its offset.")

    @Argument(help: "The .wcv file.")
    var file: String

    @Flag(help: "Validate the header only (what every open does); skip the tensor checksums.")
    var headerOnly = false

    func run() throws {
        let report = checkWeightFile(path: file, headerOnly: headerOnly)
        if report.intact {
            print(report.line)
        } else {
            FileHandle.standardError.write(Data((report.line + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
