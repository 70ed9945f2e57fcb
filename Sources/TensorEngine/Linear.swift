import CKernels

/// A fully connected layer, `y = x·Wᵀ + b`, as `nn.Linear`.
package struct LinearLayer: Sendable {
    package var weight: Tensor // [out, in]
    package var bias: [Float]? // [out]

    package init(weight: Tensor, bias: [Float]?) throws {
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

    package var outputFeatures: Int { weight.shape[0] }
    package var inputFeatures: Int { weight.shape[1] }

    func checkInput(_ shape: [Int]) throws {
        guard shape.count == 2, shape[1] == inputFeatures else {
            throw TensorError(operation: "linear", problem: "input shape \(shape) does not end in \(inputFeatures) features",
                              hint: "the classifier expects [batch, \(inputFeatures)]")
        }
    }
}

extension Naive {
    package static func linear(_ x: Tensor, _ layer: LinearLayer) throws -> Tensor {
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

enum FastLinear {
    /// `y[N, out] = x[N, in] · Wᵀ + b`, one SGEMM per block of output features so that the workers
    /// share the weight matrix (at batch 1 this layer only streams the weights).
    /// With `engine` (see ``EngineGEMM``), on that kernel set's linear kernel, else the library's GEMM.
    static func run(_ layer: LinearLayer, input: SharedPointer, batch: Int, output: SharedPointer, engine: VectorKernels?,
                    workers: Workers) {
        let (k, m) = (layer.inputFeatures, layer.outputFeatures)
        let bias = layer.bias
        layer.weight.storage.withUnsafeBufferPointer { weightBuffer in
            guard let base = weightBuffer.baseAddress else { return }
            let weight = SharedPointer(UnsafeMutablePointer(mutating: base))
            #if arch(x86_64)
            if let engine {
                (bias ?? []).withUnsafeBufferPointer { biasBuffer in
                    // An empty array may still have a base address: no bias is a nil pointer.
                    let biases = bias == nil ? nil : biasBuffer.baseAddress.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
                    workers.forEachChunk(m) { _, features in
                        engine.linear(batch, features.count, k, input.base, weight[features.lowerBound * k],
                                      biases.map { UnsafePointer($0[features.lowerBound]) }, output[features.lowerBound], m)
                    }
                }
                return
            }
            #endif
            workers.forEachChunk(m) { _, features in
                multiplyMatrices(m: batch, n: features.count, k: k, a: input.base, lda: k,
                                 b: weight[features.lowerBound * k], ldb: k, transposeB: true, beta: 0,
                                 c: output[features.lowerBound], ldc: m)
                if let bias {
                    for b in 0..<batch {
                        for o in features { output.base[b * m + o] += bias[o] }
                    }
                }
            }
        }
    }
}
