/// The element types a tensor can have, named as PyTorch names them.
///
/// The raw value is the short spelling used on the command line, in JSON output and in the
/// native weight file (`f32`, `bf16`, …).
public enum DType: String, Sendable, CaseIterable, Codable {
    case f64, f32, f16, bf16, i64, i32, i16, i8, u8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }

    /// PyTorch's name, as `str(tensor.dtype)` prints it (`torch.float32`).
    public var torchName: String {
        switch self {
        case .f64: "torch.float64"
        case .f32: "torch.float32"
        case .f16: "torch.float16"
        case .bf16: "torch.bfloat16"
        case .i64: "torch.int64"
        case .i32: "torch.int32"
        case .i16: "torch.int16"
        case .i8: "torch.int8"
        case .u8: "torch.uint8"
        case .bool: "torch.bool"
        }
    }

    /// The safetensors spelling (`F32`, `BF16`, `BOOL`, …).
    public var safetensorsName: String {
        switch self {
        case .f64: "F64"
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .i64: "I64"
        case .i32: "I32"
        case .i16: "I16"
        case .i8: "I8"
        case .u8: "U8"
        case .bool: "BOOL"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }

    /// Whether the type is a floating-point type that can be widened to `Float` for compute.
    public var isFloatingPoint: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16: true
        default: false
        }
    }
}
