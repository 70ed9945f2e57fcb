import Foundation
// Exported so every test file in this target sees the shared helpers without its own import.
@_exported import TestSupport
@testable import WeightFormat
import WeightconvCore

/// The typed problem a `.wcv` image is refused with, or `nil` when it opens.
func openProblem(_ bytes: [UInt8]) -> WeightFileProblem? {
    do {
        _ = try WeightFile.validate(MappedFile.copying(bytes))
        return nil
    } catch {
        return error
    }
}

/// The problem found on open or, failing that, by the full integrity check.
func checkProblem(_ bytes: [UInt8]) throws -> WeightFileProblem? {
    if let problem = openProblem(bytes) { return problem }
    return try WeightFile(storage: MappedFile.copying(bytes), path: "memory").verifyChecksums()
}

func safetensorsProblem(_ bytes: [UInt8]) -> SafetensorsProblem? {
    let storage = MappedFile.copying(bytes)
    defer { withExtendedLifetime(storage) {} }
    do {
        _ = try SafetensorsFile.validate(storage.bytes)
        return nil
    } catch {
        return error
    }
}

/// Deterministic bytes (a linear congruential sequence), so tests need no random seed.
func patternBytes(_ count: Int, seed: UInt32) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

/// One tensor of every dtype, plus a scalar, an empty tensor and a conv weight, with their bytes.
func sampleTensorData() -> [(name: String, dtype: DType, shape: [Int], bytes: [UInt8])] {
    var tensors: [(name: String, dtype: DType, shape: [Int], bytes: [UInt8])] = []
    for (index, dtype) in DType.allCases.enumerated() {
        var bytes = patternBytes(6 * dtype.byteSize, seed: UInt32(index + 1))
        if dtype == .bool { bytes = bytes.map { $0 & 1 } }
        tensors.append(("t.\(dtype.rawValue)", dtype, [2, 3], bytes))
    }
    tensors.append(("scalar", .f32, [], patternBytes(4, seed: 99)))
    tensors.append(("empty", .f16, [0, 5], []))
    tensors.append(("conv.weight", .f32, [4, 1, 3, 3], patternBytes(4 * 9 * 4, seed: 7)))
    return tensors
}

func sampleTensors() throws -> [PendingTensor] {
    try sampleTensorData().map { try PendingTensor.bytes($0.name, dtype: $0.dtype, shape: $0.shape, $0.bytes) }
}

func sampleDocument() -> WeightFileDocument {
    WeightFileDocument(
        architecture: .init(family: "resnext", config: .object([("depth", .int(50)), ("groups", .int(32)), ("width_per_group", .int(4))])),
        preprocessing: .init(inputSize: [3, 224, 224], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
                             interpolation: "bilinear", cropRatio: 0.875),
        layout: "torchvision",
        originalKeys: ["conv.weight": "module.conv.weight", "scalar": "scalar"],
        provenance: .init(sourceName: "model.pth", sourceSize: 1234, sourceSHA256: String(repeating: "ab", count: 32),
                          converter: "weightconv test", transforms: ["renamed", "stored as f32"]),
        metadata: .object([("epoch", .int(90)), ("note", .string("été ✓")), ("lr", .double(0.1)),
                           ("args", .opaque(typeName: "argparse.Namespace", summary: "Namespace(lr=0.1)"))]),
        verification: nil)
}

/// Writes `tensors` with `document` into `folder` and returns the file's bytes.
func writtenImage(_ tensors: [PendingTensor], document: WeightFileDocument = WeightFileDocument(),
                  in folder: ScratchFolder, name: String = "out.wcv") throws -> [UInt8] {
    try WeightFileWriter().write(tensors, document: document, to: folder.file(name))
    return try readBytes(folder.file(name))
}

/// A `.wcv` image assembled field by field, so tests can break any one field and still present a
/// correct header checksum (a hostile file, not a damaged one).
struct RawWCV {
    var magic = WCVFormat.magic
    var version: UInt32 = 1
    var flags: UInt32 = 0
    var tensorCount: UInt32?
    var entries: [TableEntry] = []
    var json: [UInt8] = Array(#"{"metadata":{}}"#.utf8)
    var headerLength: UInt64?
    var dataOffset: UInt64?
    var dataLength: UInt64?
    var data: [UInt8] = []
    var checksum: [UInt8]?

    /// Two tensors in the canonical structure with correct checksums.
    static func valid() -> RawWCV {
        var raw = RawWCV()
        let a = patternBytes(24, seed: 1)  // f32 [2, 3]
        let b = patternBytes(8, seed: 2)   // f16 [4]
        raw.entries = [
            TableEntry(name: "a", dtypeCode: 1, dims: [2, 3], offset: 0, byteLength: 24, sha256: sha(a)),
            TableEntry(name: "b", dtypeCode: 2, dims: [4], offset: 64, byteLength: 8, sha256: sha(b)),
        ]
        raw.data = a + [UInt8](repeating: 0, count: 40) + b + [UInt8](repeating: 0, count: WCVFormat.pageSize - 72)
        return raw
    }

    static func sha(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256Hex.Hasher()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalizeBytes()
    }

    func encode() -> [UInt8] {
        var header: [UInt8] = []
        header.appendLittleEndian(tensorCount ?? UInt32(entries.count))
        for entry in entries { entry.encode(into: &header) }
        header.append(contentsOf: json)
        let length = headerLength ?? UInt64(header.count)
        let offset = dataOffset ?? UInt64(WCVFormat.dataOffset(headerLength: header.count) ?? 0)
        var out = magic
        out.appendLittleEndian(version)
        out.appendLittleEndian(flags)
        out.appendLittleEndian(length)
        out.appendLittleEndian(offset)
        out.appendLittleEndian(dataLength ?? UInt64(data.count))
        out.append(contentsOf: header)
        out.append(contentsOf: checksum ?? RawWCV.sha(out))
        let naturalOffset = WCVFormat.dataOffset(headerLength: header.count) ?? 0
        out.append(contentsOf: [UInt8](repeating: 0, count: max(0, naturalOffset - out.count)))
        out.append(contentsOf: data)
        return out
    }
}
