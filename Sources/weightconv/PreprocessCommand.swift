import ArgumentParser
import Foundation
import WeightconvKit

/// `weightconv preprocess`: the exact input tensor a network will see, for comparing with Python.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Write the N×3×H×W float32 input a .wcv network makes of image files, as a .npy.",
        discussion: "Resize, crop, channel order and normalisation are the ones the file records (the pipeline its weights were evaluated with).")

    @Argument(help: "A .wcv file with a preprocessing record.")
    var model: String

    @Argument(help: "JPEG or PNG files.")
    var images: [String]

    @Option(name: .shortAndLong, help: "The .npy file to write.")
    var output: String

    @Flag(help: "Rotate images upright by their EXIF orientation first (Pillow and torchvision ignore it).")
    var exifOrientation = false

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
    }

    func run() throws {
        try reportingErrors {
            let file = try WeightFile(path: model)
            guard let preprocessing = file.document.preprocessing else {
                throw WeightconvError(file: model, problem: "records no preprocessing", hint: "re-import the checkpoint with --arch")
            }
            let recipe = try preprocessing.imagePreprocessing()
            var values: [Float] = []
            for image in images {
                values += try recipe.values(contentsOf: image, orientation: exifOrientation ? .apply : .ignore)
            }
            let array = NumpyArray(float32: values, shape: [images.count, 3, recipe.cropHeight, recipe.cropWidth])
            try writeFileAtomically(array.encoded(), to: output, protecting: [model] + images)
            print("wrote \(output): [\(images.count), 3, \(recipe.cropHeight), \(recipe.cropWidth)] float32")
        }
    }
}
