import Foundation
import Networks
import TensorEngine
import WeightconvCore
import WeightFormat

/// A converted network ready to run: `let logits = try PretrainedNetwork(contentsOf: "xception.wcv")(images)`.
///
/// The file says everything needed: architecture, configuration and the preprocessing its weights
/// expect. Inputs are NCHW float32 images already preprocessed (see ``preprocessing``).
///
/// ## Concurrent use
///
/// A `PretrainedNetwork` is `Sendable` and may be shared by any number of tasks or threads. Each
/// call runs the whole forward pass on the network's own worker threads (`threads` of them); calls
/// that arrive while one runs wait for it, so concurrent callers each get exactly the logits a
/// serial call would give, one pass after another. To run passes side by side, open the file once
/// per concurrent stream (each then holds its own folded weights, about the file's size for a
/// Float32 file), or pass several images as one batch.
public struct PretrainedNetwork: Sendable {
    /// The family's configuration, as the file records it.
    package let configuration: NetworkConfiguration
    /// How inputs must be prepared, when the source layout recorded it.
    public let preprocessing: WeightFileDocument.Preprocessing?
    /// Class names in class-index order, when the file records them.
    public let labels: [String]?
    /// The built network.
    package let network: any Network

    /// Opens a `.wcv` file (header validated; tensor checksums are `weightconv check`'s job) and builds its network.
    public init(contentsOf path: String, threads: Int = 2) throws {
        try self.init(file: WeightFile(path: path), mode: .fast(threads: threads))
    }

    /// Builds the network of an opened file, to run in `mode` (the fast path with a number of threads,
    /// or the slow naive operators).
    public init(file: WeightFile, mode: ExecutionMode) throws {
        guard let architecture = file.document.architecture else {
            throw WeightconvError(file: file.path, problem: "records no architecture",
                                  hint: "it was written by a generic import; import it with --arch to run it")
        }
        guard mode.precision.isAvailable else {
            throw WeightconvError(file: file.path, problem: "\(mode.precision.rawValue) precision is not available on this machine",
                                  hint: mode.precision.requirement)
        }
        configuration = try ConfigurationCoding.configuration(architecture, file: file.path)
        preprocessing = file.document.preprocessing
        labels = file.document.labels
        do {
            network = try configuration.build(WeightSource(StoreWeightProvider(file)), mode: mode)
        } catch {
            throw WeightconvError(file: file.path, reporting: error, hint: "the file's tensors do not fit its configuration")
        }
    }

    /// The network family the file records.
    public var family: NetworkFamily { configuration.family }

    /// The number of outputs (classes) the network produces.
    public var classes: Int { configuration.classes }

    /// The side of the square input the weights were trained at, when the file records no
    /// preprocessing (299 for Xception, 224 for the other families).
    public var defaultInputSize: Int { configuration.defaultInputSize }

    /// Logits `[N, classes]` for preprocessed images `[N, 3, H, W]`.
    public func callAsFunction(_ images: Tensor) throws -> Tensor { try network(images) }
}
