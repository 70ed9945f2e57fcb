import Foundation
import TensorEngine
// Exported so every test file in this target sees the shared helpers without its own import.
@_exported import TestSupport
import WeightconvCore

/// Reads a float32 `.npy` fixture into a tensor.
func loadTensor(_ url: URL) throws -> Tensor {
    let (shape, values) = try readNumpyFloats(url)
    return try Tensor(shape: shape, storage: values)
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
