// Times the fast path of the four full-size networks with random weights (values do not change the
// work done): median and p90 of one forward pass after warm-up. Used by tools/compare_speed.py.
//
//   swift run -c release engine-bench [--threads T] [--batch N] [--iterations K] [--json] [NAME ...]
//
// Names: shufflenet_v1_g3, shufflenet_v1_g8, mobilenet_v2, resnext50_32x4d, xception.
import Dispatch
import Foundation
import Networks
import TensorEngine

/// Deterministic pseudo-random weights: conv/linear weights scaled by 1/sqrt(fan-in), batch-norm
/// variances positive, so activations stay finite and normal (no denormal slow paths).
struct RandomProvider: WeightProvider {
    let shapes: [String: [Int]]

    func shape(of key: String) -> [Int]? { shapes[key] }

    func floats(of key: String) throws -> [Float] {
        let shape = shapes[key] ?? []
        let count = shape.reduce(1, *)
        var state = UInt64(truncatingIfNeeded: key.hashValue) | 1
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
        if key.hasSuffix("running_var") { return (0..<count).map { _ in 1 + 0.5 * next() } }
        if key.hasSuffix("running_mean") || key.hasSuffix(".bias") { return (0..<count).map { _ in 0.1 * next() } }
        if shape.count == 1 { return (0..<count).map { _ in 1 + 0.3 * next() } }
        let fanIn = Float(shape.dropFirst().reduce(1, *))
        let scale = (3 / fanIn).squareRoot()
        return (0..<count).map { _ in scale * next() }
    }
}

let networks: [(String, NetworkConfiguration, Int)] = [
    ("shufflenet_v1_g3", .shuffleNetV1(ShuffleNetV1Configuration.megvii(groups: 3, scale: "1.0x")!), 224),
    ("shufflenet_v1_g8", .shuffleNetV1(ShuffleNetV1Configuration.megvii(groups: 8, scale: "1.0x")!), 224),
    ("mobilenet_v2", .mobileNetV2(.torchvision()), 224),
    ("resnext50_32x4d", .resnext(ResNeXtConfiguration.torchvision(depth: 50)!), 224),
    ("xception", .xception(.standard()), 299),
]

var threads = 2, batch = 1, iterations = 30, json = false
var selected: [String] = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--threads": threads = Int(arguments.next() ?? "") ?? threads
    case "--batch": batch = Int(arguments.next() ?? "") ?? batch
    case "--iterations": iterations = Int(arguments.next() ?? "") ?? iterations
    case "--json": json = true
    default: selected.append(argument)
    }
}

var results: [String] = []
for (name, configuration, size) in networks where selected.isEmpty || selected.contains(name) {
    let recorder = RecordingProvider()
    _ = try configuration.build(WeightSource(recorder))
    let provider = RandomProvider(shapes: Dictionary(recorder.requests.map { ($0.key, $0.shape) }, uniquingKeysWith: { a, _ in a }))
    let network = try configuration.build(WeightSource(provider), mode: .fast(threads: threads))
    var seed: UInt32 = 12345
    let input = try Tensor(shape: [batch, 3, size, size], storage: (0..<(batch * 3 * size * size)).map { _ in
        seed = seed &* 1664525 &+ 1013904223
        return Float(seed >> 8) / Float(1 << 24) * 2 - 1
    })
    for _ in 0..<3 { _ = try network(input) }
    var samples: [Double] = []
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try network(input)
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    samples.sort()
    let median = samples[samples.count / 2], p90 = samples[min(samples.count - 1, Int(Double(samples.count) * 0.9))]
    if json {
        results.append("\"\(name)\": {\"median_ms\": \(median), \"p90_ms\": \(p90), \"min_ms\": \(samples[0]), \"batch\": \(batch), \"threads\": \(threads)}")
    } else {
        print(String(format: "%-20@ median %8.2f ms   p90 %8.2f ms   min %8.2f ms", name as NSString, median, p90, samples[0]))
    }
}
if json { print("{" + results.joined(separator: ", ") + "}") }
