/// The rule a conversion's logits must meet against PyTorch's reference logits.
///
/// The default rule, ``Rule/sampleScale``, bounds every logit's difference by the *sample's* scale:
/// `|swift − ref| ≤ atol + rtol·max|ref|`, the maximum taken over that sample's logits. Engines that
/// PyTorch users accept as equivalent (PyTorch on 1 or several threads, with or without mkldnn,
/// onnxruntime) differ by summation order, an error proportional to the magnitudes being summed, not to
/// the logit being compared: an element-wise relative term cannot cover a logit near zero in a vector
/// whose scale is hundreds (README, "Verification rule", has the measurements behind the numbers).
///
/// The top-1 class and the top-5 set must agree too, but only where the reference separates them by
/// more than the sample's tolerance: a near-tie that an admissible difference may reorder is noise.
public struct Tolerance: Sendable, Hashable, Codable {
    /// How `atol` and `rtol` combine into the bound on one logit's difference.
    public enum Rule: String, Sendable, Hashable, Codable, CaseIterable {
        /// `|Δᵢ| ≤ atol + rtol·maxⱼ|refⱼ|` over each sample's logits; top-k demanded only beyond a margin.
        case sampleScale = "sample_scale"
        /// `|Δᵢ| ≤ atol + rtol·|refᵢ|` (numpy's `allclose`) and top-k always demanded: the rule of files
        /// written before the verification record named its rule, which still verify by it.
        case elementwise
    }

    public var atol: Float
    public var rtol: Float
    /// Compare the top-1 class and the top-5 set too (switched off only for outputs that are not class scores).
    public var requireTopK: Bool
    public var rule: Rule

    public init(atol: Float, rtol: Float, requireTopK: Bool = true, rule: Rule = .sampleScale) {
        self.atol = atol
        self.rtol = rtol
        self.requireTopK = requireTopK
        self.rule = rule
    }

    /// Float32 arithmetic on the same weights: differences come only from summation order. Measured
    /// (README): other engines stay within 1.1e-5 of each sample's max |logit| and weightconv within
    /// 1.1e-5 too, while every wrong-weight mutation measured moves a logit by 6.6e-4 of it or more.
    /// Weights stored as f16/bf16 meet it when the reference was computed from the same rounded weights
    /// (`tools/make_reference.py --dtype`).
    public static let float32 = Tolerance(atol: 1e-4, rtol: 1e-4)

    /// The largest difference allowed for a logit `reference` in a sample whose largest magnitude is `scale`.
    public func bound(reference: Float, scale: Float) -> Float {
        atol + rtol * (rule == .sampleScale ? scale : abs(reference))
    }

    /// The rule in words, as `verify` prints it.
    public var description: String {
        let topK = requireTopK ? (rule == .sampleScale ? ", top-1/top-5 where the reference margin exceeds it" : ", top-1/top-5") : ""
        return switch rule {
        case .sampleScale: "|Δ| ≤ \(atol) + \(rtol)·max|ref| per sample\(topK)"
        case .elementwise: "|Δ| ≤ \(atol) + \(rtol)·|ref| per logit\(topK)"
        }
    }
}

/// How one sample's logits compare with the reference.
public struct SampleComparison: Sendable {
    public var maxAbsoluteError: Float
    /// Largest `|Δ| / |ref|` over elements where |ref| > atol (relative error of near-zero logits is noise).
    public var maxRelativeError: Float
    /// The reference's largest magnitude (the sample's scale) and root mean square.
    public var referenceMax: Float
    public var referenceRMS: Float
    /// `maxAbsoluteError / referenceMax`: what the sample-scale rule compares with rtol.
    public var maxScaledError: Float
    /// The largest difference allowed for this sample's logits (the sample-scale rule's bound; for the
    /// element-wise rule the bound of its largest reference logit).
    public var allowed: Float
    public var cosineSimilarity: Double
    public var top1Agrees: Bool
    public var top5Agrees: Bool
    /// Reference top-1 minus top-2, and 5th minus 6th largest (infinity when there are too few classes).
    public var top1Margin: Float
    public var top5Margin: Float
    /// Whether the rule demanded each agreement (the reference's margin exceeds the tolerance).
    public var top1Required: Bool
    public var top5Required: Bool
    /// Index of the first element outside tolerance, if any.
    public var firstViolation: Int?

    public var passed: Bool {
        firstViolation == nil && (!top1Required || top1Agrees) && (!top5Required || top5Agrees)
    }
}

/// The comparison of a whole batch.
public struct LogitComparison: Sendable {
    public var samples: [SampleComparison]
    public var tolerance: Tolerance

    public var passed: Bool { samples.allSatisfy(\.passed) }

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
            Self.compare(actual[start..<start + classes], reference[start..<start + classes], tolerance)
        }
    }

    static func compare(_ a: ArraySlice<Float>, _ r: ArraySlice<Float>, _ tolerance: Tolerance) -> SampleComparison {
        // NaN in the reference makes the scale NaN, and every comparison with it fails: never a pass by accident.
        let scale = r.reduce(Float(0)) { $1.isNaN || $0.isNaN ? .nan : max($0, abs($1)) }
        var maxAbs: Float = 0
        var maxRel: Float = 0
        var dot = 0.0, na = 0.0, nr = 0.0
        var violation: Int?
        for (i, (x, y)) in zip(a, r).enumerated() {
            let diff = abs(x - y)
            // NaN anywhere is a violation, never a pass by comparison failure.
            if !(diff <= tolerance.bound(reference: y, scale: scale)), violation == nil { violation = i }
            maxAbs = max(maxAbs, diff.isNaN ? .infinity : diff)
            if abs(y) > tolerance.atol { maxRel = max(maxRel, diff / abs(y)) }
            dot += Double(x) * Double(y)
            na += Double(x) * Double(x)
            nr += Double(y) * Double(y)
        }
        let cosine = na > 0 && nr > 0 ? dot / (na.squareRoot() * nr.squareRoot()) : (na == nr ? 1 : 0)
        let topA = topK(a, 6), topR = topK(r, 6)
        func value(_ rank: Int) -> Float { r[r.startIndex + topR[rank]] }
        let top1Margin: Float = topR.count > 1 ? value(0) - value(1) : .infinity
        let top5Margin: Float = topR.count > 5 ? value(4) - value(5) : .infinity
        let allowed = tolerance.bound(reference: scale, scale: scale)
        // The element-wise rule demanded agreement always; the sample-scale rule where a difference
        // within tolerance cannot reorder the classes (the margin exceeds the bound).
        let demand = { (margin: Float) in
            tolerance.requireTopK && (tolerance.rule == .elementwise || !(margin <= allowed))
        }
        return SampleComparison(maxAbsoluteError: maxAbs, maxRelativeError: maxRel, referenceMax: scale,
                                referenceRMS: Float((nr / Double(max(r.count, 1))).squareRoot()),
                                maxScaledError: scale > 0 ? maxAbs / scale : (maxAbs == 0 ? 0 : .infinity),
                                allowed: allowed, cosineSimilarity: cosine,
                                top1Agrees: topA.first == topR.first, top5Agrees: Set(topA.prefix(5)) == Set(topR.prefix(5)),
                                top1Margin: top1Margin, top5Margin: top5Margin,
                                top1Required: demand(top1Margin), top5Required: demand(top5Margin),
                                firstViolation: violation)
    }

    /// The worst sample in one line: max |diff| (and relative to the sample's scale), cosine, top-k
    /// agreement and the first index out of tolerance.
    public var summary: String {
        let worst = samples.max { $0.maxScaledError < $1.maxScaledError }
        var text = "\(samples.count) sample(s), max |diff| \(samples.map(\.maxAbsoluteError).max() ?? 0)"
        if let worst { text += ", \(worst.maxScaledError) of the sample's max |logit| \(worst.referenceMax)" }
        text += " (\(tolerance.description))"
        if let minCosine = samples.map(\.cosineSimilarity).min() { text += ", min cosine \(minCosine)" }
        text += ", top-1 \(samples.filter(\.top1Agrees).count)/\(samples.count)"
        text += ", top-5 set \(samples.filter(\.top5Agrees).count)/\(samples.count)"
        let demanded = samples.filter(\.top1Required).count
        if tolerance.rule == .sampleScale, tolerance.requireTopK, demanded < samples.count {
            text += " (top-1 demanded of \(demanded): the others are near-ties)"
        }
        if let (index, sample) = samples.enumerated().first(where: { $0.element.firstViolation != nil }),
           let column = sample.firstViolation {
            text += ", first out of tolerance at [\(index), \(column)]"
        } else if let index = samples.firstIndex(where: { !$0.passed }) {
            text += ", sample \(index) ranks the classes differently"
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
