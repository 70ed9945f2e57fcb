import Networks
import WeightconvCore

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
