import Foundation
import TensorEngine

/// Patterns that point at the cause of a logit mismatch, so a failed verification says where to look.
///
/// Each test asks whether the actual logits would pass the same rule after one simple transformation
/// of the reference: sorted (the same values in another order), or multiplied by one constant. Only a
/// pattern that explains every failing sample is named.
package enum MismatchDiagnosis {
    /// A likely cause in words, or nil when no pattern fits.
    package static func pattern(actual: [Float], reference: [Float], classes: Int, tolerance: Tolerance) -> String? {
        guard classes > 1, actual.count == reference.count, actual.count % classes == 0, !actual.isEmpty else { return nil }
        let rows = stride(from: 0, to: actual.count, by: classes).map { ($0, $0 + classes) }
        func passes(_ a: [Float], _ r: [Float]) -> Bool {
            LogitComparison.compare(a[...], r[...], tolerance).firstViolation == nil
        }
        let failing = rows.filter { !passes(Array(actual[$0.0..<$0.1]), Array(reference[$0.0..<$0.1])) }
        guard !failing.isEmpty else { return nil }
        if failing.allSatisfy({ passes(actual[$0.0..<$0.1].sorted(), reference[$0.0..<$0.1].sorted()) }) {
            return "the logits are the reference's values in another order: classes permuted (a channel shuffle "
                + "order or the classifier's rows), not wrong values"
        }
        var factors: [Double] = []
        for (start, end) in failing {
            var ar = 0.0, rr = 0.0
            for i in start..<end {
                ar += Double(actual[i]) * Double(reference[i])
                rr += Double(reference[i]) * Double(reference[i])
            }
            guard rr > 0 else { return nil }
            let factor = ar / rr
            let scaled = reference[start..<end].map { Float(factor) * $0 }
            guard factor.isFinite, passes(Array(actual[start..<end]), scaled) else { return nil }
            factors.append(factor)
        }
        guard let low = factors.min(), let high = factors.max() else { return nil }
        let (first, last) = (String(format: "%.4g", low), String(format: "%.4g", high))
        let shown = first == last ? first : "\(first)…\(last)"
        return "the logits are the reference's times a constant (\(shown)): a scale difference such as a batch-norm "
            + "eps or the input's preprocessing (pixel scale 0–1 against 0–255, mean/std)"
    }

    /// `[N, 3, H, W]` with channels 0 and 2 exchanged (RGB ↔ BGR).
    package static func reversingChannels(_ input: Tensor) throws -> Tensor {
        guard input.shape.count == 4, input.shape[1] == 3 else { return input }
        let plane = input.shape[2] * input.shape[3]
        var values = input.storage
        for image in 0..<input.shape[0] {
            let base = image * 3 * plane
            for i in 0..<plane { values.swapAt(base + i, base + 2 * plane + i) }
        }
        return try Tensor(shape: input.shape, storage: values)
    }
}
