import Networks

extension NetworkConfiguration {
    /// The configuration as a reader states it: family, width, classes and blocks on one line
    /// (`import` prints this; `--verbose` adds the full JSON).
    package var headline: String {
        switch self {
        case .mobileNetV2(let c):
            let widths = c.blocks.map(\.outputChannels)
            return "MobileNetV2, stem \(c.stemChannels), \(c.blocks.count) blocks "
                + "\(widths.first ?? 0)→\(widths.last ?? 0) channels, last conv \(c.lastChannels), \(c.classes) classes"
        case .resnext(let c):
            let depth = c.stages.reduce(0) { $0 + $1.blocks } * 3 + 2
            let baseWidth = (c.stages.first?.width ?? 0) / max(1, c.cardinality)
            return "ResNeXt-\(depth) \(c.cardinality)x\(baseWidth)d, blocks \(c.stages.map(\.blocks)), stem \(c.stemChannels), "
                + "\(c.classes) classes"
        case .shuffleNetV1(let c):
            let outputs = c.stages.map { $0.last?.outputChannels ?? 0 }
            return "ShuffleNet v1 g=\(c.groups), stage outputs \(outputs), units \(c.stages.map(\.count)), stem \(c.stemChannels), "
                + "\(c.classes) classes"
        case .xception(let c):
            let middle = c.blocks.filter { $0.inputChannels == $0.outputChannels && $0.stride == 1 }.count
            return "Xception, \(c.blocks.count) blocks (\(middle) in the middle flow), exit \(c.exitChannels), \(c.classes) classes"
        }
    }
}
