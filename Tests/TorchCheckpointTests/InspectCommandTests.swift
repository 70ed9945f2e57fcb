import Foundation
import Testing

/// Runs the built `weightconv` binary: the command line's contract is exit status 1 with one line
/// on stderr for bad input, and JSON that agrees with torch for good input.
@Suite struct InspectCommandTests {
    /// ``runCLI(_:timeout:)`` in the shape the command-line tests here were written against.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try runCLI(arguments)
        return (result.status, result.stdout, result.stderr)
    }

    @Test func binaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: weightconvBinary), "no weightconv binary at \(weightconvBinary)")
    }

    @Test(arguments: ["reduce_os_system.pt", "deep_tuples.pt", "truncated_zip.pt", "short_storage.pt", "lfs_pointer.pt",
                      "torchscript.pt", "picklescan/data/malicious1_v4.pkl", "picklescan/data/malicious1.zip",
                      "control_chars_in_name.pkl"])
    func hostileFileExitsOneWithOneLine(_ name: String) throws {
        let path = Fixtures.hostile.appendingPathComponent(name).path
        let result = try runCLI(["inspect", path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        // One line by any definition: no control characters but the final newline.
        #expect(result.stderr.hasSuffix("\n"))
        #expect(!result.stderr.dropLast().unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, "\(result.stderr)")
        #expect(result.stderr.contains(path))
    }

    @Test func jsonAgreesWithTorch() throws {
        let result = try runCLI(["inspect", "--json", Fixtures.path("views_legacy.pt")])
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
        let result = try runCLI(["inspect", "--limit", "2", Fixtures.path("wrapped.pt")])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try Fixtures.expectation("wrapped.pt")
        #expect(result.stdout.contains("total: \(expected.tensors.count) tensors"))
        #expect(result.stdout.contains(expected.tensors[1].name))
        #expect(!result.stdout.contains(expected.tensors[2].name + " "))
        #expect(result.stdout.contains("epoch: 7"))
    }
}
