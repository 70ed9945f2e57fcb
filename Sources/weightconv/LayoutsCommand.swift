import ArgumentParser
import Foundation
import WeightconvCore
import WeightconvKit

/// `weightconv layouts`: the name layouts import recognises, and the networks it refuses; a built-in
/// layout file to start from; a check of a layout file.
struct LayoutsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layouts",
        abstract: "List the checkpoint name layouts weightconv recognises, export one as a file, or check a layout file.",
        discussion: """
            Layouts are JSON files (docs/layout-format.md). The built-in ones are listed with the user's \
            from the directories in WEIGHTCONV_LAYOUT_PATH (colon-separated), which are tried first.
            """)

    @Option(name: .customLong("arch"), help: "Only this family's layouts.")
    var architecture: NetworkFamily?

    @Flag(name: .shortAndLong, help: "Show each layout's fingerprint, rename rules, repairs and behaviour.")
    var verbose = false

    @Option(help: ArgumentHelp("Print the built-in layout file NAME (family/name, e.g. mobilenet_v2/timm) as a starting point.",
                               valueName: "NAME"))
    var export: String?

    @Option(help: ArgumentHelp("Check a layout file: exit 0 if it loads, else one line naming the line and the member at fault.",
                               valueName: "FILE"))
    var check: String?

    func run() throws {
        try reportingErrors {
            if let export {
                do {
                    print(try LayoutCatalog.builtinText(named: export), terminator: "")
                } catch {
                    throw WeightconvError(file: export, reporting: error,
                                          hint: "`weightconv layouts` lists the built-in layouts by family/name")
                }
                return
            }
            if let check {
                let definition: LayoutDefinition
                do throws(LayoutFileProblem) {
                    definition = try LayoutFile.load(path: check)
                } catch {
                    throw error.error
                }
                switch definition {
                case .layout(let profile):
                    print("\(check): a valid \(profile.qualifiedName) layout: \(profile.fingerprint.required.count) required pattern(s), "
                          + "\(profile.renames.count) rename rule(s), \(profile.tables.count) table(s), \(profile.repairs.count) repair(s), "
                          + "\(profile.behaviour.count) behaviour(s)")
                case .refusal(let network):
                    print("\(check): a valid refusal of \(network.name)")
                }
                return
            }
            let family = architecture
            let catalog: LayoutCatalog
            do throws(LayoutFileProblem) {
                catalog = try LayoutCatalog.with(searchPath: LayoutSearchPath.fromEnvironment)
            } catch {
                throw error.error
            }
            for profile in catalog.profiles where family == nil || profile.family == family {
                print(verbose ? profile.listing + "\n" : "\(profile.qualifiedName)\t\(profile.implementation)"
                      + (profile.origin == "built-in" ? "" : "\t(\(profile.origin))"))
            }
            if family == nil || verbose {
                print(verbose ? "Refused by name:" : "refused:")
                for foreign in catalog.refusals { print("  \(foreign.name): \(foreign.reason)") }
            }
        }
    }
}
