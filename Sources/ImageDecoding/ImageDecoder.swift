#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
        let bytes = try readFile(path, limit: limits.maxFileBytes)
        return try decode(bytes, name: path, orientation: orientation, limits: limits)
    }

    /// Decodes an image held in memory; `name` stands for the file in error messages.
    public static func decode(_ bytes: [UInt8], name: String, orientation: OrientationHandling = .ignore,
                              limits: ImageDecodingLimits = .standard) throws(WeightconvError) -> RGBImage {
        guard !bytes.isEmpty else {
            throw WeightconvError(file: name, problem: "empty file, not an image", hint: "give a JPEG or PNG file")
        }
        guard bytes.count <= limits.maxFileBytes else {
            throw WeightconvError(file: name, problem: "\(bytes.count) bytes exceed the limit of \(limits.maxFileBytes) bytes (maxFileBytes)",
                                  hint: "raise ImageDecodingLimits.maxFileBytes for an image you trust")
        }
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

    /// The whole file, refused past `limit` bytes or if it is not a regular file (a FIFO or a
    /// device could block or never end). Read rather than mapped: images are small, and a copy
    /// cannot fault if another process truncates the file.
    static func readFile(_ path: String, limit: Int) throws(WeightconvError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw WeightconvError(file: path, problem: "cannot open: \(String(cString: strerror(errno)))",
                                  hint: "check the path and its permissions")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw WeightconvError(file: path, problem: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw WeightconvError(file: path, problem: "not a regular file", hint: "give the path of a JPEG or PNG file")
        }
        guard let size = Int(exactly: status.st_size), size >= 0 else {
            throw WeightconvError(file: path, problem: "file size \(status.st_size) is not representable")
        }
        guard size <= limit else {
            throw WeightconvError(file: path, problem: "\(size) bytes exceed the limit of \(limit) bytes (maxFileBytes)",
                                  hint: "raise ImageDecodingLimits.maxFileBytes for an image you trust")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let got = bytes.withUnsafeMutableBytes { buffer in
                buffer.baseAddress.map { read(fd, $0 + done, size - done) } ?? 0
            }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else {
                throw WeightconvError(file: path, problem: got < 0 ? "cannot read: \(String(cString: strerror(errno)))"
                                                                  : "file shrank while being read",
                                      hint: "check the file is not being written")
            }
            done += got
        }
        return bytes
    }
}

/// A decoder's result before orientation: the stored pixels and the EXIF orientation tag (1 when
/// absent or unreadable).
struct DecodedImage {
    var image: RGBImage
    var exifOrientation: Int
}
