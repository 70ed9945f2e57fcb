import FuzzSupport
import ImageDecoding
import WeightconvCore

/// The image readers (`ImageDecoder`: format detection, libjpeg-turbo through TurboJPEG, libspng,
/// EXIF orientation parsing and the pixel conversions), with orientation applied so the EXIF walk
/// and the transposes run too. Limits are smaller than the standard ones (4 Mpixel) so one input
/// stays cheap under ASan; the size checks are the same code.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    let limits = ImageDecodingLimits(maxPixels: 4 << 20, maxSide: 16_384)
    if let image = try? ImageDecoder.decode(bytes, name: "fuzz.img", orientation: .apply, limits: limits) {
        guard image.width > 0, image.height > 0, image.width * image.height <= limits.maxPixels,
              image.pixels.count == image.width * image.height * 3 else {
            FuzzSupport.fatalFuzzSetup("ImageDecoder returned \(image.width)×\(image.height) with \(image.pixels.count) bytes")
        }
    }
    return 0
}
