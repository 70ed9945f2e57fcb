import Foundation
import Testing
import WeightconvKit

// `weightconv verify FILE [--reference REF.npz] [--atol A] [--rtol R] [--json]` on imported layout
// fixtures, against the other engines' logits (fixtures/engines/layouts, tools/make_engine_references.py).
// Exit 0 verified, 1 mismatch, 2 unusable input.

@Suite(.serialized) struct VerifyCommandTests {
    static let layouts = packageRoot + "/fixtures/layouts"
    static let engines = packageRoot + "/fixtures/engines/layouts"
    static let cases = ["resnext_torchvision", "mobilenetv2_torchvision", "shufflenet_seed001", "xception_seed004"]

    /// Imports a layout fixture with its own reference stored.
    static func imported(_ name: String, into folder: ScratchFolder) throws -> String {
        let output = folder.file("\(name).wcv")
        _ = try Importer.run(ImportRequest(input: "\(layouts)/\(name)/model.pth", output: output,
                                           reference: "\(layouts)/\(name)/reference.npz"))
        return output
    }

    @Test(arguments: cases)
    func everyEngineReferencePasses(_ name: String) throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try Self.imported(name, into: folder)
        for engine in ["torch_1thread", "torch_no_mkldnn", "onnxruntime"] {
            let result = try runCLI(["verify", file, "--reference", "\(Self.engines)/\(name).\(engine).npz"])
            #expect(result.status == 0, "\(name) \(engine): \(result.stdout) \(result.stderr)")
            #expect(result.stdout.hasSuffix("verified\n"), "\(result.stdout)")
        }
    }

    /// `verify`, `bench` and `import` share one set of execution options: every spelling, old ones
    /// included, runs and verifies; contradictions are refused before anything runs.
    @Test func executionOptionsAreOneSetForEveryCommand() throws {
        let file = packageRoot + "/fixtures/examples/shufflenet_seed001.wcv"
        for options in [["--naive-operators"], ["--reference-operators"], ["--threads", "1", "--kernels", "portable"],
                        ["--portable-kernels"], ["--threads", "3"]] {
            let result = try runCLI(["verify", file] + options)
            #expect(result.status == 0 && result.stdout.hasSuffix("verified\n"), "\(options): \(result.stdout) \(result.stderr)")
        }
        for (command, options) in [("verify", ["--naive-operators", "--kernels", "avx2"]), ("verify", ["--threads", "0"]),
                                   ("bench", ["--naive-operators", "--profile"]), ("bench", ["--reference-operators", "--portable-kernels"]),
                                   ("import", ["--threads", "0"])] {
            let arguments = command == "import" ? ["import", file, "-o", "/nonexistent/never.wcv"] : [command, file]
            let result = try runCLI(arguments + options)
            #expect(result.status != 0 && result.stderr.contains("Error: --"), "\(command) \(options): \(result.stderr)")
        }
        let timed = try runCLI(["bench", file, "--naive-operators", "--iterations", "1", "--warmup", "0", "--json"])
        #expect(timed.status == 0 && timed.stdout.contains("\"threads\":1"), "\(timed.stdout) \(timed.stderr)")
    }

    /// `--precision bf16` is opt-in: where the machine has it, bench runs and verify reports the
    /// accuracy it gives up (exit 1: it is not meant to meet the float32 tolerance, and the hint says
    /// so); where it does not, every command refuses it in one line before anything runs. The naive
    /// operators are float32 only, and import refuses it everywhere (it checks at float32).
    @Test func bfloat16PrecisionIsOptInAndStated() throws {
        let file = packageRoot + "/fixtures/examples/shufflenet_seed001.wcv"
        let bench = try runCLI(["bench", file, "--precision", "bf16", "--iterations", "1", "--warmup", "0", "--json"])
        let verify = try runCLI(["verify", file, "--precision", "bf16"])
        if Precision.bfloat16.isAvailable {
            #expect(bench.status == 0, "\(bench.stdout) \(bench.stderr)")
            #expect(verify.status == 1 && verify.stdout.contains("max |diff|") && verify.stderrLines.count == 1
                    && verify.stderr.contains("--precision bf16"), "\(verify.stdout) \(verify.stderr)")
        } else {
            for result in [bench, verify] {
                #expect(result.status != 0 && result.stderrLines.count == 1 && result.stderr.contains("--precision bf16"),
                        "\(result.stdout) \(result.stderr)")
            }
        }
        // Import checks at float32 whatever the machine has, and writes nothing when refused.
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let written = folder.file("never.wcv")
        let digits = packageRoot + "/fixtures/digits/shufflenet_seed001_digits"
        let imported = try runCLI(["import", digits + ".pth", "--arch", "auto", "--reference", digits + ".reference.npz",
                                   "--precision", "bf16", "-o", written])
        #expect(imported.status == 1 && imported.stdout.isEmpty && imported.stderrLines.count == 1
                && imported.stderr.contains("--precision bf16") && imported.stderr.contains("float32"),
                "\(imported.stdout) \(imported.stderr)")
        #expect(!FileManager.default.fileExists(atPath: written))
        let naive = try runCLI(["verify", file, "--precision", "bf16", "--naive-operators"])
        #expect(naive.status != 0 && naive.stderr.contains("--precision"), "\(naive.stderr)")
        let float32 = try runCLI(["verify", file, "--precision", "fp32"])
        #expect(float32.status == 0 && float32.stdout.hasSuffix("verified\n"), "\(float32.stdout) \(float32.stderr)")
    }

    /// `bench` reports what the first answer cost (opening, first pass) and exits cleanly although the
    /// GEMM library generates its kernels on another thread as the network is built: at input size 1
    /// every GEMM is a single column, whose matrix-vector path never waits for that generation, so a
    /// build that did not wait for it left the process exiting mid-generation, which crashed in
    /// libdnnl's static destructors (4 of 20 runs when the wait was taken out). With the AVX-512
    /// kernels this network calls no library at all (see `EngineGEMM`), so the AVX2 kernels are
    /// asked for, under which the library computes its GEMMs and the generation runs.
    @Test func benchReportsTheFirstAnswerAndExitsCleanly() throws {
        let file = packageRoot + "/fixtures/examples/shufflenet_seed001.wcv"
        for run in 0..<20 {
            let kernels = run < 18 ? ["--kernels", "avx2"] : []
            let result = try runCLI(["bench", file, "--size", "1", "--iterations", "1", "--warmup", "0", "--json"] + kernels)
            #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let open = try #require(json["open_ms"] as? Double), first = try #require(json["first_pass_ms"] as? Double)
            #expect(open > 0 && first > 0 && first == json["median_ms"] as? Double, "\(result.stdout)")
        }
    }

    /// A reference of several samples, two of them photos prepared with the layout's preprocessing
    /// (tools/make_reference.py --batch 1 --image baseline-444.jpg --image rgb8.png --size 64).
    @Test func aReferenceMadeFromPhotosPasses() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try Self.imported("resnext_torchvision", into: folder)
        let result = try runCLI(["verify", file, "--reference", "\(Self.engines)/resnext_torchvision.photos.npz", "--json"])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((json["samples"] as? [Any])?.count == 3)
    }

    /// `--trace`: every layer against PyTorch's (tools/make_reference.py --trace), exit 0; a reference
    /// without layer outputs is unusable input, exit 2, one line saying how to make one.
    @Test func traceComparesEveryLayer() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try Self.imported("shufflenet_seed001", into: folder)
        let traced = try runCLI(["verify", file, "--trace", packageRoot + "/fixtures/engines/traces/shufflenet_seed001.npz"])
        #expect(traced.status == 0, "\(traced.stdout) \(traced.stderr)")
        #expect(traced.stdout.hasPrefix("98 layers within"), "\(traced.stdout)")
        let untraced = try runCLI(["verify", file, "--trace", "\(Self.layouts)/shufflenet_seed001/reference.npz"])
        #expect(untraced.status == 2 && untraced.stderrLines.count == 1 && untraced.stderr.contains("--trace"), "\(untraced.stderr)")
        // Another network's trace shares no layer names with this one... or differs at its first.
        let other = try runCLI(["verify", file, "--trace", packageRoot + "/fixtures/engines/traces/resnext_torchvision.npz"])
        #expect(other.status != 0, "\(other.stdout)")
    }

    @Test func jsonReportsEverySampleTheRuleAndTheVerdict() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try Self.imported("resnext_torchvision", into: folder)
        let result = try runCLI(["verify", file, "--reference", "\(Self.engines)/resnext_torchvision.onnxruntime.npz",
                                 "--atol", "2e-4", "--rtol", "3e-5", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["verdict"] as? String == "verified")
        let rule = try #require(json["rule"] as? [String: Any])
        #expect(rule["kind"] as? String == "sample_scale")
        #expect((rule["atol"] as? Double).map { abs($0 - 2e-4) < 1e-9 } == true)
        #expect((rule["rtol"] as? Double).map { abs($0 - 3e-5) < 1e-10 } == true)
        let samples = try #require(json["samples"] as? [[String: Any]])
        #expect(samples.count == 2)
        for sample in samples {
            let diff = try #require(sample["max_abs_diff"] as? Double)
            let scale = try #require(sample["ref_max_abs"] as? Double)
            #expect(diff > 0 && diff <= 2e-4 + 3e-5 * scale, "\(sample)")
            #expect(sample["passed"] as? Bool == true)
            #expect(sample["top1_agrees"] as? Bool == true)
        }
    }

    @Test func aMismatchExitsOneAndAnUnusableInputTwo() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try Self.imported("resnext_torchvision", into: folder)
        // The MobileNetV2 fixture's logits on the same-shaped input: a mismatch, exit 1, named.
        let other = "\(Self.engines)/mobilenetv2_torchvision.onnxruntime.npz"
        let mismatch = try runCLI(["verify", file, "--reference", other])
        #expect(mismatch.status == 1, "\(mismatch.stdout) \(mismatch.stderr)")
        #expect(mismatch.stderrLines.count == 1 && mismatch.stderr.contains(file) && mismatch.stderr.contains(other),
                "\(mismatch.stderr)")
        let json = try runCLI(["verify", file, "--reference", other, "--json"])
        #expect(json.status == 1)
        #expect(json.stdout.contains("\"verdict\":\"mismatch\""), "\(json.stdout)")
        // A bound loose enough accepts anything: --atol is really applied.
        #expect(try runCLI(["verify", file, "--reference", other, "--atol", "100"]).status == 0)
        // And a bound of zero refuses even the file's own stored reference (onnxruntime differs by ~1e-6).
        let strict = try runCLI(["verify", file, "--reference", "\(Self.engines)/resnext_torchvision.onnxruntime.npz",
                                 "--atol", "0", "--rtol", "0"])
        #expect(strict.status == 1, "\(strict.stdout)")
        // Unusable: a missing reference, a reference that is not an .npz, a damaged weight file.
        let missing = try runCLI(["verify", file, "--reference", folder.file("absent.npz")])
        #expect(missing.status == 2 && missing.stderrLines.count == 1, "\(missing.stderr)")
        let notNpz = try runCLI(["verify", file, "--reference", file])
        #expect(notNpz.status == 2 && notNpz.stderrLines.count == 1, "\(notNpz.stderr)")
        let negative = try runCLI(["verify", file, "--atol=-1"])
        #expect(negative.status == 2 && negative.stderr.contains("atol"), "\(negative.stderr)")
    }

    /// Files written before the record named its rule still verify, by the element-wise rule they were written with.
    @Test func aRecordWithoutARuleIsTheOldElementwiseRule() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try Self.imported("shufflenet_seed001", into: folder)
        let current = try WeightFile(path: file)
        #expect(current.document.verification?.rule == "sample_scale")
        var document = current.document
        document.verification?.rule = nil
        let legacy = folder.file("legacy.wcv")
        try WeightFileWriter().write(current.tensors.map { try PendingTensor.from(current, name: $0.name) },
                                     document: document, to: legacy)
        #expect(try WeightFile(path: legacy).document.verification?.rule == nil)
        let report = try Verifier.run(path: legacy)
        #expect(report.comparison.tolerance.rule == .elementwise)
        #expect(report.passed, "\(report.comparison.summary)")
        let result = try runCLI(["verify", legacy])
        #expect(result.status == 0 && result.stdout.contains("per logit"), "\(result.stdout) \(result.stderr)")
    }
}
