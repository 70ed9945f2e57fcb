import WeightFormat
import WeightconvCore

/// Opens a `.wcv` or safetensors file by its first bytes, whatever its extension.
///
/// Joins `openTensorStore(path:)` (StoreOpening.swift) as its `.wcv` and safetensors cases.
public func openNativeOrSafetensors(path: String) throws -> any TensorStore {
    let storage = try MappedBytes.map(path: path)
    let bytes = storage.bytes
    if bytes.count >= 8, bytes.prefix(8).elementsEqual(WCVLayout.magic) {
        return try WeightFile(storage: storage, path: path)
    }
    // safetensors: an 8-byte little-endian header length, then the JSON header's '{'.
    if bytes.count >= 9, bytes[8] == UInt8(ascii: "{") {
        return try SafetensorsFile(storage: storage, path: path)
    }
    throw WeightconvError(file: path, problem: "neither a .wcv nor a safetensors file",
                          hint: "PyTorch checkpoints are opened by the checkpoint reader")
}
