import WeightconvCore

/// Bounds every image's stated size is checked against before anything is allocated for its pixels,
/// so a 100000×100000 header costs nothing. Raise them for images you trust:
/// `ImageDecoder.decode(contentsOf: path, limits: ImageDecodingLimits(maxPixels: 400_000_000))`.
public struct ImageDecodingLimits: Sendable, Equatable {
    /// Largest file read, in bytes.
    public var maxFileBytes: Int
    /// Largest width × height. The default is Pillow's decompression-bomb error threshold
    /// (`2 * Image.MAX_IMAGE_PIXELS`), so what Pillow refuses is refused here too.
    public var maxPixels: Int
    /// Largest width or height.
    public var maxSide: Int

    /// Limits with the given bounds; each defaults to the standard one.
    public init(maxFileBytes: Int = 256 << 20, maxPixels: Int = 178_956_970, maxSide: Int = 65_535) {
        self.maxFileBytes = maxFileBytes
        self.maxPixels = maxPixels
        self.maxSide = maxSide
    }

    /// The defaults.
    public static let standard = ImageDecodingLimits()

    /// Throws unless a file of `count` bytes is within `maxFileBytes`.
    func checkFileSize(_ count: Int, file: String) throws(WeightconvError) {
        guard count <= maxFileBytes else {
            throw WeightconvError(file: file, problem: "\(count) bytes exceed the limit of \(maxFileBytes) bytes (maxFileBytes)",
                                  hint: "raise ImageDecodingLimits.maxFileBytes for an image you trust")
        }
    }

    /// Throws unless a `width`×`height` image is within the limits.
    func check(width: Int, height: Int, file: String) throws(WeightconvError) {
        guard width > 0, height > 0 else {
            throw WeightconvError(file: file, problem: "image header states a size of \(width)×\(height)",
                                  hint: "the file is corrupt")
        }
        guard width <= maxSide, height <= maxSide else {
            throw WeightconvError(file: file, problem: "image of \(width)×\(height) exceeds the limit of \(maxSide) pixels per side (maxSide)",
                                  hint: "raise ImageDecodingLimits.maxSide for an image you trust")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maxPixels else {
            throw WeightconvError(file: file, problem: "image of \(width)×\(height) exceeds the limit of \(maxPixels) pixels (maxPixels)",
                                  hint: "raise ImageDecodingLimits.maxPixels for an image you trust")
        }
    }
}
