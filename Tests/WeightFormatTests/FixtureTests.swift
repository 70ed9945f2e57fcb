import Foundation
import Testing
import WeightFormat
import WeightconvCore

/// The committed conversions in fixtures/wcv (written by `weightconv import` via
/// tools/make_wcv_fixtures.sh) against the values PyTorch computed in tools/make_wcv_sources.py.
@Suite struct FixtureTests {
    struct Expected: Decodable {
        struct Tensor: Decodable {
            var name: String
            var dtype: String
            var shape: [Int]
            var sha256: String
        }
        var source: String
        var dtype: String?
        var tensors: [Tensor]
    }

    static let folder = fixturesRoot.appendingPathComponent("wcv").path

    static let cases = ["dtypes", "small_cnn", "small_cnn.f16", "small_cnn.bf16"]

    private func expected(_ name: String) throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: "\(Self.folder)/\(name).expected.json")))
    }

    private func listing(_ store: any TensorStore) throws -> [String: String] {
        var out: [String: String] = [:]
        for tensor in store.tensors {
            out[tensor.name] = "\(tensor.dtype.rawValue) \(tensor.shape) \(try store.sha256(of: tensor.name))"
        }
        return out
    }

    @Test(arguments: cases)
    func everyTensorMatchesPyTorch(name: String) throws {
        let want = try expected(name)
        let file = try WeightFile(path: "\(Self.folder)/\(name).wcv")
        #expect(file.verifyChecksums() == nil)
        let wanted = Dictionary(uniqueKeysWithValues: want.tensors.map { ($0.name, "\($0.dtype) \($0.shape) \($0.sha256)") })
        #expect(try listing(file) == wanted)
    }

    @Test(arguments: cases)
    func theSafetensorsSourceReadsAsPyTorchWroteIt(name: String) throws {
        let want = try expected(name)
        let source = try SafetensorsFile(path: "\(Self.folder)/\(want.source)")
        let converted = try WeightFile(path: "\(Self.folder)/\(name).wcv")
        #expect(source.tensors.map(\.name) == converted.tensors.map(\.name), "table order is the source's order")
        if want.dtype == nil {
            // A generic conversion is lossless: the same listing on both sides.
            #expect(try listing(source) == listing(converted))
        } else {
            for tensor in source.tensors where !tensor.dtype.isFloatingPoint {
                #expect(try source.sha256(of: tensor.name) == converted.sha256(of: tensor.name))
            }
        }
        #expect(converted.document.provenance?.sourceSHA256 == SHA256Hex.digest(try readBytes("\(Self.folder)/\(want.source)")))
    }
}
