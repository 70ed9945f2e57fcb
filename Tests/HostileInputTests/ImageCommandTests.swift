import Foundation
import TestSupport
import Testing
import WeightconvKit

/// Photos in, labels out, through the command line: the digits networks tools/train_digits.py
/// trained, their test split, and PyTorch's predictions on it (fixtures/digits/).
@Suite(.serialized) struct ImageCommandTests {
    static let digits = packageRoot + "/fixtures/digits"
    static let models = ["mobilenet_v2_digits", "shufflenet_seed001_digits"]

    struct Reference: Decodable {
        var images: [String]
        var targets: [Int]
        var top1: [Int]
        var top1_correct: Int
        var top5_correct: Int
        var count: Int
    }

    static func reference(_ model: String) throws -> Reference {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(digits)/\(model).reference.json"))
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    /// Imports a digits checkpoint with its labels and preprocessing; one .wcv per model and dtype.
    static func imported(_ model: String, dtype: String = "f32", in folder: ScratchFolder) throws -> String {
        let output = folder.file("\(model).\(dtype).wcv")
        if FileManager.default.fileExists(atPath: output) { return output }
        let result = try runCLI(["import", "\(digits)/\(model).pth", "--arch", "auto", "--dtype", dtype,
                                 "--labels", "\(digits)/labels.txt", "--preprocessing", "\(digits)/preprocessing.json",
                                 "-o", output])
        #expect(result.status == 0, "import \(model) \(dtype): \(result.stderr)")
        return output
    }

    static let scratch = try! ScratchFolder()

    @Test(arguments: models)
    func evaluateReportsPyTorchsAccuracy(_ model: String) throws {
        let reference = try Self.reference(model)
        let wcv = try Self.imported(model, in: Self.scratch)
        let result = try runCLI(["evaluate", wcv, "\(Self.digits)/test", "--batch", "50", "--json"], timeout: 600)
        #expect(result.status == 0, "\(result.stderr)")
        let parsed = try JSONDecoder().decode(EvaluationResult.self, from: Data(result.stdout.utf8))
        #expect(parsed.count == reference.count)
        #expect(parsed.top1Correct == reference.top1_correct, "top-1 \(parsed.top1Correct)/\(parsed.count), PyTorch \(reference.top1_correct)/\(reference.count)")
        #expect(parsed.top5Correct == reference.top5_correct)
        // Every image's top-1 is PyTorch's.
        let disagreements = parsed.predictions.filter { reference.top1[$0[0]] != $0[1] }
        #expect(disagreements.isEmpty, "\(disagreements.count) images differ from PyTorch's top-1; first: \(disagreements.first.map { reference.images[$0[0]] } ?? "")")
    }

    @Test(arguments: models)
    func classifyAgreesWithPyTorchOnEveryImage(_ model: String) throws {
        let reference = try Self.reference(model)
        let wcv = try Self.imported(model, in: Self.scratch)
        let images = reference.images.map { "\(Self.digits)/\($0)" }
        let result = try runCLI(["classify", wcv] + images + ["--top", "1", "--json"], timeout: 600)
        #expect(result.status == 0, "\(result.stderr)")
        struct Output: Decodable {
            struct Item: Decodable { var image: String; var top: [Top] }
            struct Top: Decodable { var `class`: Int; var label: String; var probability: Double; var logit: Double }
            var results: [Item]
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        #expect(output.results.count == images.count)
        var differing: [String] = []
        for (i, item) in output.results.enumerated() {
            #expect(item.image == images[i])
            let top = try #require(item.top.first)
            #expect(top.label == String(top.class), "digits labels are the class numbers")
            if top.class != reference.top1[i] { differing.append(reference.images[i]) }
        }
        #expect(differing.isEmpty, "\(differing.count) of \(images.count) differ from PyTorch's top-1: \(differing.prefix(5))")
    }

    /// Weights stored as f16 or bf16 change few top-1 predictions on the test split (README: the
    /// measured counts); more than 2% changed would mean the rounding, not the summation order, decides.
    @Test(arguments: ["f16", "bf16"])
    func halfPrecisionChangesFewPredictions(_ dtype: String) throws {
        for model in Self.models {
            let reference = try Self.reference(model)
            let wcv = try Self.imported(model, dtype: dtype, in: Self.scratch)
            let result = try runCLI(["evaluate", wcv, "\(Self.digits)/test", "--batch", "60", "--json"], timeout: 600)
            #expect(result.status == 0, "\(result.stderr)")
            let parsed = try JSONDecoder().decode(EvaluationResult.self, from: Data(result.stdout.utf8))
            let changed = parsed.predictions.filter { reference.top1[$0[0]] != $0[1] }.count
            print("\(model) \(dtype): \(changed) of \(parsed.count) top-1 predictions differ from PyTorch's f32; top-1 \(parsed.top1Correct)/\(parsed.count) (f32 \(reference.top1_correct))")
            #expect(changed * 50 <= parsed.count, "\(model) \(dtype): \(changed) of \(parsed.count) changed")
        }
    }

    /// Shards run as separate processes, merged, equal the whole run's counts and predictions.
    @Test func shardsMergeToTheWhole() throws {
        let model = Self.models[1]
        let wcv = try Self.imported(model, in: Self.scratch)
        let whole = try runCLI(["evaluate", wcv, "\(Self.digits)/test", "--json"], timeout: 600)
        #expect(whole.status == 0, "\(whole.stderr)")
        let wholeResult = try JSONDecoder().decode(EvaluationResult.self, from: Data(whole.stdout.utf8))
        var parts: [String] = []
        for k in 0..<3 {
            let part = Self.scratch.file("part\(k).json")
            let run = try runCLI(["evaluate", wcv, "\(Self.digits)/test", "--shard", "\(k)/3", "--batch", "7", "-o", part], timeout: 600)
            #expect(run.status == 0, "\(run.stderr)")
            parts.append(part)
        }
        let merged = try runCLI(["evaluate", "--merge"] + parts.reversed() + ["--json"])
        #expect(merged.status == 0, "\(merged.stderr)")
        let mergedResult = try JSONDecoder().decode(EvaluationResult.self, from: Data(merged.stdout.utf8))
        #expect(mergedResult.count == wholeResult.count)
        #expect(mergedResult.top1Correct == wholeResult.top1Correct)
        #expect(mergedResult.top5Correct == wholeResult.top5Correct)
        #expect(mergedResult.predictions == wholeResult.predictions)
        // A missing or repeated shard is refused.
        let missing = try runCLI(["evaluate", "--merge", parts[0], parts[1]])
        #expect(missing.status == 1 && missing.stderr.contains("shard(s) 2 of 3 missing"), "\(missing.stderr)")
        let repeated = try runCLI(["evaluate", "--merge", parts[0], parts[0], parts[1], parts[2]])
        #expect(repeated.status == 1 && repeated.stderr.contains("repeats shard 0"), "\(repeated.stderr)")
    }

    @Test func preprocessWritesTheExactInput() throws {
        let wcv = try Self.imported(Self.models[0], in: Self.scratch)
        let images = try Self.reference(Self.models[0]).images.prefix(3).map { "\(Self.digits)/\($0)" }
        let output = Self.scratch.file("input.npy")
        let result = try runCLI(["preprocess", wcv] + images + ["-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        let array = try NumpyArray(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: output))), file: output)
        #expect(array.dtype == .f32 && array.shape == [3, 3, 32, 32])
        // The same values the library gives for each file.
        let recipe = try #require(try WeightFile(path: wcv).document.preprocessing).imagePreprocessing()
        let expected = try images.flatMap { try recipe.values(contentsOf: $0) }
        #expect(try array.floats(file: output) == expected)
    }

    /// Hostile images: one line naming the file, exit 1, no output file.
    @Test(arguments: ["truncated-half.jpg", "truncated-header.png", "text.png", "empty.png", "soi-only.jpg", "bad-crc.png"])
    func hostileImagesAreRefusedInOneLine(_ name: String) throws {
        let wcv = try Self.imported(Self.models[0], in: Self.scratch)
        let image = packageRoot + "/fixtures/images/hostile/" + name
        let output = Self.scratch.file("hostile.npy")
        for arguments in [["classify", wcv, image], ["preprocess", wcv, image, "-o", output]] {
            let result = try runCLI(arguments)
            #expect(result.status == 1, "\(arguments[0]) \(name): status \(result.status)")
            #expect(result.signal == nil)
            #expect(result.stderrLines.count == 1 && result.stderr.contains(name), "\(arguments[0]) \(name): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    @Test func hugeHeaderAndWrongExtensionAreRefused() throws {
        let wcv = try Self.imported(Self.models[0], in: Self.scratch)
        // A PNG whose IHDR claims 100000 x 100000 pixels.
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]
        png += [0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0, 8, 2, 0, 0, 0, 0, 0, 0, 0]
        let huge = try Self.scratch.write(png, "huge.png")
        let result = try runCLI(["classify", wcv, huge])
        #expect(result.status == 1 && result.stderrLines.count == 1 && result.stderr.contains("huge.png"), "\(result.stderr)")
        // A PNG named .jpg is read by its content; a text file named .png is refused by its content.
        let digit = try Self.reference(Self.models[0]).images[0]
        let renamed = Self.scratch.file("digit.jpg")
        try? FileManager.default.removeItem(atPath: renamed)
        try FileManager.default.copyItem(atPath: "\(Self.digits)/\(digit)", toPath: renamed)
        #expect(try runCLI(["classify", wcv, renamed]).status == 0)
        let text = try Self.scratch.write(Array("not an image\n".utf8), "words.png")
        let refused = try runCLI(["classify", wcv, text])
        #expect(refused.status == 1 && refused.stderrLines.count == 1 && refused.stderr.contains("words.png"), "\(refused.stderr)")
    }
}
