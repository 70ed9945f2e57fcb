import Foundation
import Testing
import TestSupport
import WeightconvRuntime

/// A `.wcv` header names its family as text; the runtime reads it into `NetworkFamily` once, and an
/// unknown name is one error naming the file, the name and the families there are.
@Suite struct StoredConfigurationTests {
    @Test func theRecordedFamilyIsReadIntoItsType() throws {
        let path = fixturesRoot.appendingPathComponent("examples/shufflenet_seed001.wcv").path
        let file = try WeightFile(path: path)
        #expect(file.document.architecture?.family == "shufflenet_v1")
        let network = try PretrainedNetwork(file: file, mode: .fast(threads: 1))
        #expect(network.family == .shuffleNetV1)
        // Messages show the name as files spell it.
        #expect("\(network.family)" == "shufflenet_v1")
    }

    /// A precision the machine lacks is refused before anything is built, in one error that names the
    /// file, the precision and what it needs; where the machine has it, the network runs at it.
    @Test func anUnavailablePrecisionIsRefusedNamingTheFile() throws {
        let path = fixturesRoot.appendingPathComponent("examples/shufflenet_seed001.wcv").path
        let file = try WeightFile(path: path)
        guard Precision.bfloat16.isAvailable else {
            #expect {
                _ = try PretrainedNetwork(file: file, mode: .fast(threads: 1, precision: .bfloat16))
            } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("\(path): bf16 precision is not available") && text.contains("AVX512_BF16")
                    && !text.contains("\n")
            }
            return
        }
        let network = try PretrainedNetwork(file: file, mode: .fast(threads: 1, precision: .bfloat16))
        #expect(network.network.executor?.precision == .bfloat16)
    }

    @Test func anUnknownFamilyIsOneErrorNamingFileAndName() throws {
        let architecture = WeightFileDocument.Architecture(family: "vgg", config: .object([]))
        #expect {
            _ = try ConfigurationCoding.configuration(architecture, file: "model.wcv")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("model.wcv: ") && text.contains("'vgg'")
                && text.contains("xception, mobilenet_v2, shufflenet_v1, resnext") && !text.contains("\n")
        }
    }
}
