import Foundation
import Networks
import TensorEngine
import WeightconvCore
import WeightFormat

extension CanonicalWeights: WeightProvider {}

extension CanonicalWeights: TensorStore {
    package var path: String { store.path }

    /// Canonical names with the shapes the network sees, in file order.
    package var tensors: [TensorDescriptor] { order.compactMap(descriptor(named:)) }

    package var metadata: MetadataValue { store.metadata }

    package func descriptor(named name: String) -> TensorDescriptor? {
        entries[name].map { TensorDescriptor(name: name, dtype: $0.dtype, shape: $0.shape) }
    }

    /// The original tensor's bytes: repairs only add unit dimensions, so they are the same bytes.
    package func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try store.withContiguousBytes(of: source(of: name), body)
    }

    package func forEachPiece(of name: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try store.forEachPiece(of: source(of: name), pieceSize: pieceSize, body)
    }

    /// The source tensor a canonical name maps to.
    private func source(of name: String) throws -> String {
        guard let entry = entries[name] else {
            throw WeightconvError(file: store.path, problem: "no tensor maps to '\(name)'")
        }
        return entry.source
    }
}

extension Preprocessing {
    /// The header's preprocessing entry.
    var document: WeightFileDocument.Preprocessing {
        .init(inputSize: [3] + inputSize, mean: mean.map(Double.init), std: std.map(Double.init),
              channelOrder: channelOrder.rawValue, pixelScale: Double(pixelScale),
              interpolation: interpolation, cropRatio: cropRatio, resizeSize: resizeSize, resizeMethod: resizeMethod)
    }
}

/// The canonical weights' shapes, with storage that is allocated but never written or read: what
/// checking a network's structure needs, without bringing a 100 MB checkpoint into memory.
///
/// Only for networks that are built and thrown away unrun. Large allocations come from fresh zero
/// pages that stay untouched, so they cost address space, not memory.
struct ShapeOnlyProvider: WeightProvider, @unchecked Sendable {
    let weights: CanonicalWeights

    init(_ weights: CanonicalWeights) { self.weights = weights }

    func shape(of key: String) -> [Int]? { weights.shape(of: key) }

    func floats(of key: String) throws -> [Float] {
        guard let shape = weights.shape(of: key), let count = CheckedMath.product(shape) else {
            throw WeightconvError(file: weights.path, problem: "no tensor maps to '\(key)'")
        }
        // Small tensors (batch-norm statistics) are read at build time, so they get real values.
        if count < 4096 { return try weights.floats(of: key) }
        weights.markUsed(key)
        return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}
