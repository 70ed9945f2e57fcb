import Crypto

/// SHA-256 as lowercase hex; the identity of a tensor's bytes across every format weightconv reads.
package enum SHA256Hex {
    package static func digest(_ bytes: UnsafeRawBufferPointer) -> String {
        hex(SHA256.hash(data: bytes))
    }

    package static func digest(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { digest($0) }
    }

    /// Incremental hashing for data that arrives in pieces (a streamed storage, a whole file).
    package struct Hasher {
        private var state = SHA256()
        package init() {}
        package mutating func update(_ bytes: UnsafeRawBufferPointer) { state.update(bufferPointer: bytes) }
        package func finalize() -> String { hex(state.finalize()) }
        package func finalizeBytes() -> [UInt8] { Array(state.finalize()) }
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
