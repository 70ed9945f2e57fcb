import CKernels

/// The kernels a ``FastExecutor`` runs where there is a choice.
///
/// The Swift code is compiled for baseline x86-64 (SSE2), which every machine runs; the C kernels in
/// `CKernels` are compiled for AVX-512 and used only when the CPU has it. Tests run both sets
/// against the reference operators.
public enum KernelSet: Sendable, Hashable {
    /// The portable Swift kernels only.
    case portable
    /// The AVX-512 kernels where they exist (3×3 depthwise and grouped convolution, 3×3 max and
    /// average pooling, the GEMM tiles' epilogue), else the portable ones.
    case avx512

    /// The widest set this CPU runs.
    public static let best: KernelSet = wc_has_avx512() ? .avx512 : .portable

    /// This set where the CPU runs it, else the portable kernels: asking for AVX-512 on a processor
    /// without it (or off x86-64, where those kernels are not compiled) must not fault.
    public var runnable: KernelSet { self == .avx512 && KernelSet.best != .avx512 ? .portable : self }
}

extension Activation {
    /// The code `CKernels` uses for this activation.
    var code: Int32 {
        switch self {
        case .identity: Int32(WC_IDENTITY)
        case .relu: Int32(WC_RELU)
        case .relu6: Int32(WC_RELU6)
        }
    }
}
