import Foundation
import Testing
import TestSupport
import WeightconvRuntime

/// A `PretrainedNetwork` shared by many tasks gives each caller what a serial call gives.
@Suite struct ConcurrentCallTests {
    static let example = fixturesRoot.appendingPathComponent("examples/shufflenet_seed001.wcv").path

    /// The file's stored reference input, scaled by `factor` (a different input per caller).
    static func input(_ file: WeightFile, factor: Float) throws -> Tensor {
        let record = try #require(file.document.verification)
        let shape = try #require(file.descriptor(named: record.inputTensor)?.shape)
        return try Tensor(shape: shape, storage: file.floats(of: record.inputTensor).map { $0 * factor })
    }

    @Test func runtimeReproducesTheStoredLogits() throws {
        let file = try WeightFile(path: Self.example)
        let network = try PretrainedNetwork(file: file, mode: .fast(threads: 2))
        let record = try #require(file.document.verification)
        let expected = try file.floats(of: record.logitsTensor)
        let logits = try network(Self.input(file, factor: 1)).storage
        #expect(logits.count == expected.count)
        let scale = expected.map(abs).max() ?? 0
        let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4 + 1e-4 * scale, "max |diff| \(worst) against the stored reference")
    }

    @Test func concurrentCallersGetTheSerialAnswers() async throws {
        let file = try WeightFile(path: Self.example)
        let network = try PretrainedNetwork(file: file, mode: .fast(threads: 2))
        let factors: [Float] = [1, 0.5, -1, 2, 0.25, 1.5, -0.75, 3]
        let inputs = try factors.map { try Self.input(file, factor: $0) }
        let serial = try inputs.map { try network($0).storage }
        // Distinct inputs must give distinct logits, or the comparison below could not tell callers apart.
        #expect(Set(serial.map { $0.first ?? 0 }).count == serial.count)

        let concurrent = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for _ in 0..<4 {
                for (index, input) in inputs.enumerated() {
                    group.addTask { (index, try network(input).storage) }
                }
            }
            var results: [(Int, [Float])] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(concurrent.count == inputs.count * 4)
        for (index, logits) in concurrent {
            let first = zip(logits, serial[index]).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(logits == serial[index],
                    "caller \(index): differs from the serial result first at \(first.map { "\($0.offset)" } ?? "length")")
        }
    }
}
