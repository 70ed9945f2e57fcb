import Foundation
import ImagePipeline
import Networks
import TensorEngine
import WeightconvCore
import WeightFormat

/// What `weightconv import` is asked to do.
public struct ImportRequest: Sendable {
    /// The checkpoint (`.pth`, `.pt`, `.bin`, `.safetensors`).
    public var input: String
    /// The `.wcv` file to write.
    public var output: String
    /// The family the user named, or `nil` for `--arch auto`.
    public var family: NetworkFamily?
    /// A layout forced with `--layout`, or `nil` to recognise it.
    public var layout: String?
    /// An `.npz` holding `input` [N, 3, H, W] and `logits` [N, classes] that PyTorch produced with these
    /// weights (`tools/make_reference.py`); when given, the Swift network must reproduce the logits
    /// before anything is written, and the file carries them as its verification record.
    public var reference: String?
    /// The dtype floating-point tensors are stored as, or `nil` to keep the source's.
    public var dtype: DType?
    public var tolerance: Tolerance
    /// How the network runs when it is checked against `reference` (and, when a layout is
    /// inferred, each candidate): the fast path (threads, kernel set) or the naive operators.
    public var mode: ExecutionMode
    /// A layout file to use instead of recognising one (`--layout-file`).
    public var layoutFile: String?
    /// Directories of the user's layout files, tried before the built-in ones (`WEIGHTCONV_LAYOUT_PATH`).
    public var layoutSearchPath: String?
    /// Which state_dict to take when the file holds several (`--select state_dict`).
    public var select: String?
    /// Where to write the layout the import used, in the layout format (`--save-layout`).
    public var saveLayout: String?
    /// Class names for the outputs (`--labels FILE`); without them a 1000-class network gets the
    /// ImageNet-1k names (every built-in layout is an ImageNet layout).
    public var labels: [String]?
    /// How the weights' inputs were prepared, replacing the layout's (`--preprocessing FILE`).
    package var preprocessing: WeightFileDocument.Preprocessing?

    public init(input: String, output: String, family: NetworkFamily? = nil, layout: String? = nil,
                reference: String? = nil, dtype: DType? = nil, tolerance: Tolerance = .float32, mode: ExecutionMode = .fast(threads: 2),
                layoutFile: String? = nil, layoutSearchPath: String? = nil, select: String? = nil, saveLayout: String? = nil) {
        self.select = select
        self.saveLayout = saveLayout
        self.layoutFile = layoutFile
        self.layoutSearchPath = layoutSearchPath
        self.input = input
        self.output = output
        self.family = family
        self.layout = layout
        self.reference = reference
        self.dtype = dtype
        self.tolerance = tolerance
        self.mode = mode
    }
}

/// What an import did, for the command line to print.
public struct ImportReport: Sendable {
    package var profile: LayoutProfile
    /// Set when no layout matched and one was inferred (and proven by the reference).
    package var inferred: InferredLayout?
    /// The wrapper prefix stripped from the model's keys (`state_dict.module.`), empty if none.
    public var prefix: String
    /// Other state_dicts in the file that the layout matches, and why `prefix` was taken instead.
    public var alternatives: [String]
    public var choice: String?
    package var configuration: NetworkConfiguration
    public var tensorCount: Int
    /// Checkpoint entries outside the model (optimizer state, a second copy under another prefix).
    public var outside: [String]
    /// Buffers the network does not use (`num_batches_tracked`), by their keys in the file.
    public var dropped: [String]
    public var transforms: [String]
    public var comparison: LogitComparison?
    public var fileSize: Int

    /// The layout the tensors were read with (`family/name`), built-in, from a file, or inferred.
    public var layoutName: String { profile.qualifiedName }
    /// Whether no layout matched and the mapping was inferred from the shapes (and proven by the reference).
    public var layoutWasInferred: Bool { inferred != nil }
    /// The network family written to the file.
    public var family: NetworkFamily { profile.family }
    /// The number of outputs of the written network.
    public var classes: Int { configuration.classes }
    /// The network's configuration as the file records it (one JSON object).
    public var configurationJSON: String { configuration.summary }
}

/// `weightconv import`: checkpoint in, checked native weight file out.
public enum Importer {
    /// Recognises the layout, maps every tensor onto the network, checks every shape by building the
    /// network, optionally reproduces the reference logits, and writes the file atomically.
    public static func run(_ request: ImportRequest) throws -> ImportReport {
        try run(request, temporaryFiles: nil)
    }

    /// ``run(_:)`` registering its partial output in `temporaryFiles`, so that a signal handler can
    /// remove it (the command line's interrupt handling).
    package static func run(_ request: ImportRequest, temporaryFiles: TemporaryFileRegistry?) throws -> ImportReport {
        // Hashed from the start, alongside parsing and checking; a refused import cancels it.
        let identity = try ConcurrentSourceIdentity(path: request.input)
        defer { identity.cancel() }
        let store = try openTensorStore(path: request.input, streaming: true)
        var catalog = try layoutCatalog(request)
        var forced = request.layoutFile == nil ? request.layout : catalog.profiles.first?.qualifiedName
        var inferred: InferredLayout?
        let keys = store.tensors.map(\.name)
        if forced == nil, LayoutInference.noLayoutMatches(keys: keys, family: request.family, catalog: catalog, select: request.select) {
            // No layout names these tensors: infer one, and only where a reference can prove it.
            guard let referencePath = request.reference else {
                throw WeightconvError(
                    file: request.input,
                    problem: "no known \(request.family.map { "\($0.rawValue) " } ?? "")layout matches these tensor names (first: "
                        + keys.prefix(3).joined(separator: ", ") + "), and an inferred layout needs a reference to prove it",
                    hint: "give --reference REF.npz (tools/make_reference.py) to infer the layout from the shapes and verify it, "
                        + "or write a layout file (docs/layout-format.md)")
            }
            let prefixes = LayoutRecognizer.candidatePrefixes(keys)
            let prefix = request.select.flatMap { wanted in prefixes.first { $0.hasPrefix(wanted + ".") } } ?? prefixes.first ?? ""
            let layout = try LayoutInference.infer(store: store, prefix: prefix, family: request.family,
                                                   reference: try ReferenceRecord(path: referencePath), tolerance: request.tolerance,
                                                   mode: request.mode, source: request.input)
            inferred = layout
            catalog = LayoutCatalog(profiles: [layout.profile], refusals: [])
            forced = layout.profile.qualifiedName
        }
        let mapping = try map(store, family: request.family, layout: forced, storedType: request.dtype, catalog: catalog,
                              select: request.select)
        let network = try checkStructure(mapping, runnable: request.reference != nil, request: request)

        var extra: [PendingTensor] = []
        var verification: WeightFileDocument.VerificationRecord?
        var comparison: LogitComparison?
        if let referencePath = request.reference, let network {
            let reference = try ReferenceRecord(path: referencePath)
            comparison = try reproduce(reference, from: referencePath, with: network, request: request)
            extra = [
                try PendingTensor.floats(WCVFormat.verifyInputName, shape: reference.input.shape, reference.input.storage),
                try PendingTensor.floats(WCVFormat.verifyLogitsName, shape: reference.logits.shape, reference.logits.storage),
            ]
            verification = .init(atol: Double(request.tolerance.atol), rtol: Double(request.tolerance.rtol),
                                 topK: request.tolerance.requireTopK ? 5 : 0, rule: request.tolerance.rule.rawValue)
        }

        let weights = mapping.weights
        let profile = mapping.recognized.profile
        let kept = weights.order.filter { !CanonicalWeights.isIgnorable($0) }
        let dropped = weights.order.filter(CanonicalWeights.isIgnorable)
        let transforms = describeTransforms(mapping, droppedCount: dropped.count, dtype: request.dtype)
        let tensors = try kept.map { name in
            let dtype = weights.entries[name].flatMap { $0.dtype.isFloatingPoint ? request.dtype : nil }
            return try PendingTensor.from(weights, name: name, dtype: dtype)
        } + extra
        let labels = try classLabels(request, classes: mapping.configuration.classes)
        let document = WeightFileDocument(
            architecture: .init(family: profile.family.rawValue, config: try ConfigurationCoding.metadata(mapping.configuration)),
            preprocessing: request.preprocessing ?? profile.preprocessing,
            layout: profile.qualifiedName,
            originalKeys: Dictionary(uniqueKeysWithValues: kept.compactMap { name in weights.entries[name].map { (name, $0.source) } }),
            verification: verification, labels: labels)
        let summary = try WeightFileWriter(protectedPaths: [request.input], temporaryFiles: temporaryFiles)
            .write(tensors, document: document, provenance: identity, transforms: transforms, to: request.output)
        if let path = request.saveLayout {
            do {
                try AtomicText.write(LayoutFile.text(of: profile), to: path)
            } catch {
                throw WeightconvError(file: path, problem: "cannot write the layout (\(error))", hint: "check the directory exists and is writable",
                                      cause: error)
            }
        }
        return ImportReport(profile: profile, inferred: inferred, prefix: mapping.recognized.prefix, alternatives: mapping.recognized.alternatives,
                            choice: mapping.recognized.choice, configuration: mapping.configuration,
                            tensorCount: summary.tensorCount, outside: mapping.recognized.outside,
                            dropped: dropped.compactMap { weights.entries[$0]?.source }, transforms: transforms,
                            comparison: comparison, fileSize: summary.fileSize)
    }

    /// The names the file stores for the network's classes.
    static func classLabels(_ request: ImportRequest, classes: Int) throws -> [String]? {
        guard let labels = request.labels else { return classes == 1000 ? ClassLabels.imageNet1k : nil }
        guard labels.count == classes else {
            throw WeightconvError(file: request.input, problem: "the network has \(classes) classes but \(labels.count) labels were given",
                                  hint: "give one name per class, in class-index order, with --labels")
        }
        return labels
    }

    /// The layouts this import may use: the built-in ones behind the search path's, or only the
    /// `--layout-file` one when given.
    static func layoutCatalog(_ request: ImportRequest) throws -> LayoutCatalog {
        do throws(LayoutFileProblem) {
            if let file = request.layoutFile {
                guard case .layout(let profile) = try LayoutFile.load(path: file) else {
                    throw LayoutFileProblem(file: file, line: 0, path: "refusal",
                                            problem: "describes a network to refuse, not a layout to import with")
                }
                return LayoutCatalog(profiles: [profile], refusals: try LayoutCatalog.builtIn().refusals)
            }
            return try LayoutCatalog.with(searchPath: request.layoutSearchPath)
        } catch {
            throw error.error
        }
    }

    /// Builds the network from the mapped weights, so that every parameter is asked for with the shape
    /// it needs and a wrong layout or configuration fails at the layer that is wrong, then refuses
    /// tensors no parameter asked for. Only a network that will run (`runnable`) loads its weights;
    /// otherwise it is built from shapes alone and the import stays near one tensor of memory.
    static func checkStructure(_ mapping: Mapping, runnable: Bool, request: ImportRequest) throws -> (any Network)? {
        let weights = mapping.weights
        let network: (any Network)?
        do {
            if runnable {
                network = try mapping.configuration.build(WeightSource(weights), mode: request.mode)
            } else {
                _ = try mapping.configuration.build(WeightSource(ShapeOnlyProvider(weights)), mode: .naive)
                network = nil
            }
        } catch {
            throw WeightconvError(file: request.input, reporting: error,
                                  hint: "check the layout with `weightconv layouts -v`, or force one with --layout")
        }
        let unused = weights.unused
        guard unused.isEmpty else {
            let sample = unused.prefix(3).map { "'\(weights.entries[$0]?.source ?? $0)'" }.joined(separator: ", ")
            throw WeightconvError(
                file: request.input,
                problem: "\(unused.count) tensor(s) match no parameter of the \(mapping.recognized.profile.family.rawValue) network (\(sample)…)",
                hint: "the file is probably a variant weightconv does not model, or needs another --layout")
        }
        return network
    }

    /// Runs the network on the reference input; refuses (nothing is written) unless it reproduces the logits.
    static func reproduce(_ reference: ReferenceRecord, from path: String, with network: any Network,
                          request: ImportRequest) throws -> LogitComparison {
        let (result, cause) = try Verifier.compare(network, against: reference, tolerance: request.tolerance, file: path)
        guard result.passed else {
            let hint: String
            if let dtype = request.dtype, dtype != .f32 {
                hint = "stored as \(dtype.rawValue) the weights are rounded; make the reference from the rounded weights "
                    + "with tools/make_reference.py --dtype \(dtype.rawValue), or accept the loss with --atol/--rtol"
            } else if let cause {
                hint = cause
            } else {
                hint = "the layout's behaviour (eps, stride, shuffle) may not match the implementation that made the reference"
            }
            throw WeightconvError(file: request.input, problem: "the Swift network does not reproduce \(path): \(result.summary)",
                                  hint: hint)
        }
        return result
    }

    /// What the conversion did to the checkpoint, for the file's provenance and the command's output.
    static func describeTransforms(_ mapping: Mapping, droppedCount: Int, dtype: DType?) -> [String] {
        var transforms: [String] = []
        let profile = mapping.recognized.profile
        if !mapping.recognized.prefix.isEmpty { transforms.append("stripped the wrapper prefix '\(mapping.recognized.prefix)'") }
        if !profile.renames.isEmpty || !profile.keyMap.isEmpty {
            transforms.append(profile.origin == "inferred" ? "renamed by the inferred layout"
                              : "renamed by layout \(profile.qualifiedName)" + (profile.origin == "built-in" ? "" : " from \(profile.origin)"))
        }
        for name in mapping.weights.order {
            if let entry = mapping.weights.entries[name], let stored = entry.storedShape {
                transforms.append("reshaped '\(entry.source)' from \(stored) to \(entry.shape)")
            }
        }
        if droppedCount > 0 { transforms.append("dropped \(droppedCount) num_batches_tracked buffer(s)") }
        if let dtype { transforms.append("stored floating-point tensors as \(dtype.rawValue)") }
        return transforms
    }

    /// A checkpoint's layout, canonical weights and configuration: everything but the network.
    package struct Mapping {
        package var recognized: RecognizedLayout
        package var weights: CanonicalWeights
        package var configuration: NetworkConfiguration
    }

    package static func map(_ store: any TensorStore, family: NetworkFamily?, layout: String?,
                           storedType: DType? = nil, catalog: LayoutCatalog? = nil, select: String? = nil) throws -> Mapping {
        let recognized: RecognizedLayout
        do {
            recognized = try LayoutRecognizer.recognize(keys: store.tensors.map(\.name), family: family, layoutName: layout,
                                                        catalog: catalog, select: select)
        } catch {
            throw WeightconvError(file: store.path, reporting: error,
                                  hint: "`weightconv layouts` lists what is recognised; force a layout with --layout")
        }
        let weights = try CanonicalWeights(store: store, recognized: recognized, storedType: storedType)
        let configuration: NetworkConfiguration
        do {
            configuration = try NetworkConfiguration.infer(family: recognized.profile.family,
                                                           shapes: weights.shapes,
                                                           behaviour: recognized.profile.behaviour)
        } catch {
            throw WeightconvError(file: store.path, reporting: error,
                                  hint: "the weights do not describe a complete \(recognized.profile.family.rawValue) network")
        }
        return Mapping(recognized: recognized, weights: weights, configuration: configuration)
    }
}

/// Writes a small text file whole or not at all.
enum AtomicText {
    static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}
