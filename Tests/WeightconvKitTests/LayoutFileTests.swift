import Foundation
import Testing
@testable import WeightconvKit

// Layouts are files (docs/layout-format.md): the built-in ones load from layouts/*.json through the
// same parser as a user's, a file exported and edited imports a correspondingly renamed checkpoint,
// and a broken file is refused naming the line and the member at fault.

@Suite struct LayoutFileTests {
    static let layoutsDirectory = URL(fileURLWithPath: packageRoot).appendingPathComponent("layouts")

    func temporaryDirectory() throws -> URL {
        try ScratchFolder(prefix: "weightconv-layout").url
    }

    @Test func everyBuiltInLayoutIsItsFileByteForByte() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.layoutsDirectory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        #expect(LayoutCatalog.builtinFiles.map(\.name) == names)
        for file in LayoutCatalog.builtinFiles {
            let onDisk = try String(contentsOf: Self.layoutsDirectory.appendingPathComponent(file.name), encoding: .utf8)
            #expect(file.text == onDisk, "\(file.name)")
        }
        let catalog = try LayoutCatalog.builtIn()
        #expect(catalog.profiles.count == 12)
        #expect(catalog.refusals.count == 4)
        #expect(catalog.profiles.allSatisfy { $0.origin == "built-in" })
        // Each file says what it is: family.name.json.
        for profile in catalog.profiles {
            #expect(names.contains("\(profile.family.rawValue).\(profile.name).json"), "\(profile.qualifiedName)")
        }
    }

    @Test func exportIsTheFileAndParsesBackToTheSameLayout() throws {
        let text = try LayoutCatalog.builtinText(named: "shufflenet_v1/megvii")
        guard case .layout(let parsed) = try LayoutFile.parse(Array(text.utf8), origin: "export") else {
            Issue.record("not a layout")
            return
        }
        let builtIn = try #require(LayoutProfile.named("shufflenet_v1/megvii"))
        #expect(parsed.renames.map(\.description) == builtIn.renames.map(\.description))
        #expect(parsed.tables == builtIn.tables)
        #expect(parsed.behaviour == builtIn.behaviour)
        #expect(parsed.preprocessing == builtIn.preprocessing)
        // A bare name that two families use is ambiguous; one that only one uses is enough.
        #expect(throws: RecognitionFailure.self) { try LayoutCatalog.builtinText(named: "torchvision") }
        #expect(try LayoutCatalog.builtinText(named: "megvii") == text)
    }

    /// The seed 002 MobileNetV2 fixture with `first_conv.` renamed `stem.` (and `fc.1.` `head.fc.`), written as
    /// safetensors; the exported seed002 layout with the same edits imports it and reproduces PyTorch's logits.
    @Test func anExportedLayoutEditedForRenamedKeysImportsTheRenamedCheckpoint() throws {
        let fixture = try #require(LayoutFixture.mapped.first { $0.case == "mobilenetv2_seed002" })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = LayoutFixture.directory.appendingPathComponent(fixture.case)
        let store = try openTensorStore(path: source.appendingPathComponent(fixture.file).path)
        func renamed(_ key: String) -> String {
            if key.hasPrefix("first_conv.") { return "stem." + key.dropFirst("first_conv.".count) }
            if key.hasPrefix("fc.1.") { return "head.fc." + key.dropFirst("fc.1.".count) }
            return key
        }
        let checkpoint = folder.appendingPathComponent("renamed.safetensors").path
        _ = try SafetensorsWriter().write(store.tensors.map { try PendingTensor.from(store, name: $0.name, storedName: renamed($0.name)) },
                                          to: checkpoint)

        var layout = try LayoutCatalog.builtinText(named: "mobilenet_v2/seed002")
        let edits = [(#""name": "seed002""#, #""name": "seed002_renamed""#),
                     (#"^first_conv\\.0\\.weight$"#, #"^stem\\.0\\.weight$"#),
                     (#"^first_conv\\.(\\d)\\."#, #"^stem\\.(\\d)\\."#),
                     (#"^fc\\.1\\."#, #"^head\\.fc\\."#)]
        for (old, new) in edits {
            #expect(layout.contains(old), "the exported layout has no \(old)")
            layout = layout.replacingOccurrences(of: old, with: new)
        }
        let layoutPath = folder.appendingPathComponent("renamed.json").path
        try layout.write(toFile: layoutPath, atomically: true, encoding: .utf8)

        // Not recognised by the built-in layouts any more …
        #expect(throws: WeightconvError.self) {
            try Importer.run(ImportRequest(input: checkpoint, output: folder.appendingPathComponent("a.wcv").path))
        }
        // … but by the edited file, named on the command line or found on the search path.
        let reference = source.appendingPathComponent("reference.npz").path
        for request in [ImportRequest(input: checkpoint, output: folder.appendingPathComponent("b.wcv").path, reference: reference,
                                      layoutFile: layoutPath),
                        ImportRequest(input: checkpoint, output: folder.appendingPathComponent("c.wcv").path, family: .mobileNetV2,
                                      reference: reference, layoutSearchPath: folder.path)] {
            let report = try Importer.run(request)
            #expect(report.profile.qualifiedName == "mobilenet_v2/seed002_renamed")
            #expect(report.profile.origin == layoutPath)
            let comparison = try #require(report.comparison)
            #expect(comparison.passed, "\(comparison.summary)")
            #expect(try Verifier.run(path: request.output).passed)
        }
    }

    @Test func aForcedLayoutFileThatDoesNotMatchNamesThePattern() throws {
        let fixture = try #require(LayoutFixture.mapped.first { $0.case == "mobilenetv2_torchvision" })
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let layoutPath = folder.appendingPathComponent("seed002.json").path
        try LayoutCatalog.builtinText(named: "mobilenet_v2/seed002").write(toFile: layoutPath, atomically: true, encoding: .utf8)
        let model = LayoutFixture.directory.appendingPathComponent(fixture.case).appendingPathComponent(fixture.file).path
        #expect {
            try Importer.run(ImportRequest(input: model, output: folder.appendingPathComponent("x.wcv").path, layoutFile: layoutPath))
        } throws: { error in
            "\(error)".contains(#"no key matches its required pattern ^first_conv\.0\.weight$"#)
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.wcv").path))
    }

    /// A pattern that does not compile, in a rename rule or in the fingerprint, refuses the import when
    /// the layout is loaded (given with --layout-file or found on the search path): one error naming the
    /// layout file, the member and the pattern, whose cause is the layout file's problem. No trap, no
    /// pattern silently dropped, no output.
    @Test(arguments: [
        (#""^bn2\\.""#, #""^bn2\\.(""#, "renames[3].pattern", #"^bn2\.("#),
        (#""^conv_stem\\.weight$""#, #""^conv_stem\\.weight$)""#, "fingerprint.required[0]", #"^conv_stem\.weight$)"#),
    ])
    func aPatternThatDoesNotCompileIsAnErrorNamingFileMemberAndPattern(_ old: String, _ new: String, member: String,
                                                                        pattern: String) throws {
        let fixture = try #require(LayoutFixture.mapped.first { $0.case == "mobilenetv2_timm" })
        let model = LayoutFixture.directory.appendingPathComponent(fixture.case).appendingPathComponent(fixture.file).path
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try LayoutCatalog.builtinText(named: "mobilenet_v2/timm")
        #expect(good.contains(old))
        let layoutPath = folder.appendingPathComponent("broken.json").path
        try good.replacingOccurrences(of: old, with: new).write(toFile: layoutPath, atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("x.wcv").path
        for request in [ImportRequest(input: model, output: output, layoutFile: layoutPath),
                        ImportRequest(input: model, output: output, layoutSearchPath: folder.path)] {
            do {
                _ = try Importer.run(request)
                Issue.record("a layout with the pattern \(pattern) was accepted")
            } catch let error as WeightconvError {
                #expect(error.file == layoutPath, "\(error)")
                #expect(error.problem.contains("\(member): the regular expression \(pattern) does not compile"), "\(error)")
                let problem = try #require(error.cause(as: LayoutFileProblem.self), "\(error)")
                #expect(problem.file == layoutPath)
                #expect(problem.path == member)
                #expect(problem.line > 0)
            }
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    /// Each broken file, the line and member path the problem must name, and a word of the problem.
    static let brokenFiles: [(name: String, text: String, line: Int, path: String, says: String)] = {
        let good = (try? LayoutCatalog.builtinText(named: "mobilenet_v2/timm")) ?? ""
        func edit(_ old: String, _ new: String) -> String { good.replacingOccurrences(of: old, with: new) }
        func line(of needle: String, in text: String) -> Int {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            return (lines.firstIndex { $0.contains(needle) } ?? -1) + 1
        }
        let badJSON = edit(#""^conv_head\\.weight$"]"#, #""^conv_head\\.weight$",]"#)
        let badRegex = edit(#""^bn2\\.""#, #""^bn2\\.(""#)
        let badBehaviour = edit(#""eps": 1e-05"#, #""eps": 1e-05, "shuffleOrder": "paper""#)
        let badValue = edit(#""eps": 1e-05"#, #""eps": "small""#)
        let badTable = edit(#"{stage[$1]+$2}.conv.0.0."#, #"{stages[$1]+$2}.conv.0.0."#)
        let unknownMember = edit(#""renames": ["#, #""renamse": [], "renames": ["#)
        let badFingerprint = edit(#""^conv_stem\\.weight$""#, #""^conv_stem\\.weight$)""#)
        let unknownFamily = edit(#""family": "mobilenet_v2""#, #""family": "mobilenetv2""#)
        return [
            ("bad JSON", badJSON, line(of: #"weight$",]"#, in: badJSON), "", "not valid JSON"),
            ("bad regex", badRegex, line(of: #""^bn2\\.(""#, in: badRegex), "renames[3].pattern", #"^bn2\.("#),
            ("bad fingerprint regex", badFingerprint, line(of: #"^conv_stem\\.weight$)"#, in: badFingerprint),
             "fingerprint.required[0]", "does not compile"),
            ("unknown behaviour", badBehaviour, line(of: "shuffleOrder", in: badBehaviour), "behaviour.shuffleOrder",
             "not a mobilenet_v2 behaviour"),
            ("behaviour of the wrong kind", badValue, line(of: #""small""#, in: badValue), "behaviour.eps", "expected a number"),
            ("unknown table", badTable, line(of: "{stages[", in: badTable), "renames[9].replacement", "table 'stages'"),
            ("unknown member", unknownMember, line(of: "renamse", in: unknownMember), "renamse", "unknown member"),
            // The family is read into `NetworkFamily` here, once; the error lists the names there are.
            ("unknown family", unknownFamily, line(of: #""mobilenetv2""#, in: unknownFamily), "family",
             "unknown family 'mobilenetv2' (one of xception, mobilenet_v2, shufflenet_v1, resnext)"),
        ]
    }()

    @Test func brokenFilesAreRefusedNamingTheLineAndMember() throws {
        for broken in Self.brokenFiles {
            #expect(broken.line > 0, "\(broken.name): the edit did not apply")
            do {
                _ = try LayoutFile.parse(Array(broken.text.utf8), origin: "broken.json")
                Issue.record("\(broken.name) was accepted")
            } catch {
                #expect(error.line == broken.line, "\(broken.name): \(error)")
                #expect(error.path == broken.path, "\(broken.name): \(error)")
                #expect(error.problem.contains(broken.says), "\(broken.name): \(error)")
                #expect(!error.description.contains("\n"))
            }
        }
    }
}
