import Foundation
import WeightconvCore

/// A PyTorch checkpoint opened without executing anything: the tensor listing and metadata come
/// from the pickle at open; tensor bytes are read from the file only when asked for.
///
/// Open one with `Checkpoint.open(path:)`, which accepts both torch.save formats and bare pickles.
/// Reads may run concurrently: the mapping is immutable and the one cached inflated storage is
/// guarded by a lock.
package final class Checkpoint: TensorStore, @unchecked Sendable {
    /// Where a storage's bytes are.
    enum StorageLocation {
        /// A byte range of the mapped file (zip STORED entries, legacy storages).
        case mapped(offset: Int, count: Int)
        /// A compressed zip entry, inflated by libzip when read.
        case zipEntry(ZipArchive.Entry)

        var count: Int {
            switch self {
            case .mapped(_, let count): count
            case .zipEntry(let entry): entry.size
            }
        }
    }

    package let path: String
    package let kind: FileKind
    package let tensors: [TensorDescriptor]
    package let metadata: MetadataValue
    /// The class of a whole pickled model (`torch.save(model)`), whose state_dict was recovered
    /// from its modules' `_parameters` and `_buffers` without calling the class.
    package let modelClass: String?
    /// Whether storages were written big-endian (zip `byteorder` record); reads swap them.
    package let isBigEndian: Bool

    let file: MappedFile
    let archive: ZipArchive?
    let references: [String: TensorReference]
    let locations: [String: StorageLocation]
    /// When set, a mapped storage's pages leave the resident set after each read (for one pass over
    /// every tensor, as `inspect` does); leave it off when the same tensors are read repeatedly.
    package var releasesPagesAfterRead = false
    private var inflated: (key: String, bytes: [UInt8])?
    private let inflatedLock = NSLock()

    init(path: String, kind: FileKind, contents: CheckpointContents, locations: [String: StorageLocation],
         file: MappedFile, archive: ZipArchive?, isBigEndian: Bool) throws(WeightconvError) {
        self.path = path
        self.kind = kind
        self.file = file
        self.archive = archive
        self.isBigEndian = isBigEndian
        self.locations = locations
        metadata = contents.metadata
        modelClass = contents.modelClass
        var references: [String: TensorReference] = [:]
        var descriptors: [TensorDescriptor] = []
        // A materialised view may be larger than its storage (zero strides); bound what a file can
        // make a read allocate.
        let materialisedLimit = (CheckedMath.multiply(file.count, 4) ?? Int.max) &+ (1 << 20)
        for named in contents.tensors {
            let tensor = named.tensor
            guard let location = locations[tensor.storage.key] else {
                throw WeightconvError(file: path, problem: "tensor '\(named.name)' uses storage '\(tensor.storage.key)', which is not in the file",
                                      hint: "the file is damaged or was assembled by hand")
            }
            let needed = max(tensor.requiredStorageBytes, tensor.storage.byteCount &+ tensor.storage.viewByteOffset)
            guard location.count >= needed else {
                throw WeightconvError(file: path, problem: "storage '\(tensor.storage.key)' holds \(location.count) bytes but tensor '\(named.name)' needs \(needed)",
                                      hint: "the file is truncated or damaged")
            }
            let bytes = tensor.elementCount * tensor.dtype.byteSize  // checked in TensorReference.make
            guard bytes <= materialisedLimit || tensor.isContiguous else {
                throw WeightconvError(file: path, problem: "tensor '\(named.name)' expands to \(bytes) bytes from a \(file.count)-byte file",
                                      hint: "a view with zero strides this large is not a real checkpoint")
            }
            references[named.name] = tensor
            descriptors.append(TensorDescriptor(name: named.name, dtype: tensor.dtype, shape: tensor.shape))
        }
        self.references = references
        tensors = descriptors
    }

    package func descriptor(named name: String) -> TensorDescriptor? {
        references[name].map { TensorDescriptor(name: name, dtype: $0.dtype, shape: $0.shape) }
    }

    /// The storage a tensor's bytes live in, so tied weights (several names, one storage) can be
    /// recognised and stored once.
    package func storageKey(of name: String) -> String? { references[name]?.storage.identity }

    /// Groups of tensor names that share a storage, in tensor order (only groups of two or more).
    package var sharedStorageGroups: [[String]] {
        var groups: [String: [String]] = [:]
        var order: [String] = []
        for descriptor in tensors {
            guard let key = references[descriptor.name]?.storage.identity else { continue }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(descriptor.name)
        }
        return order.compactMap { groups[$0] }.filter { $0.count > 1 }
    }

    package func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let tensor = references[name] else {
            throw WeightconvError(file: path, problem: "no tensor named '\(name)'")
        }
        let size = tensor.dtype.byteSize
        let byteCount = tensor.elementCount * size
        if byteCount == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let start = tensor.storage.viewByteOffset + tensor.storageOffset * size  // within requiredStorageBytes, checked
        let swap = isBigEndian && size > 1
        return try withStorage(tensor.storage.key) { storage in
            if tensor.isContiguous && !swap {
                return try body(UnsafeRawBufferPointer(rebasing: storage[start..<(start + byteCount)]))
            }
            var out = [UInt8](repeating: 0, count: byteCount)
            out.withUnsafeMutableBytes { Strided.gather(from: storage, start: start, shape: tensor.shape, strides: tensor.strides, elementSize: size, into: $0) }
            if swap { out.withUnsafeMutableBytes { swapByteOrder($0, elementSize: size) } }
            return try out.withUnsafeBytes { try body($0) }
        }
    }

    /// With ``releasesPagesAfterRead`` set, each piece read straight from the map has its whole
    /// pages dropped after `body` returns (pieces of a gathered, swapped or inflated copy are not
    /// in the map and are left alone): converting the largest tensor then keeps one piece of it
    /// resident, not all of it.
    package func forEachPiece(of name: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withContiguousBytes(of: name) { whole in
            try Self.pieces(of: whole, size: pieceSize) { piece in
                try body(piece)
                if releasesPagesAfterRead { file.releasePages(of: piece) }
            }
        }
    }

    private func withStorage<R>(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let location = locations[key] else {
            throw WeightconvError(file: path, problem: "storage '\(key)' is not in the file")
        }
        switch location {
        case .mapped(let offset, let count):
            guard let bytes = file.slice(offset: offset, count: count) else {
                throw WeightconvError(file: path, problem: "storage '\(key)' lies outside the file")
            }
            defer { if releasesPagesAfterRead { file.releasePages(offset: offset, count: count) } }
            return try body(bytes)
        case .zipEntry(let entry):
            // Only the most recent inflated storage is kept, so memory stays near one storage.
            let bytes = try inflatedLock.withLock { () throws -> [UInt8] in
                if let cached = inflated, cached.key == key { return cached.bytes }
                guard let archive else { throw WeightconvError(file: path, problem: "storage '\(key)' is in a zip entry but no archive is open") }
                inflated = nil
                let bytes = try archive.read(entry, limit: entry.size)
                inflated = (key, bytes)
                return bytes
            }
            return try bytes.withUnsafeBytes { try body($0) }
        }
    }
}

/// Copying strided views into row-major order.
enum Strided {
    /// Copies the view (`shape`, `strides` in elements, starting at byte `start`) row-major into `out`.
    /// The caller has checked that every element lies inside `source`.
    static func gather(from source: UnsafeRawBufferPointer, start: Int, shape: [Int], strides: [Int], elementSize: Int,
                       into out: UnsafeMutableRawBufferPointer) {
        guard let from = source.baseAddress, let to = out.baseAddress else { return }
        if shape.isEmpty {
            to.copyMemory(from: from + start, byteCount: elementSize)
            return
        }
        let rank = shape.count
        let inner = shape[rank - 1]
        let innerStride = strides[rank - 1] * elementSize
        var index = [Int](repeating: 0, count: rank - 1)
        var written = 0
        while true {
            var offset = start
            for axis in 0..<(rank - 1) { offset += index[axis] * strides[axis] * elementSize }
            if innerStride == elementSize {
                (to + written).copyMemory(from: from + offset, byteCount: inner * elementSize)
                written += inner * elementSize
            } else {
                for i in 0..<inner {
                    (to + written).copyMemory(from: from + offset + i * innerStride, byteCount: elementSize)
                    written += elementSize
                }
            }
            // Odometer over the outer axes.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { return }
        }
    }
}
