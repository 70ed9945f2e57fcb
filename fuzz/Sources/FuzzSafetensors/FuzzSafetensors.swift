import FuzzSupport
import WeightconvCore
import WeightFormat

/// The safetensors reader (header length, strict JSON, entries, contiguity), then every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let storage = MappedFile.copying(Array(UnsafeRawBufferPointer(start: data, count: size)))
    if let file = try? SafetensorsFile(storage: storage, path: "fuzz.safetensors") {
        FuzzSupport.touchEverything(file)
    }
    return 0
}
