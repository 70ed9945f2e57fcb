import Foundation
import Testing
import WeightFormat
import WeightconvCore
@testable import WeightconvKit

@Suite struct FormatConversionTests {
    static let fixtures = fixturesRoot.appendingPathComponent("wcv").path

    private func scratch() throws -> String { try ScratchFolder(prefix: "wcv-kit").path }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test func genericConversionReproducesTheCommittedFixturesByteForByte() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (name, dtype) in [("small_cnn", nil), ("small_cnn.f16", DType.f16), ("small_cnn.bf16", .bf16), ("dtypes", nil)] as [(String, DType?)] {
            let sourceName = name.hasPrefix("dtypes") ? "dtypes" : "small_cnn"
            let sourcePath = "\(Self.fixtures)/src/\(sourceName).safetensors"
            let source = try openTensorStore(path: sourcePath)
            let output = "\(folder)/\(name).wcv"
            _ = try GenericConversion.convert(source, sourcePath: sourcePath, to: output, dtype: dtype)
            #expect(try bytes(output) == bytes("\(Self.fixtures)/\(name).wcv"), "\(name)")
        }
    }

    /// The provenance hash is the file's plain SHA-256 (what `sha256sum` prints), and a hash whose
    /// conversion was refused stops instead of reading the rest of the source.
    @Test func sourceIdentityIsTheFilesSHA256AndStopsWhenCancelled() throws {
        let path = "\(Self.fixtures)/src/small_cnn.safetensors"
        let data = try bytes(path)
        let identity = try SourceIdentity(path: path)
        #expect(identity.size == data.count)
        #expect(identity.sha256 == SHA256Hex.digest([UInt8](data)))
        let stopped = #expect(throws: WeightconvError.self) { try SourceIdentity(path: path, until: { true }) }
        #expect(stopped?.file == path && stopped?.problem == "computing its SHA-256 was cancelled")

        let concurrent = try ConcurrentSourceIdentity(path: path)
        #expect(try concurrent.finish(transforms: []).sourceSHA256 == identity.sha256)
        let cancelled = try ConcurrentSourceIdentity(path: path)
        cancelled.cancel()
        // Either the hash finished before the cancel reached it, or finishing reports the cancel.
        if let provenance = try? cancelled.finish(transforms: []) {
            #expect(provenance.sourceSHA256 == identity.sha256)
        }
    }

    @Test func exportToSafetensorsAndBackIsLossless() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let wcvPath = "\(Self.fixtures)/dtypes.wcv"
        let wcv = try openTensorStore(path: wcvPath)
        _ = try GenericConversion.convert(wcv, sourcePath: wcvPath, to: "\(folder)/out.safetensors")
        let exported = try openTensorStore(path: "\(folder)/out.safetensors")
        #expect(exported is SafetensorsFile)
        #expect(Set(exported.tensors) == Set(wcv.tensors))
        for tensor in wcv.tensors {
            #expect(try exported.sha256(of: tensor.name) == wcv.sha256(of: tensor.name))
        }
        guard case .object(let fields) = exported.metadata else { Issue.record("no metadata"); return }
        #expect(fields.first?.key == "format")
        #expect(fields.contains { $0.key == "weightconv.document" })
    }

    @Test func checkReportsIntactAndNamesADamagedTensor() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/m.wcv"
        var image = [UInt8](try bytes("\(Self.fixtures)/small_cnn.wcv"))
        try Data(image).write(to: URL(fileURLWithPath: path))
        #expect(checkWeightFile(path: path).intact)
        let file = try WeightFile(path: path)
        let victim = file.header.entries[3]
        image[file.header.dataOffset + victim.offset + victim.byteLength / 2] ^= 0x20
        try Data(image).write(to: URL(fileURLWithPath: path))
        let report = checkWeightFile(path: path)
        #expect(!report.intact)
        #expect(report.tensor == victim.descriptor.name)
        #expect(report.line.contains("'\(victim.descriptor.name)'") && report.line.contains("byte \(file.header.dataOffset + victim.offset)"))
        #expect(checkWeightFile(path: path, headerOnly: true).intact, "header-only does not read tensors")
        try Data(image.prefix(image.count - 20000)).write(to: URL(fileURLWithPath: path))
        let cut = checkWeightFile(path: path, headerOnly: true)
        #expect(!cut.intact && cut.line.contains("truncated"))
    }

    @Test func dtypeChoicesOutsideF32F16BF16AreRefused() throws {
        let sourcePath = "\(Self.fixtures)/src/small_cnn.safetensors"
        let source = try openTensorStore(path: sourcePath)
        #expect(throws: WeightconvError.self) {
            _ = try GenericConversion.convert(source, sourcePath: sourcePath, to: "/tmp/never.wcv", dtype: .i8)
        }
    }

    /// The CLI end to end: an import interrupted by SIGINT deletes its temporary file, one killed
    /// by SIGKILL leaves at most a hidden temporary, and neither leaves an output file.
    @Test(arguments: [SIGINT, SIGKILL])
    func interruptedImportLeavesNoOutput(signalNumber: Int32) throws {
        #expect(FileManager.default.isExecutableFile(atPath: weightconvBinary), "build the package first (swift build --build-tests)")
        let folder = try ScratchFolder(prefix: "wcv-kit")
        defer { folder.remove() }
        // 160 MB of tensors: long enough to interrupt mid-write.
        let big = (0..<40).map { index in
            try? PendingTensor.bytes("layer\(index).weight", dtype: .f32, shape: [1024, 1024], [UInt8](repeating: UInt8(index), count: 4 << 20))
        }.compactMap { $0 }
        try SafetensorsWriter().write(big, to: folder.file("big.safetensors"))
        let child = try Child(["import", folder.file("big.safetensors"), "-o", folder.file("big.wcv"), "--dtype", "f16"])
        let deadline = Date().addingTimeInterval(60)
        var sawTemporary = false
        while Date() < deadline, child.process.isRunning {
            if !folder.temporaries.isEmpty {
                sawTemporary = true
                break
            }
            usleep(2000)
        }
        kill(child.pid, signalNumber)
        let result = try child.finish()
        #expect(sawTemporary, "the import was caught mid-way")
        let left = try folder.listing()
        #expect(!left.contains("big.wcv"))
        if signalNumber == SIGINT {
            #expect(result.status == 128 + SIGINT, "\(result.stderr)")
            #expect(left == ["big.safetensors"])
        }
    }
}
