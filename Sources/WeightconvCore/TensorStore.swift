import Foundation

/// Anything that holds named tensors: a PyTorch checkpoint, a native `.wcv` file, a safetensors file.
///
/// `inspect`, the generic conversion and the import pipeline see every source through this one
/// protocol, so a conversion can be proved lossless by comparing the same listing on both sides.
public protocol TensorStore {
    /// The file the tensors come from, for error messages.
    var path: String { get }
    /// Every tensor, in the store's canonical order.
    var tensors: [TensorDescriptor] { get }
    /// Non-tensor content (a checkpoint's epochs and strings, a weight file's user metadata).
    var metadata: MetadataValue { get }
    /// Calls `body` with the tensor's contiguous, little-endian bytes in its stored dtype
    /// (`descriptor.byteCount` bytes). The buffer is valid only during the call.
    func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    /// Calls `body` with the same bytes in order, in pieces of at most `pieceSize` bytes. A store
    /// that maps its file may drop each piece's pages once `body` returns, so that a pass over a
    /// large tensor keeps about one piece resident rather than the whole tensor.
    func forEachPiece(of name: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws
    /// The descriptor of the tensor `name`, if there is one. The default searches `tensors`; stores
    /// that index their tensors by name answer directly (an import asks once per tensor).
    func descriptor(named name: String) -> TensorDescriptor?
}

extension TensorStore {
    public func forEachPiece(of name: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withContiguousBytes(of: name) { try Self.pieces(of: $0, size: pieceSize, body) }
    }

    /// `buffer` cut into consecutive pieces of at most `size` bytes (one empty piece for an empty buffer).
    package static func pieces(of buffer: UnsafeRawBufferPointer, size: Int,
                              _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let size = max(size, 1)
        guard buffer.count > size else { return try body(buffer) }
        var start = 0
        while start < buffer.count {
            let end = min(start + size, buffer.count)
            try body(UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
            start = end
        }
    }

    public func descriptor(named name: String) -> TensorDescriptor? {
        tensors.first { $0.name == name }
    }

    /// The tensor widened (or narrowed, for F64) to `Float`.
    public func floats(of name: String) throws -> [Float] {
        guard let descriptor = descriptor(named: name) else {
            throw WeightconvError(file: path, problem: "no tensor named '\(name)'")
        }
        return try withContiguousBytes(of: name) { try FloatConversion.floats(from: $0, dtype: descriptor.dtype, file: path) }
    }

    /// Lowercase hex SHA-256 of the tensor's contiguous little-endian bytes (the `inspect --json` contract).
    public func sha256(of name: String) throws -> String {
        try withContiguousBytes(of: name) { SHA256Hex.digest($0) }
    }
}
