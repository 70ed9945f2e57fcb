import Foundation
import Testing
@testable import WeightconvKit

// Checkpoints as users have them (fixtures/layouts, tools/make_layout_fixtures.py): torch.compile's
// `_orig_mod.` alone or inside DataParallel's `module.`, and timm's training checkpoint holding both
// `state_dict` and `state_dict_ema`.

@Suite struct WrapperTests {
    func fixture(_ name: String) throws -> (model: String, reference: String) {
        let folder = LayoutFixture.directory.appendingPathComponent(name)
        #expect(FileManager.default.fileExists(atPath: folder.path), "\(name) missing")
        let file = try #require(LayoutFixture.all.first { $0.case == name }).file
        return (folder.appendingPathComponent(file).path, folder.appendingPathComponent("reference.npz").path)
    }

    func output() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("weightconv-wrapper-\(UUID().uuidString).wcv").path
    }

    @Test(arguments: [("mobilenetv2_seed002_compiled", "_orig_mod."),
                      ("mobilenetv2_seed002_dataparallel_compiled", "model.module._orig_mod.")])
    func compiledModelsAreStrippedLikeDataParallel(_ name: String, _ prefix: String) throws {
        let (model, reference) = try fixture(name)
        let out = output()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let report = try Importer.run(ImportRequest(input: model, output: out, reference: reference))
        #expect(report.prefix == prefix)
        #expect(report.choice == nil)
        #expect(try #require(report.comparison).passed)
    }

    @Test func timmTrainingCheckpointTakesTheEMAAndSaysWhy() throws {
        let (model, reference) = try fixture("mobilenetv2_seed002_timm_ema")
        let out = output()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let report = try Importer.run(ImportRequest(input: model, output: out, reference: reference))
        #expect(report.prefix == "state_dict_ema.")
        #expect(report.alternatives == ["state_dict."])
        #expect(report.choice?.contains("EMA") == true, "\(report.choice ?? "nil")")
        #expect(try #require(report.comparison).passed)
    }

    @Test func selectTakesTheOtherStateDict() throws {
        let (model, reference) = try fixture("mobilenetv2_seed002_timm_ema")
        let out = output()
        defer { try? FileManager.default.removeItem(atPath: out) }
        // Without a reference it converts the selected weights …
        let report = try Importer.run(ImportRequest(input: model, output: out, select: "state_dict"))
        #expect(report.prefix == "state_dict.")
        #expect(report.alternatives == ["state_dict_ema."])
        #expect(report.choice == "chosen with --select state_dict")
        try FileManager.default.removeItem(atPath: out)
        // … which are not the EMA weights the reference was computed from.
        #expect {
            try Importer.run(ImportRequest(input: model, output: out, reference: reference, select: "state_dict"))
        } throws: { error in
            "\(error)".contains("does not reproduce")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect {
            try Importer.run(ImportRequest(input: model, output: out, select: "optimizer"))
        } throws: { error in
            "\(error)".contains("--select optimizer names no state_dict the layout matches (candidates: state_dict, state_dict_ema)")
        }
    }

    @Test func twoCopiesWithNoRuleToChooseAreRefusedNotGuessed() throws {
        let keys = ["model.first_conv.0.weight", "model.bottlenecks.0.0.residual.0.0.weight", "model.last_conv.0.weight",
                    "student.first_conv.0.weight", "student.bottlenecks.0.0.residual.0.0.weight", "student.last_conv.0.weight"]
        #expect {
            try LayoutRecognizer.recognize(keys: keys, family: nil, layoutName: nil)
        } throws: { error in
            "\(error)".contains("holds 2 state_dicts that the layout matches (model, student); choose one with --select KEY")
        }
        let chosen = try LayoutRecognizer.recognize(keys: keys, family: nil, layoutName: nil, select: "student")
        #expect(chosen.prefix == "student.")
        #expect(chosen.keys.count == 3)
    }
}
