import Foundation
import Testing
@testable import WeightconvKit

// End to end over fixtures/layouts: each checkpoint was saved by the real implementation
// (tools/make_layout_fixtures.py) together with the logits its own PyTorch forward pass produced.
// Import must recognise the layout, map every tensor, infer the configuration, reproduce those logits
// within the float32 tolerance, and write a file that `verify` then proves on its own.

@Suite struct ImportFixtureTests {
    static var importable: [LayoutFixture] { LayoutFixture.all.filter { $0.expect.outcome == "import" } }

    func temporaryDirectory() throws -> URL {
        try ScratchFolder(prefix: "weightconv-import").url
    }

    func paths(_ fixture: LayoutFixture) -> (model: String, reference: String) {
        let folder = LayoutFixture.directory.appendingPathComponent(fixture.case)
        return (folder.appendingPathComponent(fixture.file).path, folder.appendingPathComponent("reference.npz").path)
    }

    /// `bench --profile`: one timing per fast-path step, the kinds a ShuffleNet has (its shuffles
    /// folded into the depthwise convolutions, so none of their own), and a report whose operator
    /// shares add up to the whole.
    @Test func profileTimesEveryStepOfAnImportedNetwork() throws {
        let fixture = try #require(Self.importable.first { $0.case.hasPrefix("shufflenet_megvii") })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.wcv").path
        _ = try Importer.run(ImportRequest(input: paths(fixture).model, output: output))
        let steps = try NetworkBenchmark.profile(path: output, batch: 1, iterations: 3, size: nil, mode: .fast(threads: 2))
        let kinds = Set(steps.map(\.kind))
        #expect(kinds.isSuperset(of: ["conv 1×1", "conv 3×3 depthwise", "linear"]), "\(kinds)")
        #expect(!kinds.contains("channel shuffle"))
        #expect(steps.allSatisfy { $0.milliseconds >= 0 && !$0.detail.isEmpty })
        let text = StepTimingReport(steps).text
        #expect(text.hasPrefix("\(steps.count) steps"))
        let shares = text.split(separator: "\n").compactMap { line -> Double? in
            guard line.hasSuffix("%"), let last = line.split(separator: " ").last else { return nil }
            return Double(last.dropLast())
        }
        #expect(abs(shares.reduce(0, +) - 100) < 0.5, "\(shares)")
    }

    @Test(arguments: importable)
    func importReproducesThePyTorchLogitsAndVerifyProvesThem(_ fixture: LayoutFixture) throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (model, reference) = paths(fixture)
        let output = folder.appendingPathComponent("out.wcv").path
        let report = try Importer.run(ImportRequest(input: model, output: output, family: nil, reference: reference))
        #expect(report.profile.family == fixture.family)
        #expect(report.profile.name == fixture.layout)
        let comparison = try #require(report.comparison)
        #expect(comparison.passed, "\(comparison.summary)")

        let verification = try Verifier.run(path: output)
        #expect(verification.passed, "\(verification.comparison.summary)")
        // The naive operators agree with the fast path on the same file.
        let slow = try Verifier.run(path: output, mode: .naive)
        #expect(slow.passed, "\(slow.comparison.summary)")

        // Every stored tensor names the key it had in the checkpoint.
        let file = try WeightFile(path: output)
        let sourceKeys = Set(fixture.keys.map(\.name))
        for (stored, original) in file.document.originalKeys {
            #expect(sourceKeys.contains(original), "\(stored) ← \(original)")
        }
        #expect(file.document.layout == "\(fixture.family?.rawValue ?? "")/\(fixture.layout ?? "")")
        // The preprocessing the implementation was trained with travels in the file.
        let expected = try #require(fixture.preprocessing)
        let stored = try #require(file.document.preprocessing)
        #expect(stored.inputSize == [3] + expected.input_size)
        #expect(stored.channelOrder.rawValue == expected.channel_order)
        #expect(stored.pixelScale == Double(expected.pixel_scale))
        #expect(stored.mean.map(Float.init) == expected.mean)
        #expect(stored.std.map(Float.init) == expected.std)
        // Exactly the float32 values widened (0.485 is stored as 0.48500001430511475), as every file
        // written so far holds them: a layout's numbers must not start reaching the file another way.
        #expect(stored.mean == expected.mean.map(Double.init) && stored.std == expected.std.map(Double.init))
    }

    @Test(arguments: LayoutFixture.foreign)
    func foreignNetworksAreRefusedByName(_ fixture: LayoutFixture) throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.wcv").path
        let error = #expect(throws: WeightconvError.self) {
            try Importer.run(ImportRequest(input: paths(fixture).model, output: output))
        }
        let foreign = try #require(fixture.expect.foreign)
        #expect(error?.problem.contains(foreign) == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func aCheckpointWithoutItsClassifierNamesWhatIsMissing() throws {
        let fixture = try #require(LayoutFixture.all.first { $0.expect.outcome == "missing" })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.wcv").path
        let error = #expect(throws: WeightconvError.self) {
            try Importer.run(ImportRequest(input: paths(fixture).model, output: output, family: .resnext))
        }
        let missing = try #require(fixture.expect.missing)
        #expect(missing.contains { error?.description.contains($0) == true }, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func aReferenceFromAnotherCheckpointIsRefusedAndNothingIsWritten() throws {
        // The seed 002 reference logits cannot come out of torchvision's weights.
        let torchvision = try #require(Self.importable.first { $0.case == "mobilenetv2_torchvision" })
        let seed002 = try #require(Self.importable.first { $0.case == "mobilenetv2_seed002" })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.wcv").path
        let error = #expect(throws: WeightconvError.self) {
            try Importer.run(ImportRequest(input: paths(torchvision).model, output: output, family: .mobileNetV2,
                                           reference: paths(seed002).reference))
        }
        #expect(error?.problem.contains("does not reproduce") == true, "\(String(describing: error))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func importingTwiceGivesTheSameBytes() throws {
        let fixture = try #require(Self.importable.first { $0.case == "shufflenet_megvii" })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (model, reference) = paths(fixture)
        let first = folder.appendingPathComponent("a.wcv").path, second = folder.appendingPathComponent("b.wcv").path
        _ = try Importer.run(ImportRequest(input: model, output: first, reference: reference))
        _ = try Importer.run(ImportRequest(input: model, output: second, reference: reference))
        #expect(FileManager.default.contentsEqual(atPath: first, andPath: second))
    }

    @Test func theOneLineLoadingAPIRunsTheNetwork() throws {
        let fixture = try #require(Self.importable.first { $0.case == "xception_cadene" })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (model, reference) = paths(fixture)
        let output = folder.appendingPathComponent("x.wcv").path
        _ = try Importer.run(ImportRequest(input: model, output: output, family: .xception, reference: reference))
        let record = try ReferenceRecord(path: reference)
        let logits = try PretrainedNetwork(contentsOf: output)(record.input)
        let comparison = try LogitComparison(actual: logits.storage, reference: record.logits.storage,
                                             classes: record.classes, tolerance: .float32)
        #expect(comparison.passed, "\(comparison.summary)")
        #expect(try PretrainedNetwork(contentsOf: output).preprocessing?.inputSize == [3, 299, 299])
    }
}

@Suite struct VerifyDamageTests {
    @Test func verifyRefusesAFileWithAFlippedWeightBitAndNamesTheTensor() throws {
        let fixture = try #require(LayoutFixture.all.first { $0.case == "resnext_seed003" })
        let folder = try ScratchFolder(prefix: "weightconv-damage").url
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = LayoutFixture.directory.appendingPathComponent(fixture.case)
        let output = folder.appendingPathComponent("r.wcv").path
        _ = try Importer.run(ImportRequest(input: source.appendingPathComponent(fixture.file).path, output: output,
                                           reference: source.appendingPathComponent("reference.npz").path))
        // Where the tensor's bytes start in the file, from the header the reader validated.
        let header = try WeightFile(path: output).header
        let entry = try #require(header.entries.first { $0.descriptor.name == "layer1.0.conv2.weight" })
        let position = header.dataOffset + entry.offset
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: output)))
        bytes[position] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: output))

        let error = #expect(throws: WeightconvError.self) { try Verifier.run(path: output) }
        #expect(error?.description.contains("layer1.0.conv2.weight") == true, "\(String(describing: error))")
    }
}

/// Weights stored as f16 or bf16 are checked as stored: against logits PyTorch computed from the same
/// rounded weights (tools/make_precision_fixtures.sh → reference.<dtype>.npz) they meet the float32
/// rule; against the float32 reference the rounding shows and the import refuses.
@Suite struct ReducedPrecisionImportTests {
    static let cases: [(String, DType)] = ["mobilenetv2_torchvision", "xception_seed004"].flatMap { [($0, DType.f16), ($0, DType.bf16)] }

    @Test(arguments: cases)
    func roundedWeightsReproduceTheRoundedReference(_ name: String, _ dtype: DType) throws {
        let folder = try ScratchFolder(prefix: "weightconv-precision").url
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = LayoutFixture.directory.appendingPathComponent(name)
        let model = source.appendingPathComponent("model.pth").path
        let output = folder.appendingPathComponent("out.wcv").path

        let report = try Importer.run(ImportRequest(input: model, output: output,
                                                    reference: source.appendingPathComponent("reference.\(dtype.rawValue).npz").path,
                                                    dtype: dtype))
        #expect(report.comparison?.passed == true, "\(report.comparison?.summary ?? "")")
        let file = try WeightFile(path: output)
        #expect(file.tensors.filter { $0.name.hasSuffix(".weight") }.allSatisfy { $0.dtype == dtype })
        #expect(try Verifier.run(path: output).passed)

        // The float32 reference is not what these weights compute: refused, and nothing written.
        let other = folder.appendingPathComponent("other.wcv").path
        #expect(throws: WeightconvError.self) {
            try Importer.run(ImportRequest(input: model, output: other,
                                           reference: source.appendingPathComponent("reference.npz").path, dtype: dtype))
        }
        #expect(!FileManager.default.fileExists(atPath: other))
    }
}
