import Foundation
import TestSupport
import Testing
@testable import WeightconvKit

/// Each built-in layout's recorded preprocessing, as a .wcv stores it, reproduces the bytes its
/// family's Python pipeline gives for the photo (tools/make_preprocess_fixtures.py), and
/// normalises every byte as that pipeline does.
struct LayoutPreprocessingTests {
    /// Layout → the reference recipe of the implementation that saved its weights.
    static let recipes: [String: String] = [
        "mobilenet_v2/torchvision": "torchvision", "mobilenet_v2/seed002": "torchvision",
        "mobilenet_v2/timm": "timm_mobilenetv2_100",
        "resnext/torchvision": "torchvision", "resnext/seed003": "torchvision", "resnext/cadene": "torchvision",
        "shufflenet_v1/seed000": "torchvision", "shufflenet_v1/seed001": "torchvision",
        "shufflenet_v1/megvii": "megvii",
        "xception/seed004": "timm_legacy_xception", "xception/cadene": "cadene_xception",
    ]

    static let folder = fixturesRoot.appendingPathComponent("preprocess")

    static func npy(_ url: URL) throws -> NumpyArray {
        try NumpyArray(bytes: [UInt8](Data(contentsOf: url)), file: url.path)
    }

    @Test(arguments: recipes.keys.sorted())
    func layoutReproducesItsPipeline(_ layout: String) throws {
        let profile = try #require(LayoutProfile.named(layout), "no built-in layout \(layout)")
        let recipeName = try #require(Self.recipes[layout])
        let recipe = try profile.preprocessing.imagePreprocessing()
        let photo = try Self.npy(fixturesRoot.appendingPathComponent("images/photos/china.npy"))
        let image = RGBImage(width: photo.shape[1], height: photo.shape[0], pixels: photo.data)
        let reference = try Self.npy(Self.folder.appendingPathComponent("china.\(recipeName).npy"))
        let got = try recipe.cropped(image)
        #expect([got.height, got.width, 3] == reference.shape, "\(layout): \(got.width)x\(got.height), reference \(reference.shape)")
        let differing = zip(got.pixels, reference.data).filter { $0 != $1 }.count
        #expect(differing == 0, "\(layout): \(differing) bytes differ from \(recipeName)")
        var bytes: [UInt8] = []
        for i in 0..<256 { bytes += [UInt8(i), UInt8((i + 85) % 256), UInt8((i + 170) % 256)] }
        let normalised = recipe.normalised(RGBImage(width: 256, height: 1, pixels: bytes))
        let table = try Self.npy(Self.folder.appendingPathComponent("\(recipeName).normalise.npy")).floats(file: recipeName)
        let largest = zip(normalised, table).map { abs($0 - $1) }.max() ?? .infinity
        #expect(normalised.count == table.count && largest == 0, "\(layout): max |Δ| \(largest) after normalisation")
    }

    @Test func everyImageNetLayoutIsCovered() {
        let names = Set(LayoutProfile.all.map(\.qualifiedName))
        #expect(names.subtracting(Self.recipes.keys) == ["shufflenet_v1/mmpretrain"],
                "layouts without a reference pipeline: \(names.subtracting(Self.recipes.keys).sorted())")
    }
}
