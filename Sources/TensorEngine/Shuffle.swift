/// Which permutation a channel shuffle applies; the two ShuffleNet v1 implementations use inverse ones.
package enum ShufflePermutation: String, Sendable, Hashable, Codable {
    /// The paper's: `view(B, g, C/g)`, transpose, flatten. Input channel `a·(C/g) + b` goes to `b·g + a`.
    case groupsFirst
    /// Megvii's official code: `reshape(B, C/g, g)`, permute, flatten. Input channel `b·g + a` goes
    /// to `a·(C/g) + b`: the inverse of `groupsFirst`.
    case groupsLast

    /// For each output channel, the input channel it takes.
    package func sourceChannels(channels c: Int, groups g: Int) -> [Int] {
        let perGroup = c / g
        var source = [Int](repeating: 0, count: c)
        for a in 0..<g {
            for b in 0..<perGroup {
                switch self {
                case .groupsFirst: source[b * g + a] = a * perGroup + b
                case .groupsLast: source[a * perGroup + b] = b * g + a
                }
            }
        }
        return source
    }
}

extension Naive {
    package static func channelShuffle(_ x: Tensor, groups: Int, permutation: ShufflePermutation) throws -> Tensor {
        let (n, c, h, w) = try x.nchw("channel_shuffle")
        guard groups >= 1, c % groups == 0 else {
            throw TensorError(operation: "channel_shuffle", problem: "\(c) channels do not split into \(groups) groups",
                              hint: "channels must be a multiple of groups")
        }
        let source = permutation.sourceChannels(channels: c, groups: groups)
        let plane = h * w
        var out = [Float](repeating: 0, count: x.count)
        for b in 0..<n {
            for o in 0..<c {
                for i in 0..<plane { out[(b * c + o) * plane + i] = x.storage[(b * c + source[o]) * plane + i] }
            }
        }
        return Tensor(uncheckedShape: x.shape, storage: out)
    }
}

// MARK: - Fast path

enum FastShuffle {
    /// Copies whole planes to their permuted positions.
    static func run(_ input: SharedPointer, _ shape: [Int], _ output: SharedPointer, sources: [Int]) {
        let (n, c) = (shape[0], shape[1])
        let plane = shape[2] * shape[3]
        for b in 0..<n {
            for o in 0..<c {
                output[(b * c + o) * plane].update(from: input[(b * c + sources[o]) * plane], count: plane)
            }
        }
    }
}
