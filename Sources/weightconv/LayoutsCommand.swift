import ArgumentParser
import WeightconvKit

/// `weightconv layouts`: the name layouts import recognises, and the networks it refuses.
struct LayoutsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layouts",
        abstract: "List the checkpoint name layouts weightconv recognises.")

    @Option(name: .customLong("arch"), help: "Only this architecture (xception, mobilenet_v2, shufflenet_v1, resnext).")
    var architecture: String?

    @Flag(name: .shortAndLong, help: "Show each layout's fingerprint, rename rules, repairs and behaviour.")
    var verbose = false

    func run() throws {
        let family = try architecture.map { try CommandParsing.knownFamily($0) }
        for profile in LayoutProfile.all where family == nil || profile.family == family {
            print(verbose ? profile.listing + "\n" : "\(profile.family.rawValue)/\(profile.name)\t\(profile.implementation)")
        }
        if family == nil || verbose {
            print(verbose ? "Refused by name:" : "refused:")
            for foreign in ForeignNetwork.all { print("  \(foreign.name): \(foreign.reason)") }
        }
    }
}
