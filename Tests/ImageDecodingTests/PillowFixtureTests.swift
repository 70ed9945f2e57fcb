import Foundation
import ImageDecoding
import Testing
import TestSupport
import WeightconvCore

/// The decoder against Pillow's `Image.open(f).convert("RGB")` on the files
/// tools/make_image_fixtures.py writes, byte for byte.
struct PillowFixtureTests {
    static let images = fixturesRoot.appendingPathComponent("images")
    static let decodeFolder = images.appendingPathComponent("decode")
    static let photoFolder = images.appendingPathComponent("photos")
    static let hostileFolder = images.appendingPathComponent("hostile")

    /// Every image in a folder (the files with a sibling `NAME.npy`).
    static func cases(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
    }

    static let decodeCases = cases(in: decodeFolder)
    static let photoCases = cases(in: photoFolder)
    static let orientedCases = decodeCases.filter {
        FileManager.default.fileExists(atPath: decodeFolder.appendingPathComponent(stem($0) + ".apply.npy").path)
    }

    static func stem(_ name: String) -> String { String(name[..<(name.lastIndex(of: ".") ?? name.endIndex)]) }

    /// Pillow's pixels for a case, as written by numpy: (height, width, 3) uint8.
    static func expected(_ file: URL) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        let bytes = try [UInt8](Data(contentsOf: file))
        let array = try NumpyArray(bytes: bytes, file: file.path)
        #expect(array.dtype == .u8)
        #expect(array.shape.count == 3 && array.shape.last == 3)
        return (array.shape[1], array.shape[0], array.data)
    }

    /// Compares and reports the size, the number of differing bytes, the largest difference and
    /// the first differing pixel.
    static func compare(_ image: RGBImage, with file: URL, _ name: String) throws {
        let reference = try expected(file)
        #expect(image.width == reference.width && image.height == reference.height,
                "\(name): \(image.width)×\(image.height), Pillow \(reference.width)×\(reference.height)")
        guard image.pixels.count == reference.pixels.count else { return }
        let difference = ByteDifference(image.pixels, reference.pixels)
        let (differing, largest) = (difference.count, difference.largest)
        if let first = difference.first {
            let pixel = first / 3
            let at = pixel * 3
            Issue.record("""
                \(name): \(differing) of \(image.pixels.count) bytes differ from Pillow, max |Δ| \(largest); first at \
                pixel (x \(pixel % image.width), y \(pixel / image.width)): \(Array(image.pixels[at..<at + 3])) vs \
                Pillow \(Array(reference.pixels[at..<at + 3]))
                """)
        }
    }

    @Test func fixturesArePresent() {
        #expect(Self.decodeCases.count >= 40, "run tools/make_image_fixtures.py")
        #expect(Self.photoCases == ["china.jpg", "flower.jpg"])
        #expect(Self.orientedCases.count == 10)
    }

    @Test(arguments: decodeCases)
    func decodesAsPillow(_ name: String) throws {
        let image = try ImageDecoder.decode(contentsOf: Self.decodeFolder.appendingPathComponent(name).path)
        try Self.compare(image, with: Self.decodeFolder.appendingPathComponent(Self.stem(name) + ".npy"), name)
    }

    @Test(arguments: orientedCases)
    func appliesOrientationAsExifTranspose(_ name: String) throws {
        let image = try ImageDecoder.decode(contentsOf: Self.decodeFolder.appendingPathComponent(name).path,
                                            orientation: .apply)
        try Self.compare(image, with: Self.decodeFolder.appendingPathComponent(Self.stem(name) + ".apply.npy"),
                         name + " (orientation applied)")
    }

    @Test(arguments: photoCases)
    func photosDecodeAsPillow(_ name: String) throws {
        let image = try ImageDecoder.decode(contentsOf: Self.photoFolder.appendingPathComponent(name).path)
        #expect(image.width == 640 && image.height == 427)
        try Self.compare(image, with: Self.photoFolder.appendingPathComponent(Self.stem(name) + ".npy"), name)
    }

    /// Files Pillow decodes and this decoder refuses, on purpose (divergent.json says why): each is
    /// refused with one line naming it and the expected reason.
    @Test func divergentFilesAreRefusedAsDocumented() throws {
        let folder = Self.images.appendingPathComponent("divergent")
        let listing = try Data(contentsOf: folder.appendingPathComponent("divergent.json"))
        let cases = try #require(try JSONSerialization.jsonObject(with: listing) as? [String: [String: String]])
        #expect(cases.count == 2)
        for (name, entry) in cases.sorted(by: { $0.key < $1.key }) {
            let path = folder.appendingPathComponent(name).path
            do {
                let image = try ImageDecoder.decode(contentsOf: path)
                Issue.record("\(name): decoded to \(image.width)×\(image.height); divergent.json expects a refusal")
            } catch {
                #expect(error.file == path)
                #expect(!error.description.contains("\n"))
                #expect(error.problem.contains(entry["refusal"] ?? "?"), "\(name): \(error.problem)")
            }
        }
    }

    /// Every file Pillow refuses (listed in hostile.json with Pillow's error) is refused here too,
    /// with one line that names it.
    @Test func hostileFilesAreRefusedLikePillow() throws {
        let listing = try Data(contentsOf: Self.hostileFolder.appendingPathComponent("hostile.json"))
        let pillow = try #require(try JSONSerialization.jsonObject(with: listing) as? [String: String])
        #expect(pillow.count >= 10)
        for (name, pillowError) in pillow.sorted(by: { $0.key < $1.key }) {
            let path = Self.hostileFolder.appendingPathComponent(name).path
            do {
                let image = try ImageDecoder.decode(contentsOf: path)
                Issue.record("\(name): decoded to \(image.width)×\(image.height); Pillow refuses it (\(pillowError))")
            } catch {
                #expect(error.file == path)
                #expect(!error.description.contains("\n"))
            }
        }
    }
}
