import WeightconvCore

// Every layout weightconv reads, one value each. The canonical names the Swift networks ask for are
// torchvision's (MobileNetV2, ResNeXt), seed 004's = Cadene's = timm `legacy_xception` (Xception), and
// seed 001's / Megvii's / seed 000's own (ShuffleNet v1 variants). Each rule below can be checked
// against the implementation it names; fixtures/layouts/ holds a checkpoint made by each.

extension LayoutProfile {
    /// All profiles, most specific first: recognition takes the first whose fingerprint matches best.
    public static let all: [LayoutProfile] = [
        torchvisionMobileNetV2, timmMobileNetV2, seed002MobileNetV2,
        torchvisionResNeXt, seed003ResNeXt,
        cadeneXception, seed004Xception,
    ]

    public static func named(_ name: String) -> LayoutProfile? { all.first { $0.name == name } }

    // MARK: MobileNetV2

    /// Flat `features.N` index of the first block of each of the seven stages (n = 1, 2, 3, 4, 3, 3, 1).
    static let mobileNetV2Stages = [1, 2, 4, 7, 11, 14, 17]

    /// torchvision.models.mobilenet_v2: the canonical names.
    public static let torchvisionMobileNetV2 = LayoutProfile(
        name: "torchvision", family: .mobileNetV2,
        implementation: "torchvision.models.mobilenet_v2",
        fingerprint: Fingerprint(required: [#"^features\.0\.0\.weight$"#, #"^features\.1\.conv\.0\.0\.weight$"#,
                                            #"^classifier\.1\.weight$"#]),
        behaviour: ["bn_eps": .double(1e-5)],
        preprocessing: .imageNet(224))

    /// timm `mobilenetv2_*` (EfficientNet builder): stem/head outside `blocks`, blocks by stage and index.
    public static let timmMobileNetV2 = LayoutProfile(
        name: "timm", family: .mobileNetV2,
        implementation: "timm.models.efficientnet (mobilenetv2_050/100/140)",
        fingerprint: Fingerprint(required: [#"^conv_stem\.weight$"#, #"^blocks\.1\.0\.conv_pwl\.weight$"#,
                                            #"^conv_head\.weight$"#]),
        renames: [
            RenameRule(#"^conv_stem\."#, "features.0.0."),
            RenameRule(#"^bn1\."#, "features.0.1."),
            RenameRule(#"^conv_head\."#, "features.18.0."),
            RenameRule(#"^bn2\."#, "features.18.1."),
            RenameRule(#"^classifier\."#, "classifier.1."),
            // Stage 0 has no expansion: depthwise, then the linear pointwise.
            RenameRule(#"^blocks\.0\.0\.conv_dw\."#, "features.1.conv.0.0."),
            RenameRule(#"^blocks\.0\.0\.bn1\."#, "features.1.conv.0.1."),
            RenameRule(#"^blocks\.0\.0\.conv_pw\."#, "features.1.conv.1."),
            RenameRule(#"^blocks\.0\.0\.bn2\."#, "features.1.conv.2."),
            RenameRule(#"^blocks\.(\d+)\.(\d+)\.conv_pw\."#, "features.{stage[$1]+$2}.conv.0.0."),
            RenameRule(#"^blocks\.(\d+)\.(\d+)\.bn1\."#, "features.{stage[$1]+$2}.conv.0.1."),
            RenameRule(#"^blocks\.(\d+)\.(\d+)\.conv_dw\."#, "features.{stage[$1]+$2}.conv.1.0."),
            RenameRule(#"^blocks\.(\d+)\.(\d+)\.bn2\."#, "features.{stage[$1]+$2}.conv.1.1."),
            RenameRule(#"^blocks\.(\d+)\.(\d+)\.conv_pwl\."#, "features.{stage[$1]+$2}.conv.2."),
            RenameRule(#"^blocks\.(\d+)\.(\d+)\.bn3\."#, "features.{stage[$1]+$2}.conv.3."),
        ],
        tables: ["stage": mobileNetV2Stages],
        behaviour: ["bn_eps": .double(1e-5)],
        preprocessing: .imageNet(224))

    /// Seed 002 (`first_conv`, `bottlenecks.S.I.residual.K`, `last_conv`, `fc.1`).
    public static let seed002MobileNetV2 = LayoutProfile(
        name: "seed002", family: .mobileNetV2,
        implementation: "seed 002 MobileNetV2 (InvertedBottleneck)",
        fingerprint: Fingerprint(required: [#"^first_conv\.0\.weight$"#, #"^bottlenecks\.0\.0\.residual\.0\.0\.weight$"#,
                                            #"^last_conv\.0\.weight$"#]),
        renames: [
            RenameRule(#"^first_conv\.(\d)\."#, "features.0.$1."),
            RenameRule(#"^last_conv\.(\d)\."#, "features.18.$1."),
            RenameRule(#"^fc\.1\."#, "classifier.1."),
            // Stage 0 (t = 1) has no expand block: residual.0 is the depthwise, residual.1 the pointwise.
            RenameRule(#"^bottlenecks\.0\.0\.residual\.0\.(\d)\."#, "features.1.conv.0.$1."),
            RenameRule(#"^bottlenecks\.0\.0\.residual\.1\.0\."#, "features.1.conv.1."),
            RenameRule(#"^bottlenecks\.0\.0\.residual\.1\.1\."#, "features.1.conv.2."),
            RenameRule(#"^bottlenecks\.(\d+)\.(\d+)\.residual\.([01])\.(\d)\."#, "features.{stage[$1]+$2}.conv.$3.$4."),
            RenameRule(#"^bottlenecks\.(\d+)\.(\d+)\.residual\.2\.0\."#, "features.{stage[$1]+$2}.conv.2."),
            RenameRule(#"^bottlenecks\.(\d+)\.(\d+)\.residual\.2\.1\."#, "features.{stage[$1]+$2}.conv.3."),
        ],
        tables: ["stage": mobileNetV2Stages],
        behaviour: ["bn_eps": .double(1e-5)],
        preprocessing: .imageNet(224))

    // MARK: ResNeXt

    /// torchvision resnext50_32x4d / resnext101_32x8d / resnext101_64x4d, and timm `resnext50_32x4d`
    /// (same names): the canonical names. Stride on the 3x3.
    public static let torchvisionResNeXt = LayoutProfile(
        name: "torchvision", family: .resnext,
        implementation: "torchvision.models.resnet (ResNeXt variants); timm resnext*_32x4d",
        fingerprint: Fingerprint(required: [#"^conv1\.weight$"#, #"^layer1\.0\.conv2\.weight$"#, #"^layer4\.0\.downsample\.0\.weight$"#, #"^fc\.weight$"#],
                                 forbidden: [#"\.se\."#, #"^conv1\.\d+\.weight$"#]),
        behaviour: ["stride_on": .string("conv2"), "stem_bias": .bool(false), "bn_eps": .double(1e-5)],
        preprocessing: .imageNet(224))

    /// Seed 003: stride on the first 1x1 (the original ResNet), `shortcut` for `downsample`, biased stem,
    /// `linear` classifier.
    public static let seed003ResNeXt = LayoutProfile(
        name: "seed003", family: .resnext,
        implementation: "seed 003 ResNeXt (ResNeXtBottleNeck)",
        fingerprint: Fingerprint(required: [#"^conv1\.weight$"#, #"^layer1\.0\.shortcut\.0\.weight$"#, #"^linear\.weight$"#]),
        renames: [
            RenameRule(#"\.shortcut\."#, ".downsample."),
            RenameRule(#"^linear\."#, "fc."),
        ],
        behaviour: ["stride_on": .string("conv1"), "stem_bias": .bool(true), "bn_eps": .double(1e-5)],
        preprocessing: .imageNet(224))

    // MARK: Xception

    /// Cadene's pretrainedmodels `xception`: seed 004's names, with `fc` renamed `last_linear` after
    /// loading (so fine-tuned saves carry it); older files store pointwise kernels as `[out, in]` and
    /// even older ones depthwise kernels as `[C, k, k]`.
    public static let cadeneXception = LayoutProfile(
        name: "cadene", family: .xception,
        implementation: "pretrainedmodels.models.xception (Cadene)",
        fingerprint: Fingerprint(required: [#"^block1\.rep\.0\.conv1\.weight$"#, #"^last_linear\.weight$"#]),
        renames: [RenameRule(#"^last_linear\."#, "fc.")],
        repairs: [.appendUnitSpatialDims(keyPattern: #"pointwise\.weight$"#),
                  .insertUnitInputDim(keyPattern: #"conv1\.weight$"#)],
        behaviour: ["bn_eps": .double(1e-5)],
        preprocessing: .inception(299))

    /// Seed 004, timm `legacy_xception` (the canonical names).
    public static let seed004Xception = LayoutProfile(
        name: "seed004", family: .xception,
        implementation: "seed 004 Xception; timm legacy_xception",
        fingerprint: Fingerprint(required: [#"^block1\.rep\.0\.conv1\.weight$"#, #"^block12\.skip\.weight$"#, #"^fc\.weight$"#]),
        repairs: [.appendUnitSpatialDims(keyPattern: #"pointwise\.weight$"#),
                  .insertUnitInputDim(keyPattern: #"conv1\.weight$"#)],
        behaviour: ["bn_eps": .double(1e-5)],
        preprocessing: .inception(299))
}

/// Networks that look like one of the four families but are not: recognised and refused by name
/// rather than mis-mapped.
public struct ForeignNetwork: Sendable {
    public var name: String
    public var fingerprint: Fingerprint
    public var reason: String

    public static let all: [ForeignNetwork] = [
        ForeignNetwork(name: "timm aligned Xception (xception41/65/71)",
                       fingerprint: Fingerprint(required: [#"^stem\.0\.conv\.weight$"#, #"^blocks\.\d+\.stack\."#]),
                       reason: "its entry flow and separable blocks differ from Xception as published; only legacy_xception is supported"),
        ForeignNetwork(name: "ResNeXt-D (deep stem, avg-pool shortcut, e.g. timm resnext50d_32x4d)",
                       fingerprint: Fingerprint(required: [#"^conv1\.0\.weight$"#, #"^conv1\.3\.weight$"#]),
                       reason: "the deep 3-conv stem and average-pool downsampling are not part of ResNeXt"),
        ForeignNetwork(name: "SE-ResNeXt (squeeze-and-excitation)",
                       fingerprint: Fingerprint(required: [#"\.se(_module)?\.fc1\.weight$"#]),
                       reason: "squeeze-and-excitation modules are not part of ResNeXt"),
    ]
}
