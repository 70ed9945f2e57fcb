#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Naive {
    package static func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.shape == b.shape else {
            throw TensorError(operation: "add", problem: "shapes \(a.shape) and \(b.shape) differ",
                              hint: "a residual connection needs equal shapes")
        }
        return Tensor(uncheckedShape: a.shape, storage: zip(a.storage, b.storage).map { $0 + $1 })
    }

    /// `torch.cat(parts, dim=1)`.
    package static func concatChannels(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first else {
            throw TensorError(operation: "cat", problem: "nothing to concatenate", hint: "pass at least one tensor")
        }
        let (n, _, h, w) = try first.nchw("cat")
        var channels = 0
        for part in parts {
            let s = try part.nchw("cat")
            guard s.n == n, s.h == h, s.w == w else {
                throw TensorError(operation: "cat", problem: "shapes \(first.shape) and \(part.shape) differ outside dim 1",
                                  hint: "the branches of a unit must produce the same spatial size")
            }
            channels += s.c
        }
        var out = [Float]()
        out.reserveCapacity(n * channels * h * w)
        for b in 0..<n {
            for part in parts {
                let size = part.shape[1] * h * w
                out.append(contentsOf: part.storage[(b * size)..<((b + 1) * size)])
            }
        }
        return Tensor(uncheckedShape: [n, channels, h, w], storage: out)
    }

    /// `torch.softmax(x, dim=1)` on `[N, C]`, max-subtracted as PyTorch does; `log_softmax` when `log`
    /// (`x - max - log Σ exp(x - max)`, never the log of a rounded probability).
    package static func softmax(_ x: Tensor, log: Bool = false) throws -> Tensor {
        guard x.rank == 2 else {
            throw TensorError(operation: "softmax", problem: "expected [batch, classes], got \(x.shape)", hint: "flatten first")
        }
        let (n, c) = (x.shape[0], x.shape[1])
        var out = x.storage
        for b in 0..<n {
            let row = (b * c)..<((b + 1) * c)
            let peak = x.storage[row].max() ?? 0
            var total: Float = 0
            for i in row { total += _exp(out[i] - peak) }
            for i in row { out[i] = log ? out[i] - peak - _log(total) : _exp(out[i] - peak) / total }
        }
        return Tensor(uncheckedShape: x.shape, storage: out)
    }

    /// `torch.flatten(x, 1)`.
    package static func flatten(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 2 else {
            throw TensorError(operation: "flatten", problem: "cannot flatten shape \(x.shape) from dim 1", hint: "needs a batch dimension")
        }
        return Tensor(uncheckedShape: [x.shape[0], x.shape.dropFirst().reduce(1, *)], storage: x.storage)
    }
}

// The C library's float32 expf and logf.
@inline(__always) func _exp(_ v: Float) -> Float { expf(v) }
@inline(__always) func _log(_ v: Float) -> Float { logf(v) }

// MARK: - Fast path

enum FastElementwise {
    static func activation(_ input: SharedPointer, _ output: SharedPointer, count: Int, _ kind: Activation, workers: Workers) {
        workers.forEachChunk(count) { _, range in
            activate(input[range.lowerBound], output[range.lowerBound], count: range.count, kind)
        }
    }

    /// `output[i] = kind.apply(input[i])`, eight at a time; NaN passes through as in PyTorch (a NaN
    /// lane compares false, so it is never replaced).
    @inline(__always)
    static func activate(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
                         _ kind: Activation) {
        if kind == .identity {
            if input != output { output.update(from: input, count: count) }
            return
        }
        let zero = SIMD8<Float>(repeating: 0), six = SIMD8<Float>(repeating: 6)
        var i = 0
        while i &+ 8 <= count {
            var v = UnsafeRawPointer(input + i).loadUnaligned(as: SIMD8<Float>.self)
            v.replace(with: zero, where: v .< zero)
            if kind == .relu6 { v.replace(with: six, where: v .> six) }
            UnsafeMutableRawPointer(output + i).storeBytes(of: v, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            output[i] = kind.apply(input[i])
            i &+= 1
        }
    }

    static func add(_ a: SharedPointer, _ b: SharedPointer, _ output: SharedPointer, count: Int, _ kind: Activation, workers: Workers) {
        workers.forEachChunk(count) { _, range in
            for i in range { output.base[i] = kind.apply(a.base[i] + b.base[i]) }
        }
    }

    /// Channel concatenation, each part's planes copied in order and activated; the output is cut
    /// into one contiguous run per share.
    static func concat(_ parts: [(SharedPointer, [Int])], _ output: SharedPointer, _ outShape: [Int], _ kind: Activation,
                       workers: Workers) {
        let n = outShape[0]
        // Output runs: (source, offset in the output, floats), one per (image, part).
        var runs: [(SharedPointer, Int, Int)] = []
        var offset = 0
        for image in 0..<n {
            for (pointer, shape) in parts {
                let size = shape[1...].reduce(1, *)
                runs.append((SharedPointer(pointer[image * size]), offset, size))
                offset += size
            }
        }
        let table = runs
        workers.forEachChunk(offset) { _, range in
            for (source, start, size) in table where start < range.upperBound && start + size > range.lowerBound {
                let from = max(start, range.lowerBound), to = min(start + size, range.upperBound)
                activate(source[from - start], output[from], count: to - from, kind)
            }
        }
    }

    static func softmax(_ input: SharedPointer, _ output: SharedPointer, rows: Int, columns: Int, log: Bool) {
        for r in 0..<rows {
            let x = input[r * columns], y = output[r * columns]
            var peak = -Float.infinity
            for i in 0..<columns where x[i] > peak { peak = x[i] }
            var total: Float = 0
            for i in 0..<columns { total += _exp(x[i] - peak) }
            let logTotal = _log(total)
            for i in 0..<columns { y[i] = log ? x[i] - peak - logTotal : _exp(x[i] - peak) / total }
        }
    }
}
