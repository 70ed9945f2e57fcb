import Foundation
import Testing
@testable import WeightFormat
import WeightconvCore

@Suite struct RoundTripTests {
    @Test func everyDTypeScalarAndEmptyTensorReadBackBitExact() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        try WeightFileWriter().write(try sampleTensors(), document: sampleDocument(), to: folder.file("m.wcv"))
        let file = try WeightFile(path: folder.file("m.wcv"))
        let expected = sampleTensorData()
        #expect(file.tensors == expected.map { TensorDescriptor(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
        for tensor in expected {
            let stored = try file.withContiguousBytes(of: tensor.name) { Array($0) }
            #expect(stored == tensor.bytes, "tensor \(tensor.name)")
            #expect(try file.sha256(of: tensor.name) == SHA256Hex.digest(tensor.bytes))
        }
        #expect(file.verifyChecksums() == nil)
    }

    @Test func tensorsAre64ByteAlignedInAPageAlignedDataSection() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        try WeightFileWriter().write(try sampleTensors(), document: WeightFileDocument(), to: folder.file("m.wcv"))
        let file = try WeightFile(path: folder.file("m.wcv"))
        #expect(file.header.dataOffset % 16384 == 0)
        #expect(file.header.dataLength % 16384 == 0)
        for tensor in file.tensors {
            let address = Int(bitPattern: try file.bytes(of: tensor.name).baseAddress)
            #expect(address % 64 == 0, "tensor \(tensor.name)")
        }
    }

    @Test func documentRoundTripsIncludingOpaqueValuesAndUnicode() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var document = sampleDocument()
        document.verification = .init(atol: 1e-4, rtol: 1e-3, topK: 5)
        var tensors = try sampleTensors()
        tensors.append(try .floats(WCVFormat.verifyInputName, shape: [1, 3, 2, 2], (0..<12).map(Float.init)))
        tensors.append(try .floats(WCVFormat.verifyLogitsName, shape: [1, 4], [0.5, -1, 2, 3.25]))
        try WeightFileWriter().write(tensors, document: document, to: folder.file("m.wcv"))
        let file = try WeightFile(path: folder.file("m.wcv"))
        #expect(file.document == document)
        #expect(file.metadata == document.metadata)
        #expect(try file.floats(of: WCVFormat.verifyLogitsName) == [0.5, -1, 2, 3.25])
    }

    @Test func preprocessingRecipeAndLabelsRoundTrip() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var document = sampleDocument()
        document.preprocessing = .init(inputSize: [3, 224, 224], mean: [0, 0, 0], std: [1, 1, 1], channelOrder: .bgr, pixelScale: 1,
                                       interpolation: "bilinear", cropRatio: nil, resizeSize: 256, resizeMethod: "opencv")
        document.labels = ["zero", "one \u{1F600}"]
        try WeightFileWriter().write(try sampleTensors(), document: document, to: folder.file("m.wcv"))
        let file = try WeightFile(path: folder.file("m.wcv"))
        #expect(file.document == document)
        // A file written before these members existed reads them as absent.
        let old = try WeightFileDocument(parsing: StrictJSON.parse(Array(#"{"preprocessing":{"input_size":[3,8,8],"mean":[0,0,0],"std":[1,1,1]}}"#.utf8)))
        #expect(old.labels == nil && old.preprocessing?.resizeSize == nil && old.preprocessing?.resizeMethod == nil)
        #expect(throws: SchemaProblem.self) {
            try WeightFileDocument(parsing: StrictJSON.parse(Array(#"{"preprocessing":{"input_size":[3,8,8],"mean":[0,0,0],"std":[1,1,1],"resize_method":"magic"}}"#.utf8)))
        }
    }

    @Test func writingTheSameInputTwiceGivesIdenticalBytes() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let first = try writtenImage(try sampleTensors(), document: sampleDocument(), in: folder, name: "one.wcv")
        let second = try writtenImage(try sampleTensors(), document: sampleDocument(), in: folder, name: "two.wcv")
        #expect(first == second)
        // Re-writing what was read (a .wcv as the source of a conversion) reproduces it too.
        let file = try WeightFile(path: folder.file("one.wcv"))
        let again = try writtenImage(try file.tensors.map { try PendingTensor.from(file, name: $0.name) },
                                     document: file.document, in: folder, name: "three.wcv")
        #expect(again == first)
    }

    @Test func canonicalJSONIsTheSpecifiedText() throws {
        var document = WeightFileDocument(layout: "timm", originalKeys: ["b": "model.b", "a": "model.a"],
                                          metadata: .object([("z", .int(1)), ("a", .array([.bool(true), .null]))]))
        document.architecture = .init(family: "mobilenet_v2", config: .object([("width_mult", .double(1.0))]))
        let json = String(decoding: document.canonicalJSON(tableOrder: ["a", "b"]), as: UTF8.self)
        #expect(json == #"{"architecture":{"family":"mobilenet_v2","config":{"width_mult":1.0}},"preprocessing":null,"layout":"timm","original_keys":{"a":"model.a","b":"model.b"},"provenance":null,"metadata":{"z":1,"a":[true,null]},"verification":null}"#)
    }

    @Test func conversionToHalfPrecisionsRoundsLikePyTorch() throws {
        // Expected values from PyTorch 2.13:
        //   torch.tensor([1+2**-11, 1+3*2**-11, -2.5, 65520.]).half().tolist()  -> [1.0, 1.001953125, -2.5, inf]
        //   torch.tensor([1+2**-8, 1+3*2**-8, -2.5]).bfloat16().float().tolist() -> [1.0, 1.015625, -2.5]
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let half = try PendingTensor.floats("h", shape: [4], [1 + 0x1p-11, 1 + 3 * 0x1p-11, -2.5, 65520], storedAs: .f16)
        let brain = try PendingTensor.floats("b", shape: [3], [1 + 0x1p-8, 1 + 3 * 0x1p-8, -2.5], storedAs: .bf16)
        try WeightFileWriter().write([half, brain], document: WeightFileDocument(), to: folder.file("h.wcv"))
        let file = try WeightFile(path: folder.file("h.wcv"))
        #expect(file.tensors.map(\.dtype) == [.f16, .bf16])
        #expect(try file.floats(of: "h") == [1.0, 1.001953125, -2.5, .infinity])
        #expect(try file.floats(of: "b") == [1.0, 1.015625, -2.5])
    }

    @Test func noTensorsAtAllIsAValidFile() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let image = try writtenImage([], in: folder)
        #expect(image.count == 16384)
        #expect(openProblem(image) == nil)
        #expect(try WeightFile(path: folder.file("out.wcv")).tensors.isEmpty)
    }
}

/// The document completed after the tensors are written (the importer's source SHA-256, computed
/// alongside the writes): it replaces the planned one when it is as long, and is refused, with
/// nothing written, when it is not.
@Suite struct CompletedDocumentTests {
    static func planned() -> WeightFileDocument {
        var document = sampleDocument()
        document.provenance?.sourceSHA256 = String(repeating: "0", count: 64)
        return document
    }

    @Test func aCompletedDocumentOfTheSameLengthIsWhatTheFileHolds() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        try WeightFileWriter().write(try sampleTensors(), document: Self.planned(), to: folder.file("m.wcv")) { sampleDocument() }
        let file = try WeightFile(path: folder.file("m.wcv"))
        #expect(file.document.provenance?.sourceSHA256 == String(repeating: "ab", count: 32))
        #expect(file.verifyChecksums() == nil)
        // Byte for byte what writing the final document directly gives.
        try WeightFileWriter().write(try sampleTensors(), document: sampleDocument(), to: folder.file("direct.wcv"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("m.wcv"))) == Data(contentsOf: URL(fileURLWithPath: folder.file("direct.wcv"))))
    }

    @Test func aCompletedDocumentOfAnotherLengthIsRefusedAndNothingIsWritten() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var longer = sampleDocument()
        longer.provenance?.sourceSize = 123_456_789
        #expect(throws: WeightconvError.self) {
            try WeightFileWriter().write(try sampleTensors(), document: Self.planned(), to: folder.file("m.wcv")) { longer }
        }
        #expect(try folder.listing().isEmpty)
    }

    @Test func anErrorFromTheCompletionLeavesNothing() throws {
        struct Failed: Error {}
        let folder = try ScratchFolder()
        defer { folder.remove() }
        #expect(throws: Failed.self) {
            try WeightFileWriter().write(try sampleTensors(), document: Self.planned(), to: folder.file("m.wcv")) { throw Failed() }
        }
        #expect(try folder.listing().isEmpty)
    }
}
