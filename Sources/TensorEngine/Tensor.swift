/// A dense NCHW (or NC, or any rank) float32 tensor with contiguous row-major storage.
///
/// Storage is a Swift array, so moving a tensor is a reference-count bump and copies happen only
/// when a shared buffer is written.
public struct Tensor: Sendable, Equatable {
    /// Dimensions, outermost first (`[batch, channels, height, width]` for feature maps).
    public private(set) var shape: [Int]
    /// Row-major elements; `storage.count == shape.reduce(1, *)`.
    public var storage: [Float]

    /// Wraps `storage` after checking that it holds exactly one element per position of `shape`.
    public init(shape: [Int], storage: [Float]) throws {
        guard let count = Tensor.elementCount(shape) else {
            throw TensorError(operation: "tensor", problem: "shape \(shape) is negative or overflows",
                              hint: "dimensions must be non-negative and their product must fit in Int")
        }
        guard count == storage.count else {
            throw TensorError(operation: "tensor",
                              problem: "shape \(shape) needs \(count) elements but \(storage.count) were given",
                              hint: "the data and the shape come from different tensors")
        }
        self.shape = shape
        self.storage = storage
    }

    /// A tensor filled with `value`. The shape comes from code, never from a file.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.storage = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// Wraps storage whose size the caller has already established.
    init(uncheckedShape shape: [Int], storage: [Float]) {
        self.shape = shape
        self.storage = storage
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// The product of `shape`, or `nil` for a negative dimension or on overflow.
    static func elementCount(_ shape: [Int]) -> Int? {
        var result = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = result.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            result = product
        }
        return result
    }

    /// The same elements viewed with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard Tensor.elementCount(newShape) == count else {
            throw TensorError(operation: "reshape", problem: "cannot view \(shape) as \(newShape)",
                              hint: "the element counts differ")
        }
        return Tensor(uncheckedShape: newShape, storage: storage)
    }

    /// `[N, C, H, W]` unpacked, or an error naming `operation` when the tensor is not rank 4.
    func nchw(_ operation: String) throws -> (n: Int, c: Int, h: Int, w: Int) {
        guard shape.count == 4 else {
            throw TensorError(operation: operation, problem: "expected an NCHW tensor, got shape \(shape)",
                              hint: "feature maps are [batch, channels, height, width]")
        }
        return (shape[0], shape[1], shape[2], shape[3])
    }
}

/// A tensor operation that cannot run on the shapes it was given: which operation, what is wrong,
/// and what to do about it, on one line.
public struct TensorError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var problem: String
    public var hint: String

    public init(operation: String, problem: String, hint: String) {
        self.operation = operation
        self.problem = problem
        self.hint = hint
    }

    public var description: String { "\(operation): \(problem) (\(hint))" }
}

/// A height/width pair: strides, paddings, dilations and kernel sizes of 2-D operators.
public struct Size2: Sendable, Hashable, Codable {
    public var h: Int
    public var w: Int
    public init(_ h: Int, _ w: Int) { self.h = h; self.w = w }
    public init(_ both: Int) { self.h = both; self.w = both }
}
