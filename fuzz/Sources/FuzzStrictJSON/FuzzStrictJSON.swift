import FuzzSupport
import WeightconvCore
import WeightFormat

/// The strict JSON parser, with a round-trip property: whatever it accepts, written back as
/// canonical JSON (`jsonText`, what the writers emit), must parse again to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let value = try? StrictJSON.parse(bytes) else { return 0 }
    let text = Array(value.jsonText.utf8)
    do {
        let again = try StrictJSON.parse(text)
        guard again == value else {
            FuzzSupport.fatalFuzzSetup("round trip changed the value: \(value.jsonText) became \(again.jsonText)")
        }
    } catch {
        FuzzSupport.fatalFuzzSetup("canonical JSON \(value.jsonText.prefix(200)) does not parse: \(error)")
    }
    return 0
}
