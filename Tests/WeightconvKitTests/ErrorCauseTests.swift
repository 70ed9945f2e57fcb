import Foundation
import Networks
import Testing
import WeightconvCore
@testable import WeightconvKit
import WeightFormat

/// A `WeightconvError` that reports a lower layer's error keeps it as its cause: code matches the
/// cause's case and fields, while the line the user reads is the cause's own text, as before.
@Suite struct ErrorCauseTests {
    static let checkpoint = LayoutFixture.directory.appendingPathComponent("resnext_seed003/model.pth").path
    /// A tensor every ResNeXt needs and configuration inference does not read.
    static let needed = "layer1.0.bn1.running_var"

    /// `base` without the tensor `hidden`.
    struct HidingStore: TensorStore {
        let base: any TensorStore
        let hidden: String
        var path: String { base.path }
        var tensors: [TensorDescriptor] { base.tensors.filter { $0.name != hidden } }
        var metadata: MetadataValue { base.metadata }
        func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
            guard name != hidden else { throw WeightconvError(file: path, problem: "no \(name)") }
            return try base.withContiguousBytes(of: name, body)
        }
    }

    @Test func checkingTheStructureKeepsTheWeightErrorOfTheMissingTensor() throws {
        let store = try openTensorStore(path: Self.checkpoint)
        let source = try #require(try Importer.map(store, family: nil, layout: nil).weights.entries[Self.needed]?.source)
        let mapping = try Importer.map(HidingStore(base: store, hidden: source), family: nil, layout: nil)
        for runnable in [false, true] {
            do {
                _ = try Importer.checkStructure(mapping, runnable: runnable,
                                                request: ImportRequest(input: Self.checkpoint, output: "unwritten.wcv"))
                Issue.record("a network without \(Self.needed) was built")
            } catch let error as WeightconvError {
                let cause = try #require(error.cause(as: WeightError.self), "\(error)")
                #expect(cause.key == Self.needed)
                #expect(cause.actual == nil)
                #expect(cause.expected != nil)
                // The line is unchanged: the cause's text, the file, the hint.
                #expect(error.file == Self.checkpoint)
                #expect(error.problem == cause.description)
                #expect(error.hint?.contains("weightconv layouts -v") == true)
            }
        }
    }

    @Test func mappingKeepsTheRecognitionFailure() throws {
        let store = try openTensorStore(path: Self.checkpoint)
        do {
            _ = try Importer.map(store, family: .resnext, layout: "nonesuch")
            Issue.record("an unknown layout was accepted")
        } catch let error as WeightconvError {
            let cause = try #require(error.cause(as: RecognitionFailure.self), "\(error)")
            guard case .unknownLayout(let name, let family) = cause else {
                Issue.record("cause is \(cause)")
                return
            }
            #expect(name == "nonesuch")
            #expect(family == .resnext)
            #expect(error.problem == cause.description)
        }
    }

    @Test func openingAFileWhoseTensorsDoNotFitKeepsTheWeightError() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let complete = folder.file("complete.wcv")
        _ = try Importer.run(ImportRequest(input: Self.checkpoint, output: complete))
        let file = try WeightFile(path: complete)
        let lacking = folder.file("lacking.wcv")
        var document = file.document
        document.originalKeys[Self.needed] = nil
        try WeightFileWriter().write(file.tensors.filter { $0.name != Self.needed }.map { try PendingTensor.from(file, name: $0.name) },
                                     document: document, to: lacking)
        do {
            _ = try PretrainedNetwork(contentsOf: lacking)
            Issue.record("a file without \(Self.needed) was opened")
        } catch let error as WeightconvError {
            let cause = try #require(error.cause(as: WeightError.self), "\(error)")
            #expect(cause.key == Self.needed)
            #expect(cause.actual == nil)
            #expect(error.file == lacking)
            #expect(error.description == "\(lacking): \(cause) (the file's tensors do not fit its configuration)")
        }
    }

    @Test func causesAreFoundThroughReportingErrorsAndLeftOutOfEquality() {
        struct Inner: Error, Equatable { var code: Int }
        let reported = WeightconvError(file: "a.pth", reporting: WeightconvError(file: "a.pth", problem: "x", cause: Inner(code: 7)))
        #expect(reported.cause(as: Inner.self) == Inner(code: 7))
        #expect(reported.cause(as: WeightconvError.self)?.problem == "x")
        #expect(reported.cause(as: CocoaError.self) == nil)
        #expect(WeightconvError(file: "a", problem: "b") == WeightconvError(file: "a", problem: "b", cause: Inner(code: 1)))
        #expect(WeightconvError(file: "a", problem: "b").cause == nil)
    }
}
