/// What a tensor is, without its data: the name it is stored under, its element type and its shape.
public struct TensorDescriptor: Sendable, Hashable, Codable {
    /// The full key, dotted as in a PyTorch `state_dict` (`features.0.0.weight`).
    public var name: String
    public var dtype: DType
    /// Dimensions, outermost first; `[]` for a 0-dim (scalar) tensor.
    public var shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// Number of elements; `nil` when the shape's product overflows (a descriptor built from an
    /// unchecked file can hold such a shape; readers refuse it before they construct one).
    public var elementCount: Int? { CheckedMath.product(shape) }

    /// Bytes of the contiguous data, or `nil` on overflow.
    public var byteCount: Int? { elementCount.flatMap { CheckedMath.multiply($0, dtype.byteSize) } }

    /// `[64, 3, 7, 7]`-style spelling for messages and tables.
    public var shapeDescription: String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
