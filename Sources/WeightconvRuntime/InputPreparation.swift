import ImageDecoding
import ImagePipeline
import TensorEngine
import WeightconvCore
import WeightFormat

extension WeightFileDocument.Preprocessing {
    /// Interleaved 8-bit RGB pixels (row-major, `[height][width][3]`, what image decoders give) as
    /// the `[1, 3, height, width]` input these weights expect: channels reordered (BGR for Megvii's
    /// ShuffleNet), divided by `pixelScale`, then normalised by `mean` and `std`, in float32 as
    /// torchvision's ToTensor and Normalize compute it.
    ///
    /// The pixels are used as they are; ``input(contentsOf:orientation:)`` also resizes and crops as
    /// the weights' pipeline did.
    public func input(rgb pixels: [UInt8], width: Int, height: Int) throws -> Tensor {
        guard width > 0, height > 0, let count = CheckedMath.product([width, height, 3]), pixels.count == count else {
            throw WeightconvError(file: "input image", problem: "\(pixels.count) bytes for a \(width)x\(height) RGB image",
                                  hint: "pass width × height × 3 interleaved RGB bytes")
        }
        let recipe = ImagePreprocessing(resize: nil, cropHeight: height, cropWidth: width,
                                        channelOrder: channelOrder, pixelScale: Float(pixelScale),
                                        mean: mean.map { Float($0) }, std: std.map { Float($0) })
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 != 0 }) else {
            throw WeightconvError(file: "preprocessing", problem: "mean \(mean) and std \(std) are not three channels",
                                  hint: "the weight file's preprocessing record is incomplete")
        }
        let values = recipe.normalised(RGBImage(width: width, height: height, pixels: pixels))
        return try Tensor(shape: [1, 3, height, width], storage: values)
    }
}
