import WeightconvCore

// Every layout weightconv reads, one value each. The canonical names the Swift networks ask for are
// torchvision's (MobileNetV2, ResNeXt), seed 004's = Cadene's = timm `legacy_xception` (Xception), and
// seed 001's / Megvii's / seed 000's own (ShuffleNet v1 variants). Each rule below can be checked
// against the implementation it names; fixtures/layouts/ holds a checkpoint made by each.

extension LayoutProfile {
    /// All profiles, most specific first: recognition takes the first whose fingerprint matches best.
    public static let all: [LayoutProfile] = [
        torchvisionMobileNetV2, timmMobileNetV2, seed002MobileNetV2,
        torchvisionResNeXt, seed003ResNeXt, cadeneResNeXt,
        cadeneXception, seed004Xception,
        seed000ShuffleNet, seed001ShuffleNet, megviiShuffleNet, mmpretrainShuffleNet,
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
        // The classifier is not required: a backbone-only save must still be recognised so that the
        // mapping report can name the missing fc tensors (fixtures/layouts/resnext_torchvision_truncated_classifier).
        fingerprint: Fingerprint(required: [#"^conv1\.weight$"#, #"^layer1\.0\.conv2\.weight$"#, #"^layer4\.0\.downsample\.0\.weight$"#],
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

    /// Cadene's pretrainedmodels `resnext101_32x4d` / `resnext101_64x4d`: a Torch7 graph converted to
    /// nested `nn.Sequential`s (pretrainedmodels/models/resnext_features). `features.0/1` are the stem
    /// conv and BN, `features.4…7` are layer1…4, and block `i` is
    /// `Sequential(LambdaMap(Sequential(Sequential(conv1, bn1, relu, conv2, bn2, relu), conv3, bn3),
    /// shortcut), LambdaReduce(add), ReLU)`; the stride is on the 3x3 as in torchvision.
    public static let cadeneResNeXt = LayoutProfile(
        name: "cadene", family: .resnext,
        implementation: "pretrainedmodels.models.resnext (Cadene, ResNeXt101_32x4d / 64x4d)",
        fingerprint: Fingerprint(required: [#"^features\.0\.weight$"#, #"^features\.4\.0\.0\.0\.0\.0\.weight$"#]),
        renames: [
            RenameRule(#"^features\.0\."#, "conv1."),
            RenameRule(#"^features\.1\."#, "bn1."),
            RenameRule(#"^last_linear\."#, "fc."),
            RenameRule(#"^features\.([4-7])\.(\d+)\.0\.0\.0\.0\."#, "layer{layer[$1]}.$2.conv1."),
            RenameRule(#"^features\.([4-7])\.(\d+)\.0\.0\.0\.1\."#, "layer{layer[$1]}.$2.bn1."),
            RenameRule(#"^features\.([4-7])\.(\d+)\.0\.0\.0\.3\."#, "layer{layer[$1]}.$2.conv2."),
            RenameRule(#"^features\.([4-7])\.(\d+)\.0\.0\.0\.4\."#, "layer{layer[$1]}.$2.bn2."),
            RenameRule(#"^features\.([4-7])\.(\d+)\.0\.0\.1\."#, "layer{layer[$1]}.$2.conv3."),
            RenameRule(#"^features\.([4-7])\.(\d+)\.0\.0\.2\."#, "layer{layer[$1]}.$2.bn3."),
            RenameRule(#"^features\.([4-7])\.(\d+)\.0\.1\.([01])\."#, "layer{layer[$1]}.$2.downsample.$3."),
        ],
        // features.4 is layer1 … features.7 is layer4 (0–3: conv, BN, ReLU, MaxPool).
        tables: ["layer": [0, 0, 0, 0, 1, 2, 3, 4]],
        behaviour: ["stride_on": .string("conv2"), "stem_bias": .bool(false), "bn_eps": .double(1e-5)],
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
                  .insertUnitInputDim(keyPattern: #"\.conv1\.weight$"#)],
        behaviour: ["bn_eps": .double(1e-5)],
        preprocessing: .inception(299))

    /// Seed 004, timm `legacy_xception` (the canonical names).
    public static let seed004Xception = LayoutProfile(
        name: "seed004", family: .xception,
        implementation: "seed 004 Xception; timm legacy_xception",
        fingerprint: Fingerprint(required: [#"^block1\.rep\.0\.conv1\.weight$"#, #"^block12\.skip\.weight$"#, #"^fc\.weight$"#]),
        repairs: [.appendUnitSpatialDims(keyPattern: #"pointwise\.weight$"#),
                  .insertUnitInputDim(keyPattern: #"\.conv1\.weight$"#)],
        behaviour: ["bn_eps": .double(1e-5)],
        preprocessing: .inception(299))
}

extension LayoutProfile {
    // MARK: ShuffleNet v1
    //
    // Canonical names (tools/reference_nets/shufflenet_v1.py, whose options reproduce each layout below
    // exactly — tools/check_reference_nets.py proves it): conv1 (+bias), bn1, stages.S.U.{compress,
    // compress_bn, depthwise, depthwise_bn, expand, expand_bn, shortcut, shortcut_bn}, fc (+bias).
    // Behaviour keys: stem_relu, shuffle_placement (after_compress | after_depthwise), shuffle_order
    // (paper: view(B, g, C/g) + transpose | megvii: reshape(B, C/g, g) + permute), shuffle_first_unit
    // (does the first unit, whose 1x1 is ungrouped, shuffle), concat_relu (both: relu(cat(shortcut, main))
    // | main: cat(shortcut, relu(main))), output (logits | softmax), bn_eps.

    /// Stage modules `stage2`…`stage4` are the canonical stages 0…2.
    static let shuffleNetStages = [0, 0, 0, 1, 2]

    /// Seed 000 (the Korean post's own variant): `stageK.U.gconv1/DWConv/gconv2`, a 1x1 `identity`
    /// projection on the pooled shortcut of the first unit, biases everywhere, no stem BN or ReLU, no
    /// shuffle in the first unit (its 1x1 is ungrouped), and a softmax at the end.
    public static let seed000ShuffleNet = LayoutProfile(
        name: "seed000", family: .shuffleNetV1,
        implementation: "seed 000 ShuffleNet v1 variant (GConv, DWConv, ShuffleNetUnit)",
        fingerprint: Fingerprint(required: [#"^stage2\.0\.gconv1\.gconv\.weight$"#, #"^stage2\.0\.identity\.weight$"#]),
        renames: [
            RenameRule(#"^stage([234])\.(\d+)\."#, "stages.{stage[$1]}.$2."),
            RenameRule(#"\.gconv1\.gconv\."#, ".compress."),
            RenameRule(#"\.gconv1\.batch\."#, ".compress_bn."),
            RenameRule(#"\.DWConv\.net\."#, ".depthwise."),
            RenameRule(#"\.DWConv\.batch\."#, ".depthwise_bn."),
            RenameRule(#"\.gconv2\.gconv\."#, ".expand."),
            RenameRule(#"\.gconv2\.batch\."#, ".expand_bn."),
            RenameRule(#"\.identity\."#, ".shortcut."),
        ],
        tables: ["stage": shuffleNetStages],
        behaviour: ["stem_relu": .bool(false), "shuffle_placement": .string("after_compress"),
                    "shuffle_order": .string("paper"), "shuffle_first_unit": .bool(false),
                    "concat_relu": .string("both"), "output": .string("softmax"), "bn_eps": .double(1e-5)],
        preprocessing: .imageNet(224))

    /// Seed 001 (jaxony/ShuffleNet as the Chinese post prints it): `stageK.ShuffleUnit_StageK_U`, biases
    /// everywhere, no stem BN or ReLU, the shuffle after the first 1x1 (also in the first unit, whose 1x1
    /// is ungrouped), and ReLU over the concatenation.
    public static let seed001ShuffleNet = LayoutProfile(
        name: "seed001", family: .shuffleNetV1,
        implementation: "seed 001 ShuffleNet v1 (jaxony/ShuffleNet ShuffleUnit)",
        fingerprint: Fingerprint(required: [#"^stage2\.ShuffleUnit_Stage2_0\.g_conv_1x1_compress\.conv1x1\.weight$"#]),
        renames: [
            RenameRule(#"^stage([234])\.ShuffleUnit_Stage[234]_(\d+)\."#, "stages.{stage[$1]}.$2."),
            RenameRule(#"\.g_conv_1x1_compress\.conv1x1\."#, ".compress."),
            RenameRule(#"\.g_conv_1x1_compress\.batch_norm\."#, ".compress_bn."),
            RenameRule(#"\.depthwise_conv3x3\."#, ".depthwise."),
            RenameRule(#"\.bn_after_depthwise\."#, ".depthwise_bn."),
            RenameRule(#"\.g_conv_1x1_expand\.conv1x1\."#, ".expand."),
            RenameRule(#"\.g_conv_1x1_expand\.batch_norm\."#, ".expand_bn."),
        ],
        tables: ["stage": shuffleNetStages],
        behaviour: ["stem_relu": .bool(false), "shuffle_placement": .string("after_compress"),
                    "shuffle_order": .string("paper"), "shuffle_first_unit": .bool(true),
                    "concat_relu": .string("both"), "output": .string("logits"), "bn_eps": .double(1e-5)],
        preprocessing: .imageNet(224))

    /// Flat `features.N` index → (stage, unit) for Megvii's stage repeats [4, 8, 4].
    static let megviiStage = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]
    static let megviiUnit = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]

    /// Megvii's official ShuffleNetV1 (megvii-model/ShuffleNet-Series): `first_conv.{0,1}`, flat
    /// `features.N.branch_main_1.{0,1,3,4}` / `branch_main_2.{0,1}` (index 2 is the ReLU), classifier
    /// without bias, no conv biases; the shuffle follows the depthwise conv with the inverse permutation;
    /// BGR input in 0–255 without normalisation.
    public static let megviiShuffleNet = LayoutProfile(
        name: "megvii", family: .shuffleNetV1,
        implementation: "Megvii ShuffleNet-Series ShuffleNetV1 (ShuffleV1Block)",
        fingerprint: Fingerprint(required: [#"^first_conv\.0\.weight$"#, #"^features\.0\.branch_main_1\.0\.weight$"#]),
        renames: [
            RenameRule(#"^first_conv\.0\."#, "conv1."),
            RenameRule(#"^first_conv\.1\."#, "bn1."),
            RenameRule(#"^classifier\.0\."#, "fc."),
            RenameRule(#"^features\.(\d+)\."#, "stages.{stage[$1]}.{unit[$1]}."),
            RenameRule(#"\.branch_main_1\.0\."#, ".compress."),
            RenameRule(#"\.branch_main_1\.1\."#, ".compress_bn."),
            RenameRule(#"\.branch_main_1\.3\."#, ".depthwise."),
            RenameRule(#"\.branch_main_1\.4\."#, ".depthwise_bn."),
            RenameRule(#"\.branch_main_2\.0\."#, ".expand."),
            RenameRule(#"\.branch_main_2\.1\."#, ".expand_bn."),
        ],
        tables: ["stage": megviiStage, "unit": megviiUnit],
        behaviour: ["stem_relu": .bool(true), "shuffle_placement": .string("after_depthwise"),
                    "shuffle_order": .string("megvii"), "shuffle_first_unit": .bool(true),
                    "concat_relu": .string("main"), "output": .string("logits"), "bn_eps": .double(1e-5)],
        preprocessing: Preprocessing(inputSize: [224, 224], channelOrder: .bgr, pixelScale: 1,
                                     mean: [0, 0, 0], std: [1, 1, 1]))

    /// mmpretrain's ShuffleNetV1 in an ImageClassifier: `backbone.conv1.{conv,bn}`,
    /// `backbone.layers.S.U.{g_conv_1x1_compress,depthwise_conv3x3_bn,g_conv_1x1_expand}.{conv,bn}`,
    /// `head.fc`; the shuffle follows the depthwise conv with the paper's permutation.
    public static let mmpretrainShuffleNet = LayoutProfile(
        name: "mmpretrain", family: .shuffleNetV1,
        implementation: "mmpretrain ShuffleNetV1 backbone + LinearClsHead",
        fingerprint: Fingerprint(required: [#"^backbone\.layers\.0\.0\.g_conv_1x1_compress\.conv\.weight$"#]),
        renames: [
            RenameRule(#"^backbone\.conv1\.conv\."#, "conv1."),
            RenameRule(#"^backbone\.conv1\.bn\."#, "bn1."),
            RenameRule(#"^head\.fc\."#, "fc."),
            RenameRule(#"^backbone\.layers\.(\d+)\.(\d+)\."#, "stages.$1.$2."),
            RenameRule(#"\.g_conv_1x1_compress\.conv\."#, ".compress."),
            RenameRule(#"\.g_conv_1x1_compress\.bn\."#, ".compress_bn."),
            RenameRule(#"\.depthwise_conv3x3_bn\.conv\."#, ".depthwise."),
            RenameRule(#"\.depthwise_conv3x3_bn\.bn\."#, ".depthwise_bn."),
            RenameRule(#"\.g_conv_1x1_expand\.conv\."#, ".expand."),
            RenameRule(#"\.g_conv_1x1_expand\.bn\."#, ".expand_bn."),
        ],
        behaviour: ["stem_relu": .bool(true), "shuffle_placement": .string("after_depthwise"),
                    "shuffle_order": .string("paper"), "shuffle_first_unit": .bool(true),
                    "concat_relu": .string("main"), "output": .string("logits"), "bn_eps": .double(1e-5)],
        preprocessing: .imageNet(224))
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
