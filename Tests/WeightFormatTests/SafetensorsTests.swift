import Foundation
import Testing
@testable import WeightFormat
import WeightconvCore

@Suite struct SafetensorsTests {
    typealias Kind = SafetensorsProblem.Kind

    /// An 8-byte length, the header text, then `data`.
    private func image(_ header: String, _ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLittleEndian(UInt64(header.utf8.count))
        return out + Array(header.utf8) + data
    }

    private let twoTensors = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I16","shape":[2],"data_offsets":[8,12]}}"#

    @Test func writerOutputReadsBackWithEveryDTypeAlignedToItsSize() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = folder.file("m.safetensors")
        let size = try SafetensorsWriter().write(try sampleTensors(), metadata: [("format", "pt")], to: path)
        let file = try SafetensorsFile(path: path)
        #expect(try readBytes(path).count == size)
        let expected = sampleTensorData()
        #expect(Set(file.tensors) == Set(expected.map { TensorDescriptor(name: $0.name, dtype: $0.dtype, shape: $0.shape) }))
        // Largest elements first, the given order kept among equals.
        #expect(file.tensors.map(\.dtype.byteSize) == file.tensors.map(\.dtype.byteSize).sorted(by: >))
        #expect(file.tensors.filter { $0.dtype.byteSize == 4 }.map(\.name) == ["t.f32", "t.i32", "scalar", "conv.weight"])
        for tensor in expected {
            try file.withContiguousBytes(of: tensor.name) { buffer in
                #expect(Array(buffer) == tensor.bytes, "tensor \(tensor.name)")
                if let base = buffer.baseAddress, buffer.count > 0 {
                    #expect(Int(bitPattern: base) % tensor.dtype.byteSize == 0)
                }
            }
        }
        #expect(file.metadata == .object([("format", .string("pt"))]))
        // Byte-reproducible, like .wcv.
        try SafetensorsWriter().write(try sampleTensors(), metadata: [("format", "pt")], to: folder.file("again.safetensors"))
        #expect(try readBytes(path) == readBytes(folder.file("again.safetensors")))
    }

    @Test func validImageOpens() {
        #expect(safetensorsProblem(image(twoTensors, [UInt8](repeating: 1, count: 12))) == nil)
        #expect(safetensorsProblem(image("{}        ", [])) == nil)
    }

    @Test func tooShort() {
        #expect(safetensorsProblem([1, 2, 3])?.kind == .tooShort)
    }

    @Test func headerLengthAboveTheLimitOrBeyondTheFile() {
        var huge: [UInt8] = []
        huge.appendLittleEndian(UInt64(100_000_001))
        #expect(safetensorsProblem(huge + Array("{}".utf8))?.kind == .headerTooLarge(100_000_001))
        var maximum: [UInt8] = []
        maximum.appendLittleEndian(UInt64.max)
        #expect(safetensorsProblem(maximum)?.kind == .headerTooLarge(UInt64.max))
        var beyond: [UInt8] = []
        beyond.appendLittleEndian(UInt64(1000))
        #expect(safetensorsProblem(beyond + Array("{}".utf8))?.kind == .headerBeyondFile)
    }

    @Test func headerMustBeAJSONObject() {
        #expect(safetensorsProblem(image(" {}", []))?.kind == .headerNotObject)
        #expect(safetensorsProblem(image("[]", []))?.kind == .headerNotObject)
        guard case .json = safetensorsProblem(image("{\"a\":", []))?.kind else { Issue.record("truncated JSON accepted"); return }
    }

    @Test func duplicateTensorNameOrMemberIsRefused() {
        let twice = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        guard case .json(let problem) = safetensorsProblem(image(twice, [UInt8](repeating: 0, count: 8)))?.kind,
              problem.kind == .duplicateKey("a") else { Issue.record("duplicate tensor accepted"); return }
        let member = #"{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#
        guard case .json = safetensorsProblem(image(member, [0, 0, 0, 0]))?.kind else { Issue.record("duplicate member accepted"); return }
    }

    @Test func metadataMustBeAStringMap() {
        guard case .badMetadata = safetensorsProblem(image(#"{"__metadata__":{"epoch":3}}"#, []))?.kind else {
            Issue.record("numeric metadata accepted"); return
        }
        guard case .badMetadata = safetensorsProblem(image(#"{"__metadata__":"x"}"#, []))?.kind else {
            Issue.record("string metadata accepted"); return
        }
    }

    @Test func malformedEntries() {
        for header in [
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}"#,
            #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#,
            #"{"a":{"dtype":3,"shape":[1],"data_offsets":[0,4]}}"#,
            #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#,
            #"{"a":[1]}"#,
        ] {
            guard case .badEntry(tensor: "a", _) = safetensorsProblem(image(header, [0, 0, 0, 0]))?.kind else {
                Issue.record("accepted: \(header)"); continue
            }
        }
    }

    @Test func unsupportedDType() {
        let header = #"{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}"#
        #expect(safetensorsProblem(image(header, [0, 0, 0, 0]))?.kind == .unsupportedDType(tensor: "a", "F8_E4M3"))
    }

    @Test func shapeOverflow() {
        let header = #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#
        #expect(safetensorsProblem(image(header, [0, 0, 0, 0]))?.kind == .dimensionOverflow(tensor: "a"))
    }

    @Test func byteLengthNotShapeTimesDTypeSize() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#
        #expect(safetensorsProblem(image(header, [0, 0, 0, 0]))?.kind == .byteLengthMismatch(tensor: "a", expected: 8, stored: 4))
    }

    @Test func overlapAndHolesAreRefused() {
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(safetensorsProblem(image(overlap, [UInt8](repeating: 0, count: 12)))?.kind == .notContiguous(tensor: "b"))
        let hole = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(safetensorsProblem(image(hole, [UInt8](repeating: 0, count: 12)))?.kind == .notContiguous(tensor: "b"))
        let notFromZero = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(safetensorsProblem(image(notFromZero, [UInt8](repeating: 0, count: 8)))?.kind == .notContiguous(tensor: "a"))
    }

    @Test func truncatedOrTrailingDataIsRefused() {
        let full = image(twoTensors, [UInt8](repeating: 1, count: 12))
        #expect(safetensorsProblem(Array(full.dropLast()))?.kind == .dataLengthMismatch(expected: 12, actual: 11))
        #expect(safetensorsProblem(full + [0])?.kind == .dataLengthMismatch(expected: 12, actual: 13))
        let far = #"{"a":{"dtype":"U8","shape":[9223372036854775000],"data_offsets":[0,9223372036854775000]}}"#
        guard case .dataLengthMismatch = safetensorsProblem(image(far, [0]))?.kind else { Issue.record("huge offsets accepted"); return }
    }

    @Test func openErrorsAreOneLineWithFileAndHint() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        try writeBytes(image(twoTensors, [1, 2, 3]), to: folder.file("bad.safetensors"))
        #expect {
            _ = try SafetensorsFile(path: folder.file("bad.safetensors"))
        } throws: { error in
            let line = "\(error)"
            return line.hasPrefix(folder.file("bad.safetensors") + ": ") && !line.contains("\n") && line.contains("(the file is damaged")
        }
    }
}
