import Foundation
import ImageDecoding
@testable import ImagePipeline
import TestSupport
import Testing
import WeightconvCore

/// Each recipe against the Python pipeline it restates, on the references
/// tools/make_preprocess_fixtures.py writes: the bytes just before ToTensor must be identical, and
/// ToTensor + Normalize must give the same float32 for every byte value in every channel.
struct ReferencePipelineTests {
    static let fixtures = fixturesRoot
    static let folder = fixtures.appendingPathComponent("preprocess")

    /// The recipes as tools/make_preprocess_fixtures.py runs them (the layout files carry the same
    /// values; WeightconvKitTests checks that each layout maps to its recipe).
    static let recipes: [String: ImagePreprocessing] = [
        "torchvision": .init(resize: .torchvision(shorterSide: 256, filter: .bilinear), cropHeight: 224, cropWidth: 224,
                             mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]),
        "timm_mobilenetv2_100": .init(resize: .torchvision(shorterSide: 256, filter: .bicubic), cropHeight: 224, cropWidth: 224,
                                      mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]),
        "timm_legacy_xception": .init(resize: .torchvision(shorterSide: 333, filter: .bicubic), cropHeight: 299, cropWidth: 299,
                                      mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]),
        "cadene_xception": .init(resize: .torchvision(shorterSide: 341, filter: .bilinear), cropHeight: 299, cropWidth: 299,
                                 mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]),
        "megvii": .init(resize: .openCV(shorterSide: 256), cropHeight: 224, cropWidth: 224, channelOrder: .bgr, pixelScale: 1,
                        mean: [0, 0, 0], std: [1, 1, 1]),
        "digits": .init(resize: .torchvision(shorterSide: 32, filter: .bilinear), cropHeight: 32, cropWidth: 32,
                        mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]),
    ]

    static func array(_ url: URL) throws -> NumpyArray {
        try NumpyArray(bytes: [UInt8](Data(contentsOf: url)), file: url.path)
    }

    static func image(_ url: URL) throws -> RGBImage {
        let a = try array(url)
        #expect(a.dtype == .u8 && a.shape.count == 3 && a.shape[2] == 3, "\(url.lastPathComponent): not uint8 [H, W, 3]")
        return RGBImage(width: a.shape[1], height: a.shape[0], pixels: a.data)
    }

    /// The source pixels: the photos as Pillow decoded them, our own PNGs through the decoder (lossless).
    static func source(_ name: String) throws -> RGBImage {
        let photo = fixtures.appendingPathComponent("images/photos/\(name).npy")
        if FileManager.default.fileExists(atPath: photo.path) { return try image(photo) }
        return try ImageDecoder.decode(contentsOf: folder.appendingPathComponent("images/\(name).png").path)
    }

    /// (image, recipe) for every reference file.
    static let cases: [(String, String)] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().compactMap { name -> (String, String)? in
            let parts = name.split(separator: ".")
            guard parts.count == 3, parts[2] == "npy", recipes[String(parts[1])] != nil else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }()

    /// Records the count of differing bytes, the largest difference and the first differing index.
    static func expectSame(_ got: RGBImage, _ reference: RGBImage, _ label: String) {
        #expect(got.width == reference.width && got.height == reference.height,
                "\(label): \(got.width)x\(got.height), reference \(reference.width)x\(reference.height)")
        guard got.pixels.count == reference.pixels.count else { return }
        let difference = ByteDifference(got.pixels, reference.pixels)
        let (differing, largest) = (difference.count, difference.largest)
        if let first = difference.first {
            let message: String = "\(label): \(differing) of \(got.pixels.count) bytes differ, max |Δ| \(largest), first at byte \(first) (pixel x \(first / 3 % got.width), y \(first / 3 / got.width)): \(got.pixels[first]) vs \(reference.pixels[first])"
            Issue.record(Comment(rawValue: message))
        }
    }

    @Test func everyRecipeHasReferences() {
        let covered = Set(Self.cases.map(\.1))
        #expect(covered == Set(Self.recipes.keys), "run tools/make_preprocess_fixtures.py; covered \(covered.sorted())")
        #expect(Self.cases.filter { $0.0 == "china" || $0.0 == "flower" }.count >= 8)
    }

    @Test(arguments: cases.map { "\($0.0).\($0.1)" })
    func bytesBeforeNormalisationAreIdentical(_ label: String) throws {
        let parts = label.split(separator: ".").map(String.init)
        let recipe = try #require(Self.recipes[parts[1]])
        let got = try recipe.cropped(try Self.source(parts[0]))
        Self.expectSame(got, try Self.image(Self.folder.appendingPathComponent("\(label).npy")), label)
    }

    /// ToTensor/Normalize (or Megvii's ToBGRTensor) on the 1x256 ramp whose pixel i is
    /// (i, i+85, i+170) mod 256: every byte through every channel, float32 for float32.
    @Test(arguments: recipes.keys.sorted())
    func normalisationMatchesEveryByte(_ name: String) throws {
        let recipe = try #require(Self.recipes[name])
        let table = try Self.array(Self.folder.appendingPathComponent("\(name).normalise.npy"))
        let expected = try table.floats(file: name)
        var bytes: [UInt8] = []
        for i in 0..<256 {
            bytes += [UInt8(i), UInt8((i + 85) % 256), UInt8((i + 170) % 256)]
        }
        let ramp = RGBImage(width: 256, height: 1, pixels: bytes)
        let got = recipe.normalised(ramp)
        #expect(got.count == expected.count)
        var largest: Float = 0, first: Int?
        for i in 0..<min(got.count, expected.count) where got[i] != expected[i] {
            largest = max(largest, abs(got[i] - expected[i]))
            if first == nil { first = i }
        }
        if let first {
            let message = "\(name): max |Δ| \(largest) after normalisation; first at channel \(first / 256), byte index \(first % 256): \(got[first]) vs \(expected[first])"
            Issue.record(Comment(rawValue: message))
        }
    }

    /// The whole path from the JPEG file: decoder, resize, crop.
    @Test func photoFileThroughTheDecoder() throws {
        let recipe = try #require(Self.recipes["torchvision"])
        let file = Self.fixtures.appendingPathComponent("images/photos/china.jpg").path
        let got = try recipe.cropped(try ImageDecoder.decode(contentsOf: file))
        Self.expectSame(got, try Self.image(Self.folder.appendingPathComponent("china.torchvision.npy")), "china.jpg torchvision")
        let values = try recipe.values(contentsOf: file)
        #expect(values.count == 3 * 224 * 224)
        #expect(values == recipe.normalised(got))
    }

    @Test func cropPadsASmallImageAsTorchvisionDoes() throws {
        let small = try Self.source("small30x20")
        let got = try small.centreCropped(width: 41, height: 25)
        Self.expectSame(got, try Self.image(Self.folder.appendingPathComponent("small30x20.crop41x25.npy")), "crop 41x25")
    }

    @Test func cropOffsetRoundsHalvesToEven() {
        // Python: round(0.5) = 0, round(1.5) = 2, round(2.5) = 2, round(3.5) = 4.
        #expect([1, 3, 5, 7, 4].map(RGBImage.halfRoundedToEven) == [0, 2, 2, 4, 2])
    }

    @Test func resizedSizesFollowEachLibrary() {
        // torchvision floors the longer side; Megvii rounds it in double precision.
        #expect(ImagePreprocessing.resizedSize(width: 640, height: 427, resize: .torchvision(shorterSide: 256, filter: .bilinear)) == (383, 256))
        #expect(ImagePreprocessing.resizedSize(width: 640, height: 427, resize: .openCV(shorterSide: 256)) == (384, 256))
        #expect(ImagePreprocessing.resizedSize(width: 300, height: 300, resize: .openCV(shorterSide: 256)) == (256, 256))
    }

    @Test func extremeAspectRatioIsRefusedBeforeAllocating() throws {
        let thin = RGBImage(width: 1, height: 60_000, pixels: [UInt8](repeating: 0, count: 180_000))
        let recipe = try #require(Self.recipes["torchvision"])
        #expect(throws: WeightconvError.self) { try recipe.cropped(thin) }
    }
}
