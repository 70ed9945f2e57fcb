import Foundation
import Networks
import WeightconvCore
import WeightFormat

/// A checkpoint's model tensors under the canonical names the Swift networks ask for.
///
/// Built from a recognised layout: each file key is renamed by the layout's rules, the layout's
/// repairs fix the shapes old files stored, and reading a tensor by its canonical name reads the
/// original one. It records which names the network asked for, so that a tensor nobody asked for
/// (a sign of a wrong layout) is reported instead of silently dropped.
package final class CanonicalWeights: @unchecked Sendable {
    /// One canonical tensor and where it comes from.
    package struct Entry: Sendable, Hashable {
        /// The key in the file, wrapper prefix included (`state_dict.module.features.0.0.weight`).
        package var source: String
        package var dtype: DType
        /// The shape the network sees, after repairs.
        package var shape: [Int]
        /// The shape in the file, when a repair changed it.
        package var storedShape: [Int]?
    }

    /// Buffers the networks do not need: their absence or presence changes nothing.
    static func isIgnorable(_ canonical: String) -> Bool {
        canonical.hasSuffix(".num_batches_tracked") || canonical == "num_batches_tracked"
    }

    // `TensorStore` readers only read an immutable mapping after opening, so concurrent reads are safe;
    // the protocol itself does not promise `Sendable`.
    package let store: any TensorStore
    package let recognized: RecognizedLayout
    /// Canonical name → entry, and the canonical names in file order.
    package let entries: [String: Entry]
    package let order: [String]
    /// The dtype floating-point tensors will be stored as, when it differs from the source's: values
    /// are read as they will be stored, so a network built from these weights computes what the
    /// written file will compute.
    package let storedType: DType?
    // NSLock rather than Synchronization.Mutex, which needs macOS 15.
    private let lock = NSLock()
    private var requested: Set<String> = []

    /// Maps `store`'s keys through `recognized`.
    ///
    /// Throws when two file keys become one canonical name or a repair does not fit a tensor's rank.
    package init(store: any TensorStore, recognized: RecognizedLayout, storedType: DType? = nil) throws {
        self.store = store
        self.recognized = recognized
        self.storedType = storedType
        var byName: [String: TensorDescriptor] = [:]
        for descriptor in store.tensors { byName[descriptor.name] = descriptor }
        var entries: [String: Entry] = [:]
        var order: [String] = []
        for (source, canonical) in recognized.keys {
            // Non-tensor values (an epoch number under the same prefix) are not weights.
            guard let descriptor = byName[source] else { continue }
            if let previous = entries[canonical] {
                throw WeightconvError(
                    file: store.path,
                    problem: "'\(previous.source)' and '\(source)' both map to '\(canonical)' under layout \(recognized.profile.name)",
                    hint: "the file holds two copies of the model; pass --layout or re-save one state_dict")
            }
            // Repairs add unit dimensions only, so the stored bytes serve the repaired shape as they are.
            let shape = recognized.profile.repairedShape(canonicalKey: canonical, shape: descriptor.shape)
            entries[canonical] = Entry(source: source, dtype: descriptor.dtype, shape: shape,
                                       storedShape: shape == descriptor.shape ? nil : descriptor.shape)
            order.append(canonical)
        }
        self.entries = entries
        self.order = order
    }

    /// Canonical name → shape, what configuration inference reads.
    package var shapes: [String: [Int]] { entries.mapValues(\.shape) }

    /// The shape of a canonical tensor, or `nil`. A query only: asking whether a tensor exists
    /// (a network checking that a layer has no bias) does not count as using it.
    package func shape(of canonical: String) -> [Int]? {
        entries[canonical]?.shape
    }

    /// Records that the network uses `canonical`, so ``unused`` leaves it out. ``floats(of:)`` does
    /// this itself; a reader that takes only the shape (a structure check) calls it.
    package func markUsed(_ canonical: String) {
        lock.withLock { _ = requested.insert(canonical) }
    }

    /// The tensor's values widened to `Float`, shaped as `shape(of:)` says; reading them marks the
    /// tensor used.
    package func floats(of canonical: String) throws -> [Float] {
        guard let entry = entries[canonical] else {
            throw WeightconvError(file: store.path, problem: "no tensor maps to '\(canonical)'",
                                  hint: "the layout \(recognized.profile.name) does not provide it")
        }
        markUsed(canonical)
        let values = try store.floats(of: entry.source)
        guard let storedType, entry.dtype.isFloatingPoint, storedType != entry.dtype else { return values }
        // Round exactly as the writer will (same encoder), then widen as a reader of the file will.
        let stored = DTypeConversion.encode(values, as: storedType)
        return try stored.withUnsafeBytes { try FloatConversion.floats(from: $0, dtype: storedType, file: store.path) }
    }

    /// Canonical names the network never used (``markUsed(_:)``), in file order, without ignorable buffers.
    package var unused: [String] {
        let asked = lock.withLock { requested }
        return order.filter { !asked.contains($0) && !Self.isIgnorable($0) }
    }
}

/// What a network is built from: the tensors under the canonical names.
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
