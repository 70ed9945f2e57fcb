/// The rule a conversion's logits must meet against PyTorch's reference logits.
///
/// Element-wise `|swift − ref| ≤ atol + rtol·|ref|` (numpy's `allclose`), plus the top-1 class equal
/// and the top-5 *set* equal for every sample: two logits can be within tolerance of each other and
/// still swap two near-tied classes, and a user sees the classes, not the logits.
public struct Tolerance: Sendable, Hashable, Codable {
    public var atol: Float
    public var rtol: Float
    /// Compare the top-1 class and the top-5 set too (switched off only for outputs that are not class scores).
    public var requireTopK: Bool

    public init(atol: Float, rtol: Float, requireTopK: Bool = true) {
        self.atol = atol
        self.rtol = rtol
        self.requireTopK = requireTopK
    }

    /// Float32 arithmetic on the same weights: differences come only from summation order (the README
    /// gives the worst case measured on the fixtures). Weights stored as f16/bf16 meet it too when the
    /// reference was computed from the same rounded weights (`tools/make_reference.py --dtype`).
    public static let float32 = Tolerance(atol: 1e-4, rtol: 1e-4)
}

/// How one sample's logits compare with the reference.
public struct SampleComparison: Sendable {
    public var maxAbsoluteError: Float
    /// Largest `|Δ| / |ref|` over elements where |ref| > atol (relative error of near-zero logits is noise).
    public var maxRelativeError: Float
    public var cosineSimilarity: Double
    public var top1Agrees: Bool
    public var top5Agrees: Bool
    /// Index of the first element outside tolerance, if any.
    public var firstViolation: Int?
}

/// The comparison of a whole batch.
public struct LogitComparison: Sendable {
    public var samples: [SampleComparison]
    public var tolerance: Tolerance

    public var passed: Bool {
        samples.allSatisfy { $0.firstViolation == nil && (!tolerance.requireTopK || ($0.top1Agrees && $0.top5Agrees)) }
    }

    /// Compares `actual` with `reference`, both `[batch, classes]` row-major.
    ///
    /// Throws when the two do not have the same `[batch, classes]` shape: a reference made for
    /// another head (1000 classes against 10) is a mismatch to report, not a crash.
    public init(actual: [Float], reference: [Float], classes: Int, tolerance: Tolerance) throws(ShapeMismatch) {
        guard classes > 0, actual.count == reference.count, actual.count % classes == 0 else {
            throw ShapeMismatch(actualCount: actual.count, referenceCount: reference.count, classes: classes)
        }
        self.tolerance = tolerance
        samples = stride(from: 0, to: actual.count, by: classes).map { start in
            let a = actual[start..<start + classes]
            let r = reference[start..<start + classes]
            var maxAbs: Float = 0
            var maxRel: Float = 0
            var dot = 0.0, na = 0.0, nr = 0.0
            var violation: Int?
            for (i, (x, y)) in zip(a, r).enumerated() {
                let diff = abs(x - y)
                // NaN anywhere is a violation, never a pass by comparison failure.
                if !(diff <= tolerance.atol + tolerance.rtol * abs(y)), violation == nil { violation = i }
                maxAbs = max(maxAbs, diff.isNaN ? .infinity : diff)
                if abs(y) > tolerance.atol { maxRel = max(maxRel, diff / abs(y)) }
                dot += Double(x) * Double(y)
                na += Double(x) * Double(x)
                nr += Double(y) * Double(y)
            }
            let cosine = na > 0 && nr > 0 ? dot / (na.squareRoot() * nr.squareRoot()) : (na == nr ? 1 : 0)
            let topA = Self.topK(a, 5), topR = Self.topK(r, 5)
            return SampleComparison(maxAbsoluteError: maxAbs, maxRelativeError: maxRel, cosineSimilarity: cosine,
                                    top1Agrees: topA.first == topR.first, top5Agrees: Set(topA) == Set(topR),
                                    firstViolation: violation)
        }
    }

    /// The worst sample in one line: max |diff|, cosine, top-k agreement and the first index out of tolerance.
    public var summary: String {
        let worst = samples.max { $0.maxAbsoluteError < $1.maxAbsoluteError }
        var text = "\(samples.count) sample(s), max |diff| \(worst.map { "\($0.maxAbsoluteError)" } ?? "0")"
        text += " (atol \(tolerance.atol), rtol \(tolerance.rtol))"
        if let minCosine = samples.map(\.cosineSimilarity).min() { text += ", min cosine \(minCosine)" }
        text += ", top-1 \(samples.filter(\.top1Agrees).count)/\(samples.count)"
        text += ", top-5 set \(samples.filter(\.top5Agrees).count)/\(samples.count)"
        if let (index, sample) = samples.enumerated().first(where: { $0.element.firstViolation != nil }),
           let column = sample.firstViolation {
            text += ", first out of tolerance at [\(index), \(column)]"
        }
        return text
    }

    /// Logits whose shapes disagree with the reference.
    public struct ShapeMismatch: Error, CustomStringConvertible, Sendable {
        public var actualCount: Int
        public var referenceCount: Int
        public var classes: Int
        public var description: String {
            "the network produced \(actualCount) logits, the reference has \(referenceCount) (\(classes) classes per sample)"
        }
    }

    /// Indices of the `k` largest values, largest first; ties keep the lower index first (as torch.topk on CPU).
    static func topK(_ values: ArraySlice<Float>, _ k: Int) -> [Int] {
        let base = values.startIndex
        return values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
            .prefix(k).map { $0 - base }
    }
}
