/// A fully connected layer, `y = x·Wᵀ + b`, as `nn.Linear`.
public struct LinearLayer: Sendable {
    public var weight: Tensor // [out, in]
    public var bias: [Float]? // [out]

    public init(weight: Tensor, bias: [Float]?) throws {
        guard weight.rank == 2 else {
            throw TensorError(operation: "linear", problem: "weight shape \(weight.shape) is not [out, in]",
                              hint: "a linear weight has two dimensions")
        }
        if let bias, bias.count != weight.shape[0] {
            throw TensorError(operation: "linear", problem: "bias has \(bias.count) values for \(weight.shape[0]) outputs",
                              hint: "the bias belongs to another layer")
        }
        self.weight = weight
        self.bias = bias
    }

    public var outputFeatures: Int { weight.shape[0] }
    public var inputFeatures: Int { weight.shape[1] }

    func checkInput(_ shape: [Int]) throws {
        guard shape.count == 2, shape[1] == inputFeatures else {
            throw TensorError(operation: "linear", problem: "input shape \(shape) does not end in \(inputFeatures) features",
                              hint: "the classifier expects [batch, \(inputFeatures)]")
        }
    }
}

extension Reference {
    public static func linear(_ x: Tensor, _ layer: LinearLayer) throws -> Tensor {
        try layer.checkInput(x.shape)
        let (n, k, m) = (x.shape[0], layer.inputFeatures, layer.outputFeatures)
        var out = [Float](repeating: 0, count: n * m)
        for b in 0..<n {
            for o in 0..<m {
                var sum = layer.bias?[o] ?? 0
                for i in 0..<k { sum += x.storage[b * k + i] * layer.weight.storage[o * k + i] }
                out[b * m + o] = sum
            }
        }
        return Tensor(uncheckedShape: [n, m], storage: out)
    }
}

// MARK: - Fast path

import CBLAS

enum FastLinear {
    /// `y[N, out] = x[N, in] · Wᵀ + b` as one SGEMM.
    static func run(_ layer: LinearLayer, input: SharedPointer, batch: Int, output: SharedPointer) {
        let (k, m) = (layer.inputFeatures, layer.outputFeatures)
        layer.weight.storage.withUnsafeBufferPointer { weight in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(m), Int32(k), 1, input.base, Int32(k),
                        weight.baseAddress, Int32(k), 0, output.base, Int32(m))
        }
        if let bias = layer.bias {
            for b in 0..<batch {
                for o in 0..<m { output.base[b * m + o] += bias[o] }
            }
        }
    }
}
