import Foundation
import Testing

/// Every file of fixtures/hostile (the picklescan corpus, copied from ../shared/corpus, and any
/// crafted set committed beside it) through the built command line: `inspect` and
/// `import … --arch auto`. A file is either read (the few benign ones, exit 0 and a quiet stderr)
/// or refused with exit status 1 and exactly one stderr line that names it. Never a crash, a
/// signal, a hang, a second line, or an output file.
@Suite(.serialized) struct HostileFileCLITests {
    static let hostileRoot = packageRoot + "/fixtures/hostile"

    /// Relative paths under fixtures/hostile, minus the documentation beside them.
    static let files: [String] = {
        guard let walker = FileManager.default.enumerator(atPath: hostileRoot) else { return [] }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: hostileRoot + "/" + relative, isDirectory: &isFolder)
            let name = (relative as NSString).lastPathComponent
            if isFolder.boolValue || name == "LICENSE" || name.hasSuffix(".json") || name.hasSuffix(".md") { continue }
            found.append(relative)
        }
        return found.sorted()
    }()

    /// Files `inspect` must read: picklescan's own benign samples (a protocol 0-4 dict of plain values,
    /// a one-tensor torch checkpoint, int64 npz archives) and a well-formed safetensors file.
    static let benign: Set<String> = [
        "picklescan/data/benign0_v0.pkl", "picklescan/data/benign0_v3.pkl", "picklescan/data/benign0_v4.pkl",
        "picklescan/data/new_pytorch_model.bin", "picklescan/data/pytorch_model.bin",
        "picklescan/data2/int_arrays.npz", "picklescan/data2/int_arrays_compressed.npz",
        "weights.safetensors",
    ]

    @Test func theCorpusIsThere() {
        // The copy is committed; an empty list would make the parameterised tests below vacuous.
        #expect(Self.files.count >= 100, "found \(Self.files.count) files under \(Self.hostileRoot)")
        #expect(Self.files.contains("picklescan/data/malicious1_v0.pkl"))
        #expect(FileManager.default.isExecutableFile(atPath: weightconvBinary), "build first: swift build --build-tests")
    }

    @Test(arguments: files)
    func inspect(_ relative: String) throws {
        let path = Self.hostileRoot + "/" + relative
        let result = try runCLI(["inspect", path])
        #expect(result.signal == nil, "\(relative) killed the process")
        if Self.benign.contains(relative) {
            #expect(result.status == 0, "\(relative): \(result.stderr)")
            #expect(result.stderr.isEmpty)
            #expect(result.stdout.contains(path))
        } else {
            try expectOneLineRefusal(result, naming: path, relative)
        }
    }

    @Test(arguments: files)
    func importAuto(_ relative: String) throws {
        let path = Self.hostileRoot + "/" + relative
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let output = folder.file("out.wcv")
        let result = try runCLI(["import", path, "-o", output, "--arch", "auto"])
        #expect(result.signal == nil, "\(relative) killed the process")
        // Not one of these files is a network weightconv models, so every import is refused.
        try expectOneLineRefusal(result, naming: path, relative)
        let left = try folder.listing()
        #expect(left.isEmpty, "\(relative) left \(left)")
    }

    func expectOneLineRefusal(_ result: CLIResult, naming path: String, _ relative: String) throws {
        #expect(result.status == 1, "\(relative): exit \(result.status), stderr \(result.stderr)")
        #expect(result.stderrLines.count == 1, "\(relative): \(result.stderr)")
        let line = try #require(result.stderrLines.first.map(String.init), "\(relative): nothing on stderr")
        #expect(line.hasPrefix("error: \(path): "), "\(relative): \(line)")
        #expect(result.stdout.isEmpty, "\(relative) printed \(result.stdout)")
    }
}
