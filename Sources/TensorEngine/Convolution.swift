/// How a 2-D convolution slides: PyTorch's `stride`, `padding` (zeros, symmetric), `dilation`
/// and `groups`.
package struct Conv2dParameters: Sendable, Hashable, Codable {
    package var stride: Size2
    package var padding: Size2
    package var dilation: Size2
    /// Input and output channels are split into this many independent groups; `groups == inputChannels`
    /// is a depthwise convolution.
    package var groups: Int

    package init(stride: Size2 = Size2(1), padding: Size2 = Size2(0), dilation: Size2 = Size2(1), groups: Int = 1) {
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }
}

/// A convolution's parameters as stored: the weight and the optional bias.
package struct ConvolutionLayer: Sendable {
    package var weight: Tensor // [out, in/groups, kH, kW]
    package var bias: [Float]? // [out]
    package var parameters: Conv2dParameters

    package init(weight: Tensor, bias: [Float]?, parameters: Conv2dParameters) throws {
        guard weight.rank == 4, parameters.groups >= 1, weight.shape[0] % parameters.groups == 0 else {
            throw TensorError(operation: "conv2d", problem: "weight shape \(weight.shape) does not fit groups=\(parameters.groups)",
                              hint: "a convolution weight is [out, in/groups, kH, kW] with out divisible by groups")
        }
        if let bias, bias.count != weight.shape[0] {
            throw TensorError(operation: "conv2d", problem: "bias has \(bias.count) values for \(weight.shape[0]) output channels",
                              hint: "the bias belongs to another layer")
        }
        guard parameters.stride.h >= 1, parameters.stride.w >= 1, parameters.dilation.h >= 1, parameters.dilation.w >= 1,
              parameters.padding.h >= 0, parameters.padding.w >= 0 else {
            throw TensorError(operation: "conv2d", problem: "stride and dilation must be positive, padding non-negative",
                              hint: "check the configuration")
        }
        self.weight = weight
        self.bias = bias
        self.parameters = parameters
    }

    package var outputChannels: Int { weight.shape[0] }
    package var inputChannels: Int { weight.shape[1] * parameters.groups }
    package var kernel: Size2 { Size2(weight.shape[2], weight.shape[3]) }
    /// One group per channel, as many outputs as inputs (MobileNetV2's and Xception's 3×3 layers).
    package var isDepthwise: Bool { parameters.groups == inputChannels && parameters.groups == outputChannels }

    /// The output shape for `input` (`[N, C, H, W]`), or an error when the channels differ or the
    /// image is smaller than the kernel's reach.
    package func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 4 else {
            throw TensorError(operation: "conv2d", problem: "expected an NCHW input, got shape \(input)",
                              hint: "feature maps are [batch, channels, height, width]")
        }
        guard input[1] == inputChannels else {
            throw TensorError(operation: "conv2d", problem: "input has \(input[1]) channels, the layer expects \(inputChannels)",
                              hint: "the input does not match this network")
        }
        let p = parameters
        guard let oh = slidingOutputSize(input: input[2], kernel: kernel.h, stride: p.stride.h, padding: p.padding.h, dilation: p.dilation.h),
              let ow = slidingOutputSize(input: input[3], kernel: kernel.w, stride: p.stride.w, padding: p.padding.w, dilation: p.dilation.w) else {
            throw TensorError(operation: "conv2d", problem: "a \(input[2])x\(input[3]) input is smaller than the \(kernel.h)x\(kernel.w) kernel's reach",
                              hint: "use a larger input image")
        }
        return [input[0], outputChannels, oh, ow]
    }
}

/// `floor((input + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1`, or `nil` when not positive.
func slidingOutputSize(input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int? {
    let reach = dilation * (kernel - 1) + 1
    let span = input + 2 * padding - reach
    guard span >= 0 else { return nil }
    return span / stride + 1
}

extension Naive {
    /// 2-D cross-correlation, as `torch.nn.functional.conv2d`.
    package static func conv2d(_ x: Tensor, _ layer: ConvolutionLayer) throws -> Tensor {
        let outShape = try layer.outputShape(for: x.shape)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oc, oh, ow) = (outShape[1], outShape[2], outShape[3])
        let g = layer.parameters.groups
        let icg = c / g, ocg = oc / g
        let (kh, kw) = (layer.kernel.h, layer.kernel.w)
        let p = layer.parameters
        var out = [Float](repeating: 0, count: n * oc * oh * ow)
        x.storage.withUnsafeBufferPointer { src in
            layer.weight.storage.withUnsafeBufferPointer { wt in
                for b in 0..<n {
                    for o in 0..<oc {
                        let group = o / ocg
                        let initial = layer.bias?[o] ?? 0
                        for y in 0..<oh {
                            for xo in 0..<ow {
                                var sum = initial
                                for i in 0..<icg {
                                    let ci = group * icg + i
                                    for ky in 0..<kh {
                                        let iy = y * p.stride.h - p.padding.h + ky * p.dilation.h
                                        if iy < 0 || iy >= h { continue }
                                        for kx in 0..<kw {
                                            let ix = xo * p.stride.w - p.padding.w + kx * p.dilation.w
                                            if ix < 0 || ix >= w { continue }
                                            sum += src[((b * c + ci) * h + iy) * w + ix] * wt[((o * icg + i) * kh + ky) * kw + kx]
                                        }
                                    }
                                }
                                out[((b * oc + o) * oh + y) * ow + xo] = sum
                            }
                        }
                    }
                }
            }
        }
        return Tensor(uncheckedShape: outShape, storage: out)
    }
}
