import ArgumentParser
import Foundation
import WeightconvKit

/// `weightconv classify`: labels and probabilities for image files.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify image files with a .wcv network: the top-K labels with their probabilities.")

    @Argument(help: "A .wcv file with a preprocessing record.")
    var model: String

    @Argument(help: "JPEG or PNG files.")
    var images: [String]

    @Option(help: "How many classes to show per image.")
    var top = 5

    @Option(help: "Threads.")
    var threads = 2

    @Flag(help: "Rotate images upright by their EXIF orientation first (Pillow and torchvision ignore it).")
    var exifOrientation = false

    @Flag(help: "Print {\"results\": [{\"image\", \"top\": [{\"class\", \"label\", \"probability\", \"logit\"}]}]}.")
    var json = false

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        guard top >= 1, threads >= 1 else { throw ValidationError("--top and --threads must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let network = try PretrainedNetwork(contentsOf: model, threads: threads)
            var results: [Classification] = []
            for image in images {
                results.append(try network.classify(imageAt: image, orientation: exifOrientation ? .apply : .ignore))
            }
            if json {
                print(ClassificationJSON.text(results, top: top))
            } else {
                for result in results {
                    print(result.image ?? "")
                    for score in result.scores.prefix(top) {
                        print(String(format: "  %6.2f%%  %@ (class %d, logit %.4f)", score.probability * 100,
                                     TerminalText.escaped(score.label), score.index, score.logit))
                    }
                }
            }
        }
    }
}
