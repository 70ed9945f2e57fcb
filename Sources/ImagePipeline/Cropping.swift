import ImageDecoding
import WeightconvCore

extension RGBImage {
    /// The centre `width` × `height` window as torchvision's `CenterCrop` takes it: offsets
    /// `round((size - crop) / 2)` with Python's round-half-to-even, and, where the image is smaller
    /// than the crop, zero padding first (`(crop - size) // 2` before, the rest after), as torchvision
    /// pads PIL images.
    package func centreCropped(width cropWidth: Int, height cropHeight: Int) throws(WeightconvError) -> RGBImage {
        guard cropWidth > 0, cropHeight > 0, let count = CheckedMath.product([cropWidth, cropHeight, 3]) else {
            throw WeightconvError(file: "image", problem: "cannot be cropped to \(cropWidth)x\(cropHeight)",
                                  hint: "the crop size must be positive")
        }
        if cropWidth == width && cropHeight == height { return self }
        // Where the crop is larger, the padded image is exactly the crop size on that axis.
        let padLeft = cropWidth > width ? (cropWidth - width) / 2 : 0
        let padTop = cropHeight > height ? (cropHeight - height) / 2 : 0
        let left = cropWidth > width ? 0 : Self.halfRoundedToEven(width - cropWidth)
        let top = cropHeight > height ? 0 : Self.halfRoundedToEven(height - cropHeight)
        var output = [UInt8](repeating: 0, count: count)
        // Output (x, y) shows source (x + left - padLeft, y + top - padTop) when that lies inside.
        let sourceX0 = left - padLeft, sourceY0 = top - padTop
        for y in 0..<cropHeight {
            let sy = y + sourceY0
            guard sy >= 0, sy < height else { continue }
            let xFrom = max(0, -sourceX0), xTo = min(cropWidth, width - sourceX0)
            guard xFrom < xTo else { continue }
            let source = (sy * width + xFrom + sourceX0) * 3
            let target = (y * cropWidth + xFrom) * 3
            output.replaceSubrange(target..<(target + (xTo - xFrom) * 3),
                                   with: pixels[source..<(source + (xTo - xFrom) * 3)])
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: output)
    }

    /// `int(round(difference / 2.0))` in Python: halves go to the even neighbour.
    static func halfRoundedToEven(_ difference: Int) -> Int {
        let half = difference / 2
        guard difference % 2 == 1 else { return half }
        return half % 2 == 0 ? half : half + 1
    }
}
