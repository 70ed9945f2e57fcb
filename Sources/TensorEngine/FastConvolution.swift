import CKernels

/// A convolution ready for the fast path: batch norm folded into the weight and bias, the
/// activation (and an optional residual addition) fused into the epilogue, and the algorithm
/// chosen once from the layer's geometry.
struct PreparedConvolution: Sendable {
    enum Algorithm: Sendable {
        /// 1×1, stride 1, no padding: the input planes already are the GEMM's right-hand matrix.
        case pointwise
        /// Any other dense or grouped convolution: im2col into a scratch matrix, then GEMM.
        case im2col
        /// One filter per channel: direct loops over a zero-padded copy of each plane.
        case depthwise
    }

    let algorithm: Algorithm
    let weight: [Float] // [out, in/groups · kH · kW], batch norm folded in
    let bias: [Float] // [out], batch norm folded in
    let parameters: Conv2dParameters
    let inputChannels: Int
    let outputChannels: Int
    let kernel: Size2
    var activation: Activation
    /// An activation applied to the input as it is read (Xception's ReLU before a separable
    /// convolution whose input also feeds the skip path).
    var inputActivation: Activation = .identity
    /// Which kernels run where both exist (set by the executor).
    var kernels: KernelSet = .portable
    /// Whether the layer's GEMMs run on the engine's AVX-512 kernel with the epilogue fused (see
    /// ``EngineGEMM``; set by the executor) rather than through ``multiplyMatrices`` and ``finishRow``.
    var engineGEMM = false
    /// For a depthwise convolution after a channel shuffle: output channel `c` reads input channel
    /// `inputPlanes[c]` (the shuffle folded into the read, so its copy is never made).
    var inputPlanes: [Int]?
    /// For a depthwise convolution before a channel shuffle: input channel `c`'s result is written
    /// as output channel `outputPlanes[c]` (the shuffle folded into the write).
    var outputPlanes: [Int]?
    /// For a GEMM layer (1×1 or unfolded) whose only readers are depthwise convolutions: its results
    /// are left as the GEMM wrote them, and each reader adds the bias and applies the activation as
    /// it reads (``inputBias``), in place of an epilogue pass over the whole output.
    var defersEpilogue = false
    /// For a depthwise convolution reading such a layer: that layer's bias by its output channel
    /// (the channel of the plane read), added to every input inside the plane before
    /// ``inputActivation``; the padding stays zero.
    var inputBias: [Float]? // [input channels]
    /// A GEMM layer's weights rounded to bfloat16 when it runs at ``Precision/bfloat16`` (see
    /// ``usePrecision(_:residual:)``); nil at float32 and for the layers direct kernels run.
    private(set) var bfloat16Weights: BFloat16Weights?

    /// Runs the layer at `precision`: bfloat16 applies to the layers that run as GEMMs (1×1 and
    /// unfolded ones: the bulk of the work); depthwise layers and those a direct kernel runs (grouped
    /// 3×3, the 3-channel stems) stay float32.
    mutating func usePrecision(_ precision: Precision, residual: Bool) {
        let gemm = algorithm == .pointwise || (algorithm == .im2col && !runsDirect3x3(residual: residual))
        bfloat16Weights = precision == .bfloat16 && gemm ? BFloat16Weights(weight) : nil
    }

    /// Whether the direct 3×3 kernel runs the layer instead of im2col + GEMM (see ``run``).
    func runsDirect3x3(residual: Bool) -> Bool {
        #if arch(x86_64)
        return kernels.vector != nil && algorithm == .im2col && !residual && inputActivation == .identity
            && (parameters.groups > 1 || inputChannels <= 4) && inputChannels / parameters.groups <= 32
            && kernel == Size2(3) && parameters.dilation == Size2(1) && parameters.stride.h == parameters.stride.w
            && parameters.stride.w <= 2
        #else
        return false
        #endif
    }

    init(_ layer: ConvolutionLayer, batchNorm: BatchNorm?, activation: Activation) {
        let out = layer.outputChannels
        let perOutput = layer.weight.count / max(out, 1)
        var weight = layer.weight.storage
        var bias = layer.bias ?? [Float](repeating: 0, count: out)
        if let batchNorm {
            // bn(conv(x) + b) = conv(x)·scale + (b·scale + shift), channel by channel.
            let (scale, shift) = batchNorm.affine
            for o in 0..<out {
                for i in 0..<perOutput { weight[o * perOutput + i] *= scale[o] }
                bias[o] = bias[o] * scale[o] + shift[o]
            }
        }
        self.weight = weight
        self.bias = bias
        self.parameters = layer.parameters
        self.inputChannels = layer.inputChannels
        self.outputChannels = out
        self.kernel = layer.kernel
        self.activation = activation
        let p = layer.parameters
        if layer.isDepthwise {
            algorithm = .depthwise
        } else if layer.kernel == Size2(1), p.stride == Size2(1), p.padding == Size2(0) {
            algorithm = .pointwise
        } else {
            algorithm = .im2col
        }
    }

    /// Floats of per-worker scratch the layer needs for an input of `shape` when split `workers` ways.
    func scratchFloats(input shape: [Int], output: [Int]) -> Int {
        let packed = imagesPacked(output: output)
        let plane = output[2] * output[3]
        let icg = inputChannels / parameters.groups, ocg = outputChannels / parameters.groups
        let k = icg * kernel.h * kernel.w
        // At bfloat16, room for the GEMM's right-hand matrix rounded (two values a float): a tile of
        // columns, or the packed planes.
        let columns = packed > 1 ? packed * plane : Self.widestTile(rows: ocg, columns: plane)
        let rounded = bfloat16Weights == nil ? 0 : (k * columns + 1) / 2 + 16
        return switch algorithm {
        // Packed images: their input planes side by side, then the GEMM's result before it is scattered.
        case .pointwise: (packed > 1 ? (icg + ocg) * packed * plane : 0) + rounded
        // A tile's unfolded input, then (bfloat16) the same rounded.
        case .im2col: k * Self.widestTile(rows: ocg, columns: plane) + rounded
        // A padded plane; stride 2 stores each row as two halves of ⌈width/2⌉ (one float more per row),
        // and the 3×3 kernel's last partial vector may read up to 16 floats past the last row.
        case .depthwise: max((shape[2] + 2 * parameters.padding.h) * (shape[3] + 2 * parameters.padding.w + 1) + 32,
                             eightChannelWork(output: output))
        }
    }

    /// Whether the AVX2 depthwise kernel over eight channels (`wc_depthwise3x3x8_avx2`) runs this
    /// layer for outputs `outputWidth` wide, its channels in groups of eight (a last group of fewer
    /// runs plane by plane): one answer for the scratch it is given and the path it runs. Under the
    /// AVX-512 set it runs too where it beats that set's plane kernel (every processor with AVX-512
    /// has AVX2 and FMA).
    private func runsEightChannels(outputWidth: Int) -> Bool {
        #if arch(x86_64)
        guard let vector = kernels.vector else { return false }
        return algorithm == .depthwise && inputChannels >= 8 && kernel == Size2(3)
            && parameters.dilation == Size2(1) && parameters.stride.h == parameters.stride.w && parameters.stride.w <= 2
            && wc_depthwise3x3x8_pays(outputWidth, parameters.stride.w, vector == .avx512)
        #else
        return false
        #endif
    }

    /// Floats of work space the eight-channel kernel needs for `output`'s planes where it runs the
    /// layer (see ``runsEightChannels(outputWidth:)``); else 0.
    private func eightChannelWork(output: [Int]) -> Int {
        #if arch(x86_64)
        guard runsEightChannels(outputWidth: output[3]) else { return 0 }
        return wc_depthwise3x3x8_work(output[2], output[3], parameters.stride.w)
        #else
        return 0
        #endif
    }

    /// Runs the layer: `output = act(conv(input) + bias + residual)`.
    func run(input: SharedPointer, inputShape: [Int], output: SharedPointer, outputShape: [Int],
             residual: SharedPointer?, scratch: [SharedPointer], workers: Workers) {
        switch (algorithm, kernels.vector) {
        #if arch(x86_64)
        case (.im2col, let vector?) where runsDirect3x3(residual: residual != nil):
            runGrouped3x3(vector, input: input, inputShape: inputShape, output: output, outputShape: outputShape, workers: workers)
        #endif
        case (.pointwise, _) where imagesPacked(output: outputShape) > 1:
            runPackedPointwise(input: input, inputShape: inputShape, output: output, outputShape: outputShape, residual: residual,
                               scratch: scratch, workers: workers)
        case (.pointwise, _), (.im2col, _):
            runGEMM(input: input, inputShape: inputShape, output: output, outputShape: outputShape, residual: residual,
                    scratch: scratch, workers: workers)
        case (.depthwise, _):
            runDepthwise(input: input, inputShape: inputShape, output: output, outputShape: outputShape, residual: residual,
                         scratch: scratch, workers: workers)
        }
    }

    /// Output columns per GEMM: few enough that the output tile (`rows × columns` floats, ≤ 768 KiB)
    /// is still in the core's L2 cache when the epilogue (bias, residual, activation) passes over
    /// it; many enough (≥ 256) that the GEMM's repacking of the weights, once per call, stays small
    /// next to its arithmetic.
    static func tileColumns(rows: Int, columns: Int) -> Int {
        let budget = 192 * 1024 / max(rows, 1)
        let tile = max(256, budget / 16 * 16)
        return min(columns, tile)
    }

    /// The widest column tile a GEMM of `columns` can get, what per-tile scratch is sized for: the
    /// budget of ``tileColumns(rows:columns:)`` plus the up to 15 columns that ``tileStart(_:of:columns:)``
    /// moves a tile's start down by. (Scratch sized for the budget alone was 15 columns short for a
    /// layer whose columns fell just under two budgets: 6115–6144 at 64 rows.)
    static func widestTile(rows: Int, columns: Int) -> Int {
        min(columns, tileColumns(rows: rows, columns: columns) + 15)
    }

    /// Images whose planes one GEMM of a 1×1 convolution takes side by side: planes narrower than a
    /// tile (``tileColumns(rows:columns:)``, counted over the whole batch) are packed, the nearest
    /// whole number of them to a tile, so that the GEMM packs the layer's weights and reads them
    /// from memory once for several images rather than once for each 7×7 plane. 1 (the per-image
    /// path) for a single image or wider planes.
    static func imagesPerTile(rows: Int, plane: Int, images: Int) -> Int {
        // Only planes of at most half the narrowest tile (7×7, 10×10): a 14×14 or 28×28 plane is a
        // GEMM wide enough on its own, and copying it in and out (once per share when shares cut
        // the output channels) cost more than the shared weights saved (ShuffleNet v1 at batch 8,
        // 2 threads: 10% slower when they were packed too).
        guard images > 1, plane > 0, 2 * plane <= 256 else { return 1 }
        let target = tileColumns(rows: rows, columns: images * plane)
        return min(images, max(1, (target + plane / 2) / plane))
    }

    /// This layer's ``imagesPerTile(rows:plane:images:)`` for an output of `shape`: one definition for
    /// the scratch it is given and the path it runs, so the two cannot disagree.
    func imagesPacked(output shape: [Int]) -> Int {
        Self.imagesPerTile(rows: outputChannels / parameters.groups, plane: shape[2] * shape[3], images: shape[0])
    }

    /// Where column tile `t` of `tiles` starts: an even cut moved down to a multiple of 16 columns
    /// (when tiles are wide enough that it stays even), so that only the last tile ends in a
    /// partial block of the GEMM's 16-column kernels; an even cut gave every tile one. Xception's
    /// 728×728 pointwise GEMM over 19×19 (361 columns, two tiles), dnnl_sgemm alone, 1 thread:
    /// 180 + 181 columns 3.66 ms, 176 + 185 3.52 ms, all 361 at once 3.53 ms.
    static func tileStart(_ t: Int, of tiles: Int, columns: Int) -> Int {
        let even = columns * t / max(tiles, 1)
        guard t < tiles, columns / max(tiles, 1) >= 64 else { return even }
        return even / 16 * 16
    }

    /// How a GEMM convolution is cut between `workers` shares. What each share writes must be
    /// made of runs of at least a page: when two cores own alternate pieces of a few hundred bytes
    /// (the two halves of every row of a 28×28 map, say), each core's prefetchers keep pulling in
    /// lines next to its own that the other core is writing, and the layer runs slower on two cores
    /// than on one. Measured with tools/bench_share_layout.sh (this pool's two threads copying
    /// 735 KiB between two buffers per region; 2 vCPUs, Sapphire Rapids class): bands of 98 floats
    /// 87.5 µs, of 392 floats 57.0 µs, of 1024 floats 18.1 µs, of 1568 floats 14.4 µs; runs of whole
    /// planes 11–14 µs; one thread alone 21–23 µs.
    ///
    /// So a layer cuts its columns into one band per share when a band is ≥ 1024 floats and the
    /// columns outnumber the rows (each share then reads only its part of the larger operand, the
    /// input) or the layer unfolds its input (cutting rows would have every share unfold the same
    /// columns); else, when there are `items` (images × groups) enough that whole ones fall evenly
    /// (at least one per share, and a multiple of the shares or at least four each, counting their
    /// column tiles), they are dealt out in contiguous runs:
    /// a block of rows per share would have every share repack the same input columns in its GEMM
    /// call, and multiply fewer rows per call (ShuffleNet v1 at batch 8, 2 threads: its 480→120
    /// grouped layers over 14×14 gained 1.6× from the second thread cut by rows); else its output
    /// channels (rows) into one block per share when blocks have ≥ 4 rows; else the items are dealt
    /// out in contiguous runs. Within a share, column
    /// tiles no wider than ``tileColumns(rows:columns:)``.
    static func split(rows: Int, columns: Int, workers: Int, unfolds: Bool = false, items: Int = 1) -> GEMMSplit {
        let widest = tileColumns(rows: rows, columns: columns)
        let tiles = (columns + widest - 1) / max(widest, 1)
        guard workers > 1 else { return GEMMSplit(tiles: tiles, rowPieces: 1, cut: .items) }
        let banded = (tiles + workers - 1) / workers * workers
        let byColumns = columns / workers >= 1024, byRows = rows / workers >= 4
        if byColumns && (unfolds || columns >= rows || !byRows) { return GEMMSplit(tiles: banded, rowPieces: 1, cut: .columns) }
        let whole = items * tiles
        if items >= workers && (whole % workers == 0 || whole >= 4 * workers) { return GEMMSplit(tiles: tiles, rowPieces: 1, cut: .items) }
        return byRows ? GEMMSplit(tiles: tiles, rowPieces: workers, cut: .rows) : GEMMSplit(tiles: tiles, rowPieces: 1, cut: .items)
    }

    /// Column tiles and row blocks of a GEMM convolution, and which of them the shares are cut by.
    struct GEMMSplit: Equatable {
        enum Cut { case columns, rows, items }
        var tiles: Int
        var rowPieces: Int
        var cut: Cut
    }

    /// The folded weights and biases as pointers every share may read, for the length of `body`.
    private func withParameters(_ body: (_ weights: SharedPointer, _ biases: SharedPointer) -> Void) {
        weight.withUnsafeBufferPointer { weightBuffer in
            bias.withUnsafeBufferPointer { biasBuffer in
                body(SharedPointer(UnsafeMutablePointer(mutating: weightBuffer.baseAddress!)),
                     SharedPointer(UnsafeMutablePointer(mutating: biasBuffer.baseAddress!)))
            }
        }
    }

    /// Bias, residual and activation over one finished row of a GEMM, by the vector kernel where
    /// the processor has one.
    @inline(__always)
    private func finishRow(_ row: UnsafeMutablePointer<Float>, count: Int, bias: Float, residual: UnsafePointer<Float>?) {
        #if arch(x86_64)
        if let vector = kernels.vector {
            vector.epilogue(row, count, bias, residual, activation.code)
            return
        }
        #endif
        epilogue(row, count: count, bias: bias, residual: residual, activation: activation)
    }

    /// One GEMM per (image, group, tile of columns, block of rows): `C[rows, tile] = W[rows, K] · B[K, tile]`,
    /// then the epilogue over the tile while it is in cache.
    private func runGEMM(input: SharedPointer, inputShape: [Int], output: SharedPointer, outputShape: [Int],
                         residual: SharedPointer?, scratch: [SharedPointer], workers: Workers) {
        let (n, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let (oh, ow) = (outputShape[2], outputShape[3])
        let g = parameters.groups
        let icg = inputChannels / g, ocg = outputChannels / g
        let k = icg * kernel.h * kernel.w
        let columns = oh * ow
        let engine = engineGEMM || EngineGEMM.takes(columns: columns, kernels: kernels,
                                                      precision: bfloat16Weights == nil ? .float32 : .bfloat16)
        let shares = workers.count
        let split = Self.split(rows: ocg, columns: columns, workers: shares, unfolds: algorithm == .im2col, items: n * g)
        // Work items: (image, group, column tile, block of rows), each with the share that runs it:
        // the share of its band of columns or block of rows, else of its run of items.
        struct Item { var image: Int, group: Int, rows: Range<Int>, columns: Range<Int>, share: Int }
        let itemCount = n * g * split.tiles * split.rowPieces
        var items: [Item] = []
        items.reserveCapacity(itemCount)
        for image in 0..<n {
            for group in 0..<g {
                for t in 0..<split.tiles {
                    for piece in 0..<split.rowPieces {
                        let share = switch split.cut {
                        case .rows: piece * shares / split.rowPieces
                        case .columns: t * shares / split.tiles
                        case .items: items.count * shares / itemCount
                        }
                        items.append(Item(image: image, group: group,
                                          rows: (ocg * piece / split.rowPieces)..<(ocg * (piece + 1) / split.rowPieces),
                                          columns: Self.tileStart(t, of: split.tiles, columns: columns)..<Self.tileStart(t + 1, of: split.tiles, columns: columns),
                                          share: share))
                    }
                }
            }
        }
        let plan = items
        let cin = inputChannels, cout = outputChannels
        withParameters { weights, biases in
            workers.run { worker in
                for item in plan where item.share == worker {
                    let width = item.columns.count
                    let source = input[(item.image * cin + item.group * icg) * h * w]
                    let b: UnsafePointer<Float>
                    let ldb: Int
                    if algorithm == .pointwise {
                        b = UnsafePointer(source + item.columns.lowerBound)
                        ldb = columns
                    } else {
                        im2col(source: source, height: h, width: w, channels: icg, outputWidth: ow,
                               columns: item.columns, into: scratch[worker].base)
                        b = UnsafePointer(scratch[worker].base)
                        ldb = width
                    }
                    let firstRow = item.group * ocg + item.rows.lowerBound
                    let c = output[(item.image * cout + firstRow) * columns + item.columns.lowerBound]
                    if let halves = bfloat16Weights {
                        // The rounded B after the unfolded one (see scratchFloats); a 1×1 layer has none.
                        let rounded = scratch[worker].base + (algorithm == .pointwise ? 0 : k * width)
                        halves.multiply(rows: firstRow..<firstRow + item.rows.count, n: width, k: k, b: b, ldb: ldb,
                                        rounded: rounded, c: c, ldc: columns)
                    } else if engine, let vector = kernels.vector {
                        #if arch(x86_64)
                        // With no bias the kernel computes the plain product: a deferred epilogue
                        // stays with the readers.
                        let extra = residual.map { UnsafePointer($0[(item.image * cout + firstRow) * columns + item.columns.lowerBound]) }
                        vector.gemm(item.rows.count, width, k, weights[firstRow * k], k, b, ldb, c, columns,
                                    defersEpilogue ? nil : UnsafePointer(biases[firstRow]), extra, activation.code)
                        continue
                        #endif
                    } else {
                        multiplyMatrices(m: item.rows.count, n: width, k: k, a: weights[firstRow * k], lda: k,
                                         b: b, ldb: ldb, beta: 0, c: c, ldc: columns)
                    }
                    if defersEpilogue { continue }
                    for r in 0..<item.rows.count {
                        let extra = residual.map {
                            UnsafePointer($0[(item.image * cout + firstRow + r) * columns + item.columns.lowerBound])
                        }
                        finishRow(c + r * columns, count: width, bias: biases.base[firstRow + r], residual: extra)
                    }
                }
            }
        }
    }

    /// A 1×1 convolution over small planes (see ``imagesPerTile(rows:plane:images:)``): for each run
    /// of images and group, the images' planes are copied side by side into `[icg, images·plane]`,
    /// one GEMM computes `[rows, images·plane]` into scratch, and each row's planes are copied to
    /// their images and finished by the epilogue there. Shares take a block of output channels of
    /// every run when blocks have ≥ 16 rows (each reads half the weights; what it writes is a run of
    /// whole planes an image), else contiguous runs of (run of images, group) items.
    /// (Dealing whole items where they fall evenly, as ``split(rows:columns:workers:unfolds:items:)``
    /// does, took 1.03–1.16 of the time on ShuffleNet v1's 7×7 layers at batch 32, 2 threads.)
    private func runPackedPointwise(input: SharedPointer, inputShape: [Int], output: SharedPointer, outputShape: [Int],
                                    residual: SharedPointer?, scratch: [SharedPointer], workers: Workers) {
        let n = inputShape[0], plane = outputShape[2] * outputShape[3]
        let g = parameters.groups
        let icg = inputChannels / g, ocg = outputChannels / g
        let per = imagesPacked(output: outputShape)
        let runs = (n + per - 1) / per
        let shares = workers.count
        let rowPieces = shares > 1 && ocg / shares >= 16 ? shares : 1
        struct Item { var images: Range<Int>, group: Int, rows: Range<Int>, share: Int }
        let itemCount = runs * g * rowPieces
        var items: [Item] = []
        items.reserveCapacity(itemCount)
        for run in 0..<runs {
            for group in 0..<g {
                for piece in 0..<rowPieces {
                    let share = rowPieces > 1 ? piece : items.count * shares / itemCount
                    items.append(Item(images: (run * per)..<min(n, (run + 1) * per), group: group,
                                      rows: (ocg * piece / rowPieces)..<(ocg * (piece + 1) / rowPieces), share: share))
                }
            }
        }
        let plan = items
        let cin = inputChannels, cout = outputChannels
        withParameters { weights, biases in
            workers.run { worker in
                let packed = scratch[worker].base
                for item in plan where item.share == worker {
                    let width = item.images.count * plane
                    let result = packed + icg * width // [rows, width]
                    for ci in 0..<icg {
                        for (j, image) in item.images.enumerated() {
                            (packed + ci * width + j * plane).update(from: input[(image * cin + item.group * icg + ci) * plane],
                                                                     count: plane)
                        }
                    }
                    let firstRow = item.group * ocg + item.rows.lowerBound
                    if let halves = bfloat16Weights {
                        halves.multiply(rows: firstRow..<firstRow + item.rows.count, n: width, k: icg, b: packed, ldb: width,
                                        rounded: result + ocg * width, c: result, ldc: width)
                    } else if engineGEMM, let vector = kernels.vector {
                        #if arch(x86_64)
                        vector.gemm(item.rows.count, width, icg, weights[firstRow * icg], icg, packed, width, result, width,
                                    nil, nil, Activation.identity.code)
                        #endif
                    } else {
                        multiplyMatrices(m: item.rows.count, n: width, k: icg, a: weights[firstRow * icg], lda: icg,
                                         b: packed, ldb: width, beta: 0, c: result, ldc: width)
                    }
                    for r in 0..<item.rows.count {
                        for (j, image) in item.images.enumerated() {
                            let offset = (image * cout + firstRow + r) * plane
                            let destination = output[offset]
                            destination.update(from: result + r * width + j * plane, count: plane)
                            if defersEpilogue { continue }
                            let extra = residual.map { UnsafePointer($0[offset]) }
                            finishRow(destination, count: plane, bias: biases.base[firstRow + r], residual: extra)
                        }
                    }
                }
            }
        }
    }

    #if arch(x86_64)
    /// A grouped 3×3 convolution with at most 32 input channels a group (ResNeXt's: 4 to 32)
    /// computed directly, with no unfolded copy: its per-group GEMMs are too small to run near the
    /// machine's speed (ResNeXt-50's sixteen grouped layers: 11 ms as GEMMs, 3.4 ms here). The
    /// 3-channel stems (one group) run here too: as im2col + GEMM their K is 27, too short for the
    /// GEMM to pay for the unfolding (1 thread, AMD EPYC Zen 4: MobileNetV2's stem 0.35–0.41 →
    /// 0.25–0.33 ms, ShuffleNet v1's 0.29–0.32 → 0.18–0.29 ms, Xception's 0.73–0.77 → 0.68–0.71 ms).
    /// Each share takes a contiguous run of (image,
    /// group) items; when there are fewer items than shares (a stem at batch 1), each item is cut
    /// into bands of output rows so that every share has one.
    private func runGrouped3x3(_ vector: VectorKernels, input: SharedPointer, inputShape: [Int], output: SharedPointer, outputShape: [Int],
                               workers: Workers) {
        let (n, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let (oh, ow) = (outputShape[2], outputShape[3])
        let g = parameters.groups
        let icg = inputChannels / g, ocg = outputChannels / g
        let p = parameters, activation = self.activation
        let bands = n * g < workers.count ? min(workers.count, oh) : 1
        withParameters { weights, biases in
            workers.forEachChunk(n * g * bands) { _, items in
                for item in items {
                    let (image, group, band) = (item / (g * bands), item / bands % g, item % bands)
                    let rows = (oh * band / bands)..<(oh * (band + 1) / bands)
                    vector.grouped3x3(input[(image * inputChannels + group * icg) * h * w], h, w, icg,
                                      output[(image * outputChannels + group * ocg) * oh * ow + rows.lowerBound * ow],
                                      rows.count, ow, ocg, oh * ow, p.stride.w, p.padding.h - rows.lowerBound * p.stride.h,
                                      p.padding.w, weights[group * ocg * icg * 9], biases[group * ocg], activation.code)
                }
            }
        }
    }
    #endif

    /// Unfolds the receptive fields of output positions `columns` into `[icg·kH·kW, columns.count]`.
    private func im2col(source: UnsafeMutablePointer<Float>, height h: Int, width w: Int, channels: Int, outputWidth ow: Int,
                        columns: Range<Int>, into matrix: UnsafeMutablePointer<Float>) {
        let p = parameters
        let width = columns.count
        var row = 0
        for ci in 0..<channels {
            let plane = source + ci * h * w
            for ky in 0..<kernel.h {
                for kx in 0..<kernel.w {
                    let destination = matrix + row * width
                    var column = columns.lowerBound
                    while column < columns.upperBound {
                        let oy = column / ow
                        let ox0 = column - oy * ow
                        let span = min(ow - ox0, columns.upperBound - column)
                        let iy = oy * p.stride.h - p.padding.h + ky * p.dilation.h
                        let out = destination + (column - columns.lowerBound)
                        if iy < 0 || iy >= h {
                            out.update(repeating: 0, count: span)
                        } else {
                            // Output columns whose input column `ox·sw + offset` lies inside the row are
                            // [first, end); the rest read padding. No per-element test in the copy.
                            let inRow = plane + iy * w
                            let offset = kx * p.dilation.w - p.padding.w
                            let sw = p.stride.w
                            let first = min(max(ox0, offset >= 0 ? 0 : (-offset + sw - 1) / sw), ox0 + span)
                            let end = max(min(ox0 + span, w - offset <= 0 ? 0 : (w - offset + sw - 1) / sw), first)
                            let lead = first - ox0, inside = end - first
                            if lead > 0 { out.update(repeating: 0, count: lead) }
                            let from = inRow + first * sw + offset, to = out + lead
                            if sw == 1 {
                                to.update(from: from, count: inside)
                            } else if sw == 2 {
                                // Eight at a time from sixteen loaded; the loop stops while one input
                                // remains, so the last load's odd lane never reads past the row.
                                var j = 0
                                while j + 8 < inside {
                                    let pair = UnsafeRawPointer(from + 2 * j).loadUnaligned(as: SIMD16<Float>.self)
                                    UnsafeMutableRawPointer(to + j).storeBytes(of: pair.evenHalf, as: SIMD8<Float>.self)
                                    j += 8
                                }
                                while j < inside {
                                    to[j] = from[2 * j]
                                    j += 1
                                }
                            } else {
                                for j in 0..<inside { to[j] = from[j * sw] }
                            }
                            let trail = span - lead - inside
                            if trail > 0 { (to + inside).update(repeating: 0, count: trail) }
                        }
                        column += span
                    }
                    row += 1
                }
            }
        }
    }

    /// Each plane through its own k×k filter, reading a zero-padded copy so the inner loops have no
    /// bounds checks.
    private func runDepthwise(input: SharedPointer, inputShape: [Int], output: SharedPointer, outputShape: [Int],
                              residual: SharedPointer?, scratch: [SharedPointer], workers: Workers) {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (oh, ow) = (outputShape[2], outputShape[3])
        let p = parameters
        let (ph, pw) = (h + 2 * p.padding.h, w + 2 * p.padding.w)
        let (kh, kw) = (kernel.h, kernel.w)
        let taps = kh * kw
        let inputActivation = self.inputActivation, activation = self.activation
        withParameters { weights, biases in withInputBias { inputBias in
            let direct = kernels.vector != nil && kh == 3 && kw == 3 && p.dilation == Size2(1)
                && p.stride.h == p.stride.w && p.stride.w <= 2
            let inputPlanes = self.inputPlanes
            @Sendable @inline(__always) func sourcePlane(_ plane: Int) -> UnsafeMutablePointer<Float> {
                guard let inputPlanes else { return input[plane * h * w] }
                return input[(plane - plane % c + inputPlanes[plane % c]) * h * w]
            }
            /// The deferred bias of the plane `plane` reads (see ``inputBias``).
            @Sendable @inline(__always) func sourceBias(_ plane: Int) -> UnsafeMutablePointer<Float>? {
                guard let inputBias else { return nil }
                return inputBias[inputPlanes?[plane % c] ?? plane % c]
            }
            let outputPlanes = self.outputPlanes
            @Sendable @inline(__always) func destinationPlane(_ plane: Int) -> UnsafeMutablePointer<Float> {
                guard let outputPlanes else { return output[plane * oh * ow] }
                return output[(plane - plane % c + outputPlanes[plane % c]) * oh * ow]
            }
            #if arch(x86_64)
            /// One plane by the set's plane kernel: masked loads stand in for the padding, so no padded copy.
            @Sendable @inline(__always) func onePlane(_ vector: VectorKernels, _ plane: Int) {
                let channel = plane % c
                vector.depthwise3x3(sourcePlane(plane), h, w, destinationPlane(plane), oh, ow,
                                    p.stride.w, p.padding.h, p.padding.w, weights[channel * taps], biases.base[channel],
                                    residual.map { UnsafePointer($0[plane * oh * ow]) },
                                    sourceBias(plane).map { UnsafePointer($0) }, inputActivation.code, activation.code)
            }
            if let vector = kernels.vector, runsEightChannels(outputWidth: ow) {
                // Eight channels at a time (see wc_depthwise3x3x8_avx2); each share takes a run of
                // (image, eight channels), and a last group of fewer than eight runs plane by plane.
                let groups = (c + 7) / 8
                let stride = p.stride.w
                workers.forEachChunk(n * groups) { worker, units in
                    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 16) { sources in
                    withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: 8) { destinations in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 8) { readBiases in
                        let extras = sources.baseAddress! + 8
                        for unit in units {
                            let image = unit / groups, first = unit % groups * 8
                            let count = min(8, c - first)
                            guard count == 8 else {
                                for plane in image * c + first..<image * c + c { onePlane(vector, plane) }
                                continue
                            }
                            for k in 0..<8 {
                                let plane = image * c + first + k
                                sources[k] = UnsafePointer(sourcePlane(plane))
                                destinations[k] = destinationPlane(plane)
                                extras[k] = residual.map { UnsafePointer($0[plane * oh * ow]) }
                                readBiases[k] = sourceBias(plane)?.pointee ?? 0
                            }
                            wc_depthwise3x3x8_avx2(sources.baseAddress!, h, w, destinations.baseAddress!, oh, ow, stride,
                                                   p.padding.h, p.padding.w, weights[first * taps], biases[first],
                                                   residual == nil ? nil : UnsafePointer(extras),
                                                   inputBias == nil ? nil : UnsafePointer(readBiases.baseAddress!),
                                                   inputActivation.code, activation.code, scratch[worker].base)
                        }
                    } } }
                }
                return
            }
            if direct, let vector = kernels.vector {
                // AVX-512 / AVX2, plane by plane. Each share takes a run of whole planes (see `split`
                // for why runs).
                workers.forEachChunk(n * c) { _, planes in
                    for plane in planes { onePlane(vector, plane) }
                }
                return
            }
            #endif
            workers.forEachChunk(n * c) { worker, planes in
                let padded = scratch[worker].base
                // The stride-2 3×3 kernel reads each padded row split into its even columns and then
                // its odd ones, so that every tap is a contiguous vector load.
                let split = kh == 3 && kw == 3 && p.dilation == Size2(1) && p.stride.w == 2
                let half = (pw + 1) / 2
                let rowStride = split ? 2 * half : pw
                padded.update(repeating: 0, count: ph * rowStride)
                for plane in planes {
                    let channel = plane % c
                    let source = sourcePlane(plane)
                    let readBias = sourceBias(plane)?.pointee
                    for y in 0..<h {
                        let from = source + y * w
                        let row = padded + (y + p.padding.h) * rowStride
                        if split {
                            splitRow(from, count: w, padding: p.padding.w, into: row, half: half, inputActivation, bias: readBias)
                            continue
                        }
                        if let readBias {
                            // The producer's epilogue, as it would have run.
                            (row + p.padding.w).update(from: from, count: w)
                            epilogue(row + p.padding.w, count: w, bias: readBias, residual: nil, activation: inputActivation)
                            continue
                        }
                        FastElementwise.activate(from, row + p.padding.w, count: w, inputActivation)
                    }
                    let filter = weights[channel * taps]
                    let destination = destinationPlane(plane)
                    let b = biases.base[channel]
                    if kh == 3, kw == 3, p.dilation == Size2(1), p.stride.w <= 2 {
                        depthwise3x3Plane(padded: padded, rowStride: rowStride, half: half, filter: filter, bias: b,
                                          output: destination, outputHeight: oh, outputWidth: ow,
                                          residual: residual.map { UnsafePointer($0[plane * oh * ow]) })
                        continue
                    }
                    for oy in 0..<oh {
                        let out = destination + oy * ow
                        out.update(repeating: b, count: ow)
                        for ky in 0..<kh {
                            let inRow = padded + (oy * p.stride.h + ky * p.dilation.h) * pw
                            for kx in 0..<kw {
                                let tap = filter[ky * kw + kx]
                                let start = inRow + kx * p.dilation.w
                                if p.stride.w == 1 {
                                    for ox in 0..<ow { out[ox] += tap * start[ox] }
                                } else {
                                    let s = p.stride.w
                                    for ox in 0..<ow { out[ox] += tap * start[ox * s] }
                                }
                            }
                        }
                        let extra = residual.map { UnsafePointer($0[(plane * oh + oy) * ow]) }
                        if extra != nil || activation != .identity {
                            epilogue(out, count: ow, bias: 0, residual: extra, activation: activation)
                        }
                    }
                }
            }
        } }
    }

    /// `inputBias`'s storage for the duration of `body` (nil where there is none).
    private func withInputBias(_ body: (SharedPointer?) -> Void) {
        guard let inputBias else { return body(nil) }
        inputBias.withUnsafeBufferPointer { body(SharedPointer(UnsafeMutablePointer(mutating: $0.baseAddress!))) }
    }
}

extension PreparedConvolution {
    /// The 3×3 depthwise case (every depthwise layer of the four families): all nine taps of eight
    /// neighbouring outputs accumulated in vector registers, one store per output. Stride 2 loads
    /// sixteen inputs and keeps the even lanes. The last (partial) group of a row is computed as a
    /// full vector too, since the small maps of the late layers (7 or 14 wide) would otherwise spend
    /// most of their time in scalar code; its extra lanes read finite padding or the next padded
    /// row (``scratchFloats(input:output:)`` leaves room past the last row) and are not stored.
    @inline(__always)
    func depthwise3x3Plane(padded: UnsafeMutablePointer<Float>, rowStride: Int, half: Int, filter: UnsafeMutablePointer<Float>,
                           bias: Float, output: UnsafeMutablePointer<Float>, outputHeight oh: Int, outputWidth ow: Int,
                           residual: UnsafePointer<Float>?) {
        let stride = parameters.stride
        let (w0, w1, w2, w3, w4, w5, w6, w7, w8) = (filter[0], filter[1], filter[2], filter[3], filter[4],
                                                    filter[5], filter[6], filter[7], filter[8])
        let zero = SIMD8<Float>(repeating: 0), six = SIMD8<Float>(repeating: 6)
        let activation = self.activation
        // Stride 1: taps 0, 1, 2 are the row at +0, +1, +2 floats. Stride 2 (rows split into even
        // then odd columns): tap 0 is even[ox], tap 1 odd[ox], tap 2 even[ox + 1].
        // Byte offsets of taps 1 and 2; stride 1 passes literals so the loads fold their offsets.
        @inline(__always) func rows(_ t1: Int, _ t2: Int) {
        for oy in 0..<oh {
            let r0 = UnsafeRawPointer(padded + oy &* stride.h &* rowStride)
            let r1 = r0 + rowStride &* 4, r2 = r1 + rowStride &* 4
            let out = output + oy &* ow
            let extra = residual.map { $0 + oy &* ow }
            // A partial vector may spill into the rows after it, which are written later; never past
            // the plane, which another worker may own.
            let room = (oh &- oy) &* ow
            var ox = 0
            while ox < ow {
                let o = ox &* 4
                var acc = SIMD8<Float>(repeating: bias)
                acc += w0 * r0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                acc += w1 * r0.loadUnaligned(fromByteOffset: o &+ t1, as: SIMD8<Float>.self)
                acc += w2 * r0.loadUnaligned(fromByteOffset: o &+ t2, as: SIMD8<Float>.self)
                acc += w3 * r1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                acc += w4 * r1.loadUnaligned(fromByteOffset: o &+ t1, as: SIMD8<Float>.self)
                acc += w5 * r1.loadUnaligned(fromByteOffset: o &+ t2, as: SIMD8<Float>.self)
                acc += w6 * r2.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                acc += w7 * r2.loadUnaligned(fromByteOffset: o &+ t1, as: SIMD8<Float>.self)
                acc += w8 * r2.loadUnaligned(fromByteOffset: o &+ t2, as: SIMD8<Float>.self)
                let lanes = min(8, ow &- ox)
                if let extra {
                    if lanes == 8 {
                        acc += UnsafeRawPointer(extra + ox).loadUnaligned(as: SIMD8<Float>.self)
                    } else {
                        // The residual buffer ends with the plane: read only the lanes that exist.
                        var tail = zero
                        for lane in 0..<lanes { tail[lane] = extra[ox + lane] }
                        acc += tail
                    }
                }
                switch activation {
                case .identity: break
                case .relu: acc.replace(with: zero, where: acc .< zero)
                case .relu6:
                    acc.replace(with: zero, where: acc .< zero)
                    acc.replace(with: six, where: acc .> six)
                }
                if lanes == 8 || ox &+ 8 <= room {
                    UnsafeMutableRawPointer(out + ox).storeBytes(of: acc, as: SIMD8<Float>.self)
                } else {
                    for lane in 0..<lanes { out[ox + lane] = acc[lane] }
                }
                ox &+= 8
            }
        }
        }
        if stride.w == 2 { rows(half * 4, 4) } else { rows(4, 8) }
    }

    /// Writes one input row into a padded row stored as its even columns (`half` floats) followed by
    /// its odd ones; padded column `x + padding` receives input `x` (plus `bias` where given) through
    /// the input activation.
    @inline(__always)
    func splitRow(_ from: UnsafeMutablePointer<Float>, count w: Int, padding: Int, into row: UnsafeMutablePointer<Float>,
                  half: Int, _ inputActivation: Activation, bias: Float? = nil) {
        // Input x lands in the even half when x + padding is even.
        let (evenInputs, oddInputs) = padding % 2 == 0 ? (row, row + half) : (row + half, row)
        let zero = SIMD8<Float>(repeating: 0), six = SIMD8<Float>(repeating: 6)
        var x = 0
        while x &+ 16 <= w {
            let v = UnsafeRawPointer(from + x).loadUnaligned(as: SIMD16<Float>.self)
            var a = v.evenHalf, b = v.oddHalf
            if let bias {
                a += SIMD8(repeating: bias)
                b += SIMD8(repeating: bias)
            }
            if inputActivation != .identity {
                a.replace(with: zero, where: a .< zero)
                b.replace(with: zero, where: b .< zero)
                if inputActivation == .relu6 {
                    a.replace(with: six, where: a .> six)
                    b.replace(with: six, where: b .> six)
                }
            }
            // Input x (even) sits at padded column x + padding, i.e. index (x + padding) / 2 of its half.
            UnsafeMutableRawPointer(evenInputs + (x &+ padding) / 2).storeBytes(of: a, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(oddInputs + (x &+ 1 &+ padding) / 2).storeBytes(of: b, as: SIMD8<Float>.self)
            x &+= 16
        }
        while x < w {
            let column = x + padding
            row[(column % 2 == 0 ? 0 : half) + column / 2] = inputActivation.apply(bias.map { from[x] + $0 } ?? from[x])
            x += 1
        }
    }
}

/// `row[i] = act(row[i] + bias + residual[i])`, the fused tail of every fast convolution.
@inline(__always)
func epilogue(_ row: UnsafeMutablePointer<Float>, count: Int, bias: Float, residual: UnsafePointer<Float>?,
              activation: Activation) {
    if let residual {
        switch activation {
        case .identity: for i in 0..<count { row[i] = row[i] + bias + residual[i] }
        case .relu: for i in 0..<count { row[i] = max(row[i] + bias + residual[i], 0) }
        case .relu6: for i in 0..<count { row[i] = min(max(row[i] + bias + residual[i], 0), 6) }
        }
    } else {
        switch activation {
        case .identity: for i in 0..<count { row[i] = row[i] + bias }
        case .relu: for i in 0..<count { row[i] = max(row[i] + bias, 0) }
        case .relu6: for i in 0..<count { row[i] = min(max(row[i] + bias, 0), 6) }
        }
    }
}

/// A GEMM layer's weights rounded to bfloat16 once, at load, at a fixed address every share reads.
/// Exists only where bfloat16 is available (x86-64 with AVX512_BF16): elsewhere the layer stays
/// float32.
final class BFloat16Weights: @unchecked Sendable { // immutable after init
    private let values: UnsafeMutableBufferPointer<UInt16> // [out, in/groups · kH · kW]

    init?(_ weight: [Float]) {
        #if arch(x86_64)
        guard BFloat16Multiply.available, !weight.isEmpty else { return nil }
        values = .allocate(capacity: weight.count)
        weight.withUnsafeBufferPointer { wc_rows_to_bf16_avx512($0.baseAddress!, 1, weight.count, weight.count, values.baseAddress!) }
        #else
        return nil
        #endif
    }

    deinit { values.deallocate() }

    var byteCount: Int { values.count * MemoryLayout<UInt16>.size }

    /// `C[rows.count, n] = W[rows, k] · B[k, n]`: B (row stride `ldb`) is rounded into `rounded`
    /// (room for k·n halves), then multiplied by oneDNN's bfloat16 GEMM with float32 sums.
    @inline(__always)
    func multiply(rows: Range<Int>, n: Int, k: Int, b: UnsafePointer<Float>, ldb: Int, rounded: UnsafeMutablePointer<Float>,
                  c: UnsafeMutablePointer<Float>, ldc: Int) {
        #if arch(x86_64)
        let halves = UnsafeMutableRawPointer(rounded).assumingMemoryBound(to: UInt16.self)
        wc_rows_to_bf16_avx512(b, k, n, ldb, halves)
        BFloat16Multiply.multiply(m: rows.count, n: n, k: k, a: values.baseAddress! + rows.lowerBound * k, lda: k,
                                  b: halves, ldb: n, c: c, ldc: ldc)
        #endif
    }
}
