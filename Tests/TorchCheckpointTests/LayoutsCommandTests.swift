import Foundation
import Testing

/// `weightconv layouts --export` and `--check` through the binary: a valid file passes, a broken one
/// is refused with exit status 1 and one line naming the file, the line and the member.
@Suite struct LayoutsCommandTests {
    func run(_ arguments: [String]) throws -> CLIResult {
        try runCLI(["layouts"] + arguments)
    }

    @Test func exportedLayoutChecksAndBrokenOnesAreRefusedInOneLine() throws {
        let scratch = try ScratchFolder(prefix: "weightconv-layouts")
        defer { scratch.remove() }
        let folder = scratch.url

        let exported = try run(["--export", "resnext/seed003"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let good = folder.appendingPathComponent("good.json").path
        try exported.stdout.write(toFile: good, atomically: true, encoding: .utf8)
        let checked = try run(["--check", good])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.contains("a valid resnext/seed003 layout"), "\(checked.stdout)")

        let cases: [(name: String, old: String, new: String, expect: String)] = [
            // A trailing comma: the parser stops at the ']' on line 12.
            ("json", #""replacement": "fc."}"#, #""replacement": "fc."},"#, "line 12: not valid JSON"),
            ("regex", #""^linear\\.""#, #""^linear\\.[""#, #"renames[1].pattern: the regular expression ^linear\.["#),
            ("fingerprint regex", #""^conv1\\.weight$""#, #""^conv1\\.weight$)""#,
             #"fingerprint.required[0]: the regular expression ^conv1\.weight$) does not compile"#),
            ("behaviour", #""stridePlacement": "conv1""#, #""stridePlacement": "conv3""#,
             #"behaviour.stridePlacement: behaviour 'stridePlacement' is "conv3", expected one of "conv1", "conv2""#),
        ]
        for broken in cases {
            #expect(exported.stdout.contains(broken.old), "\(broken.name): edit did not apply")
            let path = folder.appendingPathComponent("\(broken.name).json").path
            try exported.stdout.replacingOccurrences(of: broken.old, with: broken.new).write(toFile: path, atomically: true, encoding: .utf8)
            let result = try run(["--check", path])
            #expect(result.status == 1, "\(broken.name)")
            #expect(result.stdout.isEmpty)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(broken.name): \(result.stderr)")
            #expect(result.stderr.hasPrefix("error: \(path): line "), "\(broken.name): \(result.stderr)")
            #expect(result.stderr.contains(broken.expect), "\(broken.name): \(result.stderr)")
        }
        let unknown = try run(["--export", "resnext/nonesuch"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.split(separator: "\n").count == 1)
    }
}

/// `weightconv import`'s report: a summary line, which state_dict was taken and why, and the
/// configuration JSON only with --verbose.
@Suite struct ImportReportCommandTests {
    @Test func reportIsASummaryWithTheJSONBehindVerbose() throws {
        let folder = fixturesRoot.appendingPathComponent("layouts/mobilenetv2_seed002_timm_ema")
        let scratch = try ScratchFolder(prefix: "weightconv-report")
        defer { scratch.remove() }
        let out = scratch.file("out.wcv")
        let plain = try runCLI(["import", folder.appendingPathComponent("model.pth").path, "--arch", "auto", "-o", out])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.contains("took 'state_dict_ema': the EMA weights"), "\(plain.stdout)")
        #expect(plain.stdout.contains("(also in the file: state_dict)"), "\(plain.stdout)")
        #expect(plain.stdout.contains("network: MobileNetV2, stem "), "\(plain.stdout)")
        #expect(plain.stdout.contains(" 17 blocks "), "\(plain.stdout)")
        #expect(plain.stdout.contains(" 10 classes"), "\(plain.stdout)")
        #expect(!plain.stdout.contains("configuration: {"), "\(plain.stdout)")
        try FileManager.default.removeItem(atPath: out)
        let verbose = try runCLI(["import", folder.appendingPathComponent("model.pth").path, "--arch", "auto",
                                                   "-o", out, "--verbose", "--select", "state_dict"])
        #expect(verbose.status == 0, "\(verbose.stderr)")
        #expect(verbose.stdout.contains("took 'state_dict': chosen with --select state_dict"), "\(verbose.stdout)")
        #expect(verbose.stdout.contains(#"configuration: {"activation":"relu6""#), "\(verbose.stdout)")
    }
}
