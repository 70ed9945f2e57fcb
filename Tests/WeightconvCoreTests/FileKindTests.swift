import Testing
import WeightconvCore

@Suite struct FileKindTests {
    @Test func aSafetensorsHeaderOf896BytesIsNotTakenForAProtocol3Pickle() {
        // 896 = 0x380, little-endian `80 03 00 00 00 00 00 00`: the first two bytes are PROTO 3.
        let prefix: [UInt8] = [0x80, 0x03, 0, 0, 0, 0, 0, 0] + Array(#"{"__metadata__":{}}"#.utf8)
        #expect(FileKind.sniff(prefix) == .safetensors)
    }

    @Test func aProtocol3PickleIsStillAPickle() {
        // `pickle.dumps({}, protocol=3)` = 80 03 7d 71 00 2e
        #expect(FileKind.sniff([0x80, 0x03, 0x7D, 0x71, 0x00, 0x2E]) == .pickle)
    }
}
