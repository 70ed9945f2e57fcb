import WeightconvCore

/// The outcome of matching a checkpoint's keys against the known layouts.
public struct RecognizedLayout: Sendable {
    public var profile: LayoutProfile
    /// Wrapper prefix stripped from every model key (`state_dict.module.`), empty if none.
    public var prefix: String
    /// Model keys as they are in the file, in file order, with their canonical names.
    public var keys: [(source: String, canonical: String)]
    /// Keys outside the model (optimizer state, EMA copies under another prefix): ignored.
    public var outside: [String]
}

/// Why recognition failed, with what it saw, so the message can help.
public enum RecognitionFailure: Error, Sendable, CustomStringConvertible {
    case foreign(ForeignNetwork)
    case unknown(family: NetworkFamily?, sample: [String])
    case notThisFamily(requested: NetworkFamily, looksLike: LayoutProfile)
    case unknownLayout(String, family: NetworkFamily?)
    /// A forced layout (`--layout`, `--layout-file`) whose fingerprint does not match the keys.
    case layoutDoesNotMatch(LayoutProfile, missing: String?, forbidden: String?)
    case badLayout(LayoutFileProblem)

    public var description: String {
        switch self {
        case .foreign(let net):
            "this is \(net.name), which weightconv does not model: \(net.reason)"
        case let .unknown(family, sample):
            "no known \(family.map { "\($0.rawValue) " } ?? "")layout matches these tensor names (first: \(sample.joined(separator: ", ")))"
        case let .notThisFamily(requested, looksLike):
            "the tensor names are those of \(looksLike.implementation) (\(looksLike.family.rawValue)), not \(requested.rawValue)"
        case let .unknownLayout(name, family):
            "unknown layout '\(name)'; known\(family.map { " \($0.rawValue)" } ?? ""): "
                + LayoutProfile.all.filter { family == nil || $0.family == family }.map(\.qualifiedName)
                    .joined(separator: ", ")
        case let .layoutDoesNotMatch(profile, missing, forbidden):
            "layout \(profile.qualifiedName) (\(profile.origin)) does not match these tensor names: "
                + (missing.map { "no key matches its required pattern \($0)" } ?? "")
                + (forbidden.map { "some key matches its forbidden pattern \($0)" } ?? "")
        case .badLayout(let problem):
            problem.description
        }
    }
}

public enum LayoutRecognizer {
    /// Dict keys that wrap a state_dict in the checkpoints people save (training scripts, DataParallel).
    static let wrapperSegments: Set<String> = [
        "state_dict", "model", "model_state_dict", "module", "ema", "model_ema", "state_dict_ema", "net",
        "network", "params", "weights", "student",
    ]

    /// Prefixes made only of wrapper segments that some key starts with, longest first, then "".
    static func candidatePrefixes(_ keys: [String]) -> [String] {
        var prefixes = Set<String>()
        for key in keys {
            var prefix = ""
            for segment in key.split(separator: ".").dropLast() {
                guard wrapperSegments.contains(String(segment)) else { break }
                prefix += segment + "."
                prefixes.insert(prefix)
            }
        }
        return prefixes.sorted { $0.count > $1.count } + [""]
    }

    /// Finds the layout and wrapper prefix of `keys`.
    ///
    /// - Parameters:
    ///   - family: the architecture the user named, or `nil` for `--arch auto`.
    ///   - layoutName: a `--layout` the user forced, or `nil` to recognise it.
    public static func recognize(keys: [String], family: NetworkFamily?, layoutName: String?,
                                 catalog given: LayoutCatalog? = nil) throws(RecognitionFailure) -> RecognizedLayout
    {
        let catalog: LayoutCatalog
        if let given {
            catalog = given
        } else {
            do throws(LayoutFileProblem) { catalog = try LayoutCatalog.builtIn() } catch { throw .badLayout(error) }
        }
        let prefixes = candidatePrefixes(keys)
        func stripped(_ prefix: String) -> [String] {
            keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
        for prefix in prefixes {
            let inner = stripped(prefix)
            if let foreign = catalog.refusals.first(where: { $0.fingerprint.matches(inner) }) {
                throw .foreign(foreign)
            }
        }
        var candidates = catalog.profiles
        if let layoutName {
            candidates = candidates.filter {
                ($0.name == layoutName || $0.qualifiedName == layoutName) && (family == nil || $0.family == family)
            }
            if candidates.isEmpty { throw .unknownLayout(layoutName, family: family) }
        }
        for prefix in prefixes {
            let inner = stripped(prefix)
            guard let profile = candidates.first(where: { $0.fingerprint.matches(inner) }) else { continue }
            if let family, profile.family != family { throw .notThisFamily(requested: family, looksLike: profile) }
            var mapped: [(source: String, canonical: String)] = []
            for key in keys where key.hasPrefix(prefix) {
                let local = String(key.dropFirst(prefix.count))
                // A rule whose table is too short means the file has more blocks than the layout
                // describes: keep the key unrenamed so the mapping report lists it as unexpected.
                let canonical = (try? profile.canonicalName(for: local)) ?? local
                mapped.append((key, canonical))
            }
            return RecognizedLayout(profile: profile, prefix: prefix, keys: mapped,
                                    outside: keys.filter { !$0.hasPrefix(prefix) })
        }
        if let forced = candidates.first, layoutName != nil {
            // Name the pattern that failed for the most likely prefix (the longest), so a user's file
            // can be fixed.
            let inner = stripped(prefixes.first ?? "")
            let missing = forced.fingerprint.required.first { pattern in !inner.contains { pattern.matches($0) } }
            let forbidden = forced.fingerprint.forbidden.first { pattern in inner.contains { pattern.matches($0) } }
            throw .layoutDoesNotMatch(forced, missing: missing?.source, forbidden: forbidden?.source)
        }
        throw .unknown(family: family, sample: Array(keys.prefix(4)))
    }
}
