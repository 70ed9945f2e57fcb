import ArgumentParser
import WeightconvKit

// The library's choices as command-line values: ArgumentParser parses them, refuses any other value
// naming it and the accepted ones, and `--help` and the completion scripts list the values from the
// types themselves.

/// A family by the name files use (`mobilenet_v2`).
extension NetworkFamily: ExpressibleByArgument {}

/// `--kernels`: a kernel set by its name (`portable`, `avx2`, `avx512`).
extension KernelSet: ExpressibleByArgument {}

/// `--precision fp32|bf16`.
extension Precision: ExpressibleByArgument {
    /// Refuses a precision this machine does not run, before anything runs: one line and exit 1
    /// (not a usage error: the command line is right, the machine lacks the instructions).
    func requireAvailable() throws {
        guard isAvailable else {
            throw WeightconvError(file: "--precision \(rawValue)", problem: "not available on this machine", hint: requirement)
        }
    }
}

/// `import --arch`: a family, or `auto` to recognise the family from the tensor names.
enum ArchitectureChoice: ExpressibleByArgument {
    case auto
    case family(NetworkFamily)

    init?(argument: String) {
        if argument == "auto" {
            self = .auto
        } else if let family = NetworkFamily(argument: argument) {
            self = .family(family)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { ["auto"] + NetworkFamily.allValueStrings }

    /// The family asked for, or `nil` to recognise it.
    var family: NetworkFamily? {
        if case .family(let family) = self { return family }
        return nil
    }
}

/// `import --dtype`: a floating-point type to store tensors as, by its short name or PyTorch's
/// (`float32`, `float16`/`half`, `bfloat16`), in any case. No other dtype is a storage choice.
extension DType: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "f32", "float32": self = .f32
        case "f16", "float16", "half": self = .f16
        case "bf16", "bfloat16": self = .bf16
        default: return nil
        }
    }

    public static var allValueStrings: [String] { [DType.f32, .f16, .bf16].map(\.rawValue) }
}
