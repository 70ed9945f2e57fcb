import Testing
import WeightconvCore
@testable import WeightconvKit

/// A store held in memory, for tests that need names and shapes but no file.
struct InMemoryStore: TensorStore {
    var path = "memory.pth"
    var tensors: [TensorDescriptor]
    var values: [String: [Float]] = [:]
    var metadata: MetadataValue = .null

    init(_ shapes: [(String, [Int])]) {
        tensors = shapes.map { TensorDescriptor(name: $0.0, dtype: .f32, shape: $0.1) }
        for (name, shape) in shapes {
            let count = shape.reduce(1, *)
            values[name] = (0..<count).map { Float($0) }
        }
    }

    func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let floats = values[name] else { throw WeightconvError(file: path, problem: "no \(name)") }
        return try floats.withUnsafeBytes(body)
    }
}

@Suite struct CanonicalWeightsTests {
    @Test func renamesThroughTheLayoutAndReadsTheOriginal() throws {
        let store = InMemoryStore([
            ("model.conv1.weight", [4, 3, 7, 7]), ("model.conv1.bias", [4]),
            ("model.layer1.0.shortcut.0.weight", [8, 4, 1, 1]), ("model.linear.weight", [10, 8]),
            ("model.bn1.num_batches_tracked", []),
        ])
        let layout = try LayoutRecognizer.recognize(keys: store.tensors.map(\.name), family: .resnext, layoutName: nil)
        #expect(layout.profile.name == "seed003")
        let weights = try CanonicalWeights(store: store, recognized: layout)
        #expect(weights.entries["layer1.0.downsample.0.weight"]?.source == "model.layer1.0.shortcut.0.weight")
        #expect(weights.shape(of: "fc.weight") == [10, 8])
        // A shape is a query: asking it uses nothing.
        #expect(weights.unused == ["conv1.weight", "conv1.bias", "layer1.0.downsample.0.weight", "fc.weight"])
        #expect(try weights.floats(of: "fc.weight").prefix(3) == [0, 1, 2])
        // Read: fc.weight. Not read: conv1.*, downsample; num_batches_tracked never counts.
        #expect(weights.unused == ["conv1.weight", "conv1.bias", "layer1.0.downsample.0.weight"])
        weights.markUsed("conv1.bias")
        #expect(weights.unused == ["conv1.weight", "layer1.0.downsample.0.weight"])
    }

    @Test func repairsCadenesOldKernelShapes() throws {
        let store = InMemoryStore([
            ("block1.rep.0.conv1.weight", [64, 3, 3]), ("block1.rep.0.pointwise.weight", [128, 64]),
            ("conv1.weight", [32, 3, 3, 3]), ("last_linear.weight", [5, 2048]),
        ])
        let layout = try LayoutRecognizer.recognize(keys: store.tensors.map(\.name), family: .xception, layoutName: nil)
        let weights = try CanonicalWeights(store: store, recognized: layout)
        #expect(weights.entries["block1.rep.0.conv1.weight"]?.shape == [64, 1, 3, 3])
        #expect(weights.entries["block1.rep.0.conv1.weight"]?.storedShape == [64, 3, 3])
        #expect(weights.entries["block1.rep.0.pointwise.weight"]?.shape == [128, 64, 1, 1])
        #expect(weights.entries["conv1.weight"]?.shape == [32, 3, 3, 3])
        #expect(weights.entries["fc.weight"]?.source == "last_linear.weight")
    }

    @Test func twoKeysOntoOneNameIsAnError() throws {
        // seed003 renames `shortcut` to `downsample`; a file with both cannot be mapped.
        let store = InMemoryStore([
            ("conv1.weight", [4, 3, 7, 7]), ("layer1.0.shortcut.0.weight", [8, 4, 1, 1]),
            ("layer1.0.downsample.0.weight", [8, 4, 1, 1]), ("linear.weight", [10, 8]),
        ])
        let layout = try LayoutRecognizer.recognize(keys: store.tensors.map(\.name), family: .resnext, layoutName: nil)
        #expect(throws: WeightconvError.self) { try CanonicalWeights(store: store, recognized: layout) }
    }
}
