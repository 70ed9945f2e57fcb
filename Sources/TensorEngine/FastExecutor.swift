import Foundation

/// Runs a ``Graph`` on the fast path. At construction, batch norms are folded into their
/// convolutions, standalone activations are fused into their producer (or, for Xception's
/// pre-activation, into the depthwise convolution that reads them), and each convolution picks
/// its algorithm. For each new input shape a plan assigns every value a buffer, reusing buffers
/// whose values are dead, so a forward pass allocates nothing but its result.
///
/// Weights are held once: each convolution node of the executor's ``graph`` is replaced by the
/// layer its step runs (batch norm folded in, the same function), so when the executor was given
/// the only copy of the graph (as ``GraphNetwork`` gives it) the original weights are freed layer
/// by layer as their folded copies are made. A graph that is also held elsewhere keeps its own.
///
/// GEMMs run single-threaded on this executor's own workers (see ``multiplyMatrices``), so the
/// two levels of threading never compete.
package final class FastExecutor: @unchecked Sendable {
    private enum Step {
        case convolution(input: Int, output: Int, residual: Int?, PreparedConvolution)
        case activation(input: Int, output: Int, Activation)
        case maxPool(input: Int, output: Int, PoolParameters)
        case avgPool(input: Int, output: Int, PoolParameters)
        case globalAvgPool(input: Int, output: Int)
        case linear(input: Int, output: Int, LinearLayer)
        case add(Int, Int, output: Int, Activation)
        case concat([Int], output: Int, Activation)
        case shuffle(input: Int, output: Int, groups: Int, ShufflePermutation)
        case softmax(input: Int, output: Int, log: Bool)

        var reads: [Int] {
            switch self {
            case let .convolution(input, _, residual, _): residual.map { [input, $0] } ?? [input]
            case let .activation(input, _, _), let .maxPool(input, _, _), let .avgPool(input, _, _),
                 let .globalAvgPool(input, _), let .linear(input, _, _), let .shuffle(input, _, _, _), let .softmax(input, _, _): [input]
            case let .add(a, b, _, _): [a, b]
            case let .concat(parts, _, _): parts
            }
        }

        var writes: Int {
            switch self {
            case let .convolution(_, output, _, _), let .activation(_, output, _), let .maxPool(_, output, _),
                 let .avgPool(_, output, _), let .globalAvgPool(_, output), let .linear(_, output, _),
                 let .add(_, _, output, _), let .concat(_, output, _), let .shuffle(_, output, _, _), let .softmax(_, output, _):
                output
            }
        }
    }

    /// Steps `steps` run `chunk` images at a time: all of them for the first `chunk` images, then for
    /// the next, so that a chunk's activations are still in cache when the next step reads them.
    struct Segment: Equatable {
        var steps: Range<Int>
        var chunk: Int
    }

    /// Buffers for one input shape: value → slot, and the slots themselves. A value written and last
    /// read inside one segment is *local*: its slot holds one chunk of images, reused chunk after
    /// chunk; every other value's slot holds the whole batch.
    private final class Plan {
        let shapes: [[Int]]
        let images: Int
        let segments: [Segment]
        let slotOfValue: [Int]
        let local: [Bool]
        /// Floats per image of each value.
        let perImage: [Int]
        let slots: [UnsafeMutablePointer<Float>]
        let scratch: [SharedPointer]
        /// What the slots and the scratch take.
        let bytes: Int

        init(shapes: [[Int]], segments: [Segment], slotOfValue: [Int], local: [Bool], slotSizes: [Int], scratchFloats: Int,
             workers: Int) {
            self.shapes = shapes
            images = shapes[0][0]
            self.segments = segments
            self.slotOfValue = slotOfValue
            self.local = local
            perImage = shapes.map { $0.dropFirst().reduce(1, *) }
            bytes = (slotSizes.reduce(0, +) + scratchFloats * workers) * MemoryLayout<Float>.size
            slots = slotSizes.map(Self.zeroedLines)
            scratch = (0..<workers).map { _ in SharedPointer(Self.zeroedLines(scratchFloats)) }
        }

        /// `count` zeroed floats starting on a cache line: the runs the shares write then share
        /// at most the one line where they meet.
        static func zeroedLines(_ count: Int) -> UnsafeMutablePointer<Float> {
            let count = max(count, 1)
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
                .bindMemory(to: Float.self, capacity: count)
            pointer.initialize(repeating: 0, count: count)
            return pointer
        }

        deinit {
            for slot in slots { UnsafeMutableRawPointer(slot).deallocate() }
            for s in scratch { UnsafeMutableRawPointer(s.base).deallocate() }
        }

        /// Where `images` of `value` are, inside the chunk being run.
        func pointer(_ value: Int, _ images: Range<Int>) -> SharedPointer {
            SharedPointer(slots[slotOfValue[value]] + (local[value] ? 0 : images.lowerBound * perImage[value]))
        }

        func shape(_ value: Int, _ images: Range<Int>) -> [Int] { [images.count] + shapes[value].dropFirst() }
    }

    /// The graph it was given with each convolution's batch norm folded into its weights and bias:
    /// the same function, for shapes (and for a naive run of what the steps compute).
    package let graph: Graph
    package let threads: Int
    package let kernels: KernelSet
    /// The arithmetic of the GEMM convolutions (see ``Precision``).
    package let precision: Precision
    /// Whether the engine computes every GEMM itself (see ``EngineGEMM``), never calling the library.
    package let engineGEMM: Bool
    private let steps: [Step]
    private let output: Int
    private let workers: Workers
    private let lock = NSLock()
    private var plans: [[Int]: Plan] = [:]
    private let chunkFloats: Int

    /// - Parameter kernels: `.best` (the default) uses the AVX-512 kernels when the CPU has them, else
    ///   the AVX2 ones; `.portable` keeps to the Swift ones; a set the CPU lacks runs as the widest
    ///   narrower one (tests compare every set the machine runs with the naive operators).
    /// - Parameter precision: `.bfloat16` runs the GEMM convolutions in bfloat16 (see ``Precision``);
    ///   an error where the machine cannot.
    package convenience init(graph: consuming Graph, threads: Int, kernels: KernelSet = .best,
                             precision: Precision = .float32) throws {
        try self.init(graph: consume graph, threads: threads, kernels: kernels, precision: precision,
                      chunkFloats: FastExecutor.defaultChunkFloats)
    }

    /// - Parameter chunkFloats: the working set a chunk of images may take (see ``defaultChunkFloats``);
    ///   tests make it small so that small inputs run in chunks too.
    package init(graph: consuming Graph, threads: Int, kernels: KernelSet, precision: Precision = .float32,
                 chunkFloats: Int) throws {
        guard threads >= 1 else {
            throw TensorError(operation: "fast executor", problem: "\(threads) threads", hint: "use at least one thread")
        }
        guard precision.isAvailable else {
            throw TensorError(operation: "fast executor", problem: "\(precision.rawValue) precision is not available on this machine",
                              hint: precision.requirement)
        }
        self.threads = threads
        self.kernels = kernels.runnable
        self.precision = precision
        self.chunkFloats = max(chunkFloats, 1)
        workers = Workers(threads)
        // Where the engine does not run every GEMM itself, the GEMM library gets its kernels ready
        // while the convolutions are folded, and is waited for before returning, so that no
        // generation outlives this.
        engineGEMM = EngineGEMM.runsAll(graph, kernels: kernels.runnable, precision: precision)
        let warmUp = engineGEMM ? nil : MatrixMultiplyWarmUp.begin(precision)
        defer { warmUp?.wait() }
        (steps, output) = try FastExecutor.compile(&graph, kernels: kernels.runnable, precision: precision,
                                                   engineGEMM: engineGEMM)
        self.graph = graph
    }

    /// Lowers the graph to steps, fusing what can be fused. Value indices stay the graph's; a
    /// fused-away activation's value is replaced by the value it aliases. Each convolution node
    /// of `graph` is replaced by its folded layer (see ``graph``).
    private static func compile(_ graph: inout Graph, kernels: KernelSet, precision: Precision,
                                engineGEMM: Bool) throws -> ([Step], Int) {
        let count = graph.nodes.count
        var consumers = [Int](repeating: 0, count: count)
        for node in graph.nodes { for v in node.operation.inputs { consumers[v.index] += 1 } }
        consumers[graph.output.index] += 1
        var alias = Array(0..<count)
        var steps: [Step] = []
        var stepOfValue = [Int: Int]()
        /// Activations to apply as a depthwise convolution reads its input, keyed by the activation's value.
        var readActivation = [Int: (source: Int, Activation)]()
        /// Channel shuffles whose one reader is a depthwise convolution, which reads its planes in
        /// shuffled order instead: source value and input channel of each output channel.
        var readShuffle = [Int: (source: Int, planes: [Int])]()
        /// The layers of the readers of `value` when every one is a depthwise convolution taking it
        /// as its input (not as a residual) and `value` is not the network's output; else nil.
        func depthwiseReaders(of value: Int) -> [ConvolutionLayer]? {
            guard value != graph.output.index else { return nil }
            var layers: [ConvolutionLayer] = []
            for node in graph.nodes where node.operation.inputs.contains(ValueID(index: value)) {
                guard case let .convolution(input, layer, _, residual, _) = node.operation,
                      input.index == value, residual?.index != value, layer.isDepthwise else { return nil }
                layers.append(layer)
            }
            return layers
        }

        // By index, not over a copy of the nodes, which would keep every original layer alive.
        for index in 0..<count {
            let operation = graph.nodes[index].operation
            func r(_ v: ValueID) -> Int { alias[v.index] }
            switch operation {
            case .input:
                continue
            case let .convolution(x, layer, bn, residual, activation):
                var prepared = PreparedConvolution(layer, batchNorm: bn, activation: activation)
                prepared.kernels = kernels
                prepared.engineGEMM = engineGEMM
                prepared.usePrecision(precision, residual: residual != nil)
                // The node takes the layer the step runs, which shares its weights; the original
                // ones, now held by nothing else, go when this iteration ends.
                let folded = try ConvolutionLayer(weight: Tensor(uncheckedShape: layer.weight.shape, storage: prepared.weight),
                                                  bias: prepared.bias, parameters: layer.parameters)
                graph.nodes[index].operation = .convolution(x, folded, batchNorm: nil, residual: residual, activation: activation)
                var input = r(x)
                if prepared.algorithm == .depthwise, let fused = readActivation[input] {
                    prepared.inputActivation = fused.1
                    input = fused.source
                } else if prepared.algorithm == .depthwise, let fused = readShuffle[input] {
                    prepared.inputPlanes = fused.planes
                    input = fused.source
                }
                steps.append(.convolution(input: input, output: index, residual: residual.map(r), prepared))
            case let .activation(x, kind):
                let source = r(x)
                // Into the producer, when it has no other reader and no activation of its own.
                if consumers[x.index] == 1, let producer = stepOfValue[source] {
                    switch steps[producer] {
                    case let .convolution(i, o, res, prepared) where prepared.activation == .identity:
                        steps[producer] = .convolution(input: i, output: o, residual: res,
                                                       PreparedConvolution(prepared, activation: kind))
                        alias[index] = source
                        continue
                    case let .add(a, b, o, .identity):
                        steps[producer] = .add(a, b, output: o, kind)
                        alias[index] = source
                        continue
                    case let .concat(parts, o, .identity):
                        steps[producer] = .concat(parts, output: o, kind)
                        alias[index] = source
                        continue
                    default:
                        break
                    }
                }
                // Into the depthwise convolutions that are its only readers.
                if let readers = depthwiseReaders(of: index), !readers.isEmpty {
                    readActivation[index] = (source, kind)
                    alias[index] = index
                    continue
                }
                steps.append(.activation(input: source, output: index, kind))
            case let .maxPool(x, p): steps.append(.maxPool(input: r(x), output: index, p))
            case let .avgPool(x, p): steps.append(.avgPool(input: r(x), output: index, p))
            case let .globalAvgPool(x): steps.append(.globalAvgPool(input: r(x), output: index))
            case let .linear(x, layer): steps.append(.linear(input: r(x), output: index, layer))
            case let .add(a, b, kind): steps.append(.add(r(a), r(b), output: index, kind))
            case let .concat(parts, kind): steps.append(.concat(parts.map(r), output: index, kind))
            case let .shuffle(x, groups, permutation):
                // Into the depthwise convolution that produced it, when nothing else reads that (the
                // network's output counts as a reader) — Megvii's units shuffle right after it.
                let source = r(x)
                if consumers[x.index] == 1, let producer = stepOfValue[source],
                   case let .convolution(i, o, residual, prepared) = steps[producer], prepared.algorithm == .depthwise,
                   prepared.outputPlanes == nil, prepared.outputChannels % groups == 0 {
                    let reads = permutation.sourceChannels(channels: prepared.outputChannels, groups: groups)
                    var writes = [Int](repeating: 0, count: reads.count)
                    for (position, channel) in reads.enumerated() { writes[channel] = position }
                    var folded = prepared
                    folded.outputPlanes = writes
                    steps[producer] = .convolution(input: i, output: o, residual: residual, folded)
                    alias[index] = source
                    continue
                }
                if let readers = depthwiseReaders(of: index), readers.count == 1, let reader = readers.first,
                   reader.inputChannels % groups == 0 {
                    readShuffle[index] = (r(x), permutation.sourceChannels(channels: reader.inputChannels, groups: groups))
                    alias[index] = index
                    continue
                }
                steps.append(.shuffle(input: r(x), output: index, groups: groups, permutation))
            case let .softmax(x, log): steps.append(.softmax(input: r(x), output: index, log: log))
            }
            stepOfValue[index] = steps.count - 1
        }
        let output = alias[graph.output.index]
        if kernels.vector?.readsInputBias ?? true, !engineGEMM { deferEpilogues(&steps, output: output) }
        return (steps, output)
    }

    /// Leaves the epilogue (bias and activation) of each GEMM layer whose every reader is a depthwise
    /// convolution to those readers, which apply it as they copy their input (see
    /// ``PreparedConvolution/inputBias``): the same values, one pass over the layer's output fewer.
    /// MobileNetV2's expansions and ShuffleNet v1's first grouped 1×1 layers are such layers (1×1
    /// layers, 1 thread, batch 1, AMD EPYC Zen 3, results left unfinished as an upper bound:
    /// MobileNetV2 0.91 of the time, ShuffleNet v1 0.94; whole pass with the readers doing the
    /// work, minimum of 8 alternating processes: MobileNetV2 0.96–0.97, ShuffleNet v1 and Xception
    /// level). Not where a residual is added (the
    /// residual would have to be read too) or where the reader has its own input activation on top
    /// of the layer's; not for the AVX-512 set, whose GEMM finishes tiles in registers anyway.
    private static func deferEpilogues(_ steps: inout [Step], output: Int) {
        var readers = [Int: [Int]]()
        for (index, step) in steps.enumerated() {
            for value in Set(step.reads) { readers[value, default: []].append(index) }
        }
        for index in steps.indices {
            guard case let .convolution(input, value, nil, producer) = steps[index], producer.algorithm != .depthwise,
                  !producer.runsDirect3x3(residual: false), value != output, let reading = readers[value], !reading.isEmpty
            else { continue }
            var changed: [(Int, Step)] = []
            for r in reading {
                guard case let .convolution(source, written, residual, reader) = steps[r], source == value,
                      residual != value, reader.algorithm == .depthwise, reader.inputBias == nil,
                      producer.activation == .identity || reader.inputActivation == .identity
                else { break }
                var folded = reader
                folded.inputBias = producer.bias
                if reader.inputActivation == .identity { folded.inputActivation = producer.activation }
                changed.append((r, .convolution(input: source, output: written, residual: residual, folded)))
            }
            guard changed.count == reading.count else { continue }
            for (r, step) in changed { steps[r] = step }
            var deferred = producer
            deferred.defersEpilogue = true
            steps[index] = .convolution(input: input, output: value, residual: nil, deferred)
        }
    }

    /// Bytes of the buffers planned for inputs of `shape` (every slot and each worker's scratch),
    /// once a pass has run on that shape; `nil` before.
    package func plannedBytes(for shape: [Int]) -> Int? {
        lock.withLock { plans[shape]?.bytes }
    }

    /// How many GEMM layers leave their epilogue to the depthwise convolutions reading them (see
    /// ``deferEpilogues(_:output:)``).
    package var deferredEpilogues: Int {
        steps.filter { if case let .convolution(_, _, _, prepared) = $0 { prepared.defersEpilogue } else { false } }.count
    }

    /// Bytes of the weights and biases the steps hold: the folded convolutions and the linear layers.
    package var weightBytes: Int {
        steps.reduce(0) { total, step in
            switch step {
            case let .convolution(_, _, _, prepared):
                total + (prepared.weight.count + prepared.bias.count) * MemoryLayout<Float>.size + (prepared.bfloat16Weights?.byteCount ?? 0)
            case let .linear(_, _, layer): total + (layer.weight.count + (layer.bias?.count ?? 0)) * MemoryLayout<Float>.size
            default: total
            }
        }
    }

    /// Runs the network on `input`; concurrent callers are served one at a time.
    package func run(_ input: Tensor) throws -> Tensor {
        lock.lock()
        defer { lock.unlock() }
        let plan = try loaded(input)
        forward(plan) { index, images in execute(steps[index], plan, images) }
        let shape = plan.shapes[output]
        let count = shape.reduce(1, *)
        let result = [Float](UnsafeBufferPointer(start: plan.pointer(output, 0..<plan.images).base, count: count))
        return Tensor(uncheckedShape: shape, storage: result)
    }

    /// Where a forward pass spends its time: each step's median over `iterations` passes on
    /// `input`, in execution order (what `weightconv bench --profile` prints).
    package func profile(_ input: Tensor, iterations: Int) throws -> [StepTiming] {
        lock.lock()
        defer { lock.unlock() }
        var samples = [[Double]](repeating: [], count: steps.count)
        var shapes: [[Int]] = []
        for _ in 0..<max(iterations, 1) {
            let plan = try loaded(input)
            shapes = plan.shapes
            // A step run chunk by chunk takes the sum of its chunks.
            var pass = [Double](repeating: 0, count: steps.count)
            forward(plan) { index, images in
                let start = DispatchTime.now().uptimeNanoseconds
                execute(steps[index], plan, images)
                pass[index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
            for (index, time) in pass.enumerated() { samples[index].append(time) }
        }
        return zip(steps, samples).map { step, times in
            let sorted = times.sorted()
            let (kind, detail) = describe(step, shapes)
            return StepTiming(kind: kind, detail: detail, milliseconds: sorted[sorted.count / 2])
        }
    }

    /// The plan for `input`'s shape (made on first use), with `input` copied into its first slot.
    /// The caller holds the lock.
    private func loaded(_ input: Tensor) throws -> Plan {
        let plan: Plan
        if let known = plans[input.shape] {
            plan = known
        } else {
            plan = try makePlan(for: input.shape)
            plans[input.shape] = plan
        }
        input.storage.withUnsafeBufferPointer { source in
            plan.pointer(0, 0..<plan.images).base.update(from: source.baseAddress!, count: source.count)
        }
        return plan
    }

    /// Every step once for every image, segment by segment and chunk by chunk.
    private func forward(_ plan: Plan, _ run: (_ step: Int, _ images: Range<Int>) -> Void) {
        for segment in plan.segments {
            var first = 0
            while first < plan.images {
                let images = first..<min(first + segment.chunk, plan.images)
                for index in segment.steps { run(index, images) }
                first = images.upperBound
            }
        }
    }

    private func describe(_ step: Step, _ shapes: [[Int]]) -> (String, String) {
        func dims(_ v: Int) -> String { shapes[v].map(String.init).joined(separator: "×") }
        switch step {
        case let .convolution(input, output, residual, c):
            let kind = switch c.algorithm {
            case .pointwise: "conv 1×1"
            case .im2col: c.parameters.groups == 1 ? "conv \(c.kernel.h)×\(c.kernel.w)" : "conv \(c.kernel.h)×\(c.kernel.w) grouped"
            case .depthwise: "conv \(c.kernel.h)×\(c.kernel.w) depthwise"
            }
            let groups = c.parameters.groups > 1 && c.algorithm != .depthwise ? " groups \(c.parameters.groups)" : ""
            return (kind, "\(dims(input)) → \(dims(output)) stride \(c.parameters.stride.h)\(groups)"
                    + (residual == nil ? "" : " +residual") + (c.activation == .identity ? "" : " \(c.activation.rawValue)"))
        case let .activation(input, _, kind): return (kind.rawValue, dims(input))
        case let .maxPool(input, output, _): return ("max pool", "\(dims(input)) → \(dims(output))")
        case let .avgPool(input, output, _): return ("average pool", "\(dims(input)) → \(dims(output))")
        case let .globalAvgPool(input, _): return ("global average pool", dims(input))
        case let .linear(input, output, _): return ("linear", "\(dims(input)) → \(dims(output))")
        case let .add(_, _, output, kind): return ("add", dims(output) + (kind == .identity ? "" : " \(kind.rawValue)"))
        case let .concat(_, output, _): return ("concat", dims(output))
        case let .shuffle(input, _, groups, _): return ("channel shuffle", "\(dims(input)) groups \(groups)")
        case let .softmax(input, _, log): return (log ? "log_softmax" : "softmax", dims(input))
        }
    }

    /// Floats a chunk's working set may take: 4 MiB, well inside this class of machine's
    /// last-level cache (32 MiB on the EPYC it was measured on), so that a step reads what the step
    /// before it wrote from cache rather than memory: run layer by layer over a whole batch of 8,
    /// MobileNetV2's early layers (38 MB a value) streamed from memory and took 1.9× the time per
    /// image of batch 1. A batch whose steps all fit runs as one chunk, as before.
    package static let defaultChunkFloats = 1 << 20

    /// Cuts the steps into segments of equal chunk size. Each step's chunk is the whole batch when
    /// its working set (`workingSet[step]` floats an image: what it reads and writes) fits in
    /// `budget` floats for every image, else the largest power of two below `images` that fits, at
    /// least one image.
    static func segments(workingSet: [Int], images: Int, budget: Int) -> [Segment] {
        var segments: [Segment] = []
        for (index, floats) in workingSet.enumerated() {
            let floats = max(floats, 1)
            var chunk = images
            if images * floats > budget {
                chunk = 1
                while chunk * 2 < images, chunk * 2 * floats <= budget { chunk *= 2 }
            }
            if let last = segments.last, last.chunk == chunk {
                segments[segments.count - 1].steps = last.steps.lowerBound..<(index + 1)
            } else {
                segments.append(Segment(steps: index..<(index + 1), chunk: chunk))
            }
        }
        return segments
    }

    private func makePlan(for shape: [Int]) throws -> Plan {
        let shapes = try graph.shapes(for: shape)
        let images = shape.first ?? 1
        let perImage = shapes.map { $0.dropFirst().reduce(1, *) }
        let workingSet = steps.map { step in Set(step.reads + [step.writes]).reduce(0) { $0 + perImage[$1] } }
        let segments = Self.segments(workingSet: workingSet, images: images, budget: chunkFloats)
        var segmentOfStep = [Int](repeating: 0, count: steps.count)
        for (number, segment) in segments.enumerated() { for index in segment.steps { segmentOfStep[index] = number } }
        func chunked(_ step: Int) -> Bool { step >= 0 && step < steps.count && segments[segmentOfStep[step]].chunk < images }

        var lastRead = [Int](repeating: -1, count: shapes.count)
        var written = [Int](repeating: -2, count: shapes.count)
        written[0] = -1
        for (index, step) in steps.enumerated() {
            for v in step.reads { lastRead[v] = index }
            written[step.writes] = index
        }
        lastRead[output] = steps.count
        // Lifetimes in steps, [first, last]. A value that crosses into or out of a segment run in
        // several chunks lives through all of that segment: every chunk's pass writes or reads it.
        var local = [Bool](repeating: false, count: shapes.count)
        var first = [Int](repeating: 0, count: shapes.count), last = [Int](repeating: 0, count: shapes.count)
        var born = [[Int]](repeating: [], count: steps.count + 1), dies = [[Int]](repeating: [], count: steps.count + 1)
        for v in 0..<shapes.count where written[v] >= -1 {
            let definition = written[v], read = max(lastRead[v], definition)
            local[v] = definition >= 0 && read < steps.count && segmentOfStep[definition] == segmentOfStep[read]
            first[v] = !local[v] && chunked(definition) ? segments[segmentOfStep[definition]].steps.lowerBound : definition
            last[v] = !local[v] && chunked(read) ? segments[segmentOfStep[read]].steps.upperBound - 1 : read
            born[first[v] + 1].append(v)
            if last[v] < steps.count { dies[last[v] + 1].append(v) }
        }

        var slotSizes: [Int] = []
        var free: [Int] = []
        var slotOfValue = [Int](repeating: -1, count: shapes.count)
        func assign(_ value: Int, size: Int) {
            // Best fit among free slots, else grow the largest free one, else a new slot.
            if let best = free.filter({ slotSizes[$0] >= size }).min(by: { slotSizes[$0] < slotSizes[$1] })
                ?? free.max(by: { slotSizes[$0] < slotSizes[$1] }) {
                free.removeAll { $0 == best }
                slotSizes[best] = max(slotSizes[best], size)
                slotOfValue[value] = best
            } else {
                slotSizes.append(size)
                slotOfValue[value] = slotSizes.count - 1
            }
        }
        var scratch = 0
        // Time t + 1 is step t (time 0 is the input's copy): what starts there is assigned before what
        // ends there is freed, so a step never writes over what it reads.
        for time in 0...steps.count {
            for v in born[time] {
                let chunk = time >= 1 ? segments[segmentOfStep[written[v] < 0 ? 0 : written[v]]].chunk : images
                assign(v, size: (local[v] ? chunk : images) * perImage[v])
            }
            if time >= 1, case let .convolution(input, output, _, prepared) = steps[time - 1] {
                let chunk = segments[segmentOfStep[time - 1]].chunk
                scratch = max(scratch, prepared.scratchFloats(input: [chunk] + shapes[input].dropFirst(),
                                                              output: [chunk] + shapes[output].dropFirst()))
            }
            for v in dies[time] { free.append(slotOfValue[v]) }
        }
        return Plan(shapes: shapes, segments: segments, slotOfValue: slotOfValue, local: local, slotSizes: slotSizes,
                    scratchFloats: scratch, workers: threads)
    }

    /// Runs `step` on `images` of the batch.
    private func execute(_ step: Step, _ plan: Plan, _ images: Range<Int>) {
        func p(_ value: Int) -> SharedPointer { plan.pointer(value, images) }
        func s(_ value: Int) -> [Int] { plan.shape(value, images) }
        switch step {
        case let .convolution(input, output, residual, prepared):
            prepared.run(input: p(input), inputShape: s(input), output: p(output), outputShape: s(output),
                         residual: residual.map(p), scratch: plan.scratch, workers: workers)
        case let .activation(input, output, kind):
            FastElementwise.activation(p(input), p(output), count: s(output).reduce(1, *), kind, workers: workers)
        case let .maxPool(input, output, parameters):
            FastPooling.maxPool(p(input), s(input), p(output), s(output), parameters, kernels: kernels, workers: workers)
        case let .avgPool(input, output, parameters):
            FastPooling.avgPool(p(input), s(input), p(output), s(output), parameters, kernels: kernels, workers: workers)
        case let .globalAvgPool(input, output):
            FastPooling.globalAverage(p(input), s(input), p(output), workers: workers)
        case let .linear(input, output, layer):
            let engine = engineGEMM || EngineGEMM.takesLinear(batch: images.count, kernels: kernels, precision: precision)
            FastLinear.run(layer, input: p(input), batch: images.count, output: p(output), engine: engine ? kernels.vector : nil,
                           workers: workers)
        case let .add(a, b, output, kind):
            FastElementwise.add(p(a), p(b), p(output), count: s(output).reduce(1, *), kind, workers: workers)
        case let .concat(parts, output, kind):
            FastElementwise.concat(parts.map { (p($0), s($0)) }, p(output), s(output), kind, workers: workers)
        case let .shuffle(input, output, groups, permutation):
            FastShuffle.run(p(input), s(input), p(output), sources: permutation.sourceChannels(channels: s(input)[1], groups: groups))
        case let .softmax(input, output, log):
            FastElementwise.softmax(p(input), p(output), rows: images.count, columns: s(input)[1], log: log)
        }
    }
}

extension PreparedConvolution {
    /// The same layer with another fused activation.
    init(_ other: PreparedConvolution, activation: Activation) {
        self = other
        self.activation = activation
    }
}

/// One step of a forward pass and its median time (see ``FastExecutor/profile(_:iterations:)``).
package struct StepTiming: Sendable, Codable {
    /// The operator, e.g. `conv 3×3 depthwise`.
    package var kind: String
    /// Shapes and fused work, e.g. `1×144×56×56 → 1×144×28×28 stride 2 relu6`.
    package var detail: String
    package var milliseconds: Double
}
