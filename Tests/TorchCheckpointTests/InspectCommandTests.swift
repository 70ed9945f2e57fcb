import Foundation
import Testing

/// Runs the built `weightconv` binary: the command line's contract is exit status 1 with one line
/// on stderr for bad input, and JSON that agrees with torch for good input.
@Suite struct InspectCommandTests {
    /// The executable sits beside the test bundle in the build products directory.
    static var binary: URL {
        var directory = Bundle.main.bundleURL
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") { directory = bundle.bundleURL }
        let candidates = [directory.deletingLastPathComponent(), directory, Bundle.main.bundleURL.deletingLastPathComponent(),
                          Bundle.main.bundleURL]
        for dir in candidates {
            let url = dir.appendingPathComponent("weightconv")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return Fixtures.root.deletingLastPathComponent().appendingPathComponent(".build/debug/weightconv")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test func binaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "no weightconv binary at \(Self.binary.path)")
    }

    @Test(arguments: ["reduce_os_system.pt", "deep_tuples.pt", "truncated_zip.pt", "short_storage.pt", "lfs_pointer.pt",
                      "torchscript.pt", "picklescan/data/malicious1_v4.pkl", "picklescan/data/malicious1.zip",
                      "control_chars_in_name.pkl"])
    func hostileFileExitsOneWithOneLine(_ name: String) throws {
        let path = Fixtures.hostile.appendingPathComponent(name).path
        let result = try Self.run(["inspect", path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        // One line by any definition: no control characters but the final newline.
        #expect(result.stderr.hasSuffix("\n"))
        #expect(!result.stderr.dropLast().unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, "\(result.stderr)")
        #expect(result.stderr.contains(path))
    }

    @Test func jsonAgreesWithTorch() throws {
        let result = try Self.run(["inspect", "--json", Fixtures.path("views_legacy.pt")])
        #expect(result.status == 0, "\(result.stderr)")
        struct Listing: Decodable {
            struct Tensor: Decodable { var name: String; var dtype: String; var shape: [Int]; var sha256: String }
            var kind: String
            var tensors: [Tensor]
        }
        let listing = try JSONDecoder().decode(Listing.self, from: Data(result.stdout.utf8))
        let expected = try Fixtures.expectation("views_legacy.pt")
        #expect(listing.kind == "pytorch-legacy")
        #expect(listing.tensors.map(\.name) == expected.tensors.map(\.name))
        #expect(listing.tensors.map(\.sha256) == expected.tensors.map(\.sha256))
        #expect(listing.tensors.map(\.shape) == expected.tensors.map(\.shape))
    }

    @Test func tableHasTotalsAndLimit() throws {
        let result = try Self.run(["inspect", "--limit", "2", Fixtures.path("wrapped.pt")])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try Fixtures.expectation("wrapped.pt")
        #expect(result.stdout.contains("total: \(expected.tensors.count) tensors"))
        #expect(result.stdout.contains(expected.tensors[1].name))
        #expect(!result.stdout.contains(expected.tensors[2].name + " "))
        #expect(result.stdout.contains("epoch: 7"))
    }
}
