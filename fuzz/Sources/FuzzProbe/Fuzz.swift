import WeightconvKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = try? RenameRule(#"^a\.(\d+)\."#, "b.{t[$1]}.").pattern
    _ = bytes.count
    return 0
}
