import Foundation
import Testing
import TestSupport
import WeightconvCore
import WeightFormat
@testable import WeightconvKit

/// A network built from a mapped `.wcv` file gives its mapped pages back after reading each tensor
/// (so that the weights are not held twice); that must change nothing.
@Suite struct MappedWeightsTests {
    static let example = fixturesRoot.appendingPathComponent("examples/shufflenet_seed001.wcv").path

    @Test func releasingTheFilesPagesChangesNeitherTheLogitsNorTheFile() throws {
        let mapped = try WeightFile(path: Self.example)
        // The same bytes in memory, where releasing pages does nothing.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.example)))
        let copy = try WeightFile(storage: MappedFile.copying(bytes, path: Self.example), path: Self.example)
        let record = try #require(mapped.document.verification)
        let shape = try #require(mapped.descriptor(named: record.inputTensor)?.shape)
        let input = try Tensor(shape: shape, storage: copy.floats(of: record.inputTensor))

        let fromMapping = try PretrainedNetwork(file: mapped, mode: .fast(threads: 2))(input)
        let fromCopy = try PretrainedNetwork(file: copy, mode: .fast(threads: 2))(input)
        #expect(fromMapping == fromCopy)
        // Read again after their pages were released, every tensor still has the file's values.
        for tensor in mapped.tensors {
            try #expect(mapped.floats(of: tensor.name) == copy.floats(of: tensor.name), "\(tensor.name)")
        }
        #expect(mapped.verifyChecksums() == nil)
    }

    @Test func benchReportsTheWeightsHeldAndThePlannedBuffers() throws {
        let result = try NetworkBenchmark.run(path: Self.example, batch: 2, iterations: 1, warmup: 0, size: nil,
                                              mode: .fast(threads: 1))
        let file = try WeightFile(path: Self.example)
        #expect(result.fileWeightBytes == file.tensors.reduce(0) { $0 + ($1.byteCount ?? 0) })
        // Float32 weights held once: at most the file's tensors (which add the batch norms that folding removes).
        let held = try #require(result.weightBytes), inFile = try #require(result.fileWeightBytes)
        #expect(held > 0 && held <= inFile)
        #expect(try #require(result.activationBytes) > 0)
        let naive = try NetworkBenchmark.run(path: Self.example, batch: 1, iterations: 1, warmup: 0, size: nil, mode: .naive)
        #expect(naive.weightBytes == nil && naive.activationBytes == nil)
    }
}
