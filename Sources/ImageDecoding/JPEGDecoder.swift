#if !canImport(ImageIO)
import CTurboJPEG
import WeightconvCore

/// JPEG through libjpeg-turbo's TurboJPEG API, set up as Pillow sets up libjpeg: the accurate
/// integer IDCT (JDCT_ISLOW) and fancy (smooth) chroma upsampling, which are libjpeg's defaults.
enum JPEGDecoder {
    static func decode(_ bytes: [UInt8], name: String, limits: ImageDecodingLimits) throws(WeightconvError) -> DecodedImage {
        guard let handle = tjInitDecompress() else {
            throw WeightconvError(file: name, problem: "cannot start the JPEG decoder", hint: "out of memory?")
        }
        defer { tjDestroy(handle) }
        func failure(_ what: String) -> WeightconvError {
            let reason = String(cString: tjGetErrorStr2(handle))
            return WeightconvError(file: name, problem: "\(what): \(reason)", hint: "the file is corrupt or cut short")
        }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourspace: Int32 = 0
        let headerStatus = bytes.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colourspace)
        }
        // A warning while reading the header (junk bytes before a marker) still leaves a usable header,
        // as it does for Pillow; an error does not.
        guard headerStatus == 0 || (tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) && width > 0 && height > 0) else {
            throw failure("not a readable JPEG header")
        }
        let w = Int(width), h = Int(height)
        try limits.check(width: w, height: h, file: name)
        // A file cut short is refused as Pillow refuses it, before the work of decoding it.
        let markers = JPEGMarkers(bytes)
        guard JPEGMarkers.reachesEnd(bytes, from: markers.firstScan ?? 2) else {
            throw WeightconvError(file: name, problem: "truncated JPEG: the data ends before the end-of-image marker",
                                  hint: "the file is cut short; download or copy it again")
        }

        // Four-component JPEGs (CMYK, or YCCK that libjpeg turns into CMYK) come out as CMYK and
        // are converted below as Pillow converts them; everything else as RGB (libjpeg replicates grey).
        let cmyk = colourspace == Int32(TJCS_CMYK.rawValue) || colourspace == Int32(TJCS_YCCK.rawValue)
        let channels = cmyk ? 4 : 3
        let format = cmyk ? TJPF_CMYK : TJPF_RGB
        // LIMITSCANS: a progressive file with thousands of scans is refused instead of taking minutes.
        let flags = TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS
        var decoded = [UInt8](repeating: 0, count: w * h * channels)
        let status = bytes.withUnsafeBufferPointer { source in
            decoded.withUnsafeMutableBufferPointer { target in
                tjDecompress2(handle, source.baseAddress, UInt(source.count), target.baseAddress,
                              width, 0, height, Int32(format.rawValue), flags)
            }
        }
        // libjpeg's warnings (corrupt entropy data, stray bytes before a marker) are decoded through,
        // as Pillow decodes them; its errors are not.
        if status != 0, tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) {
            throw failure("cannot decode the JPEG image")
        }
        let orientation = markers.exif.map { ExifOrientation.read(tiff: $0) } ?? 1
        let rgb = cmyk ? PixelConversion.invertedCMYKToRGB(decoded) : decoded
        return DecodedImage(image: RGBImage(width: w, height: h, pixels: rgb), exifOrientation: orientation)
    }
}
#endif
