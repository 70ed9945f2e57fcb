/// Pillow's conversions to 8-bit RGB for the sample formats the decoders produce, each written to
/// give Pillow's bytes (the reference for every network's training data), not the "best" colour.
enum PixelConversion {
    /// Four-component JPEG samples as libjpeg returns them, to RGB as Pillow does: Pillow reads
    /// every four-component JPEG with raw mode `CMYK;I` (inverted, the Adobe convention, applied
    /// whether or not the file has an Adobe marker), then `convert("RGB")` computes
    /// `nk - nk·c/255` per channel with `nk = 255 - k` and its rounded division by 255.
    static func invertedCMYKToRGB(_ samples: [UInt8]) -> [UInt8] {
        let count = samples.count / 4
        var out = [UInt8](repeating: 0, count: count * 3)
        for pixel in 0..<count {
            let k = 255 - Int(samples[pixel * 4 + 3])
            let nk = 255 - k
            for channel in 0..<3 {
                let c = 255 - Int(samples[pixel * 4 + channel])
                out[pixel * 3 + channel] = UInt8(clamping: nk - mulDiv255(c, nk))
            }
        }
        return out
    }

    /// `a·b/255` rounded the way Pillow's `MULDIV255` macro rounds it.
    @inline(__always) static func mulDiv255(_ a: Int, _ b: Int) -> Int {
        let t = a * b + 128
        return ((t >> 8) + t) >> 8
    }
}
