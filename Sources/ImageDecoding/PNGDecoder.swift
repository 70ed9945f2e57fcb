#if !canImport(ImageIO)
import CSPNG
import WeightconvCore

/// PNG through libspng: libspng inflates, unfilters and de-interlaces into the file's own sample
/// format (`SPNG_FMT_PNG`, no gamma or transparency applied, as Pillow applies none), and
/// ``PixelConversion`` turns those samples into RGB as Pillow's `convert("RGB")` does.
enum PNGDecoder {
    /// Ancillary chunks (text, ICC profiles, EXIF) libspng keeps in memory at most, in all.
    static let chunkCacheBytes = 64 << 20

    static func decode(_ bytes: [UInt8], name: String, limits: ImageDecodingLimits) throws(WeightconvError) -> DecodedImage {
        guard let context = spng_ctx_new(0) else {
            throw WeightconvError(file: name, problem: "cannot start the PNG decoder", hint: "out of memory?")
        }
        defer { spng_ctx_free(context) }
        func failure(_ what: String, _ code: Int32) -> WeightconvError {
            WeightconvError(file: name, problem: "\(what): \(String(cString: spng_strerror(code)))",
                            hint: "the file is corrupt or cut short")
        }
        let side = UInt32(clamping: limits.maxSide)
        _ = spng_set_image_limits(context, side, side)
        _ = spng_set_chunk_limits(context, max(limits.maxFileBytes, 1), chunkCacheBytes)
        // Pillow refuses a bad CRC in any chunk before the image data, ancillary ones included;
        // libspng's default would silently drop such an ancillary chunk.
        _ = spng_set_crc_action(context, Int32(SPNG_CRC_ERROR.rawValue), Int32(SPNG_CRC_ERROR.rawValue))

        return try bytes.withUnsafeBufferPointer { (buffer) throws(WeightconvError) -> DecodedImage in
            var status = spng_set_png_buffer(context, buffer.baseAddress, buffer.count)
            guard status == 0 else { throw failure("cannot read the PNG", status) }
            var header = spng_ihdr()
            status = spng_get_ihdr(context, &header)
            guard status == 0 else {
                // libspng applies the side limit itself while reading the header: name it the same way.
                if status == Int32(SPNG_EUSER_WIDTH.rawValue) || status == Int32(SPNG_EUSER_HEIGHT.rawValue) {
                    let (w, h) = PNGDecoder.statedSize(bytes)
                    try limits.check(width: w, height: h, file: name)
                }
                throw failure("not a readable PNG header", status)
            }
            let width = Int(header.width), height = Int(header.height)
            try limits.check(width: width, height: height, file: name)
            guard let format = PNGSampleFormat(colourType: Int(header.color_type), bitDepth: Int(header.bit_depth)) else {
                throw WeightconvError(file: name, problem: "PNG colour type \(header.color_type) with bit depth \(header.bit_depth) is not valid",
                                      hint: "the file is corrupt")
            }
            let rowBytes = (width * format.bitsPerPixel + 7) / 8
            var length = 0
            status = spng_decoded_image_size(context, Int32(SPNG_FMT_PNG.rawValue), &length)
            guard status == 0 else { throw failure("cannot size the PNG image", status) }
            guard length == rowBytes * height else {
                throw WeightconvError(file: name, problem: "decoder reports \(length) bytes for a \(width)×\(height) image of \(rowBytes)-byte rows",
                                      hint: "please report this file")
            }
            var samples = [UInt8](repeating: 0, count: length)
            status = samples.withUnsafeMutableBytes { target in
                spng_decode_image(context, target.baseAddress, target.count, Int32(SPNG_FMT_PNG.rawValue), 0)
            }
            guard status == 0 else { throw failure("cannot decode the PNG image", status) }

            var palette: [UInt8] = []
            if format.colourType == 3 {
                var plte = spng_plte()
                status = spng_get_plte(context, &plte)
                guard status == 0 else { throw failure("palette image without a readable palette", status) }
                let entries = Int(min(plte.n_entries, 256))
                withUnsafeBytes(of: plte.entries) { table in
                    for index in 0..<entries {
                        palette.append(contentsOf: [table[index * 4], table[index * 4 + 1], table[index * 4 + 2]])
                    }
                }
            }
            var orientation = 1
            var exif = spng_exif()
            if spng_get_exif(context, &exif) == 0, let data = exif.data, exif.length > 0 {
                let block = UnsafeRawBufferPointer(start: data, count: exif.length)
                orientation = ExifOrientation.read(tiff: Array(block))
            }
            let rgb = PixelConversion.rgb(fromPNGSamples: samples, format: format, width: width, height: height,
                                          rowBytes: rowBytes, palette: palette)
            return DecodedImage(image: RGBImage(width: width, height: height, pixels: rgb), exifOrientation: orientation)
        }
    }

    /// Width and height from the IHDR chunk (bytes 16–23), for naming a limit libspng enforced.
    static func statedSize(_ bytes: [UInt8]) -> (Int, Int) {
        guard bytes.count >= 24 else { return (0, 0) }
        func u32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (u32(16), u32(20))
    }
}
#endif

/// A PNG's sample format: colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA) and bits
/// per sample, as PNG allows them.
struct PNGSampleFormat: Equatable {
    let colourType: Int
    let bitDepth: Int

    init?(colourType: Int, bitDepth: Int) {
        let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let depths = allowed[colourType], depths.contains(bitDepth) else { return nil }
        self.colourType = colourType
        self.bitDepth = bitDepth
    }

    var channels: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colourType] ?? 1 }
    var bitsPerPixel: Int { channels * bitDepth }
}

extension PixelConversion {
    /// PNG samples (rows of `rowBytes`, 16-bit samples in host order, sub-byte samples packed
    /// high bits first) to RGB as Pillow's PNG reader plus `convert("RGB")` make them:
    /// - grey of 1/2/4 bits scaled to 0–255 (×255, ×85, ×17); 16-bit grey opens as mode `I;16`,
    ///   whose conversion to RGB clips to 255 (so values above 255 are white — Pillow's behaviour);
    /// - 16-bit RGB, RGBA and grey+alpha keep each sample's high byte (raw modes `RGB;16B` …);
    /// - palette indices looked up (an index past the palette reads black);
    /// - alpha and tRNS dropped.
    static func rgb(fromPNGSamples samples: [UInt8], format: PNGSampleFormat, width: Int, height: Int,
                    rowBytes: Int, palette: [UInt8]) -> [UInt8] {
        // 8-bit RGB rows are already the output, and the most common PNG.
        if format.colourType == 2, format.bitDepth == 8 { return samples }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let depth = format.bitDepth
        let channels = format.channels
        for y in 0..<height {
            let row = y * rowBytes
            for x in 0..<width {
                let target = (y * width + x) * 3
                /// Sample `channel` of pixel x as stored (sub-byte and 16-bit unpacked).
                func sample(_ channel: Int) -> Int {
                    switch depth {
                    case 16:
                        let at = row + (x * channels + channel) * 2
                        return Int(UInt16(samples[at]) | UInt16(samples[at + 1]) << 8) // host (little-endian) order
                    case 8:
                        return Int(samples[row + x * channels + channel])
                    default:
                        let bit = x * depth
                        let byte = Int(samples[row + bit / 8])
                        return byte >> (8 - depth - bit % 8) & ((1 << depth) - 1)
                    }
                }
                switch format.colourType {
                case 3:
                    let index = sample(0)
                    if index * 3 + 2 < palette.count {
                        out[target] = palette[index * 3]
                        out[target + 1] = palette[index * 3 + 1]
                        out[target + 2] = palette[index * 3 + 2]
                    }
                case 0, 4:
                    let value: Int
                    switch depth {
                    case 16: value = format.colourType == 0 ? min(sample(0), 255) : sample(0) >> 8
                    case 8: value = sample(0)
                    default: value = sample(0) * 255 / ((1 << depth) - 1)
                    }
                    out[target] = UInt8(value)
                    out[target + 1] = UInt8(value)
                    out[target + 2] = UInt8(value)
                default:
                    for channel in 0..<3 {
                        out[target + channel] = UInt8(depth == 16 ? sample(channel) >> 8 : sample(channel))
                    }
                }
            }
        }
        return out
    }
}
