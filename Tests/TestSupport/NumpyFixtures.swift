import Foundation
import WeightconvCore

/// A float `.npy` fixture (written by a script in tools/) as its shape and values.
public func readNumpyFloats(_ url: URL) throws -> (shape: [Int], values: [Float]) {
    let array = try NumpyArray(bytes: readBytes(url.path), file: url.path)
    return (array.shape, try array.floats(file: url.path))
}

/// A `.npy` file as NumPy writes it: magic, version (1 to 3), the header dict literal padded with
/// spaces and a newline to a multiple of 64 bytes, then `data`. For crafting good and bad arrays.
public func npyFile(_ header: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
    var text = Array(header.utf8)
    let prefix = version == 1 ? 10 : 12
    while (prefix + text.count + 1) % 64 != 0 { text.append(0x20) }
    text.append(0x0A)
    let length = version == 1 ? [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
        : (0..<4).map { UInt8(truncatingIfNeeded: text.count >> (8 * $0)) }
    return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + text + data
}
