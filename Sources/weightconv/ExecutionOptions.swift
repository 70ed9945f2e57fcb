import ArgumentParser
import WeightconvKit

/// How `verify`, `bench` and `import` run a network: the fast path on `--threads` threads with the
/// `--kernels` set (every set can be measured and checked on one machine: a machine with AVX-512 runs
/// the AVX2 kernels too), or the naive operators. One group, so that the three commands spell the
/// choice alike and hand the library one ``ExecutionMode``.
struct ExecutionOptions: ParsableArguments {
    @Option(help: "Threads for the forward pass (the fast path).")
    var threads = 2

    @Option(help: ArgumentHelp("The kernels of the fast path: portable (Swift only), avx2 or avx512 (default: the widest this CPU runs; a set the CPU lacks falls back to the widest narrower one).",
                               valueName: "set"))
    var kernels: KernelSet?

    @Option(help: ArgumentHelp("The arithmetic of the fast path's GEMM convolutions (1×1 and unfolded): fp32, or bf16 (bfloat16 weights and inputs, float32 sums; opt-in, faster where the CPU has AVX512_BF16, and less accurate: see the README; import refuses bf16, as it checks at float32).",
                               valueName: "precision"))
    var precision: Precision = .float32

    @Flag(name: .customLong("naive-operators"),
          help: "Run the naive operators (plain loops, obviously correct, one thread) instead of the fast path.")
    var naiveOperators = false

    /// Older spellings, kept so that scripts keep working: `--kernels portable` and `--naive-operators`.
    @Flag(help: .hidden)
    var portableKernels = false
    @Flag(name: .customLong("reference-operators"), help: .hidden)
    var referenceOperators = false

    var naive: Bool { naiveOperators || referenceOperators }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if portableKernels, let kernels, kernels != .portable {
            throw ValidationError("--portable-kernels and --kernels \(kernels.rawValue) disagree; give one")
        }
        if naive, kernels != nil || portableKernels {
            throw ValidationError("--kernels chooses the fast path's kernels; leave it out with --naive-operators")
        }
        if naive, precision != .float32 {
            throw ValidationError("--precision \(precision.rawValue) is for the fast path; the naive operators are float32")
        }
    }

    /// The one value the library takes (the executor still falls back where the CPU lacks the set).
    var mode: ExecutionMode {
        naive ? .naive : .fast(threads: threads, kernels: kernels ?? (portableKernels ? .portable : .best), precision: precision)
    }
}
