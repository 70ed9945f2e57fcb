import Foundation
import Testing
import WeightconvKit

/// The command line's families (and `auto`) and dtypes, parsed by ArgumentParser from the types: every
/// value the types list is accepted, the other spellings `--dtype` takes still are, and any other value
/// is a usage error (exit status 64, ArgumentParser's, as for every usage error) that names the value
/// and lists the accepted ones, with nothing written.
@Suite struct ArgumentValueTests {
    static let families = ["xception", "mobilenet_v2", "shufflenet_v1", "resnext"]

    @Test func unknownValuesAreUsageErrorsNamingTheValueAndTheChoices() throws {
        let scratch = try ScratchFolder(prefix: "weightconv-arguments")
        defer { scratch.remove() }
        let output = scratch.file("out.wcv")
        let checkpoint = fixturesRoot.appendingPathComponent("wcv/src/small_cnn.safetensors").path
        let cases: [(arguments: [String], value: String, accepted: [String])] = [
            (["import", checkpoint, "-o", output, "--arch", "vgg"], "vgg", ["auto"] + Self.families),
            (["import", checkpoint, "-o", output, "--arch", "MobileNetV2"], "MobileNetV2", ["auto"] + Self.families),
            (["import", checkpoint, "-o", output, "--dtype", "f8"], "f8", ["f32", "f16", "bf16"]),
            (["import", checkpoint, "-o", output, "--dtype", "i8"], "i8", ["f32", "f16", "bf16"]),
            (["layouts", "--arch", "vgg"], "vgg", Self.families),
            (["expect", "vgg"], "vgg", Self.families),
        ]
        for c in cases {
            let result = try runCLI(c.arguments)
            let name = c.arguments.joined(separator: " ")
            #expect(result.status == 64, "\(name): status \(result.status)")
            #expect(result.stdout.isEmpty, "\(name): \(result.stdout)")
            let first = result.stderrLines.first.map(String.init) ?? ""
            #expect(first.hasPrefix("Error: The value '\(c.value)' is invalid for "), "\(name): \(result.stderr)")
            for value in c.accepted { #expect(first.contains("'\(value)'"), "\(name): \(value) not listed in \(first)") }
            #expect(!FileManager.default.fileExists(atPath: output), "\(name) wrote \(output)")
        }
    }

    @Test func everyFamilyIsAcceptedWhereAFamilyIsAsked() throws {
        for family in NetworkFamily.allCases {
            #expect(Self.families.contains(family.rawValue))
            let expected = try runCLI(["expect", family.rawValue, "--json"])
            #expect(expected.status == 0, "expect \(family): \(expected.stderr)")
            #expect(expected.stdout.hasPrefix("[{\"name\":"), "expect \(family)")
            let layouts = try runCLI(["layouts", "--arch", family.rawValue])
            #expect(layouts.status == 0, "layouts --arch \(family): \(layouts.stderr)")
            let lines = layouts.stdout.split(separator: "\n")
            #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("\(family.rawValue)/") }, "\(layouts.stdout)")
        }
        #expect(NetworkFamily.allCases.count == Self.families.count)
    }

    /// Each spelling `--dtype` took before the values came from the type writes the committed file.
    @Test func dtypeSpellingsWriteTheCommittedFiles() throws {
        let scratch = try ScratchFolder(prefix: "weightconv-dtype")
        defer { scratch.remove() }
        let fixtures = fixturesRoot.appendingPathComponent("wcv")
        let checkpoint = fixtures.appendingPathComponent("src/small_cnn.safetensors").path
        for (spelling, fixture) in [("f16", "small_cnn.f16"), ("HALF", "small_cnn.f16"), ("float16", "small_cnn.f16"),
                                    ("bf16", "small_cnn.bf16"), ("BFloat16", "small_cnn.bf16")] {
            let output = scratch.file("\(spelling).wcv")
            let result = try runCLI(["import", checkpoint, "-o", output, "--dtype", spelling])
            #expect(result.status == 0, "--dtype \(spelling): \(result.stderr)")
            let written = try Data(contentsOf: URL(fileURLWithPath: output))
            let committed = try Data(contentsOf: fixtures.appendingPathComponent("\(fixture).wcv"))
            #expect(written == committed, "--dtype \(spelling) differs from \(fixture).wcv")
        }
    }
}
