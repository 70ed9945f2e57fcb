import Foundation
import ImageDecoding
import Testing
import WeightconvCore

/// Files that must be refused with one line naming the file, before anything large is allocated.
struct HostileImageTests {
    /// The refusal for `bytes`, or a failed expectation if they decoded.
    func refusal(_ bytes: [UInt8], name: String = "bad.img",
                 limits: ImageDecodingLimits = .standard) -> WeightconvError? {
        do {
            let image = try ImageDecoder.decode(bytes, name: name, limits: limits)
            Issue.record("\(name) decoded to \(image.width)×\(image.height) instead of being refused")
            return nil
        } catch {
            #expect(error.file == name)
            #expect(!error.description.contains("\n"))
            return error
        }
    }

    @Test func emptyFileIsRefused() {
        let error = refusal([])
        #expect(error?.problem.contains("empty file") == true)
    }

    @Test func textIsNotAnImage() {
        let error = refusal(Array("hello, world\n".utf8))
        #expect(error?.problem.contains("not a JPEG or PNG image") == true)
        #expect(error?.problem.contains("68 65 6c 6c") == true)
    }

    @Test func gifIsNamed() {
        let error = refusal(Array("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8))
        #expect(error?.problem.contains("a GIF image") == true)
    }

    @Test func fileLimitIsNamed() {
        let error = refusal(HostileImages.pngHeader(width: 1, height: 1), limits: ImageDecodingLimits(maxFileBytes: 10))
        #expect(error?.problem.contains("maxFileBytes") == true)
    }

    @Test(arguments: [(100_000, 100_000), (70_000, 1), (1, 70_000)])
    func hugePNGHeaderIsRefusedBeforeAllocation(width: Int, height: Int) {
        let error = refusal(HostileImages.pngHeader(width: width, height: height))
        #expect(error?.problem.contains("\(width)×\(height)") == true)
        #expect(error?.problem.contains("maxSide") == true)
    }

    @Test func pixelLimitIsNamedAndConfigurable() {
        let bytes = HostileImages.pngHeader(width: 20_000, height: 20_000)
        let error = refusal(bytes)
        #expect(error?.problem.contains("maxPixels") == true)
        let small = refusal(HostileImages.pngHeader(width: 64, height: 64), limits: ImageDecodingLimits(maxPixels: 100))
        #expect(small?.problem.contains("limit of 100 pixels (maxPixels)") == true)
    }

    /// A real 53×37 JPEG whose frame header is patched to claim 65000×65000 (libjpeg's largest side is
    /// 65500): refused from the header, before libjpeg allocates anything for the image.
    @Test func hugeJPEGHeaderIsRefusedBeforeAllocation() throws {
        let error = refusal(try HostileImages.jpegClaiming(width: 65_000, height: 65_000))
        #expect(error?.problem.contains("65000×65000") == true)
        #expect(error?.problem.contains("maxPixels") == true)
        let wide = refusal(try HostileImages.jpegClaiming(width: 65_000, height: 1), limits: ImageDecodingLimits(maxSide: 4096))
        #expect(wide?.problem.contains("limit of 4096 pixels per side (maxSide)") == true)
    }

    @Test func truncatedJPEGIsRefusedEvenWhenOnlyItsEndMarkerIsMissing() throws {
        let complete = try HostileImages.fixture("baseline-420.jpg")
        for cut in [2, 40, complete.count / 2] {
            let error = refusal(Array(complete.dropLast(cut)), name: "cut.jpg")
            #expect(error?.problem.contains("truncated JPEG") == true, "cut \(cut) bytes")
        }
    }

    @Test func zeroSizedPNGIsRefused() {
        #expect(refusal(HostileImages.pngHeader(width: 0, height: 5)) != nil)
    }
}

/// Hand-made headers: what a hostile file claims, with no pixel data behind it.
enum HostileImages {
    /// PNG signature and an IHDR chunk (8-bit RGB) with a correct CRC, then nothing.
    static func pngHeader(width: Int, height: Int) -> [UInt8] {
        func u32(_ value: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
        let body = Array("IHDR".utf8) + u32(width) + u32(height) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + u32(13) + body + u32(Int(crc32(body)))
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: PillowFixtureTests.decodeFolder.appendingPathComponent(name)))
    }

    /// The baseline fixture with its SOF0 frame header's height and width replaced.
    static func jpegClaiming(width: Int, height: Int) throws -> [UInt8] {
        var bytes = try fixture("baseline-420.jpg")
        let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes[sof + 5] = UInt8(height >> 8)
        bytes[sof + 6] = UInt8(height & 255)
        bytes[sof + 7] = UInt8(width >> 8)
        bytes[sof + 8] = UInt8(width & 255)
        return bytes
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

/// Paths that are not image files.
struct ImagePathTests {
    @Test func missingFileIsNamed() {
        #expect {
            try ImageDecoder.decode(contentsOf: "/nonexistent/photo.jpg")
        } throws: { error in
            guard let error = error as? WeightconvError else { return false }
            return error.file == "/nonexistent/photo.jpg" && error.problem.contains("cannot open")
        }
    }

    @Test func folderIsNotAnImage() {
        #expect {
            try ImageDecoder.decode(contentsOf: PillowFixtureTests.decodeFolder.path)
        } throws: { error in
            (error as? WeightconvError)?.problem == "not a regular file"
        }
    }

    @Test func fileLimitIsCheckedBeforeReading() {
        let path = PillowFixtureTests.photoFolder.appendingPathComponent("china.jpg").path
        #expect {
            try ImageDecoder.decode(contentsOf: path, limits: ImageDecodingLimits(maxFileBytes: 1000))
        } throws: { error in
            (error as? WeightconvError)?.problem.contains("exceed the limit of 1000 bytes (maxFileBytes)") == true
        }
    }
}
