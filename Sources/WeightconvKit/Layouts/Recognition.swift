import WeightconvCore

/// The outcome of matching a checkpoint's keys against the known layouts.
package struct RecognizedLayout: Sendable {
    package var profile: LayoutProfile
    /// Wrapper prefix stripped from every model key (`state_dict.module.`), empty if none.
    package var prefix: String
    /// Model keys as they are in the file, in file order, with their canonical names.
    package var keys: [(source: String, canonical: String)]
    /// Keys outside the model (optimizer state, EMA copies under another prefix): ignored.
    package var outside: [String]
    /// Other prefixes under which the same layout matches (a training checkpoint's `state_dict` beside
    /// its `state_dict_ema`), and why `prefix` was taken over them; empty when there was no choice.
    package var alternatives: [String] = []
    package var choice: String?
}

/// Why recognition failed, with what it saw, so the message can help.
package enum RecognitionFailure: Error, Sendable, CustomStringConvertible {
    case foreign(ForeignNetwork)
    case unknown(family: NetworkFamily?, sample: [String])
    case notThisFamily(requested: NetworkFamily, looksLike: LayoutProfile)
    case unknownLayout(String, family: NetworkFamily?)
    /// A forced layout (`--layout`, `--layout-file`) whose fingerprint does not match the keys.
    case layoutDoesNotMatch(LayoutProfile, missing: String?, forbidden: String?)
    case badLayout(LayoutFileProblem)
    /// `--select KEY` names no state_dict the layout matches.
    case selectionNotFound(String, candidates: [String])
    /// Several state_dicts match and no rule prefers one.
    case ambiguousStateDicts([String])

    package var description: String {
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
        case let .selectionNotFound(key, candidates):
            "--select \(key) names no state_dict the layout matches (candidates: "
                + candidates.map { $0.isEmpty ? "the top level" : String($0.dropLast()) }.joined(separator: ", ") + ")"
        case .ambiguousStateDicts(let candidates):
            "the file holds \(candidates.count) state_dicts that the layout matches ("
                + candidates.map { $0.isEmpty ? "the top level" : String($0.dropLast()) }.joined(separator: ", ")
                + "); choose one with --select KEY"
        }
    }
}

package enum LayoutRecognizer {
    /// Dict keys that wrap a state_dict in the checkpoints people save (training scripts, DataParallel).
    static let wrapperSegments: Set<String> = [
        "state_dict", "model", "model_state_dict", "module", "ema", "model_ema", "state_dict_ema", "net",
        "network", "params", "weights", "student",
        // torch.compile's OptimizedModule keeps the model as `_orig_mod` (alone, or inside DataParallel's `module`).
        "_orig_mod",
    ]

    /// Among prefixes that each hold the whole model, the one to take and why. timm's
    /// `load_checkpoint` takes `state_dict_ema`, then `model_ema`, over `state_dict` (`use_ema=True`);
    /// EMA weights are what a training run publishes. `nil` when no rule decides.
    static func preferred(_ candidates: [String]) -> (prefix: String, reason: String)? {
        let ema = candidates.filter { prefix in
            prefix.split(separator: ".").contains { ["state_dict_ema", "model_ema", "ema"].contains(String($0)) }
        }
        if ema.count == 1, let chosen = ema.first {
            return (chosen, "the EMA weights, as timm's load_checkpoint takes them (use_ema=True); --select chooses another")
        }
        return nil
    }

    /// Prefixes made only of wrapper segments that some key starts with, longest first, then "".
    /// Prefixes of equal length keep the order of their first key in the file, so messages and choices
    /// do not depend on hashing.
    static func candidatePrefixes(_ keys: [String]) -> [String] {
        var prefixes: [String] = []
        var seen = Set<String>()
        for key in keys {
            var prefix = ""
            for segment in key.split(separator: ".").dropLast() {
                guard wrapperSegments.contains(String(segment)) else { break }
                prefix += segment + "."
                if seen.insert(prefix).inserted { prefixes.append(prefix) }
            }
        }
        let order = Dictionary(uniqueKeysWithValues: prefixes.enumerated().map { ($1, $0) })
        return prefixes.sorted { $0.count != $1.count ? $0.count > $1.count : order[$0, default: 0] < order[$1, default: 0] } + [""]
    }

    /// Finds the layout and wrapper prefix of `keys`: wrapper prefixes are tried longest first, and
    /// under the first prefix where any layout matches, the first matching layout in catalog order is
    /// taken (the user's layouts before the built-in ones); it is not a search for the best match.
    ///
    /// - Parameters:
    ///   - keys: the checkpoint's tensor names, in the order it stores them.
    ///   - family: the architecture the user named, or `nil` for `--arch auto`.
    ///   - layoutName: a `--layout` the user forced, or `nil` to recognise it.
    ///   - select: a `--select KEY`: the state_dict under that key (`state_dict`, `state_dict_ema`) when
    ///     the file holds several the layout matches.
    ///   - given: the layouts to recognise from (`--layout-file`, the search path); `nil` for the built-in ones.
    package static func recognize(keys: [String], family: NetworkFamily?, layoutName: String?,
                                 catalog given: LayoutCatalog? = nil, select: String? = nil) throws(RecognitionFailure) -> RecognizedLayout
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
            // Every prefix under which the same layout matches holds a whole copy of the model; one that
            // is only the enclosing dict of another (`state_dict.` around `state_dict.module.`) is not a copy.
            let matching = prefixes.filter { profile.fingerprint.matches(stripped($0)) }
            func firstIndex(_ prefix: String) -> Int { keys.firstIndex { $0.hasPrefix(prefix) } ?? 0 }
            let holders = matching.filter { outer in !matching.contains { $0 != outer && $0.hasPrefix(outer) } }
                .sorted { firstIndex($0) < firstIndex($1) }
            var chosen = prefix
            var reason: String?
            if let select {
                let wanted = select.hasSuffix(".") ? select : select + "."
                guard let match = holders.first(where: { $0.hasPrefix(wanted) }) else {
                    throw .selectionNotFound(select, candidates: holders)
                }
                chosen = match
                reason = "chosen with --select \(select)"
            } else if holders.count > 1 {
                guard let preferred = preferred(holders) else { throw .ambiguousStateDicts(holders) }
                chosen = preferred.prefix
                reason = preferred.reason
            }
            var mapped: [(source: String, canonical: String)] = []
            for key in keys where key.hasPrefix(chosen) {
                let local = String(key.dropFirst(chosen.count))
                // A rule whose table is too short means the file has more blocks than the layout
                // describes: keep the key unrenamed so the mapping report lists it as unexpected.
                let canonical = (try? profile.canonicalName(for: local)) ?? local
                mapped.append((key, canonical))
            }
            return RecognizedLayout(profile: profile, prefix: chosen, keys: mapped,
                                    outside: keys.filter { !$0.hasPrefix(chosen) },
                                    alternatives: holders.filter { $0 != chosen }, choice: reason)
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
