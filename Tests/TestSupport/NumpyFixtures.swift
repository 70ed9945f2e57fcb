import Foundation
import WeightconvCore

/// A float `.npy` fixture (written by a script in tools/) as its shape and values.
public func readNumpyFloats(_ url: URL) throws -> (shape: [Int], values: [Float]) {
    let array = try NumpyArray(bytes: readBytes(url.path), file: url.path)
    return (array.shape, try array.floats(file: url.path))
}
