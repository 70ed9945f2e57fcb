/// What the decoder needs from a JPEG's marker segments before libjpeg sees it: the EXIF block and
/// whether the file reaches its end-of-image marker.
struct JPEGMarkers {
    /// The TIFF data of the first `APP1` segment that starts with `Exif\0\0` (where Pillow takes
    /// EXIF from), before the first scan.
    var exif: ArraySlice<UInt8>?
    /// Offset of the first start-of-scan marker, if the walk reached one.
    var firstScan: Int?

    /// Walks the segments from SOI to the first SOS. Stops quietly at anything malformed: libjpeg
    /// judges the file; this only looks.
    init(_ bytes: [UInt8]) {
        var offset = 2
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { offset += 1; continue }   // junk between segments, skipped as Pillow and libjpeg skip it
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }   // fill byte
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { offset += 2; continue } // no length
            if marker == 0xDA { firstScan = offset; return }
            if marker == 0xD9 { return }
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { return }
            let body = bytes[(offset + 4)..<(offset + 2 + length)]
            if exif == nil, marker == 0xE1, body.starts(with: [0x45, 0x78, 0x69, 0x66, 0, 0]) {   // "Exif\0\0"
                exif = body.dropFirst(6)
            }
            offset += 2 + length
        }
    }

    /// Whether an end-of-image marker (`FF D9`) follows the first scan. Pillow refuses a JPEG
    /// without one ("image file is truncated"), even when only the marker is missing; libjpeg only
    /// warns and fills the missing rows with grey. Inside entropy-coded data a literal `FF` is always
    /// followed by `00`, so `FF D9` there is the marker itself.
    static func reachesEnd(_ bytes: [UInt8], from start: Int) -> Bool {
        var index = max(start, 0)
        while index + 1 < bytes.count {
            if bytes[index] == 0xFF, bytes[index + 1] == 0xD9 { return true }
            index += 1
        }
        return false
    }
}
