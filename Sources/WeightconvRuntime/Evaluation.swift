import Dispatch
import Foundation
import ImageDecoding
import ImagePipeline
import WeightconvCore
import WeightFormat

/// The images of a folder arranged as torchvision's `ImageFolder` expects (`DIR/<class>/<image>`), in
/// `ImageFolder`'s order: classes are the sorted sub-folder names (class index = position), images
/// sorted within each class folder and its sub-folders, only files with an image extension.
public struct ImageFolder: Sendable {
    public var root: String
    public var classes: [String]
    /// (path, class index), in `ImageFolder`'s sample order.
    public var samples: [(path: String, target: Int)]

    /// torchvision's `IMG_EXTENSIONS`, compared case-insensitively.
    public static let extensions: Set<String> = ["jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp"]

    public init(root: String) throws {
        self.root = root
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        guard manager.fileExists(atPath: root, isDirectory: &isFolder), isFolder.boolValue else {
            throw WeightconvError(file: root, problem: "is not a folder", hint: "give a folder laid out as DIR/<class>/<image>")
        }
        let entries = (try? manager.contentsOfDirectory(atPath: root)) ?? []
        classes = Self.pythonSorted(entries.filter { name in
            var folder: ObjCBool = false
            return manager.fileExists(atPath: root + "/" + name, isDirectory: &folder) && folder.boolValue
        })
        guard !classes.isEmpty else {
            throw WeightconvError(file: root, problem: "has no class folders", hint: "lay the images out as DIR/<class>/<image>, as torchvision's ImageFolder reads them")
        }
        var samples: [(String, Int)] = []
        for (index, name) in classes.enumerated() {
            // os.walk order, sorted by folder path, then file names sorted within each folder.
            var folders: [String] = []
            var pending = [root + "/" + name]
            while let folder = pending.popLast() {
                folders.append(folder)
                for entry in (try? manager.contentsOfDirectory(atPath: folder)) ?? [] {
                    var sub: ObjCBool = false
                    if manager.fileExists(atPath: folder + "/" + entry, isDirectory: &sub), sub.boolValue {
                        pending.append(folder + "/" + entry)
                    }
                }
            }
            for folder in Self.pythonSorted(folders) {
                let files = ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).filter { file in
                    var sub: ObjCBool = false
                    let ext = (file as NSString).pathExtension.lowercased()
                    return Self.extensions.contains(ext)
                        && manager.fileExists(atPath: folder + "/" + file, isDirectory: &sub) && !sub.boolValue
                }
                for file in Self.pythonSorted(files) { samples.append((folder + "/" + file, index)) }
            }
        }
        guard !samples.isEmpty else {
            throw WeightconvError(file: root, problem: "has class folders but no images in them",
                                  hint: "images need one of the extensions \(Self.extensions.sorted().joined(separator: ", "))")
        }
        self.samples = samples
    }

    /// Python's string order: by code point.
    static func pythonSorted(_ names: [String]) -> [String] {
        names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }
}

/// One evaluation run (or one shard of it): counts that merge by addition.
public struct EvaluationResult: Sendable, Codable, Equatable {
    /// The `.wcv` file's name (no folder) and the SHA-256 of its tensors' checksums, so shards of
    /// different weights never merge.
    public var model: String
    public var modelTensorsSHA256: String
    /// Images in the whole folder, and this result's shard `shard` of `shards` (0 of 1: the whole).
    public var total: Int
    public var shard: Int
    public var shards: Int
    /// Shards merged into this result (sorted); `[shard]` for one shard.
    public var merged: [Int]
    public var count: Int
    public var top1Correct: Int
    public var top5Correct: Int
    /// Wall time of this run (for a merge, the sum over shards).
    public var seconds: Double
    /// For each evaluated image: its index in the folder's sample order and the top-1 class.
    public var predictions: [[Int]]

    public var top1: Double { count > 0 ? Double(top1Correct) / Double(count) : 0 }
    public var top5: Double { count > 0 ? Double(top5Correct) / Double(count) : 0 }
    public var imagesPerSecond: Double { seconds > 0 ? Double(count) / seconds : 0 }

    /// One line for people.
    public var summary: String {
        let shardText = merged.count == shards ? "" : " (shard \(merged.map(String.init).joined(separator: ",")) of \(shards))"
        return String(format: "top-1 %.4f (%d/%d), top-5 %.4f (%d/%d), %d images in %.2f s (%.1f images/s)",
                      top1, top1Correct, count, top5, top5Correct, count, count, seconds, imagesPerSecond) + shardText
    }

    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var text = String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        // Derived numbers for readers, beside the counts that merge.
        text.removeLast()
        text += String(format: ",\"top1\":%.6f,\"top5\":%.6f,\"images_per_second\":%.3f}", top1, top5, imagesPerSecond)
        return text
    }

    /// Reads a partial result written by `evaluate --shard … -o FILE`.
    public static func read(contentsOf path: String) throws -> EvaluationResult {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int, let data = FileManager.default.contents(atPath: path) else {
            throw WeightconvError(file: path, problem: "cannot be read", hint: "give the files `evaluate --shard K/N -o FILE` wrote")
        }
        guard size <= 256 << 20 else {
            throw WeightconvError(file: path, problem: "\(size) bytes is too large for an evaluation result", hint: "give the files `evaluate --shard` wrote")
        }
        do {
            return try JSONDecoder().decode(EvaluationResult.self, from: data)
        } catch {
            throw WeightconvError(file: path, problem: "is not an evaluation result (\(error))", hint: "give the files `evaluate --shard K/N -o FILE` wrote",
                                  cause: error)
        }
    }

    /// Combines shards of one run; refuses parts of different runs, repeated or missing shards.
    public static func merge(_ parts: [(path: String, result: EvaluationResult)]) throws -> EvaluationResult {
        guard let first = parts.first?.result else {
            throw WeightconvError(file: "evaluate --merge", problem: "no parts given", hint: "give every PART file of the run")
        }
        var seen = Set<Int>()
        for (path, part) in parts {
            guard part.model == first.model, part.modelTensorsSHA256 == first.modelTensorsSHA256, part.total == first.total,
                  part.shards == first.shards else {
                throw WeightconvError(file: path, problem: "belongs to another run (model \(part.model), \(part.total) images, \(part.shards) shards; the first part: \(first.model), \(first.total), \(first.shards))",
                                      hint: "merge the parts of one evaluation only")
            }
            for shard in part.merged {
                guard seen.insert(shard).inserted else {
                    throw WeightconvError(file: path, problem: "repeats shard \(shard) of \(part.shards)", hint: "give each shard's file once")
                }
            }
        }
        let missing = (0..<first.shards).filter { !seen.contains($0) }
        guard missing.isEmpty else {
            throw WeightconvError(file: "evaluate --merge", problem: "shard(s) \(missing.map(String.init).joined(separator: ", ")) of \(first.shards) missing",
                                  hint: "run those shards, then merge every part")
        }
        let all = parts.map(\.result)
        let count = all.reduce(0) { $0 + $1.count }
        guard count == first.total else {
            throw WeightconvError(file: "evaluate --merge", problem: "the parts hold \(count) images, the folder \(first.total)",
                                  hint: "the parts were made from different folder contents")
        }
        return EvaluationResult(model: first.model, modelTensorsSHA256: first.modelTensorsSHA256, total: first.total, shard: 0,
                                shards: first.shards, merged: Array(0..<first.shards), count: count,
                                top1Correct: all.reduce(0) { $0 + $1.top1Correct }, top5Correct: all.reduce(0) { $0 + $1.top5Correct },
                                seconds: all.reduce(0) { $0 + $1.seconds },
                                predictions: all.flatMap(\.predictions).sorted { $0[0] < $1[0] })
    }
}

/// `weightconv evaluate`: top-1 and top-5 accuracy of a network over an `ImageFolder`.
public enum Evaluation {
    /// Evaluates shard `shard` of `shards` (images `shard`, `shard + shards`, … of the folder's order)
    /// in batches of `batch`; the next batch is decoded and preprocessed while the current one runs.
    /// `progress(done, count)` is called after each batch. `precision` is the GEMM convolutions'
    /// arithmetic (`Precision`): evaluating at `.bfloat16` measures the accuracy it costs.
    public static func run(model path: String, folder: ImageFolder, batch: Int, threads: Int, shard: Int = 0, shards: Int = 1,
                           precision: Precision = .float32,
                           progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        guard batch >= 1, threads >= 1, shards >= 1, shard >= 0, shard < shards else {
            throw WeightconvError(file: path, problem: "batch \(batch), threads \(threads), shard \(shard)/\(shards) are not usable",
                                  hint: "batch and threads at least 1, shard K/N with 0 <= K < N")
        }
        let file = try WeightFile(path: path)
        let network = try PretrainedNetwork(file: file, mode: .fast(threads: threads, precision: precision))
        let recipe = try network.imagePreprocessing()
        let mine = folder.samples.indices.filter { $0 % shards == shard }
        let batches = stride(from: 0, to: mine.count, by: batch).map { Array(mine[$0..<min($0 + batch, mine.count)]) }

        let started = DispatchTime.now()
        var top1 = 0, top5 = 0, done = 0
        var predictions: [[Int]] = []
        predictions.reserveCapacity(mine.count)
        let prefetch = Prefetch(recipe: recipe, folder: folder)
        if let firstBatch = batches.first { prefetch.start(firstBatch) }
        for (number, indices) in batches.enumerated() {
            let inputs = try prefetch.wait()
            if number + 1 < batches.count { prefetch.start(batches[number + 1]) }
            let results = try network.classify(batch: inputs, recipe: recipe)
            for (index, result) in zip(indices, results) {
                let target = folder.samples[index].target
                let best = result.scores.first?.index ?? -1
                if best == target { top1 += 1 }
                if result.scores.prefix(5).contains(where: { $0.index == target }) { top5 += 1 }
                predictions.append([index, best])
            }
            done += indices.count
            progress?(done, mine.count)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return EvaluationResult(model: (path as NSString).lastPathComponent, modelTensorsSHA256: SHA256Hex.digest(file.header.entries.flatMap(\.sha256)),
                                total: folder.samples.count, shard: shard, shards: shards, merged: [shard], count: mine.count,
                                top1Correct: top1, top5Correct: top5, seconds: seconds, predictions: predictions)
    }

    /// Decodes and preprocesses one batch on a background thread.
    final class Prefetch: @unchecked Sendable {
        let recipe: ImagePreprocessing
        let folder: ImageFolder
        private let done = DispatchSemaphore(value: 0)
        // Written by the background task before it signals `done`, read after `wait`.
        private var outcome: Result<[[Float]], any Error> = .success([])

        init(recipe: ImagePreprocessing, folder: ImageFolder) {
            self.recipe = recipe
            self.folder = folder
        }

        func start(_ indices: [Int]) {
            DispatchQueue.global().async { [self] in
                do {
                    outcome = .success(try indices.map { try recipe.values(contentsOf: folder.samples[$0].path) })
                } catch {
                    outcome = .failure(error)
                }
                done.signal()
            }
        }

        func wait() throws -> [[Float]] {
            done.wait()
            return try outcome.get()
        }
    }
}
