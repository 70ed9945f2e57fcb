import ImageDecoding
import WeightconvCore

/// One network's evaluation transform, step for step as the Python pipeline its weights were
/// trained and evaluated with: resize the shorter side, centre crop, channel order, scale, normalise.
///
/// Recipes for the layouts weightconv reads (torchvision's eval transform, timm's from a model's
/// pretrained configuration, Cadene's `TransformImage`, Megvii's `OpencvResize`) are data in the
/// layout files and the `.wcv` header; this type carries one out.
public struct ImagePreprocessing: Sendable, Equatable {
    /// How the shorter side is brought to a size before the crop.
    public enum Resize: Sendable, Equatable {
        /// torchvision's `Resize(size)` on a PIL image (also timm's and Cadene's): the shorter side
        /// becomes `shorterSide`, the longer `floor(shorterSide × long / short)`, resampled by Pillow.
        case torchvision(shorterSide: Int, filter: Resampling.PillowFilter)
        /// Megvii ShuffleNet-Series' `OpencvResize(size)`: the longer side becomes
        /// `int(size / short × long + 0.5)` (double precision), resampled by `cv2.resize` with
        /// `INTER_LINEAR`.
        case openCV(shorterSide: Int)
    }

    /// `nil`: the image is only cropped (or padded) to the input size.
    public var resize: Resize?
    /// The network's input: centre crop `[height, width]`.
    public var cropHeight: Int
    public var cropWidth: Int
    public var channelOrder: ChannelOrder
    /// Bytes are divided by this before normalising: 255 for 0–1 inputs, 1 for 0–255 inputs.
    public var pixelScale: Float
    public var mean: [Float]
    public var std: [Float]

    public init(resize: Resize?, cropHeight: Int, cropWidth: Int, channelOrder: ChannelOrder = .rgb,
                pixelScale: Float = 255, mean: [Float], std: [Float]) {
        self.resize = resize
        self.cropHeight = cropHeight
        self.cropWidth = cropWidth
        self.channelOrder = channelOrder
        self.pixelScale = pixelScale
        self.mean = mean
        self.std = std
    }

    /// The size `resize` gives an image of `width` × `height`.
    public static func resizedSize(width: Int, height: Int, resize: Resize) -> (width: Int, height: Int) {
        switch resize {
        case .torchvision(let side, _):
            // Integer division is Python's int(side * long / short): the exact quotient is never
            // within a float's rounding of the next integer for image-sized numbers.
            if width <= height { return (side, side * height / width) }
            return (side * width / height, side)
        case .openCV(let side):
            if height < width { return (Int(Double(side) / Double(height) * Double(width) + 0.5), side) }
            return (side, Int(Double(side) / Double(width) * Double(height) + 0.5))
        }
    }

    /// The image resized and centre-cropped: the bytes the reference pipeline holds just before
    /// `ToTensor` (before any channel reordering).
    public func cropped(_ image: RGBImage) throws(WeightconvError) -> RGBImage {
        try check()
        var current = image
        if let resize {
            // Bounded: the longer side grows by at most shorterSide / 1 per pixel of the shorter.
            let size = Self.resizedSize(width: image.width, height: image.height, resize: resize)
            guard size.width > 0, size.height > 0, let pixels = CheckedMath.product([size.width, size.height]),
                  pixels <= Self.maximumResizedPixels else {
                throw WeightconvError(file: "image", problem: "\(image.width)x\(image.height) would resize to \(size.width)x\(size.height)",
                                      hint: "the aspect ratio is too extreme for this network's preprocessing (at most \(Self.maximumResizedPixels) pixels after resizing)")
            }
            switch resize {
            case .torchvision(_, let filter):
                current = try Resampling.pillow(current, width: size.width, height: size.height, filter: filter)
            case .openCV:
                current = try Resampling.openCVLinear(current, width: size.width, height: size.height)
            }
        }
        return try current.centreCropped(width: cropWidth, height: cropHeight)
    }

    /// A resized image may hold at most this many pixels (an extreme aspect ratio would otherwise
    /// turn a legal thin image into a huge allocation).
    public static let maximumResizedPixels = 64 << 20

    /// The planar `[3, cropHeight, cropWidth]` float32 values the network sees, computed in
    /// torchvision's order: `byte / pixelScale`, then `(x - mean) / std`, each step in float32.
    public func values(_ image: RGBImage) throws(WeightconvError) -> [Float] {
        let ready = try cropped(image)
        return normalised(ready)
    }

    /// Decodes the image file and returns ``values(_:)`` for it.
    public func values(contentsOf path: String, orientation: OrientationHandling = .ignore) throws(WeightconvError) -> [Float] {
        let image = try ImageDecoder.decode(contentsOf: path, orientation: orientation)
        do {
            return try values(image)
        } catch {
            throw WeightconvError(file: path, problem: error.problem, hint: error.hint, cause: error)
        }
    }

    /// The image as it is (no resize, no crop) to planar `[3, height, width]` normalised floats.
    public func normalised(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        var output = [Float](repeating: 0, count: 3 * plane)
        let order = channelOrder == .bgr ? [2, 1, 0] : [0, 1, 2]
        image.pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for c in 0..<3 {
                    let from = order[c], m = mean[c], s = std[c], scale = pixelScale
                    for i in 0..<plane {
                        let x = Float(source[i * 3 + from]) / scale
                        target[c * plane + i] = (x - m) / s
                    }
                }
            }
        }
        return output
    }

    func check() throws(WeightconvError) {
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 != 0 && $0.isFinite }), mean.allSatisfy(\.isFinite),
              pixelScale > 0, pixelScale.isFinite else {
            throw WeightconvError(file: "preprocessing", problem: "mean \(mean), std \(std), pixel scale \(pixelScale) are not a usable normalisation",
                                  hint: "three finite means, three non-zero stds and a positive scale; the weight file's preprocessing record is incomplete")
        }
        guard cropWidth > 0, cropHeight > 0, cropWidth <= 16384, cropHeight <= 16384 else {
            throw WeightconvError(file: "preprocessing", problem: "input size \(cropHeight)x\(cropWidth) is not usable",
                                  hint: "the network's input must be between 1 and 16384 pixels on a side")
        }
        if let resize {
            let side: Int
            switch resize {
            case .torchvision(let s, _): side = s
            case .openCV(let s): side = s
            }
            guard side > 0, side <= 16384 else {
                throw WeightconvError(file: "preprocessing", problem: "resize to \(side) pixels is not usable",
                                      hint: "the shorter side must be between 1 and 16384 pixels")
            }
        }
    }
}
