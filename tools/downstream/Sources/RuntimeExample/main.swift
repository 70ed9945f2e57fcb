// An app that only runs converted networks: WeightconvRuntime alone (no checkpoint reader, no libzip).
// Runs the reference input a .wcv file carries and checks the stored logits come back.
import Foundation
import WeightconvRuntime

let path = CommandLine.arguments.dropFirst().first ?? "model.wcv"

do {
    let file = try WeightFile(path: path)
    let network = try PretrainedNetwork(file: file, mode: .fast(threads: 2))
    guard let record = file.document.verification,
          let inputShape = file.descriptor(named: record.inputTensor)?.shape else {
        print("error: \(path): carries no reference input to run")
        exit(1)
    }
    let input = try Tensor(shape: inputShape, storage: file.floats(of: record.inputTensor))
    let expected = try file.floats(of: record.logitsTensor)
    let logits = try network(input)
    let scale = expected.map(abs).max() ?? 0
    let worst = zip(logits.storage, expected).map { abs($0 - $1) }.max() ?? .infinity
    print("\(network.family): \(logits.shape) logits, max |diff| \(worst) against the stored reference (max |logit| \(scale))")
    // The verification rule's bound (see the README): 1e-4 + 1e-4 · max|ref|.
    guard logits.storage.count == expected.count, worst <= 1e-4 + 1e-4 * scale else {
        print("error: \(path): the logits do not match the stored reference")
        exit(1)
    }
} catch {
    print("error: \(error)")
    exit(1)
}
