/// Each family's layers in forward order, matched against a checkpoint's modules by shape and role:
/// the canonical name every stored module gets. Names in the file play no part, so index shifts
/// (a ReLU or a Dropout between two layers) and any naming scheme are absorbed; widths, group counts,
/// stage boundaries and block counts are read from the shapes as the walk goes.
enum FamilyAlignment {
    typealias Aligned = [(module: StoredModule, canonical: String)]

    static func align(_ family: NetworkFamily, _ modules: [StoredModule]) throws(AlignmentFailure) -> Aligned {
        switch family {
        case .mobileNetV2: try mobileNetV2(modules)
        case .resnext: try resnext(modules)
        case .shuffleNetV1: try shuffleNetV1(modules)
        case .xception: try xception(modules)
        }
    }

    /// torchvision's MobileNetV2: stem conv + BN, inverted residuals (optional 1×1 expansion, 3×3
    /// depthwise, linear 1×1 projection, each with its BN), the last 1×1 conv + BN, the classifier.
    static func mobileNetV2(_ modules: [StoredModule]) throws(AlignmentFailure) -> Aligned {
        var c = ModuleCursor(family: .mobileNetV2, modules: modules)
        let stem = try c.convolution("features.0.0", "the stem convolution [C, 3, 3, 3] without bias") { _, i, k, b in
            i == 3 && k == 3 && !b
        }
        try c.batchNorm("features.0.1", channels: stem.out)
        var input = stem.out
        var index = 1
        while let next = c.peek(), case let .convolution(out, inPerGroup, kernel, _) = next.role {
            let depthwiseFirst = kernel == 3 && inPerGroup == 1 && out == input
            var expands = false
            if !depthwiseFirst {
                guard kernel == 1, inPerGroup == input, let after = c.peek(2),
                      case let .convolution(dwOut, 1, 3, _) = after.role, dwOut == out else { break }
                expands = true
            }
            let prefix = "features.\(index).conv"
            var hidden = input
            if expands {
                hidden = try c.convolution("\(prefix).0.0", "an expansion 1x1 convolution from \(input) channels") { _, i, k, b in
                    i == input && k == 1 && !b
                }.out
                try c.batchNorm("\(prefix).0.1", channels: hidden)
            }
            let dw = expands ? "\(prefix).1" : "\(prefix).0"
            try c.convolution("\(dw).0", "a 3x3 depthwise convolution over \(hidden) channels") { o, i, k, b in
                o == hidden && i == 1 && k == 3 && !b
            }
            try c.batchNorm("\(dw).1", channels: hidden)
            let projection = expands ? "\(prefix).2" : "\(prefix).1"
            let output = try c.convolution(projection, "a linear 1x1 projection from \(hidden) channels") { _, i, k, b in
                i == hidden && k == 1 && !b
            }.out
            try c.batchNorm(expands ? "\(prefix).3" : "\(prefix).2", channels: output)
            input = output
            index += 1
        }
        guard index > 1 else { throw c.failure("an inverted residual block (1x1 expansion or 3x3 depthwise over \(input) channels)") }
        let last = try c.convolution("features.\(index).0", "the last 1x1 convolution from \(input) channels") { _, i, k, b in
            i == input && k == 1 && !b
        }
        try c.batchNorm("features.\(index).1", channels: last.out)
        _ = try c.classifier("classifier.1", features: last.out)
        return try c.finish()
    }

    /// torchvision's ResNeXt: 7×7 stem + BN (3×3 in CIFAR implementations), stages of bottlenecks (1×1, grouped 3×3, 1×1, each
    /// with BN, and a 1×1 + BN projection where the shape changes, stored after or before the main
    /// branch), the classifier. A block with a projection starts a stage.
    static func resnext(_ modules: [StoredModule]) throws(AlignmentFailure) -> Aligned {
        var c = ModuleCursor(family: .resnext, modules: modules)
        let stem = try c.convolution("conv1", "the stem convolution [C, 3, 7, 7] (or [C, 3, 3, 3] in CIFAR implementations)") { _, i, k, _ in
            i == 3 && (k == 7 || k == 3)
        }
        try c.batchNorm("bn1", channels: stem.out)
        var input = stem.out
        var layer = 0
        var block = 0
        while let next = c.peek(), case let .convolution(_, inPerGroup, 1, _) = next.role, inPerGroup == input {
            // Two 1x1 convolutions from the block input in a row (each with its BN): the projection was stored first.
            var projectionFirst = false
            if let third = c.peek(2), case let .convolution(_, thirdIn, 1, _) = third.role, thirdIn == input { projectionFirst = true }
            let startsStage = projectionFirst || hasTrailingProjection(c, input: input) || layer == 0
            if startsStage {
                layer += 1
                block = 0
            }
            let prefix = "layer\(layer).\(block)"
            var projected: Int?
            if projectionFirst {
                projected = try c.convolution("\(prefix).downsample.0", "a 1x1 projection from \(input) channels") { _, i, k, b in
                    i == input && k == 1 && !b
                }.out
                try c.batchNorm("\(prefix).downsample.1", channels: projected ?? 0)
            }
            let width = try c.convolution("\(prefix).conv1", "a 1x1 reduction from \(input) channels") { _, i, k, b in
                i == input && k == 1 && !b
            }.out
            try c.batchNorm("\(prefix).bn1", channels: width)
            try c.convolution("\(prefix).conv2", "a grouped 3x3 convolution over \(width) channels") { o, i, k, b in
                o == width && k == 3 && i >= 1 && width % i == 0 && !b
            }
            try c.batchNorm("\(prefix).bn2", channels: width)
            let output = try c.convolution("\(prefix).conv3", "a 1x1 expansion from \(width) channels") { _, i, k, b in
                i == width && k == 1 && !b
            }.out
            try c.batchNorm("\(prefix).bn3", channels: output)
            if !projectionFirst, startsStage, hasProjection(c, input: input, output: output) {
                try c.convolution("\(prefix).downsample.0", "a 1x1 projection from \(input) to \(output) channels") { o, i, k, b in
                    o == output && i == input && k == 1 && !b
                }
                try c.batchNorm("\(prefix).downsample.1", channels: output)
                projected = output
            }
            if projectionFirst, projected != output { throw c.failure("a projection to \(output) channels") }
            if projected == nil, output != input { throw c.failure("a 1x1 projection from \(input) to \(output) channels") }
            input = output
            block += 1
        }
        guard layer >= 1 else { throw c.failure("a bottleneck block (1x1 reduction from \(input) channels)") }
        _ = try c.classifier("fc", features: input)
        return try c.finish()
    }

    /// Whether the block starting at the cursor ends with a projection (conv1, bn1, conv2, bn2, conv3,
    /// bn3, then a 1x1 convolution from the block input).
    private static func hasTrailingProjection(_ c: ModuleCursor, input: Int) -> Bool {
        guard let conv3 = c.peek(4), case let .convolution(output, _, 1, _) = conv3.role else { return false }
        return isProjection(c, at: 6, input: input, output: output)
    }

    private static func hasProjection(_ c: ModuleCursor, input: Int, output: Int) -> Bool {
        isProjection(c, at: 0, input: input, output: output)
    }

    /// A 1x1 convolution from `input` to `output` at `offset` that is not the next block's reduction: a
    /// reduction is followed (after its BN) by the grouped 3x3, a projection never is. Where a block's
    /// width equals its output, the shapes alone would take one for the other.
    private static func isProjection(_ c: ModuleCursor, at offset: Int, input: Int, output: Int) -> Bool {
        guard let module = c.peek(offset), case let .convolution(o, i, 1, _) = module.role, o == output, i == input else { return false }
        if let after = c.peek(offset + 2), case .convolution(_, _, 3, _) = after.role { return false }
        return true
    }

    /// Xception under Cadene's names: two 3×3 stem convolutions with BN, blocks of separable
    /// convolutions (3×3 depthwise, 1×1 pointwise, BN) with a 1×1 + BN `skip` projection where the block
    /// strides (two separable convolutions; the middle flow's blocks have three at one width and no
    /// skip), the exit flow's separable `conv3`/`bn3` and `conv4`/`bn4`, the classifier. The skip may be
    /// stored after the block's separable convolutions instead (weiaicunzai's `convN_residual` registered
    /// before `convN_shortcut`), and may have a bias. Where the
    /// ReLUs sit (`startWithReLU`) is not in the weights: the paper's (none before block 1's first
    /// separable convolution, one before every other block's) is assumed, and the reference decides.
    static func xception(_ modules: [StoredModule]) throws(AlignmentFailure) -> Aligned {
        var c = ModuleCursor(family: .xception, modules: modules)
        let first = try c.convolution("conv1", "the first 3x3 stem convolution [C, 3, 3, 3]") { _, i, k, b in i == 3 && k == 3 && !b }
        try c.batchNorm("bn1", channels: first.out)
        let second = try c.convolution("conv2", "the second 3x3 stem convolution from \(first.out) channels") { _, i, k, b in
            i == first.out && k == 3 && !b
        }
        try c.batchNorm("bn2", channels: second.out)
        var input = second.out

        func separable(_ cursor: inout ModuleCursor, _ name: String, bn: String, from channels: Int) throws(AlignmentFailure) -> Int {
            try cursor.convolution("\(name).conv1", "a 3x3 depthwise convolution over \(channels) channels") { o, i, k, b in
                o == channels && i == 1 && k == 3 && !b
            }
            let out = try cursor.convolution("\(name).pointwise", "a 1x1 pointwise convolution from \(channels) channels") { _, i, k, b in
                i == channels && k == 1 && !b
            }.out
            try cursor.batchNorm(bn, channels: out)
            return out
        }
        func pointwiseOut(_ module: StoredModule?) -> Int {
            switch module?.role {
            case let .convolution(o, _, 1, _)?, let .linear(o, _, _)?: o
            default: -1
            }
        }
        func isDepthwise(_ module: StoredModule?, _ channels: Int) -> Bool {
            if case let .convolution(o, 1, 3, _)? = module?.role { return o == channels }
            return false
        }
        var block = 1
        while true {
            // A skip projection from the block input, its BN, then a depthwise convolution over the same input.
            let skipped: Bool = {
                guard isDepthwise(c.peek(2), input) else { return false }
                if case let .convolution(_, i, 1, _)? = c.peek()?.role { return i == input }
                if case let .linear(_, i, _)? = c.peek()?.role { return i == input }
                return false
            }()
            // A middle-flow block: three separable convolutions that keep the width.
            let middle: Bool = !skipped && (0..<3).allSatisfy { step in
                guard isDepthwise(c.peek(3 * step), input) else { return false }
                switch c.peek(3 * step + 1)?.role {
                case let .convolution(o, i, 1, _)?, let .linear(o, i, _)?: return o == input && i == input   // 2-D in old files
                default: return false
                }
            }
            // Two separable convolutions from the block input, then a 1x1 projection from the same input: the skip
            // stored after the block.
            let trailingSkip: Bool = {
                guard !skipped, !middle, isDepthwise(c.peek(), input), isDepthwise(c.peek(3), pointwiseOut(c.peek(1))) else { return false }
                if case let .convolution(o, i, 1, _)? = c.peek(6)?.role { return i == input && o == pointwiseOut(c.peek(4)) }
                return false
            }()
            guard skipped || middle || trailingSkip else { break }
            let prefix = "block\(block)"
            var output = input
            func skip(_ cursor: inout ModuleCursor) throws(AlignmentFailure) -> Int {
                let out = try cursor.convolution("\(prefix).skip", "a 1x1 skip projection from \(input) channels") { _, i, k, _ in
                    i == input && k == 1
                }.out
                try cursor.batchNorm("\(prefix).skipbn", channels: out)
                return out
            }
            if skipped { output = try skip(&c) }
            let start = block == 1 ? 0 : 1
            var channels = input
            for step in 0..<(middle ? 3 : 2) {
                channels = try separable(&c, "\(prefix).rep.\(start + 3 * step)", bn: "\(prefix).rep.\(start + 3 * step + 1)", from: channels)
            }
            if trailingSkip { output = try skip(&c) }
            if channels != output { throw c.failure("a separable convolution ending \(prefix) at its skip's \(output) channels") }
            input = output
            block += 1
        }
        guard block > 1 else { throw c.failure("an Xception block (a skip projection or a separable convolution over \(input) channels)") }
        let exit = try separable(&c, "conv3", bn: "bn3", from: input)
        let last = try separable(&c, "conv4", bn: "bn4", from: exit)
        _ = try c.classifier("fc", features: last)
        return try c.finish()
    }

    /// ShuffleNet v1 under weightconv's canonical names: 3×3 stem (optional BN), units of grouped 1×1
    /// compress, 3×3 depthwise, grouped 1×1 expand (each with BN) and an optional 1×1 projection on the
    /// shortcut, the classifier. A unit whose output is concatenated with its (pooled) input starts a stage.
    static func shuffleNetV1(_ modules: [StoredModule]) throws(AlignmentFailure) -> Aligned {
        var c = ModuleCursor(family: .shuffleNetV1, modules: modules)
        // 3x3 in the paper; kuangliu's CIFAR stem is 1x1.
        let stem = try c.convolution("conv1", "the stem convolution [C, 3, 3, 3] (or [C, 3, 1, 1])") { _, i, k, _ in i == 3 && (k == 3 || k == 1) }
        if c.peek()?.role == .batchNorm(channels: stem.out) { try c.batchNorm("bn1", channels: stem.out) }
        var input = stem.out
        var stage = -1
        var unit = 0
        while let next = c.peek(), case let .convolution(_, inPerGroup, 1, _) = next.role, inPerGroup >= 1, input % inPerGroup == 0 {
            // Look ahead to the expand convolution and to what reads this unit's output (the next unit's
            // compress, whose groups are the expand's, or the classifier): a unit that concatenates its
            // pooled input passes on expand + input channels, one that adds passes on expand's. The widths
            // alone cannot tell (Megvii's stage-opening expand has exactly the input's width).
            guard case let .convolution(bottleneckOut, _, 1, _)? = c.peek()?.role,
                  let expandModule = c.peek(4), case let .convolution(expandOut, expandIn, 1, _) = expandModule.role,
                  expandIn >= 1, bottleneckOut % expandIn == 0 else { break }
            let groups = bottleneckOut / expandIn
            let projection: Int? = {
                guard let s = c.peek(6), case let .convolution(o, i, 1, _) = s.role, i == input,
                      c.peek(8).map({ if case .convolution(_, _, 3, _) = $0.role { false } else { true } }) ?? true else { return nil }
                return o
            }()
            let reader = c.peek(projection == nil ? 6 : (c.peek(7)?.role == .batchNorm(channels: projection ?? 0) ? 8 : 7))
            func reads(_ channels: Int) -> Bool {
                switch reader?.role {
                case let .convolution(_, inPerGroup, 1, _)?:
                    // The next unit's compress: grouped like this unit's expand, or ungrouped.
                    return channels == inPerGroup * groups || channels == inPerGroup
                case let .linear(_, features, _)?: return channels == features
                case let .convolution(_, features, 1, _)?: return channels == features
                default: return false
                }
            }
            let concatenated = expandOut + (projection ?? input)
            let concatenates = stage < 0 || projection != nil || expandOut != input
                || (reads(concatenated) && !reads(expandOut))
            if concatenates {
                stage += 1
                unit = 0
            }
            let prefix = "stages.\(stage).\(unit)"
            let bottleneck = try c.convolution("\(prefix).compress", "a grouped 1x1 compress from \(input) channels") { _, i, k, _ in
                k == 1 && input % i == 0
            }.out
            try c.batchNorm("\(prefix).compress_bn", channels: bottleneck)
            try c.convolution("\(prefix).depthwise", "a 3x3 depthwise convolution over \(bottleneck) channels") { o, i, k, _ in
                o == bottleneck && i == 1 && k == 3
            }
            try c.batchNorm("\(prefix).depthwise_bn", channels: bottleneck)
            let expanded = try c.convolution("\(prefix).expand", "a grouped 1x1 expand from \(bottleneck) channels") { _, i, k, _ in
                k == 1 && bottleneck % i == 0
            }.out
            try c.batchNorm("\(prefix).expand_bn", channels: expanded)
            var shortcut = input
            if let projection {
                try c.convolution("\(prefix).shortcut", "a 1x1 shortcut projection") { o, i, k, _ in o == projection && i == input && k == 1 }
                if c.peek()?.role == .batchNorm(channels: projection) { try c.batchNorm("\(prefix).shortcut_bn", channels: projection) }
                shortcut = projection
            }
            input = concatenates ? expanded + shortcut : expanded
            unit += 1
        }
        guard stage >= 0 else { throw c.failure("a ShuffleNet unit (grouped 1x1 compress from \(input) channels)") }
        _ = try c.classifier("fc", features: input)
        return try c.finish()
    }
}
