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
    public var family: String
    public var comparison: LogitComparison
    public var passed: Bool { comparison.passed }
}

public enum Verifier {
    /// Checks the file's integrity (every tensor checksum), rebuilds its network and compares its logits on
    /// the stored reference input with the stored reference logits, to the stored tolerance.
    public static func run(path: String, threads: Int = 2, mode: ExecutionMode? = nil) throws -> VerificationReport {
        let file = try WeightFile(path: path)
        if let problem = file.verifyChecksums() {
            throw WeightconvError(file: path, problem: "\(problem)", hint: "the file is damaged; convert the checkpoint again")
        }
        let reference = try ReferenceRecord(file: file)
        let loaded = try PretrainedNetwork(file: file, mode: mode ?? .fast(threads: threads))
        let actual = try loaded(reference.input)
        guard let record = file.document.verification else {
            throw WeightconvError(file: path, problem: "has no verification record")
        }
        let tolerance = Tolerance(atol: Float(record.atol), rtol: Float(record.rtol), requireTopK: record.topK > 0)
        let comparison: LogitComparison
        do {
            comparison = try LogitComparison(actual: actual.storage, reference: reference.logits.storage,
                                             classes: reference.classes, tolerance: tolerance)
        } catch {
            throw WeightconvError(file: path, problem: "\(error)")
        }
        return VerificationReport(file: path, family: loaded.family, comparison: comparison)
    }
}

/// A converted network ready to run: `let logits = try PretrainedNetwork(contentsOf: "xception.wcv")(images)`.
///
/// The file says everything needed: architecture, configuration and the preprocessing its weights
/// expect. Inputs are NCHW float32 images already preprocessed (see ``preprocessing``).
public struct PretrainedNetwork: Sendable {
    public let family: String
    public let configuration: NetworkConfiguration
    /// How inputs must be prepared, when the source layout recorded it.
    public let preprocessing: WeightFileDocument.Preprocessing?
    public let network: any Network

    /// Opens a `.wcv` file (header validated; tensor checksums are `weightconv check`'s job) and builds its network.
    public init(contentsOf path: String, threads: Int = 2) throws {
        try self.init(file: WeightFile(path: path), mode: .fast(threads: threads))
    }

    public init(file: WeightFile, mode: ExecutionMode) throws {
        guard let architecture = file.document.architecture else {
            throw WeightconvError(file: file.path, problem: "records no architecture",
                                  hint: "it was written by a generic import; import it with --arch to run it")
        }
        family = architecture.family
        configuration = try ConfigurationCoding.configuration(family: architecture.family, architecture.config, file: file.path)
        preprocessing = file.document.preprocessing
        do {
            network = try configuration.build(WeightSource(StoreWeightProvider(file)), mode: mode)
        } catch {
            throw WeightconvError(file: file.path, problem: "\(error)", hint: "the file's tensors do not fit its configuration")
        }
    }

    /// Logits `[N, classes]` for preprocessed images `[N, 3, H, W]`.
    public func callAsFunction(_ images: Tensor) throws -> Tensor { try network(images) }
}
