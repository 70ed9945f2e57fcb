import ArgumentParser
import WeightconvKit

extension KernelSet: ExpressibleByArgument {}

/// `--kernels SET` (and its older spelling `--portable-kernels`) for the commands that run the fast
/// path, so that every set can be measured and checked on one machine: a machine with AVX-512 runs
/// the AVX2 kernels too.
struct KernelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The kernels of the fast path: portable (Swift only), avx2 or avx512 (default: the widest this CPU runs; a set the CPU lacks falls back to the widest narrower one).",
                               valueName: "set"))
    var kernels: KernelSet?

    @Flag(help: "Only the portable Swift kernels (same as --kernels portable).")
    var portableKernels = false

    func validate() throws {
        if portableKernels, let kernels, kernels != .portable {
            throw ValidationError("--portable-kernels and --kernels \(kernels.rawValue) disagree; give one")
        }
    }

    /// The set asked for (the executor still falls back where the CPU lacks it).
    var chosen: KernelSet { kernels ?? (portableKernels ? .portable : .best) }
}
