#if canImport(ImageIO)
import CoreGraphics
import Foundation
import ImageIO
import WeightconvCore

/// Apple platforms: ImageIO decodes, and the pixels are drawn into an 8-bit RGB bitmap in the
/// image's own colour space (no colour matching).
///
/// Not verified against Pillow: it has never run in this project's CI (Linux only). Apple's JPEG
/// decoder is not libjpeg-turbo, so JPEG pixels can differ from Pillow's by a level or more;
/// transparent pixels are composited on black, where Pillow drops alpha; 16-bit grey is scaled, where
/// Pillow clips. Use the Linux build where bit-exactness with a PyTorch pipeline matters.
enum SystemImageDecoder {
    static func decode(_ bytes: [UInt8], format: ImageFormat, name: String,
                       limits: ImageDecodingLimits) throws(WeightconvError) -> DecodedImage {
        let options = [kCGImageSourceShouldCache: false] as CFDictionary
        guard let source = CGImageSourceCreateWithData(Data(bytes) as CFData, options),
              CGImageSourceGetCount(source) > 0 else {
            throw WeightconvError(file: name, problem: "not a readable \(format.rawValue.uppercased()) image",
                                  hint: "the file is corrupt or cut short")
        }
        let properties = CGImageSourceCopyPropertiesAtIndex(source, 0, options) as? [CFString: Any] ?? [:]
        let statedWidth = (properties[kCGImagePropertyPixelWidth] as? Int) ?? 0
        let statedHeight = (properties[kCGImagePropertyPixelHeight] as? Int) ?? 0
        try limits.check(width: statedWidth, height: statedHeight, file: name)
        guard let image = CGImageSourceCreateImageAtIndex(source, 0, options) else {
            throw WeightconvError(file: name, problem: "cannot decode the \(format.rawValue.uppercased()) image",
                                  hint: "the file is corrupt or cut short")
        }
        let width = image.width, height = image.height
        try limits.check(width: width, height: height, file: name)
        var rgbx = [UInt8](repeating: 0, count: width * height * 4)
        let drawn = rgbx.withUnsafeMutableBytes { buffer -> Bool in
            guard let context = CGContext(data: buffer.baseAddress, width: width, height: height, bitsPerComponent: 8,
                                          bytesPerRow: width * 4, space: CGColorSpaceCreateDeviceRGB(),
                                          bitmapInfo: CGImageAlphaInfo.noneSkipLast.rawValue) else { return false }
            context.draw(image, in: CGRect(x: 0, y: 0, width: width, height: height))
            return true
        }
        guard drawn else {
            throw WeightconvError(file: name, problem: "cannot convert the image to RGB", hint: "please report this file")
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for pixel in 0..<(width * height) {
            rgb[pixel * 3] = rgbx[pixel * 4]
            rgb[pixel * 3 + 1] = rgbx[pixel * 4 + 1]
            rgb[pixel * 3 + 2] = rgbx[pixel * 4 + 2]
        }
        let orientation = (properties[kCGImagePropertyOrientation] as? Int) ?? 1
        return DecodedImage(image: RGBImage(width: width, height: height, pixels: rgb), exifOrientation: orientation)
    }
}
#endif
