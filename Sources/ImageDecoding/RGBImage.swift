/// A decoded image as a classifier's input pipeline sees it: 8-bit RGB, no alpha, no colour
/// management, exactly the pixels Pillow's `Image.open(path).convert("RGB")` gives (which is what
/// torchvision's `ImageFolder` loader uses).
public struct RGBImage: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Interleaved RGB, row-major: `[height][width][3]`, `width * height * 3` bytes.
    public let pixels: [UInt8]

    /// Wraps `pixels` (`[height][width][3]`); the count must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// What to do with an EXIF orientation tag.
public enum OrientationHandling: Sendable, Equatable {
    /// Keep the pixels as stored, as Pillow's `Image.open` and torchvision's loaders do (the default:
    /// the pixels a network was trained and evaluated on).
    case ignore
    /// Rotate/flip the pixels upright as the tag says, as Pillow's `ImageOps.exif_transpose` does.
    case apply
}

/// The image file formats the decoder reads, recognised by their first bytes (never by the
/// file's extension).
public enum ImageFormat: String, Sendable, Equatable, CaseIterable {
    case jpeg
    case png

    /// The format `bytes` start with, or `nil` for anything else.
    public static func detect<Bytes: Collection>(_ bytes: Bytes) -> ImageFormat? where Bytes.Element == UInt8 {
        let head = Array(bytes.prefix(8))
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        return nil
    }
}
