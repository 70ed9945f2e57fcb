import Foundation
import Testing
@testable import TorchCheckpoint
import WeightconvCore

/// Files that must be refused with one line naming the file and the problem, never a crash, hang or
/// huge allocation. The crafted set and its `mentions` come from tools/make_checkpoint_fixtures.py
/// (`make_hostile()`); the picklescan corpus is copied there too.
@Suite struct HostileFileTests {
    struct Case: Decodable { var mentions: String }

    static let crafted: [String] = {
        let url = Fixtures.hostile.appendingPathComponent("expected.json")
        return ((try? Fixtures.decode([String: Case].self, url)) ?? [:]).keys.sorted()
    }()

    @Test func craftedSetIsPresent() {
        #expect(Self.crafted.count >= 40, "fixtures/hostile/expected.json missing or short")
    }

    @Test(arguments: crafted)
    func craftedFileIsRefused(_ name: String) throws {
        let cases = try Fixtures.decode([String: Case].self, Fixtures.hostile.appendingPathComponent("expected.json"))
        let path = Fixtures.hostile.appendingPathComponent(name).path
        do {
            let checkpoint = try Checkpoint.open(path: path)
            Issue.record("\(name) was read: \(checkpoint.tensors.count) tensors")
        } catch {
            let line = error.description
            #expect(line.hasPrefix(path + ": "), "\(line)")
            #expect(!line.contains("\n"))
            #expect(line.contains(cases[name]?.mentions ?? "?"), "\(line)")
        }
    }

    /// The picklescan corpus: benign files read, everything else refused; malicious pickles name
    /// the global they would have called. `WEIGHTCONV_CORPUS` may point at another copy.
    static let corpusRoot: URL = {
        if let env = ProcessInfo.processInfo.environment["WEIGHTCONV_CORPUS"] {
            return URL(fileURLWithPath: env).appendingPathComponent("picklescan")
        }
        return Fixtures.hostile.appendingPathComponent("picklescan")
    }()

    static let corpusFiles: [String] = {
        var files: [String] = []
        for folder in ["data", "data2"] {
            let dir = corpusRoot.appendingPathComponent(folder).path
            files += ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).map { "\(folder)/\($0)" }
        }
        return files.sorted()
    }()

    /// Benign members of the corpus (its README lists them).
    static let benign: Set<String> = [
        "data/benign0_v0.pkl", "data/benign0_v3.pkl", "data/benign0_v4.pkl", "data/pytorch_model.bin",
        "data/new_pytorch_model.bin", "data2/int_arrays.npz", "data2/int_arrays_compressed.npz",
    ]

    @Test func corpusIsPresent() {
        // Not a skip: without the corpus the hostile coverage silently shrinks.
        #expect(Self.corpusFiles.count >= 100, "picklescan corpus not found at \(Self.corpusRoot.path); set WEIGHTCONV_CORPUS or regenerate fixtures")
    }

    @Test(arguments: corpusFiles)
    func corpusFile(_ name: String) throws {
        let path = Self.corpusRoot.appendingPathComponent(name).path
        if Self.benign.contains(name) {
            let store = try (name.hasSuffix(".npz") ? NumpyArchive(path: path) as any TensorStore : Checkpoint.open(path: path))
            for descriptor in store.tensors { _ = try store.sha256(of: descriptor.name) }
            return
        }
        do {
            let store: any TensorStore = name.hasSuffix(".npz") ? try NumpyArchive(path: path) : try Checkpoint.open(path: path)
            Issue.record("\(name) was read: \(store.tensors.count) tensors")
        } catch {
            #expect(error.description.hasPrefix(path + ": "))
            #expect(!error.description.contains("\n"))
            let base = (name as NSString).lastPathComponent
            // Every malicious pickle of the corpus calls something; the refusal names it.
            let isPickle = [".pkl", ".pickle"].contains { base.hasSuffix($0) } || base.hasPrefix("GHSA") || base == "pytorch_magic_bypass.pt"
            if isPickle && base.contains("malicious") || base.hasPrefix("GHSA") {
                #expect(error.description.contains("refused"), "\(error.description)")
            }
        }
    }

    /// Which global each well-known payload is refused for (read from the corpus with pickletools).
    @Test(arguments: [
        ("data/malicious1_v0.pkl", "builtins.eval"), ("data/malicious2_v4.pkl", "posix.system"),
        ("data/pytorch_magic_bypass.pt", "builtins.eval"), ("data/malicious6.pkl", "requests.api.get"),
        ("data/malicious13b.pkl", "_pickle.loads"), ("data/malicious1.zip", "builtins.eval"),
        ("data/malicious1_wrong_ext.zip", "builtins.eval"), ("data2/keyerror-exploit.pkl", "os.system"),
        ("data2/malicious23.pkl", "os.system"), ("data2/GHSA-4675-36f9-wf6r.pkl", "ctypes.CDLL"),
        ("data/sys_module_override_sploit.pkl", "torch._utils"), ("data2/types_CodeType.pkl", "types.CodeType"),
    ])
    func payloadIsNamed(_ name: String, _ global: String) {
        let path = Self.corpusRoot.appendingPathComponent(name).path
        #expect {
            _ = try Checkpoint.open(path: path)
        } throws: { error in
            (error as? WeightconvError)?.problem.contains(global) == true
        }
    }
}
