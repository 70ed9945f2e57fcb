import Foundation
import Networks
import TensorEngine
import TorchCheckpoint
import WeightconvCore
import WeightFormat

/// A reference input and the logits PyTorch computed for it (`tools/make_reference.py`).
public struct ReferenceRecord: Sendable {
    /// `[N, 3, H, W]`.
    public var input: Tensor
    /// `[N, classes]`.
    public var logits: Tensor
    public var classes: Int { logits.shape.last ?? 0 }

    public init(input: Tensor, logits: Tensor) {
        self.input = input
        self.logits = logits
    }

    /// Reads `input` and `logits` from an `.npz` file.
    public init(path: String) throws {
        let archive = try NumpyArchive(path: path)
        let arrays = try archive.floatArrays()
        guard let input = arrays["input"], let logits = arrays["logits"] else {
            throw WeightconvError(file: path, problem: "needs arrays 'input' and 'logits', has \(arrays.keys.sorted())",
                                  hint: "make it with tools/make_reference.py")
        }
        try self.init(weightFile: path, input: input, logits: logits)
    }

    /// Reads the verification record a weight file carries.
    public init(file: WeightFile) throws {
        guard let record = file.document.verification else {
            throw WeightconvError(file: file.path, problem: "has no verification record",
                                  hint: "import with --reference REF.npz to store one")
        }
        func array(_ name: String) throws -> (shape: [Int], values: [Float]) {
            guard let descriptor = file.descriptor(named: name) else {
                throw WeightconvError(file: file.path, problem: "its verification record names '\(name)', which it does not hold")
            }
            return (descriptor.shape, try file.floats(of: name))
        }
        try self.init(weightFile: file.path, input: array(record.inputTensor), logits: array(record.logitsTensor))
    }

    private init(weightFile path: String, input: (shape: [Int], values: [Float]), logits: (shape: [Int], values: [Float])) throws {
        guard input.shape.count == 4, input.shape[1] == 3, logits.shape.count == 2, logits.shape[0] == input.shape[0],
              logits.shape[1] >= 1 else {
            throw WeightconvError(file: path, problem: "the reference input is \(input.shape) and its logits \(logits.shape)",
                                  hint: "expected input [N, 3, H, W] and logits [N, classes]")
        }
        self.input = try Tensor(shape: input.shape, storage: input.values)
        self.logits = try Tensor(shape: logits.shape, storage: logits.values)
    }
}

/// What `weightconv verify` found.
public struct VerificationReport: Sendable {
    public var file: String
    public var family: NetworkFamily
    /// The `.npz` compared against, or nil for the reference the file stores.
    public var reference: String?
    public var comparison: LogitComparison
    /// Where the cause of a mismatch is likely (a permutation, a constant factor, the input's channel
    /// order), in words; nil when it passed or no pattern fits.
    public var likelyCause: String?
    public var passed: Bool { comparison.passed }

    /// `{"file", "family", "reference", "rule": {…}, "samples": [{…}], "likely_cause", "verdict"}`:
    /// what `verify --json` prints. Non-finite metrics are written as null (JSON has no NaN).
    public var jsonText: String {
        func number(_ value: Float) -> MetadataValue { value.isFinite ? .double(Double(value)) : .null }
        let tolerance = comparison.tolerance
        let samples = comparison.samples.map { sample in
            MetadataValue.object([
                ("max_abs_diff", number(sample.maxAbsoluteError)),
                ("max_diff_over_max_ref", number(sample.maxScaledError)),
                ("ref_max_abs", number(sample.referenceMax)),
                ("ref_rms", number(sample.referenceRMS)),
                ("allowed", number(sample.allowed)),
                ("cosine", sample.cosineSimilarity.isFinite ? .double(sample.cosineSimilarity) : .null),
                ("top1_agrees", .bool(sample.top1Agrees)),
                ("top1_margin", number(sample.top1Margin)),
                ("top1_required", .bool(sample.top1Required)),
                ("top5_agrees", .bool(sample.top5Agrees)),
                ("top5_margin", number(sample.top5Margin)),
                ("top5_required", .bool(sample.top5Required)),
                ("first_violation", sample.firstViolation.map { .int($0) } ?? .null),
                ("passed", .bool(sample.passed)),
            ])
        }
        let document = MetadataValue.object([
            ("file", .string(file)),
            ("family", .string(family.rawValue)),
            ("reference", reference.map(MetadataValue.string) ?? .null),
            ("rule", .object([
                ("kind", .string(tolerance.rule.rawValue)),
                ("atol", .double(Double(tolerance.atol))),
                ("rtol", .double(Double(tolerance.rtol))),
                ("top_k", .bool(tolerance.requireTopK)),
                ("text", .string(tolerance.description)),
            ])),
            ("samples", .array(samples)),
            ("likely_cause", likelyCause.map(MetadataValue.string) ?? .null),
            ("verdict", .string(passed ? "verified" : "mismatch")),
        ])
        return document.jsonText
    }
}

/// What `weightconv verify` is asked to check.
public struct VerificationRequest: Sendable {
    public var path: String
    /// An `.npz` with `input` and `logits` to compare with instead of the file's own record.
    public var reference: String?
    /// Replace the rule's atol / rtol (the rule becomes ``Tolerance/Rule/sampleScale``).
    public var atol: Float?
    public var rtol: Float?
    /// How the network runs: the fast path (threads, kernel set) or the naive operators.
    public var mode: ExecutionMode

    public init(path: String, reference: String? = nil, atol: Float? = nil, rtol: Float? = nil,
                mode: ExecutionMode = .fast(threads: 2)) {
        self.path = path
        self.reference = reference
        self.atol = atol
        self.rtol = rtol
        self.mode = mode
    }
}

public enum Verifier {
    /// Checks the file's integrity (every tensor checksum), rebuilds its network and compares its logits on
    /// the stored reference input with the stored reference logits, to the stored tolerance.
    public static func run(path: String, mode: ExecutionMode = .fast(threads: 2)) throws -> VerificationReport {
        try run(VerificationRequest(path: path, mode: mode))
    }

    /// As ``run(path:mode:)``, against `request.reference` when given (a new input, a real photo,
    /// many samples; the file then needs no record of its own), with atol/rtol replaced when given.
    /// Throws for unusable input (damaged file, unreadable reference, another head); a mismatch is a
    /// report whose ``VerificationReport/passed`` is false.
    public static func run(_ request: VerificationRequest) throws -> VerificationReport {
        let path = request.path
        let file = try WeightFile(path: path)
        if let problem = file.verifyChecksums() {
            throw WeightconvError(file: path, problem: "\(problem)", hint: "the file is damaged; convert the checkpoint again")
        }
        let reference: ReferenceRecord
        var tolerance = Tolerance.float32
        if let referencePath = request.reference {
            reference = try ReferenceRecord(path: referencePath)
        } else {
            reference = try ReferenceRecord(file: file)
            if let record = file.document.verification { tolerance = try Self.tolerance(of: record, file: path) }
        }
        if request.atol != nil || request.rtol != nil { tolerance.rule = .sampleScale }
        if let atol = request.atol { tolerance.atol = atol }
        if let rtol = request.rtol { tolerance.rtol = rtol }
        guard tolerance.atol >= 0, tolerance.rtol >= 0, tolerance.atol.isFinite, tolerance.rtol.isFinite else {
            throw WeightconvError(file: path, problem: "atol \(tolerance.atol) and rtol \(tolerance.rtol) must be finite and not negative")
        }
        let loaded = try PretrainedNetwork(file: file, mode: request.mode)
        let (comparison, cause) = try compare(loaded.network, against: reference, tolerance: tolerance,
                                              file: request.reference ?? path)
        return VerificationReport(file: path, family: loaded.family, reference: request.reference,
                                  comparison: comparison, likelyCause: cause)
    }

    /// Runs `network` on the reference input and compares with its logits; on a mismatch, also names the
    /// likely cause (``MismatchDiagnosis``), running the network once more on the input's channels
    /// reversed to test a channel-order mix-up. `file` names the reference in errors.
    package static func compare(_ network: any Network, against reference: ReferenceRecord, tolerance: Tolerance,
                               file: String) throws -> (LogitComparison, likelyCause: String?) {
        let actual = try network(reference.input)
        let comparison: LogitComparison
        do {
            comparison = try LogitComparison(actual: actual.storage, reference: reference.logits.storage,
                                             classes: reference.classes, tolerance: tolerance)
        } catch {
            throw WeightconvError(file: file, reporting: error, hint: "the reference was made for another network or head")
        }
        guard !comparison.passed else { return (comparison, nil) }
        if let cause = MismatchDiagnosis.pattern(actual: actual.storage, reference: reference.logits.storage,
                                                 classes: reference.classes, tolerance: tolerance) {
            return (comparison, cause)
        }
        let reversed = try network(MismatchDiagnosis.reversingChannels(reference.input))
        if let swapped = try? LogitComparison(actual: reversed.storage, reference: reference.logits.storage,
                                              classes: reference.classes, tolerance: tolerance), swapped.passed {
            return (comparison, "with the input's channels reversed the logits match: an RGB/BGR channel-order mix-up "
                    + "between the reference input and the weights' preprocessing")
        }
        return (comparison, nil)
    }

    /// The rule a stored verification record names; records written before rules were named used the
    /// element-wise rule and still verify by it.
    package static func tolerance(of record: WeightFileDocument.VerificationRecord, file: String) throws -> Tolerance {
        let rule: Tolerance.Rule
        if let name = record.rule {
            guard let known = Tolerance.Rule(rawValue: name) else {
                throw WeightconvError(file: file, problem: "its verification record names the rule '\(name)', which this version does not know",
                                      hint: "one of \(Tolerance.Rule.allCases.map(\.rawValue).joined(separator: ", ")); a newer weightconv may know it")
            }
            rule = known
        } else {
            rule = .elementwise
        }
        return Tolerance(atol: Float(record.atol), rtol: Float(record.rtol), requireTopK: record.topK > 0, rule: rule)
    }
}
