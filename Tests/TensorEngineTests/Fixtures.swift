import Foundation
import TensorEngine
import WeightconvCore

/// The repository's `fixtures/` directory, found from this file's path.
let fixturesRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures")

/// Reads a float32 `.npy` fixture into a tensor.
func loadTensor(_ url: URL) throws -> Tensor {
    let bytes = [UInt8](try Data(contentsOf: url))
    let array = try NumpyArray(bytes: bytes, file: url.path)
    return try Tensor(shape: array.shape, storage: array.floats(file: url.path))
}

/// Largest `|a − e|`, its flat index, and whether every element is within `atol + rtol·|e|`.
struct Comparison: CustomStringConvertible {
    var maxDifference: Float = 0
    var worstIndex = -1
    var firstViolation: Int?
    var shapesMatch = true

    init(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float) {
        guard actual.shape == expected.shape else { shapesMatch = false; return }
        for i in 0..<expected.count {
            let difference = abs(actual.storage[i] - expected.storage[i])
            if difference > maxDifference || difference.isNaN { maxDifference = difference; worstIndex = i }
            if firstViolation == nil, !(difference <= atol + rtol * abs(expected.storage[i])) { firstViolation = i }
        }
    }

    var passes: Bool { shapesMatch && firstViolation == nil }

    var description: String {
        shapesMatch ? "max |diff| \(maxDifference) at index \(worstIndex); first violation \(firstViolation.map(String.init) ?? "none")"
            : "shapes differ"
    }
}
