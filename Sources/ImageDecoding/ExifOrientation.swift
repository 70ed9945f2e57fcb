/// The EXIF orientation tag (0x0112) and the pixel transform it asks for, read and applied the
/// way Pillow's `ImageOps.exif_transpose` does.
enum ExifOrientation {
    /// The orientation in a TIFF-structured EXIF block (`II*\0…` or `MM\0*…`, without the JPEG
    /// `Exif\0\0` prefix): IFD0's tag 0x0112 as SHORT or LONG; 1 when absent, out of range or the
    /// block is malformed (an unreadable tag leaves the pixels as stored, never fails the decode).
    static func read<Bytes: RandomAccessCollection>(tiff: Bytes) -> Int where Bytes.Element == UInt8, Bytes.Index == Int {
        let start = tiff.startIndex
        let count = tiff.count
        guard count >= 8 else { return 1 }
        let little: Bool
        switch (tiff[start], tiff[start + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return 1
        }
        func u16(_ offset: Int) -> Int? {
            guard offset >= 0, offset <= count - 2 else { return nil }
            let a = Int(tiff[start + offset]), b = Int(tiff[start + offset + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ offset: Int) -> Int? {
            guard let low = u16(little ? offset : offset + 2), let high = u16(little ? offset + 2 : offset) else { return nil }
            return low | high << 16
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return 1 }
        for index in 0..<entries {
            let entry = ifd + 2 + 12 * index
            guard let tag = u16(entry), let type = u16(entry + 2), let values = u32(entry + 4) else { return 1 }
            guard tag == 0x0112 else { continue }
            guard values >= 1 else { return 1 }
            let value: Int?
            switch type {
            case 3: value = u16(entry + 8)
            case 4: value = u32(entry + 8)
            default: value = nil
            }
            guard let value, (1...8).contains(value) else { return 1 }
            return value
        }
        return 1
    }
}

extension RGBImage {
    /// The pixels turned upright for EXIF orientation `orientation` (1–8; anything else returns
    /// `self`): 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise,
    /// 7 transverse, 8 rotate 90° anticlockwise — Pillow's `exif_transpose` table.
    func oriented(exifOrientation orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let swaps = orientation >= 5
        let outWidth = swaps ? height : width
        let outHeight = swaps ? width : height
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                // (sx, sy): the stored pixel that lands at (x, y).
                let (sx, sy): (Int, Int)
                switch orientation {
                case 2: (sx, sy) = (width - 1 - x, y)
                case 3: (sx, sy) = (width - 1 - x, height - 1 - y)
                case 4: (sx, sy) = (x, height - 1 - y)
                case 5: (sx, sy) = (y, x)
                case 6: (sx, sy) = (y, height - 1 - x)
                case 7: (sx, sy) = (width - 1 - y, height - 1 - x)
                default: (sx, sy) = (width - 1 - y, x)
                }
                let source = (sy * width + sx) * 3
                let target = (y * outWidth + x) * 3
                out[target] = pixels[source]
                out[target + 1] = pixels[source + 1]
                out[target + 2] = pixels[source + 2]
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }
}
