import ArgumentParser
import WeightconvKit

/// `weightconv expect`: the tensors a network asks for, by canonical name and shape, with no checkpoint.
struct ExpectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expect",
        abstract: "List the tensors (canonical name and shape) a network expects, without a checkpoint.")

    @Argument(help: "The network family.")
    var architecture: NetworkFamily

    @Option(help: "Number of classes.")
    var classes = 1000

    @Option(help: "ResNeXt depth (50, 101, 152).")
    var depth = 50

    @Option(help: "ResNeXt cardinality.")
    var cardinality = 32

    @Option(help: "MobileNetV2 width multiplier, or ResNeXt width per group.")
    var width: Double?

    @Option(help: "ShuffleNet v1 groups.")
    var groups = 3

    @Option(help: "ShuffleNet v1 variant: paper (seed 001), megvii or seed000.")
    var variant = "paper"

    @Option(help: "Megvii ShuffleNet v1 model size: 0.5x, 1.0x, 1.5x or 2.0x.")
    var scale = "1.0x"

    @Flag(help: "Print a JSON array of {\"name\", \"shape\"}.")
    var json = false

    func run() throws {
        try reportingErrors {
            let configuration = try StandardConfiguration.make(family: architecture, classes: classes, depth: depth,
                                                               cardinality: cardinality, width: width, groups: groups,
                                                               variant: variant, scale: scale)
            let expected = try configuration.expectedWeights()
            if json {
                print("[" + expected.map { "{\"name\":\(JSONText.quote($0.key)),\"shape\":\($0.shape)}" }
                    .joined(separator: ",") + "]")
            } else {
                let width = expected.map(\.key.count).max() ?? 0
                for (key, shape) in expected {
                    print(key.padding(toLength: width + 2, withPad: " ", startingAt: 0) + "\(shape)")
                }
                let parameters = expected.reduce(0) { $0 + $1.shape.reduce(1, *) }
                print("\(expected.count) tensors, \(parameters) parameters")
            }
        }
    }
}
