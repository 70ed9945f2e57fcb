// The README's "From Swift" example, run by tools/check_downstream.sh on a committed .wcv file.
import Foundation
import WeightconvKit

let path = CommandLine.arguments.dropFirst().first ?? "model.wcv"

do {
    // Prove the conversion: checksums, then the stored PyTorch logits reproduced on this machine.
    let report = try Verifier.run(path: path)
    print("verify: \(report.comparison.summary)")
    guard report.passed else {
        print("error: \(path): the logits do not match the reference stored in the file")
        exit(1)
    }

    // Run it: architecture and configuration come from the file.
    let network = try PretrainedNetwork(contentsOf: path)
    let side = network.preprocessing?.inputSize.last ?? network.defaultInputSize
    let pixels = (0..<side * side * 3).map { UInt8(truncatingIfNeeded: $0 &* 7) }   // any RGB image
    let input = try network.preprocessing?.input(rgb: pixels, width: side, height: side)
        ?? Tensor(shape: [1, 3, side, side], storage: pixels.map { Float($0) / 255 })
    let logits = try network(input)
    let best = logits.storage.indices.max { logits.storage[$0] < logits.storage[$1] } ?? 0
    print("\(network.family): \(logits.shape) logits, top class \(best)")
} catch {
    print("error: \(error)")
    exit(1)
}
