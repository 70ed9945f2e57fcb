import WeightconvCore

/// Decodes JPEG and PNG files to ``RGBImage``, pixel for pixel as Pillow's
/// `Image.open(path).convert("RGB")` does (grey replicated, palette expanded, alpha dropped,
/// 16-bit samples reduced as Pillow reduces them), so a network sees the input it was evaluated on.
///
/// The format is recognised from the file's first bytes, not its extension. Every size a file
/// states is checked against ``ImageDecodingLimits`` before pixels are allocated; truncated,
/// corrupt or unsupported files are refused with a ``WeightconvError`` naming the file.
///
/// On Linux the work is done by libjpeg-turbo (TurboJPEG API) and libspng; on Apple platforms
/// by ImageIO.
public enum ImageDecoder {
    /// Reads and decodes the image at `path`.
    public static func decode(contentsOf path: String, orientation: OrientationHandling = .ignore,
                              limits: ImageDecodingLimits = .standard) throws(WeightconvError) -> RGBImage {
        let bytes = try readFile(path, limits: limits)
        return try decode(bytes, name: path, orientation: orientation, limits: limits)
    }

    /// Decodes an image held in memory; `name` stands for the file in error messages.
    public static func decode(_ bytes: [UInt8], name: String, orientation: OrientationHandling = .ignore,
                              limits: ImageDecodingLimits = .standard) throws(WeightconvError) -> RGBImage {
        guard !bytes.isEmpty else {
            throw WeightconvError(file: name, problem: "empty file, not an image", hint: "give a JPEG or PNG file")
        }
        try limits.checkFileSize(bytes.count, file: name)
        guard let format = ImageFormat.detect(bytes) else {
            throw WeightconvError(file: name, problem: "not a JPEG or PNG image (\(describeUnknown(bytes)))",
                                  hint: "convert it to PNG or JPEG; the format is read from the content, not the extension")
        }
        let decoded: DecodedImage
        #if canImport(ImageIO)
        decoded = try SystemImageDecoder.decode(bytes, format: format, name: name, limits: limits)
        #else
        switch format {
        case .jpeg: decoded = try JPEGDecoder.decode(bytes, name: name, limits: limits)
        case .png: decoded = try PNGDecoder.decode(bytes, name: name, limits: limits)
        }
        #endif
        switch orientation {
        case .ignore: return decoded.image
        case .apply: return decoded.image.oriented(exifOrientation: decoded.exifOrientation)
        }
    }

    /// What an unrecognised file looks like, so the message says more than "not an image".
    static func describeUnknown(_ bytes: [UInt8]) -> String {
        let head = Array(bytes.prefix(12))
        func starts(_ prefix: String) -> Bool { head.starts(with: Array(prefix.utf8)) }
        if starts("GIF8") { return "a GIF image" }
        if starts("BM") { return "looks like a BMP image" }
        if starts("RIFF"), head.count >= 12, Array(head[8..<12]) == Array("WEBP".utf8) { return "a WebP image" }
        if starts("II*\u{0}") || starts("MM\u{0}*") { return "a TIFF image" }
        if head.count >= 12, Array(head[4..<12]) == Array("ftypheic".utf8) || Array(head[4..<12]) == Array("ftypavif".utf8) {
            return "an HEIF/AVIF image"
        }
        let hex = head.prefix(4).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined(separator: " ")
        return "starts with bytes \(hex)"
    }

    /// The whole file, refused past `limits.maxFileBytes` (checked before any byte is read) or if it is not a
    /// regular file. Copied out of the mapping: images are small next to decoding them.
    static func readFile(_ path: String, limits: ImageDecodingLimits) throws(WeightconvError) -> [UInt8] {
        let file = try MappedFile(path: path)
        try limits.checkFileSize(file.count, file: path)
        return Array(file.bytes)
    }
}

/// A decoder's result before orientation: the stored pixels and the EXIF orientation tag (1 when
/// absent or unreadable).
struct DecodedImage {
    var image: RGBImage
    var exifOrientation: Int
}
