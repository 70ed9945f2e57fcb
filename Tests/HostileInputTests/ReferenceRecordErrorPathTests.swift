import Foundation
import Testing
import WeightconvKit

/// The refusals of the reference `.npz` an import compares against (`--reference`): arrays
/// missing, or shapes that are not an image batch and its logits. The message names the file and
/// how to make a good one; nothing is written.
@Suite struct ReferenceRecordErrorPathTests {
    typealias N = NumpyErrorPathTests

    static func floats(_ shape: [Int]) -> [UInt8] {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
        return npyFile(header, data: Array(repeating: 0, count: 4 * shape.reduce(1, *)))
    }

    static let cases: [Case] = [
        Case("no logits", N.npz([("input.npy", floats([1, 3, 4, 4]))]), "needs arrays 'input' and 'logits', has [\"input\"]"),
        Case("no input", N.npz([("logits.npy", floats([1, 10]))]), "needs arrays 'input' and 'logits', has [\"logits\"]"),
        Case("input that is not an image batch", N.npz([("input.npy", floats([3, 4, 4])), ("logits.npy", floats([1, 10]))]),
             "the reference input is [3, 4, 4] and its logits [1, 10]"),
        Case("one channel", N.npz([("input.npy", floats([1, 1, 4, 4])), ("logits.npy", floats([1, 10]))]),
             "the reference input is [1, 1, 4, 4]"),
        Case("logits for another batch", N.npz([("input.npy", floats([2, 3, 4, 4])), ("logits.npy", floats([1, 10]))]),
             "the reference input is [2, 3, 4, 4] and its logits [1, 10]"),
        Case("logits of rank 1", N.npz([("input.npy", floats([1, 3, 4, 4])), ("logits.npy", floats([10]))]),
             "and its logits [10]"),
        Case("integer logits", N.npz([("input.npy", floats([1, 3, 4, 4])),
                                      ("logits.npy", npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (1, 2), }", data: [1, 0]))]),
             "logits"),
    ]

    @Test(arguments: cases)
    func refusal(_ sample: Case) throws {
        try expectOneLineRefusal(sample, writtenAs: "reference.npz") { _ = try ReferenceRecord(path: $0) }
    }

    @Test func aWellFormedRecordIsRead() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = try folder.write(N.npz([("input.npy", Self.floats([2, 3, 4, 4])), ("logits.npy", Self.floats([2, 10]))]), "reference.npz")
        let record = try ReferenceRecord(path: path)
        #expect(record.input.shape == [2, 3, 4, 4] && record.logits.shape == [2, 10] && record.classes == 10)
    }
}
