import Foundation
import WeightconvCore

/// Networks that look like one of the four families but are not: recognised and refused by name
/// rather than mis-mapped (layout files with a `refusal`).
package struct ForeignNetwork: Sendable {
    package var name: String
    package var fingerprint: Fingerprint
    package var reason: String
}

/// The layouts an import chooses from: the user's (a search path, files named on the command line)
/// before the built-in ones, all read by `LayoutFile`.
///
/// The built-in layouts are the JSON files in `layouts/`, embedded in the binary at build time by
/// the EmbedLayouts plugin (`LayoutCatalog.builtinFiles`): a copied `weightconv` binary carries them,
/// where SwiftPM resources would need the bundle directory beside it.
package struct LayoutCatalog: Sendable {
    /// Tried in order: recognition takes the first whose fingerprint matches.
    package var profiles: [LayoutProfile]
    package var refusals: [ForeignNetwork]

    package init(profiles: [LayoutProfile], refusals: [ForeignNetwork]) {
        self.profiles = profiles
        self.refusals = refusals
    }

    /// The built-in layouts, parsed once. A built-in file that does not parse is a build defect (the
    /// tests load every one); it surfaces as the error of `builtIn()`, not as a crash.
    static let builtInResult: Result<LayoutCatalog, LayoutFileProblem> = {
        var profiles: [LayoutProfile] = []
        var refusals: [ForeignNetwork] = []
        for file in builtinFiles {
            do throws(LayoutFileProblem) {
                switch try LayoutFile.parse(Array(file.text.utf8), origin: "built-in \(file.name)") {
                case .layout(var profile):
                    profile.origin = "built-in"
                    profiles.append(profile)
                case .refusal(let network): refusals.append(network)
                }
            } catch {
                return .failure(error)
            }
        }
        return .success(LayoutCatalog(profiles: profiles, refusals: refusals))
    }()

    /// The built-in layouts.
    package static func builtIn() throws(LayoutFileProblem) -> LayoutCatalog { try builtInResult.get() }

    /// The text of a built-in layout file, as shipped: what `layouts --export` prints. `name` is
    /// `family/name` or a bare name that only one family uses.
    package static func builtinText(named name: String) throws(RecognitionFailure) -> String {
        let matches = builtinFiles.filter { file in
            let stem = file.name.hasSuffix(".json") ? String(file.name.dropLast(5)) : file.name
            return stem == name.replacingOccurrences(of: "/", with: ".") || stem.split(separator: ".").last.map(String.init) == name
        }
        guard matches.count == 1, let match = matches.first else {
            throw .unknownLayout(name, family: nil)
        }
        return match.text
    }

    /// The built-in layouts with the user's in front: every `*.json` in each directory of
    /// `searchPath` (colon-separated, as `WEIGHTCONV_LAYOUT_PATH`), then `files`. A user layout with
    /// the family and name of a built-in one replaces it.
    package static func with(searchPath: String?, files: [String] = []) throws(LayoutFileProblem) -> LayoutCatalog {
        var paths: [String] = []
        for directory in (searchPath ?? "").split(separator: ":").map(String.init) where !directory.isEmpty {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw LayoutFileProblem(file: directory, line: 0, path: "",
                                        problem: "a WEIGHTCONV_LAYOUT_PATH directory that cannot be listed")
            }
            paths += names.filter { $0.hasSuffix(".json") }.sorted().map { directory + "/" + $0 }
        }
        var user = LayoutCatalog(profiles: [], refusals: [])
        for path in paths + files {
            switch try LayoutFile.load(path: path) {
            case .layout(let profile):
                user.profiles.removeAll { $0.qualifiedName == profile.qualifiedName }
                user.profiles.append(profile)
            case .refusal(let network): user.refusals.append(network)
            }
        }
        var catalog = try builtIn()
        let replaced = Set(user.profiles.map(\.qualifiedName))
        catalog.profiles = user.profiles + catalog.profiles.filter { !replaced.contains($0.qualifiedName) }
        catalog.refusals = user.refusals + catalog.refusals
        return catalog
    }
}

extension LayoutProfile {
    /// The built-in layouts (empty only if a built-in file is broken, which the tests rule out).
    package static var all: [LayoutProfile] { (try? LayoutCatalog.builtIn().profiles) ?? [] }

    /// A built-in layout by name (`family/name`, or a name only one family uses).
    package static func named(_ name: String) -> LayoutProfile? {
        let matches = all.filter { $0.qualifiedName == name || $0.name == name }
        return matches.count == 1 ? matches.first : nil
    }
}
