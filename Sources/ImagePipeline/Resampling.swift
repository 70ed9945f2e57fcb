import ImageDecoding
import WeightconvCore

/// Resizing 8-bit RGB images with the arithmetic of the library a network's training pipeline used,
/// so the bytes match that library's, not merely look alike.
public enum Resampling {
    /// Pillow's `Image.resize` filters (what torchvision's `Resize` and timm call on PIL images).
    public enum PillowFilter: String, Sendable, CaseIterable {
        case bilinear
        case bicubic

        /// Half-width of the filter at scale 1, in source pixels.
        var support: Double {
            switch self {
            case .bilinear: return 1
            case .bicubic: return 2
            }
        }

        func weight(_ t: Double) -> Double {
            let x = t < 0 ? -t : t
            switch self {
            case .bilinear:
                return x < 1 ? 1 - x : 0
            case .bicubic:
                // Keys' cubic convolution with a = -0.5, evaluated in the order Pillow writes it
                // (the last bit of a weight can change the rounded fixed-point coefficient).
                let a = -0.5
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            }
        }
    }

    /// `image` resized to `width` × `height` exactly as Pillow 13 does for mode RGB: a separable
    /// convolution (horizontal pass, then vertical, or the reverse as below), the filter's support widened by the reduction
    /// factor when shrinking (antialiasing), weights normalised in double precision and rounded to
    /// 22-bit fixed point, sums of `pixel × weight` in integers, rounded and clamped to 0…255 after
    /// each pass.
    public static func pillow(_ image: RGBImage, width: Int, height: Int, filter: PillowFilter) throws(WeightconvError) -> RGBImage {
        try checkTarget(image, width: width, height: height)
        // Each pass rounds to bytes, so the order changes results. Pillow 13 runs the vertical pass
        // first when the height loses more than twice as many rows as the width loses columns
        // (python-pillow/Pillow#9549; measured boundary: first on 100×100 → w×10 at w = 56).
        // Torchvision's aspect-preserving resizes reach it only for images over twice as tall as wide.
        let verticalFirst = height < image.height && image.height - height > 2 * (image.width - width)
        var current = image
        func horizontal() {
            guard width != current.width else { return }
            current = horizontalPass(current, width: width, taps: pillowTaps(inputSize: current.width, outputSize: width, filter: filter))
        }
        func vertical() {
            guard height != current.height else { return }
            current = verticalPass(current, height: height, taps: pillowTaps(inputSize: current.height, outputSize: height, filter: filter))
        }
        if verticalFirst {
            vertical()
            horizontal()
        } else {
            horizontal()
            vertical()
        }
        return current
    }

    /// `image` resized to `width` × `height` as OpenCV's `cv2.resize(…, interpolation=INTER_LINEAR)`
    /// does for 8-bit images: source positions `(d + 0.5) · scale − 0.5` in single precision, weights
    /// rounded to 11-bit fixed point, an exact integer horizontal pass, and a vertical pass that drops
    /// the low 4 bits of each row sum and keeps the high 16 bits of each product before rounding (the
    /// arithmetic of OpenCV's `VResizeLinear` for `uchar`). An exact halving in both directions is an
    /// average of 2×2 blocks, as OpenCV switches to `INTER_AREA` there.
    public static func openCVLinear(_ image: RGBImage, width: Int, height: Int) throws(WeightconvError) -> RGBImage {
        try checkTarget(image, width: width, height: height)
        if width == image.width && height == image.height { return image }
        if image.width == 2 * width && image.height == 2 * height { return halveByArea(image) }
        let columns = openCVTaps(inputSize: image.width, outputSize: width, vertical: false)
        let rows = openCVTaps(inputSize: image.height, outputSize: height, vertical: true)
        let inWidth = image.width
        var output = [UInt8](repeating: 0, count: width * height * 3)
        // One row of horizontal sums (pixel × 2048-scaled weights) per source row, cached for the
        // two destination rows that usually share it.
        var cache: [Int: [Int32]] = [:]
        func horizontal(_ y: Int) -> [Int32] {
            if let row = cache[y] { return row }
            var row = [Int32](repeating: 0, count: width * 3)
            image.pixels.withUnsafeBufferPointer { source in
                let base = y * inWidth * 3
                for x in 0..<width {
                    let tap = columns[x]
                    for c in 0..<3 {
                        let a = Int32(source[base + tap.first * 3 + c]) * Int32(tap.weights.0)
                        let b = Int32(source[base + tap.second * 3 + c]) * Int32(tap.weights.1)
                        row[x * 3 + c] = a + b
                    }
                }
            }
            if cache.count > 4 { cache.removeAll(keepingCapacity: true) }
            cache[y] = row
            return row
        }
        for y in 0..<height {
            let tap = rows[y]
            let upper = horizontal(tap.first), lower = horizontal(tap.second)
            let b0 = Int32(tap.weights.0), b1 = Int32(tap.weights.1)
            for i in 0..<(width * 3) {
                let value = (((b0 * (upper[i] >> 4)) >> 16) + ((b1 * (lower[i] >> 4)) >> 16) + 2) >> 2
                output[y * width * 3 + i] = UInt8(clamping: value)
            }
        }
        return RGBImage(width: width, height: height, pixels: output)
    }

    // MARK: - Pillow

    /// For each output position: the first source index and the 22-bit fixed-point weights.
    struct Taps {
        var start: [Int]
        var weights: [[Int32]]
    }

    static let pillowPrecisionBits = 22

    static func pillowTaps(inputSize: Int, outputSize: Int, filter: PillowFilter) -> Taps {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let inverse = 1 / filterScale
        var starts: [Int] = [], weights: [[Int32]] = []
        starts.reserveCapacity(outputSize)
        weights.reserveCapacity(outputSize)
        for out in 0..<outputSize {
            let center = (Double(out) + 0.5) * scale
            // Truncation toward zero, as C's (int) cast: both bounds are rounded, then clamped.
            let first = max(Int(center - support + 0.5), 0)
            let end = min(Int(center + support + 0.5), inputSize)
            var raw: [Double] = []
            var total = 0.0
            for x in first..<max(end, first) {
                let w = filter.weight((Double(x) - center + 0.5) * inverse)
                raw.append(w)
                total += w
            }
            let unit = Double(1 << pillowPrecisionBits)
            weights.append(raw.map { w in
                let k = total != 0 ? w / total : w
                return Int32(k < 0 ? -0.5 + k * unit : 0.5 + k * unit)
            })
            starts.append(first)
        }
        return Taps(start: starts, weights: weights)
    }

    /// Pillow's rounding: add half, shift, clamp to a byte.
    @inline(__always)
    static func pillowByte(_ sum: Int) -> UInt8 {
        UInt8(clamping: sum >> pillowPrecisionBits)
    }

    static func horizontalPass(_ image: RGBImage, width: Int, taps: Taps) -> RGBImage {
        let height = image.height, inWidth = image.width
        var output = [UInt8](repeating: 0, count: width * height * 3)
        let half = 1 << (pillowPrecisionBits - 1)
        image.pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let row = y * inWidth * 3
                    for x in 0..<width {
                        let start = taps.start[x]
                        let weights = taps.weights[x]
                        var s0 = half, s1 = half, s2 = half
                        for (k, w) in weights.enumerated() {
                            let p = row + (start + k) * 3
                            let weight = Int(w)
                            s0 += Int(source[p]) * weight
                            s1 += Int(source[p + 1]) * weight
                            s2 += Int(source[p + 2]) * weight
                        }
                        let o = (y * width + x) * 3
                        target[o] = pillowByte(s0)
                        target[o + 1] = pillowByte(s1)
                        target[o + 2] = pillowByte(s2)
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: output)
    }

    static func verticalPass(_ image: RGBImage, height: Int, taps: Taps) -> RGBImage {
        let width = image.width
        let rowBytes = width * 3
        var output = [UInt8](repeating: 0, count: rowBytes * height)
        let half = 1 << (pillowPrecisionBits - 1)
        image.pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                var sums = [Int](repeating: 0, count: rowBytes)
                for y in 0..<height {
                    for i in 0..<rowBytes { sums[i] = half }
                    for (k, w) in taps.weights[y].enumerated() {
                        let row = (taps.start[y] + k) * rowBytes
                        let weight = Int(w)
                        for i in 0..<rowBytes { sums[i] += Int(source[row + i]) * weight }
                    }
                    for i in 0..<rowBytes { target[y * rowBytes + i] = pillowByte(sums[i]) }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: output)
    }

    // MARK: - OpenCV

    /// Two source indices and their 2048-scaled weights for one output position.
    struct LinearTap {
        var first: Int
        var second: Int
        var weights: (Int16, Int16)
    }

    static let openCVCoefficientScale: Float = 2048

    /// Past the edges OpenCV treats the axes differently: a column index is clamped together with
    /// its weight (the edge pixel alone, at full weight), a row only by index (the edge row twice,
    /// with both weights, each product truncated on its own in the vertical pass).
    static func openCVTaps(inputSize: Int, outputSize: Int, vertical: Bool) -> [LinearTap] {
        // OpenCV keeps the inverse of the double ratio, then computes each position in double and
        // rounds it to float before taking the floor.
        let inverseScale = Double(outputSize) / Double(inputSize)
        let scale = 1 / inverseScale
        return (0..<outputSize).map { out in
            var position = Float((Double(out) + 0.5) * scale - 0.5)
            var index = Int(position.rounded(.down))
            position -= Float(index)
            if vertical {
                let w0 = openCVShort((1 - position) * openCVCoefficientScale)
                let w1 = openCVShort(position * openCVCoefficientScale)
                return LinearTap(first: min(max(index, 0), inputSize - 1), second: min(max(index + 1, 0), inputSize - 1),
                                 weights: (w0, w1))
            }
            if index < 0 { index = 0; position = 0 }
            if index >= inputSize - 1 { index = inputSize - 1; position = 0 }
            let w0 = openCVShort((1 - position) * openCVCoefficientScale)
            let w1 = openCVShort(position * openCVCoefficientScale)
            return LinearTap(first: index, second: min(index + 1, inputSize - 1), weights: (w0, w1))
        }
    }

    /// `saturate_cast<short>(float)`: round half to even, clamp.
    static func openCVShort(_ value: Float) -> Int16 {
        Int16(clamping: Int(value.rounded(.toNearestOrEven)))
    }

    /// OpenCV's `INTER_AREA` for an exact halving: each output byte is the rounded mean of a 2×2 block.
    static func halveByArea(_ image: RGBImage) -> RGBImage {
        let width = image.width / 2, height = image.height / 2
        let inRow = image.width * 3
        var output = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let p = 2 * y * inRow + 2 * x * 3 + c
                    let sum = Int(image.pixels[p]) + Int(image.pixels[p + 3]) + Int(image.pixels[p + inRow])
                        + Int(image.pixels[p + inRow + 3])
                    output[(y * width + x) * 3 + c] = UInt8((sum + 2) >> 2)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: output)
    }

    static func checkTarget(_ image: RGBImage, width: Int, height: Int) throws(WeightconvError) {
        guard image.width > 0, image.height > 0 else {
            throw WeightconvError(file: "image", problem: "has no pixels (\(image.width)x\(image.height))",
                                  hint: "give an image at least one pixel wide and high")
        }
        guard width > 0, height > 0, let _ = CheckedMath.product([width, height, 3]) else {
            throw WeightconvError(file: "image", problem: "cannot be resized to \(width)x\(height)",
                                  hint: "the target size must be positive")
        }
    }
}
