/// The element-wise nonlinearities the four families use.
package enum Activation: String, Sendable, Hashable, Codable {
    case identity
    case relu
    /// `min(max(x, 0), 6)`, MobileNetV2's activation.
    case relu6

    /// PyTorch propagates NaN through `relu` (`clamp_min`) and `hardtanh`; so does this.
    @inline(__always)
    package func apply(_ v: Float) -> Float {
        switch self {
        case .identity: v
        case .relu: v.isNaN ? v : (v < 0 ? 0 : v)
        case .relu6: v.isNaN ? v : (v < 0 ? 0 : (v > 6 ? 6 : v))
        }
    }
}

extension Naive {
    package static func activation(_ x: Tensor, _ kind: Activation) -> Tensor {
        Tensor(uncheckedShape: x.shape, storage: x.storage.map { kind.apply($0) })
    }
}
