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

    /// What the fuzzers found (fixtures/fuzz/<target>/crash-*, timeout-*, regression-*…): each is
    /// read or refused with one line, within runCLI's timeout. The 10 s per-input timeout of
    /// `tools/fuzz.sh --ci`, which runs these as seeds under AddressSanitizer, is the tighter guard
    /// on the timeouts.
    static let fuzzFindings: [String] = {
        let root = packageRoot + "/fixtures/fuzz"
        let targets = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return targets.flatMap { target in
            ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + target)) ?? [])
                .filter { name in ["crash-", "timeout-", "regression-", "leak-", "oom-"].contains(where: name.hasPrefix) }
                .map { "\(target)/\($0)" }
        }.sorted()
    }()

    /// Findings whose file is a checkpoint weightconv reads (the fix made it readable, not refused).
    static let readableFindings: Set<String> = [
        // 585 bytes whose pickle reaches a million shared values under maxVisitedValues (a harmless
        // global among them): 5.3 s / 380 MB before inspect rendered only what it prints and globals
        // were checked once per node instead of at every visit; 0.34 s / 86 MB after (release).
        "FuzzLegacy/timeout-eaddd3874bebe50dd0a255190174538ec1db62d4",
        // One byte changed from the above; `inspect --json` printed 120 MB of metadata (5 s, 380 MB)
        // before PickleLimits.maxMetadataBytes: now 15 MB (0.9 s, 61 MB).
        "FuzzLegacy/timeout-1fd0582d771e146e73dfe2557002541ef5868740",
        // 112 bytes, lists nested eight deep and shared: 2 MB of metadata JSON, which the recursive
        // jsonText copied once per nesting level (over 10 s under ASan); 0.3 s for `inspect --json` now.
        "FuzzPickle/timeout-d649810a288f196f6cd5d8478813e68951413003",
    ]

    @Test func theFindingsAreThere() {
        #expect(Self.fuzzFindings.count >= 5, "\(Self.fuzzFindings)")
    }

    @Test(arguments: fuzzFindings)
    func fuzzFinding(_ relative: String) throws {
        let path = packageRoot + "/fixtures/fuzz/" + relative
        let result = try runCLI(["inspect", path])
        #expect(result.signal == nil, "\(relative) killed the process")
        if Self.readableFindings.contains(relative) {
            #expect(result.status == 0, "\(relative): \(result.stderr)")
            #expect(result.stderr.isEmpty)
            let metadata = result.stdout.split(separator: "\n").filter { $0.hasPrefix("metadata: ") }
            #expect(metadata.count == 1 && metadata[0].count <= 120, "\(metadata)")
        } else {
            try expectOneLineRefusal(result, naming: path, relative)
        }
    }

    func expectOneLineRefusal(_ result: CLIResult, naming path: String, _ relative: String) throws {
        #expect(result.status == 1, "\(relative): exit \(result.status), stderr \(result.stderr)")
        #expect(result.stderrLines.count == 1, "\(relative): \(result.stderr)")
        let line = try #require(result.stderrLines.first.map(String.init), "\(relative): nothing on stderr")
        #expect(line.hasPrefix("error: \(path): "), "\(relative): \(line)")
        #expect(result.stdout.isEmpty, "\(relative) printed \(result.stdout)")
    }
}
