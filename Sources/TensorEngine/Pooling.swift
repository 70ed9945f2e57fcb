import CKernels
/// A max or average pooling window, with PyTorch's `ceil_mode` and `count_include_pad`.
package struct PoolParameters: Sendable, Hashable, Codable {
    package var kernel: Size2
    package var stride: Size2
    package var padding: Size2
    /// Max pooling only; average pooling has no dilation in PyTorch.
    package var dilation: Size2
    package var ceilMode: Bool
    /// Average pooling only: whether padded positions count in the divisor (PyTorch's default: yes).
    package var countIncludePad: Bool

    package init(kernel: Size2, stride: Size2, padding: Size2 = Size2(0), dilation: Size2 = Size2(1),
                ceilMode: Bool = false, countIncludePad: Bool = true) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }

    /// The output shape for an NCHW `input`, as PyTorch's `pooling_output_shape` computes it: with
    /// `ceil_mode` the last window may hang over the end, but it must start inside the input or the
    /// left padding.
    package func outputShape(for input: [Int], operation: String) throws -> [Int] {
        guard input.count == 4 else {
            throw TensorError(operation: operation, problem: "expected an NCHW input, got shape \(input)",
                              hint: "feature maps are [batch, channels, height, width]")
        }
        guard kernel.h >= 1, kernel.w >= 1, stride.h >= 1, stride.w >= 1, dilation.h >= 1, dilation.w >= 1,
              padding.h >= 0, padding.w >= 0,
              padding.h <= (dilation.h * (kernel.h - 1) + 1) / 2, padding.w <= (dilation.w * (kernel.w - 1) + 1) / 2 else {
            throw TensorError(operation: operation, problem: "kernel \(kernel.h)x\(kernel.w) with padding \(padding.h)x\(padding.w) is invalid",
                              hint: "PyTorch requires padding of at most half the kernel")
        }
        func size(_ i: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int? {
            let numerator = i + 2 * p - d * (k - 1) - 1 + (ceilMode ? s - 1 : 0)
            guard numerator >= 0 else { return nil }
            var out = numerator / s + 1
            if ceilMode && (out - 1) * s >= i + p { out -= 1 }
            return out >= 1 ? out : nil
        }
        guard let oh = size(input[2], kernel.h, stride.h, padding.h, dilation.h),
              let ow = size(input[3], kernel.w, stride.w, padding.w, dilation.w) else {
            throw TensorError(operation: operation, problem: "a \(input[2])x\(input[3]) input is smaller than the \(kernel.h)x\(kernel.w) window",
                              hint: "use a larger input image")
        }
        return [input[0], input[1], oh, ow]
    }
}

extension Naive {
    /// `nn.MaxPool2d`: padded positions never win; NaN propagates.
    package static func maxPool2d(_ x: Tensor, _ p: PoolParameters) throws -> Tensor {
        let outShape = try p.outputShape(for: x.shape, operation: "max_pool2d")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        var out = [Float](repeating: 0, count: n * c * oh * ow)
        for plane in 0..<(n * c) {
            for y in 0..<oh {
                for xo in 0..<ow {
                    var best = -Float.infinity
                    for ky in 0..<p.kernel.h {
                        let iy = y * p.stride.h - p.padding.h + ky * p.dilation.h
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<p.kernel.w {
                            let ix = xo * p.stride.w - p.padding.w + kx * p.dilation.w
                            if ix < 0 || ix >= w { continue }
                            let v = x.storage[(plane * h + iy) * w + ix]
                            if v > best || v.isNaN { best = v }
                        }
                    }
                    out[(plane * oh + y) * ow + xo] = best
                }
            }
        }
        return Tensor(uncheckedShape: outShape, storage: out)
    }

    /// `nn.AvgPool2d`: the window is clipped to input-plus-padding for the divisor when
    /// `countIncludePad`, and to the input alone otherwise.
    package static func avgPool2d(_ x: Tensor, _ p: PoolParameters) throws -> Tensor {
        let outShape = try p.outputShape(for: x.shape, operation: "avg_pool2d")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        var out = [Float](repeating: 0, count: n * c * oh * ow)
        for plane in 0..<(n * c) {
            for y in 0..<oh {
                for xo in 0..<ow {
                    var y0 = y * p.stride.h - p.padding.h, x0 = xo * p.stride.w - p.padding.w
                    var y1 = min(y0 + p.kernel.h, h + p.padding.h), x1 = min(x0 + p.kernel.w, w + p.padding.w)
                    let paddedArea = (y1 - y0) * (x1 - x0)
                    y0 = max(y0, 0); x0 = max(x0, 0); y1 = min(y1, h); x1 = min(x1, w)
                    var sum: Float = 0
                    for iy in y0..<max(y1, y0) {
                        for ix in x0..<max(x1, x0) { sum += x.storage[(plane * h + iy) * w + ix] }
                    }
                    let divisor = p.countIncludePad ? paddedArea : (y1 - y0) * (x1 - x0)
                    out[(plane * oh + y) * ow + xo] = divisor > 0 ? sum / Float(divisor) : 0
                }
            }
        }
        return Tensor(uncheckedShape: outShape, storage: out)
    }

    /// `nn.AdaptiveAvgPool2d(output)`: window `i` spans `[floor(i·H/O), ceil((i+1)·H/O))`.
    package static func adaptiveAvgPool2d(_ x: Tensor, output: Size2) throws -> Tensor {
        let (n, c, h, w) = try x.nchw("adaptive_avg_pool2d")
        guard output.h >= 1, output.w >= 1, h >= 1, w >= 1 else {
            throw TensorError(operation: "adaptive_avg_pool2d", problem: "cannot pool \(h)x\(w) to \(output.h)x\(output.w)",
                              hint: "sizes must be positive")
        }
        var out = [Float](repeating: 0, count: n * c * output.h * output.w)
        for plane in 0..<(n * c) {
            for y in 0..<output.h {
                let y0 = y * h / output.h, y1 = ((y + 1) * h + output.h - 1) / output.h
                for xo in 0..<output.w {
                    let x0 = xo * w / output.w, x1 = ((xo + 1) * w + output.w - 1) / output.w
                    var sum: Float = 0
                    for iy in y0..<y1 { for ix in x0..<x1 { sum += x.storage[(plane * h + iy) * w + ix] } }
                    out[(plane * output.h + y) * output.w + xo] = sum / Float((y1 - y0) * (x1 - x0))
                }
            }
        }
        return Tensor(uncheckedShape: [n, c, output.h, output.w], storage: out)
    }
}

// MARK: - Fast path

/// Pooling over raw buffers, planes split across workers. The interior windows (those that never
/// touch padding) skip the bounds checks.
enum FastPooling {
    /// Max pooling as a vertical pass (the max of the window's rows, into a row padded with −∞) and
    /// a horizontal pass over that row, both branch-free. NaN propagates as in PyTorch.
    static func maxPool(_ input: SharedPointer, _ inShape: [Int], _ output: SharedPointer, _ outShape: [Int],
                        _ p: PoolParameters, kernels: KernelSet, workers: Workers) {
        let (h, w, oh, ow) = (inShape[2], inShape[3], outShape[2], outShape[3])
        #if arch(x86_64)
        if let vector = kernels.vector, p.kernel == Size2(3), p.dilation == Size2(1), p.stride.h == p.stride.w, p.stride.w <= 2 {
            return pool3x3(vector, input, inShape, output, outShape, p, kind: Int32(WC_POOL_MAX), workers: workers)
        }
        #endif
        // With ceil_mode the last window may reach past the right padding.
        let rowWidth = max(w + 2 * p.padding.w, (ow - 1) * p.stride.w + (p.kernel.w - 1) * p.dilation.w + 1)
        workers.forEachChunk(inShape[0] * inShape[1]) { _, planes in
            var rowBuffer = [Float](repeating: -.infinity, count: rowWidth + 16)
            rowBuffer.withUnsafeMutableBufferPointer { buffer in
                guard let row = buffer.baseAddress else { return }
                let inner = row + p.padding.w
                for plane in planes {
                    let source = input[plane * h * w], destination = output[plane * oh * ow]
                    for y in 0..<oh {
                        let y0 = y * p.stride.h - p.padding.h
                        var first = true
                        for ky in 0..<p.kernel.h {
                            let iy = y0 + ky * p.dilation.h
                            if iy < 0 || iy >= h { continue }
                            let line = source + iy * w
                            if first {
                                inner.update(from: line, count: w)
                                first = false
                            } else {
                                largerInPlace(inner, line, count: w)
                            }
                        }
                        if first { inner.update(repeating: -.infinity, count: w) }
                        let out = destination + y * ow
                        var x = 0
                        if p.dilation.w == 1, p.stride.w <= 2 {
                            // Eight outputs at a time; stride 2 loads sixteen inputs per tap and keeps the
                            // even lanes (the row has room for the odd lanes read past its end).
                            let raw = UnsafeRawPointer(row)
                            while x &+ 8 <= ow {
                                var best = window(raw, x: x, tap: 0, stride: p.stride.w)
                                for kx in 1..<max(p.kernel.w, 1) {
                                    let next = window(raw, x: x, tap: kx, stride: p.stride.w)
                                    best.replace(with: next, where: (next .> best) .| (next .!= next))
                                }
                                UnsafeMutableRawPointer(out + x).storeBytes(of: best, as: SIMD8<Float>.self)
                                x &+= 8
                            }
                        }
                        for x in x..<ow {
                            let start = row + x * p.stride.w
                            var best = start[0]
                            for kx in 1..<max(p.kernel.w, 1) { best = larger(best, start[kx * p.dilation.w]) }
                            out[x] = best
                        }
                    }
                }
            }
        }
    }

    #if arch(x86_64)
    /// The AVX-512 or AVX2 3×3 kernel over runs of whole planes, one per share.
    private static func pool3x3(_ vector: VectorKernels, _ input: SharedPointer, _ inShape: [Int], _ output: SharedPointer, _ outShape: [Int],
                                _ p: PoolParameters, kind: Int32, workers: Workers) {
        let (h, w, oh, ow) = (inShape[2], inShape[3], outShape[2], outShape[3])
        workers.forEachChunk(inShape[0] * inShape[1]) { _, planes in
            for plane in planes {
                vector.pool3x3(input[plane * h * w], h, w, output[plane * oh * ow], oh, ow, p.stride.w,
                               p.padding.h, p.padding.w, kind)
            }
        }
    }
    #endif

    /// Inputs `x·stride + tap … (x + 7)·stride + tap` of a padded row, as a vector.
    @inline(__always)
    static func window(_ row: UnsafeRawPointer, x: Int, tap: Int, stride: Int) -> SIMD8<Float> {
        if stride == 1 { return row.loadUnaligned(fromByteOffset: (x &+ tap) &* 4, as: SIMD8<Float>.self) }
        return row.loadUnaligned(fromByteOffset: (2 &* x &+ tap) &* 4, as: SIMD16<Float>.self).evenHalf
    }

    /// `row[i] = larger(row[i], line[i])`, eight at a time.
    @inline(__always)
    static func largerInPlace(_ row: UnsafeMutablePointer<Float>, _ line: UnsafeMutablePointer<Float>, count: Int) {
        var x = 0
        while x &+ 8 <= count {
            var a = UnsafeRawPointer(row + x).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(line + x).loadUnaligned(as: SIMD8<Float>.self)
            a.replace(with: b, where: (b .> a) .| (b .!= b))
            UnsafeMutableRawPointer(row + x).storeBytes(of: a, as: SIMD8<Float>.self)
            x &+= 8
        }
        while x < count {
            row[x] = larger(row[x], line[x])
            x += 1
        }
    }

    /// `max(a, b)` that returns NaN if either is NaN.
    @inline(__always)
    static func larger(_ a: Float, _ b: Float) -> Float { (b > a || b.isNaN) ? b : a }

    /// Average pooling as max pooling is done: the sum of the window's rows into a zero-padded row,
    /// then sums of `kernel.w` neighbours along it, eight outputs at a time. The divisor factors
    /// into a row part and a column part (PyTorch clips the window to input-plus-padding, or with
    /// `countIncludePad == false` to the input, separately in each direction), so it is computed
    /// once per row and column; the sum is divided, not multiplied by a reciprocal, as PyTorch does.
    static func avgPool(_ input: SharedPointer, _ inShape: [Int], _ output: SharedPointer, _ outShape: [Int],
                        _ p: PoolParameters, kernels: KernelSet, workers: Workers) {
        let (h, w, oh, ow) = (inShape[2], inShape[3], outShape[2], outShape[3])
        // The AVX-512 kernel divides every window by 9: right when padded positions count and no
        // window reaches past the padding (ceil_mode can make the last one do so).
        #if arch(x86_64)
        if let vector = kernels.vector, p.kernel == Size2(3), p.stride.h == p.stride.w, p.stride.w <= 2,
           p.countIncludePad || p.padding == Size2(0),
           (oh - 1) * p.stride.h + 3 <= h + 2 * p.padding.h, (ow - 1) * p.stride.w + 3 <= w + 2 * p.padding.w {
            return pool3x3(vector, input, inShape, output, outShape, p, kind: Int32(WC_POOL_AVERAGE), workers: workers)
        }
        #endif
        // Window extent along one axis: positions counted in the divisor, and the input rows or columns summed.
        func extent(_ o: Int, stride: Int, padding: Int, kernel: Int, size: Int) -> (divisor: Int, range: Range<Int>) {
            let start = o * stride - padding
            let end = min(start + kernel, size + padding)
            let inside = max(start, 0)..<max(min(end, size), max(start, 0))
            return (p.countIncludePad ? end - start : inside.count, inside)
        }
        let rowExtents = (0..<oh).map { extent($0, stride: p.stride.h, padding: p.padding.h, kernel: p.kernel.h, size: h) }
        let columnDivisors = (0..<ow).map { extent($0, stride: p.stride.w, padding: p.padding.w, kernel: p.kernel.w, size: w).divisor }
        // An empty window (possible only in ceil_mode corners) sums to zero: divide it by 1.
        let divisors: [Float] = rowExtents.flatMap { row in columnDivisors.map { Float(max(row.divisor * $0, 1)) } } + Array(repeating: 1, count: 8)
        let rowWidth = max(w + 2 * p.padding.w, (ow - 1) * p.stride.w + p.kernel.w)
        let vectorized = p.stride.w <= 2
        workers.forEachChunk(inShape[0] * inShape[1]) { _, planes in
            var rowBuffer = [Float](repeating: 0, count: rowWidth + 16)
            rowBuffer.withUnsafeMutableBufferPointer { buffer in
                divisors.withUnsafeBufferPointer { divisorBuffer in
                    guard let row = buffer.baseAddress, let divisorTable = divisorBuffer.baseAddress else { return }
                    let inner = row + p.padding.w
                    for plane in planes {
                        let source = input[plane * h * w]
                        for y in 0..<oh {
                            let rows = rowExtents[y].range
                            let out = output[plane * oh * ow] + y * ow, divisor = divisorTable + y * ow
                            if rows.isEmpty {
                                inner.update(repeating: 0, count: w)
                            } else {
                                inner.update(from: source + rows.lowerBound * w, count: w)
                                for iy in rows.dropFirst() { addInPlace(inner, source + iy * w, count: w) }
                            }
                            var x = 0
                            if vectorized {
                                let raw = UnsafeRawPointer(row)
                                while x &+ 8 <= ow {
                                    var sum = window(raw, x: x, tap: 0, stride: p.stride.w)
                                    for kx in 1..<max(p.kernel.w, 1) { sum += window(raw, x: x, tap: kx, stride: p.stride.w) }
                                    let d = UnsafeRawPointer(divisor + x).loadUnaligned(as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(out + x).storeBytes(of: sum / d, as: SIMD8<Float>.self)
                                    x &+= 8
                                }
                            }
                            for x in x..<ow {
                                let start = row + x * p.stride.w
                                var sum = start[0]
                                for kx in 1..<max(p.kernel.w, 1) { sum += start[kx] }
                                out[x] = sum / divisor[x]
                            }
                        }
                    }
                }
            }
        }
    }

    /// `row[i] += line[i]`, eight at a time.
    @inline(__always)
    static func addInPlace(_ row: UnsafeMutablePointer<Float>, _ line: UnsafeMutablePointer<Float>, count: Int) {
        var x = 0
        while x &+ 8 <= count {
            let a = UnsafeRawPointer(row + x).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(line + x).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(row + x).storeBytes(of: a + b, as: SIMD8<Float>.self)
            x &+= 8
        }
        while x < count {
            row[x] += line[x]
            x += 1
        }
    }

    /// Mean of every plane: `[N, C, H, W]` → `[N, C]`.
    static func globalAverage(_ input: SharedPointer, _ inShape: [Int], _ output: SharedPointer, workers: Workers) {
        let plane = inShape[2] * inShape[3]
        let scale = 1 / Float(plane)
        workers.forEachChunk(inShape[0] * inShape[1]) { _, planes in
            for index in planes {
                let source = input[index * plane]
                var sum: Float = 0
                for i in 0..<plane { sum += source[i] }
                output.base[index] = sum * scale
            }
        }
    }
}
