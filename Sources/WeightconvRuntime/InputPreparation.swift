import TensorEngine
import WeightconvCore
import WeightFormat

extension WeightFileDocument.Preprocessing {
    /// Interleaved 8-bit RGB pixels (row-major, `[height][width][3]`, what image decoders give) as
    /// the `[1, 3, height, width]` input these weights expect: channels reordered (BGR for Megvii's
    /// ShuffleNet), divided by `pixelScale`, then normalised by `mean` and `std`.
    ///
    /// Resizing and cropping to `inputSize` are the caller's: they depend on the image library.
    public func input(rgb pixels: [UInt8], width: Int, height: Int) throws -> Tensor {
        guard width > 0, height > 0, let count = CheckedMath.product([width, height, 3]), pixels.count == count else {
            throw WeightconvError(file: "input image", problem: "\(pixels.count) bytes for a \(width)x\(height) RGB image",
                                  hint: "pass width × height × 3 interleaved RGB bytes")
        }
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 != 0 }) else {
            throw WeightconvError(file: "preprocessing", problem: "mean \(mean) and std \(std) are not three channels",
                                  hint: "the weight file's preprocessing record is incomplete")
        }
        let plane = width * height
        var values = [Float](repeating: 0, count: 3 * plane)
        // Output channel c takes input channel order[c].
        let order = channelOrder == "BGR" ? [2, 1, 0] : [0, 1, 2]
        for c in 0..<3 {
            let scale = Float(1 / (pixelScale * std[c]))
            let shift = Float(mean[c] / std[c])
            let source = order[c]
            for i in 0..<plane {
                values[c * plane + i] = Float(pixels[i * 3 + source]) * scale - shift
            }
        }
        return try Tensor(shape: [1, 3, height, width], storage: values)
    }
}
