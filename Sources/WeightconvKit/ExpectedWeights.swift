import Networks
import WeightconvCore

/// The standard configurations a user can name without a checkpoint, for `weightconv expect`.
package enum StandardConfiguration {
    /// Builds the configuration `family` has with these options, or explains which option is wrong.
    ///
    /// - Parameters:
    ///   - family: the network family.
    ///   - classes: outputs of the classifier.
    ///   - depth: ResNeXt only: 50, 101 or 152 layers.
    ///   - cardinality: ResNeXt only: groups of each 3×3 convolution.
    ///   - groups: ShuffleNet v1 only: groups of the pointwise convolutions (1, 2, 3, 4 or 8).
    ///   - variant: ShuffleNet v1 only: `paper` (seed 001), `megvii` or `seed000`.
    ///   - width: MobileNetV2's width multiplier; ResNeXt's width per group.
    ///   - scale: Megvii ShuffleNet v1's model size (`0.5x`, `1.0x`, `1.5x`, `2.0x`).
    package static func make(family: NetworkFamily, classes: Int, depth: Int = 50, cardinality: Int = 32,
                            width: Double? = nil, groups: Int = 3, variant: String = "paper",
                            scale: String = "1.0x") throws -> NetworkConfiguration {
        func refuse(_ problem: String, _ hint: String) -> WeightconvError {
            WeightconvError(file: family.rawValue, problem: problem, hint: hint)
        }
        switch family {
        case .xception:
            return .xception(.standard(classes: classes))
        case .mobileNetV2:
            return .mobileNetV2(.torchvision(widthMultiplier: width ?? 1.0, classes: classes))
        case .resnext:
            let widthPerGroup = Int(width ?? 4)
            guard let configuration = ResNeXtConfiguration.torchvision(depth: depth, cardinality: cardinality,
                                                                        widthPerGroup: widthPerGroup, classes: classes) else {
                throw refuse("no ResNeXt of depth \(depth)", "use --depth 50, 101 or 152")
            }
            return .resnext(configuration)
        case .shuffleNetV1:
            let configuration: ShuffleNetV1Configuration?
            switch variant {
            case "paper": configuration = .paper(groups: groups, classes: classes)
            case "megvii": configuration = .megvii(groups: groups, scale: scale, classes: classes)
            case "seed000": configuration = .seed000(groups: groups, classes: classes)
            default: throw refuse("unknown variant '\(variant)'", "use --variant paper, megvii or seed000")
            }
            guard let configuration else {
                throw refuse("no \(variant) ShuffleNet v1 with \(groups) groups" + (variant == "megvii" ? " at \(scale)" : ""),
                             variant == "megvii" ? "Megvii publishes groups 3 and 8 at 0.5x, 1.0x, 1.5x, 2.0x"
                                                 : "use --groups 1, 2, 3, 4 or 8")
            }
            return .shuffleNetV1(configuration)
        }
    }
}

extension NetworkConfiguration {
    /// Every parameter the network asks for, in the order its modules ask, with the shape each
    /// expects: what a checkpoint must hold, under the canonical names, without any checkpoint.
    package func expectedWeights() throws -> [(key: String, shape: [Int])] {
        let recorder = RecordingProvider()
        _ = try build(WeightSource(recorder), mode: .naive)
        return recorder.requests
    }
}
