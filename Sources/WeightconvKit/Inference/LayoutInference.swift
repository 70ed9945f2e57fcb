import Foundation
import Networks
import WeightconvCore

/// A layout inferred for a checkpoint no layout file describes, and the evidence for it.
package struct InferredLayout: Sendable {
    /// The layout: exact key renames, the repairs the shapes needed, and the behaviour the reference chose.
    package var profile: LayoutProfile
    /// The behaviour variants tried and how each compared with the reference (max |diff|, or why it failed).
    package var trials: [(behaviour: String, passed: Bool, detail: String)]
    /// Tensors aligned.
    package var tensorCount: Int
    /// The family's known variants for these layers (the search stops after the first eps that has a passing one).
    package var variantsKnown: Int

    /// The variants other than the chosen one that also reproduced the reference.
    package var alsoPassing: [String] { Array(trials.filter(\.passed).map(\.behaviour).dropFirst()) }
}

/// Infers a layout by aligning a checkpoint's modules, in stored order, with a family's layers by
/// shape and role (`FamilyAlignment`), then choosing what the weights cannot show (eps, activation,
/// stride and shuffle placement…) by running each of the family's known variants on the reference
/// input: only a variant that reproduces the reference logits is accepted, so an inferred layout is
/// never a guess.
package enum LayoutInference {
    /// Whether `keys` match no layout in `catalog` (as opposed to matching one, or a refusal).
    static func noLayoutMatches(keys: [String], family: NetworkFamily?, catalog: LayoutCatalog, select: String?) -> Bool {
        do throws(RecognitionFailure) {
            _ = try LayoutRecognizer.recognize(keys: keys, family: family, layoutName: nil, catalog: catalog, select: select)
            return false
        } catch {
            if case .unknown = error { return true }
            return false
        }
    }

    /// The behaviours a state_dict cannot show: each family's known variants, most common first, for the
    /// layers `names` aligned (an axis that cannot change the function for them is left out: no shuffle
    /// axes for one group, no `strideOneBlocks` beyond the blocks with a skip). Every variant comes at
    /// eps 1e-5 first, then at 1e-3: the search stops after the first eps with a passing variant.
    static func variants(_ family: NetworkFamily, reference: ReferenceRecord,
                         names: FamilyAlignment.Aligned) -> [[String: BehaviourValue]] {
        func product(_ axes: [(String, [BehaviourValue])]) -> [[String: BehaviourValue]] {
            axes.reduce([[:]]) { partial, axis in
                partial.flatMap { base in axis.1.map { value in base.merging([axis.0: value]) { _, new in new } } }
            }
        }
        // Axes that move together: a CIFAR stem is stride 1 without max pool (ResNeXt searches them apart).
        func joint(_ choices: [[String: BehaviourValue]], _ variants: [[String: BehaviourValue]]) -> [[String: BehaviourValue]] {
            variants.flatMap { base in choices.map { base.merging($0) { _, new in new } } }
        }
        func role(_ canonical: String) -> StoredModule.Role? { names.first { $0.canonical == canonical }?.module.role }
        let structural: [[String: BehaviourValue]]
        switch family {
        case .mobileNetV2: structural = product([("activation", ["relu6", "relu"])])
        case .resnext:
            // A CIFAR stem (stride 1, no max pool) shows only in the logits; a log_softmax output in the reference itself.
            structural = product([("stridePlacement", ["conv2", "conv1"]), ("stemStride", [2, 1]), ("stemMaxPool", [true, false]),
                                  ("outputLogSoftmax", [.bool(rowsAre(reference) { row in
                                      row.allSatisfy { $0 <= 0 } && abs(row.reduce(0) { $0 + exp($1) } - 1) < 1e-3 })])])
        case .xception:
            // Blocks are numbered from 1; those with a skip projection are the ones that may keep the resolution.
            let blocks = names.compactMap { entry -> Int? in
                guard entry.canonical.hasPrefix("block"), entry.canonical.hasSuffix(".pointwise") else { return nil }
                return Int(entry.canonical.dropFirst("block".count).prefix { $0.isNumber })
            }
            let count = blocks.max() ?? 0
            let skipped = Set(names.compactMap { entry -> Int? in
                guard entry.canonical.hasSuffix(".skip") else { return nil }
                return Int(entry.canonical.dropFirst("block".count).prefix { $0.isNumber })
            }).sorted()
            // Blocks that start with a ReLU: every one whose first separable convolution is not `rep.0`.
            let leading = (1...max(count, 1)).filter { n in !names.contains { $0.canonical == "block\(n).rep.0.conv1" } && count > 0 }
            func list(_ blocks: [Int]) -> BehaviourValue { .string(blocks.map(String.init).joined(separator: ",")) }
            // The skip reads relu(x) where an in-place leading ReLU runs before it: nowhere (Cadene, pytorchcv), in
            // every such block, or in all but the last (weiaicunzai computes the exit flow's shortcut first).
            var afterReLU: [BehaviourValue] = [list([])]
            if !leading.isEmpty { afterReLU.append(list(leading)) }
            if leading.count > 1 { afterReLU.append(list(Array(leading.dropLast()))) }
            structural = joint([["stemStride": 2, "stemPadding": 0], ["stemStride": 1, "stemPadding": 1]],
                               product([("strideOneBlocks", [list([])] + skipped.map { list([$0]) }),
                                        ("skipAfterReLUBlocks", afterReLU)]))
        case .shuffleNetV1:
            // A softmax output shows in the reference itself: every row non-negative and summing to 1.
            let softmax = rowsAre(reference) { row in row.allSatisfy { $0 >= 0 } && abs(row.reduce(0, +) - 1) < 1e-3 }
            var groups = 1
            if case let .convolution(bottleneck, _, _, _)? = role("stages.0.0.compress"),
               case let .convolution(_, perGroup, _, _)? = role("stages.0.0.expand"), perGroup >= 1 {
                groups = bottleneck / perGroup
            }
            var firstUngrouped = false
            if case let .convolution(stem, _, _, _)? = role("conv1"), case let .convolution(_, compressIn, _, _)? = role("stages.0.0.compress") {
                firstUngrouped = compressIn == stem
            }
            var axes: [(String, [BehaviourValue])] = []
            if groups > 1 {
                axes += [("shufflePlacement", ["afterCompress", "afterDepthwise"]), ("shufflePermutation", ["groupsFirst", "groupsLast"])]
                if firstUngrouped { axes.append(("shuffleAfterUngroupedCompress", [true, false])) }
            }
            // Every known stem with a batch norm is followed by a ReLU; without one, either.
            let stemBatchNorm = role("bn1") != nil
            axes += [("concatActivation", ["all", "mainBranch"]), ("concatOrder", ["shortcutFirst", "mainFirst"]),
                     ("stemActivation", stemBatchNorm ? ["relu"] : ["identity", "relu"]), ("outputSoftmax", [.bool(softmax)])]
            structural = joint([["stemStride": 2, "stemMaxPool": true], ["stemStride": 1, "stemMaxPool": false]], product(axes))
        }
        return [1e-5, 1e-3].flatMap { eps in structural.map { $0.merging(["eps": .number(eps)]) { _, new in new } } }
    }

    /// Whether every row of the reference logits satisfies `test` (a softmax or log-softmax output shows so).
    static func rowsAre(_ reference: ReferenceRecord, _ test: (ArraySlice<Float>) -> Bool) -> Bool {
        let values = reference.logits.storage
        let classes = max(1, reference.classes)
        let rows = stride(from: 0, to: values.count, by: classes).map { values[$0..<min($0 + classes, values.count)] }
        return !rows.isEmpty && rows.allSatisfy(test)
    }

    /// A regular expression matching exactly `key`.
    static func exactPattern(_ key: String) -> String {
        "^" + key.map { "\\^$.|?*+()[]{}".contains($0) ? "\\\($0)" : String($0) }.joined() + "$"
    }

    /// Infers the layout of `store`'s model tensors (under `prefix`) for `family`, or for whichever
    /// family aligns when `family` is `nil`, and proves it against `reference`.
    package static func infer(store: any TensorStore, prefix: String, family: NetworkFamily?, reference: ReferenceRecord,
                             tolerance: Tolerance, mode: ExecutionMode, source: String) throws -> InferredLayout {
        let keys = store.tensors.filter { $0.name.hasPrefix(prefix) }
            .map { (key: $0.name, local: String($0.name.dropFirst(prefix.count)), shape: $0.shape) }
        let modules: [StoredModule]
        do {
            modules = try StoredModules.group(keys)
        } catch {
            throw WeightconvError(file: store.path, problem: "no layout matches and none can be inferred: '\(error.key)' \(error.shape) is \(error.problem)",
                                  hint: "a checkpoint of a network outside the four families, or a damaged one", cause: error)
        }
        var failures: [AlignmentFailure] = []
        var aligned: [(NetworkFamily, FamilyAlignment.Aligned)] = []
        for candidate in family.map({ [$0] }) ?? NetworkFamily.allCases {
            do throws(AlignmentFailure) {
                aligned.append((candidate, try FamilyAlignment.align(candidate, modules)))
            } catch {
                failures.append(error)
            }
        }
        guard !aligned.isEmpty else {
            // The family whose walk got furthest is the most informative.
            // The family whose walk got furthest is the most informative (the first of equals).
            let best = failures.reduce(nil as AlignmentFailure?) { best, next in (best.map { next.aligned > $0.aligned } ?? true) ? next : best }
            throw WeightconvError(file: store.path, problem: "no layout matches and none can be inferred: \(best.map { "\($0)" } ?? "no tensors")",
                                  hint: family == nil ? "a checkpoint of a network outside the four families, or one with a tensor missing or reshaped"
                                                      : "a tensor is missing or reshaped, or this is not a \(family?.rawValue ?? "") checkpoint")
        }
        var lastProblem = ""
        for (candidate, names) in aligned {
            var profile: LayoutProfile
            do {
                profile = try Self.profile(for: candidate, names: names, source: source, prefix: prefix)
            } catch {
                throw WeightconvError(file: store.path, reporting: error, hint: "a tensor name weightconv cannot write as an exact pattern")
            }
            // The input size the reference was made at; mean and std cannot be seen and stay the family's usual
            // ones, for the user to review in the saved layout.
            if reference.input.shape.count == 4 { profile.preprocessing.inputSize = [3] + reference.input.shape.suffix(2) }
            var trials: [(behaviour: String, passed: Bool, detail: String)] = []
            var results: [(behaviour: [String: BehaviourValue], error: Float)] = []
            let known = variants(candidate, reference: reference, names: names)
            for (index, behaviour) in known.enumerated() {
                // Each eps is a tier: once one holds a passing variant, the next (another eps) is not tried.
                if index > 0, behaviour["eps"] != known[index - 1]["eps"], !results.isEmpty { break }
                var trial = profile
                trial.behaviour = behaviour
                let text = behaviour.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.jsonText)" }.joined(separator: ", ")
                do {
                    let catalog = LayoutCatalog(profiles: [trial], refusals: [])
                    let mapping = try Importer.map(store, family: candidate, layout: trial.qualifiedName, catalog: catalog,
                                                   select: prefix.isEmpty ? nil : String(prefix.dropLast()))
                    let network = try mapping.configuration.build(WeightSource(mapping.weights), mode: mode)
                    guard mapping.weights.unused.isEmpty else {
                        trials.append((text, false, "tensors left unused"))
                        continue
                    }
                    let actual = try network(reference.input)
                    let comparison = try LogitComparison(actual: actual.storage, reference: reference.logits.storage,
                                                         classes: reference.classes, tolerance: tolerance)
                    let error = comparison.samples.map(\.maxAbsoluteError).max() ?? .infinity
                    trials.append((text, comparison.passed, "max |diff| \(error)"))
                    if comparison.passed { results.append((behaviour, error)) }
                } catch {
                    trials.append((text, false, "\(error)"))
                    lastProblem = "\(error)"
                }
            }
            guard let best = results.min(by: { $0.error < $1.error }) else {
                let closest = trials.compactMap { trial -> (String, Float)? in
                    guard trial.detail.hasPrefix("max |diff| "), let value = Float(trial.detail.dropFirst("max |diff| ".count)) else { return nil }
                    return (trial.behaviour, value)
                }.min { $0.1 < $1.1 }
                if family != nil || aligned.count == 1 {
                    throw WeightconvError(
                        file: store.path,
                        problem: "the tensors align with \(candidate.rawValue) (\(names.count) layers), but none of its \(trials.count) known "
                            + "behaviour variants reproduces the reference"
                            + (closest.map { " (closest: \($0.0), max |diff| \($0.1))" } ?? (lastProblem.isEmpty ? "" : ": \(lastProblem)")),
                        hint: "the implementation computes something weightconv's \(candidate.rawValue) does not (or the reference is for other weights)")
                }
                continue
            }
            var chosen = profile
            chosen.behaviour = best.behaviour
            let bestText = best.behaviour.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.jsonText)" }.joined(separator: ", ")
            // The chosen variant first, so `alsoPassing` lists the others.
            trials.sort { ($0.behaviour == bestText ? 0 : 1, $0.passed ? 0 : 1) < ($1.behaviour == bestText ? 0 : 1, $1.passed ? 0 : 1) }
            return InferredLayout(profile: chosen, trials: trials, tensorCount: names.reduce(0) { $0 + $1.module.tensors.count },
                                  variantsKnown: known.count)
        }
        throw WeightconvError(file: store.path, problem: "the tensors align with \(aligned.map(\.0.rawValue).joined(separator: " and ")), "
                                  + "but no behaviour variant reproduces the reference",
                              hint: "the implementation computes something weightconv's networks do not")
    }

    /// The layout that names every aligned module canonically, file key by file key. Throws when a
    /// key's exact pattern does not compile (`exactPattern` escapes every operator, so it should).
    static func profile(for family: NetworkFamily, names: FamilyAlignment.Aligned, source: String, prefix: String)
        throws(LayoutError) -> LayoutProfile
    {
        var keyMap: [String: String] = [:]
        var repairs: [TensorRepair] = []
        for (module, canonical) in names {
            for (leaf, tensor) in module.tensors {
                keyMap[String(tensor.key.dropFirst(prefix.count))] = "\(canonical).\(leaf)"
            }
            if let repair = module.repair {
                let pattern = try KeyPattern(exactPattern("\(canonical).weight"))
                switch repair {
                case "pointwise_2d": repairs.append(.appendUnitSpatialDims(pattern))
                case "depthwise_3d": repairs.append(.insertUnitInputDim(pattern))
                default: repairs.append(.dropUnitSpatialDims(pattern))
                }
            }
        }
        // Recognised again by its first layer's and its classifier's keys, exactly.
        let anchors = [names.first, names.last].compactMap { $0?.module.tensors["weight"]?.key }
            .map { String($0.dropFirst(prefix.count)) }
        var required: [KeyPattern] = []
        for anchor in anchors { required.append(try KeyPattern(exactPattern(anchor))) }
        let name = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        return LayoutProfile(name: "inferred", family: family,
                             implementation: "inferred by weightconv from \(name) (\(names.count) layers aligned by shape and role)",
                             fingerprint: Fingerprint(required: required), keyMap: keyMap, repairs: repairs,
                             preprocessing: family == .xception ? .inception(299) : .imageNet(224), origin: "inferred")
    }
}
