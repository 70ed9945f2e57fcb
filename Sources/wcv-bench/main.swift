// Benchmark of opening .wcv and safetensors files: header validation only (what every open does)
// against reading every tensor byte, and the full checksum pass. Run in release:
//   swift build -c release --product wcv-bench && .build/release/wcv-bench FILE.wcv [FILE.safetensors]
import Dispatch
import Foundation
import WeightFormat
import WeightconvCore

func milliseconds(_ iterations: Int, _ body: () throws -> Void) rethrows -> (median: Double, min: Double) {
    var samples: [Double] = []
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    samples.sort()
    return (samples[samples.count / 2], samples[0])
}

/// Touches every byte of every tensor (a checksum-free full read), so the cost of data is measured, not skipped.
func readAll(_ store: any TensorStore) throws -> UInt64 {
    var sum: UInt64 = 0
    for tensor in store.tensors {
        try store.withContiguousBytes(of: tensor.name) { buffer in
            var index = 0
            while index + 8 <= buffer.count {
                sum &+= buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
        }
    }
    return sum
}

let arguments = CommandLine.arguments.dropFirst()
guard let wcvPath = arguments.first else {
    FileHandle.standardError.write(Data("usage: wcv-bench FILE.wcv [FILE.safetensors]\n".utf8))
    exit(2)
}
do {
    let size = try FileManager.default.attributesOfItem(atPath: wcvPath)[.size] as? Int ?? 0
    let probe = try WeightFile(path: wcvPath)
    print("file: \(wcvPath) (\(size) bytes, \(probe.tensors.count) tensors, header \(probe.header.headerLength) bytes)")
    print("| operation | median ms | min ms |")
    print("|---|---|---|")
    let open = try milliseconds(200) { _ = try WeightFile(path: wcvPath) }
    print("| .wcv open + validate header | \(String(format: "%.3f", open.median)) | \(String(format: "%.3f", open.min)) |")
    var sink: UInt64 = 0
    let full = try milliseconds(10) { sink &+= try readAll(try WeightFile(path: wcvPath)) }
    print("| .wcv open + read every tensor byte | \(String(format: "%.1f", full.median)) | \(String(format: "%.1f", full.min)) |")
    let verify = try milliseconds(5) { _ = try WeightFile(path: wcvPath).verifyChecksums() }
    print("| .wcv open + verify every SHA-256 (check) | \(String(format: "%.1f", verify.median)) | \(String(format: "%.1f", verify.min)) |")
    if let safetensorsPath = arguments.dropFirst().first {
        let stOpen = try milliseconds(200) { _ = try SafetensorsFile(path: safetensorsPath) }
        print("| safetensors open + validate header | \(String(format: "%.3f", stOpen.median)) | \(String(format: "%.3f", stOpen.min)) |")
        let stFull = try milliseconds(10) { sink &+= try readAll(try SafetensorsFile(path: safetensorsPath)) }
        print("| safetensors open + read every tensor byte | \(String(format: "%.1f", stFull.median)) | \(String(format: "%.1f", stFull.min)) |")
    }
    if sink == 42 { print("") }  // keeps the reads from being optimised away
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
