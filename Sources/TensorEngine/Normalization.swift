/// Batch normalization in inference mode: the running statistics and affine parameters of
/// `nn.BatchNorm2d` and its `eps`.
package struct BatchNorm: Sendable {
    package var gamma: [Float] // [C]  (`weight`)
    package var beta: [Float] // [C]  (`bias`)
    package var mean: [Float] // [C]  (`running_mean`)
    package var variance: [Float] // [C]  (`running_var`)
    package var eps: Float

    package init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], eps: Float) throws {
        let c = gamma.count
        guard beta.count == c, mean.count == c, variance.count == c else {
            throw TensorError(operation: "batch_norm", problem: "parameter lengths differ (\(gamma.count), \(beta.count), \(mean.count), \(variance.count))",
                              hint: "weight, bias, running_mean and running_var must come from one layer")
        }
        self.gamma = gamma
        self.beta = beta
        self.mean = mean
        self.variance = variance
        self.eps = eps
    }

    package var channels: Int { gamma.count }

    /// Per-channel `scale` and `shift` with `y = x·scale + shift`, the form folded into a convolution.
    package var affine: (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for i in 0..<channels {
            scale[i] = gamma[i] / (variance[i] + eps).squareRoot()
            shift[i] = beta[i] - mean[i] * scale[i]
        }
        return (scale, shift)
    }
}

extension Naive {
    /// `(x − mean) / sqrt(var + eps) · gamma + beta` per channel of an NCHW tensor.
    package static func batchNorm(_ x: Tensor, _ bn: BatchNorm) throws -> Tensor {
        let (n, c, h, w) = try x.nchw("batch_norm")
        guard c == bn.channels else {
            throw TensorError(operation: "batch_norm", problem: "input has \(c) channels, the layer has \(bn.channels)",
                              hint: "the input does not match this network")
        }
        var out = x.storage
        let plane = h * w
        for b in 0..<n {
            for ch in 0..<c {
                let denominator = (bn.variance[ch] + bn.eps).squareRoot()
                let base = (b * c + ch) * plane
                for i in 0..<plane {
                    out[base + i] = (out[base + i] - bn.mean[ch]) / denominator * bn.gamma[ch] + bn.beta[ch]
                }
            }
        }
        return Tensor(uncheckedShape: x.shape, storage: out)
    }
}
