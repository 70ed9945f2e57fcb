#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TorchCheckpoint
import WeightconvCore

/// What every fuzz target needs besides its reader.
///
/// A reader that throws has done its job; the fuzzer is looking for traps, sanitizer reports, leaks
/// and hangs, so failures are swallowed here and everything a successful open hands out (every
/// tensor's bytes, the float view, the metadata) is touched, not only the header.
package enum FuzzSupport {
    /// A scratch file per process for readers that open paths. tmpfs when there is one: the file is
    /// rewritten for every input, so a disk would only slow the fuzzer down.
    package static let scratchPath: String = {
        let folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        return "\(folder)/weightconv-fuzz-\(getpid()).bin"
    }()

    /// The limits the checkpoint targets (FuzzPickle, FuzzTorchZip, FuzzLegacy) open files with: a
    /// tenth of the standard visit and metadata limits. The code paths are the same, but an input
    /// that fans out to a million shared values (FuzzLegacy and FuzzPickle each found one) costs
    /// ~0.1 s under ASan instead of 1–2 s; with the standard limits the corpus filled with such
    /// inputs and FuzzLegacy fell to 90 executions a second. The standard limits' cost is
    /// covered by those reproducers in fixtures/fuzz, which the tests run through the CLI.
    package static let pickleLimits = PickleLimits(maxVisitedValues: 100_000, maxMetadataBytes: 400 << 10)

    /// Replaces the scratch file's content with `bytes`; returns its path.
    package static func writeScratch(_ bytes: UnsafeRawBufferPointer) -> String {
        let path = scratchPath
        let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalFuzzSetup("cannot create \(path)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { break }
            let written = write(fd, base + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                fatalFuzzSetup("cannot write \(path)")
            }
            done += written
        }
        return path
    }

    package static func writeScratch(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { writeScratch($0) }
    }

    /// Reads every tensor of `store` through the public API: the contiguous bytes (folded into a
    /// checksum the optimiser cannot drop), the SHA-256 `inspect` prints, the float widening for
    /// floating-point tensors, and the metadata as JSON.
    @discardableResult
    package static func touchEverything(_ store: some TensorStore) -> UInt64 {
        var fold: UInt64 = 0
        for descriptor in store.tensors {
            do {
                try store.withContiguousBytes(of: descriptor.name) { bytes in
                    // A reader that hands out a buffer of the wrong size is a finding: stop here.
                    guard bytes.count == descriptor.byteCount ?? -1 else {
                        fatalFuzzSetup("\(descriptor.name): reader handed out \(bytes.count) bytes for a tensor of \(descriptor.byteCount ?? -1)")
                    }
                    for byte in bytes { fold = fold &* 31 &+ UInt64(byte) }
                }
                fold &+= UInt64(truncatingIfNeeded: try store.sha256(of: descriptor.name).utf8.count)
                if descriptor.dtype.isFloatingPoint {
                    fold &+= UInt64(try store.floats(of: descriptor.name).count)
                }
            } catch {
                fold &+= 1
            }
        }
        fold &+= UInt64(store.metadata.jsonText.utf8.count)
        return fold
    }

    /// A harness bug, not a finding: stop loudly.
    package static func fatalFuzzSetup(_ message: String) -> Never {
        let line = Array("fuzz harness: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

/// Writes a zip archive of STORED entries, which is what `torch.save` writes. Used to put a fuzzed
/// pickle inside a well-formed checkpoint, so the mutations land in the pickle machine instead of
/// failing the zip's CRC.
package struct StoredZipWriter {
    private var bytes: [UInt8] = []
    private var central: [UInt8] = []
    private var count = 0

    package init() {}

    package mutating func add(_ name: String, _ data: UnsafeRawBufferPointer) {
        add(name, data, crc: CRC32.checksum(data))
    }

    /// With the CRC-32 given, for constant entries whose checksum is computed once.
    package mutating func add(_ name: String, _ data: UnsafeRawBufferPointer, crc: UInt32) {
        let nameBytes = Array(name.utf8)
        let offset = UInt32(truncatingIfNeeded: bytes.count)
        let size = UInt32(truncatingIfNeeded: data.count)
        // Local file header (version 2.0, no flags, stored, no time).
        append(&bytes, UInt32(0x0403_4B50)); append(&bytes, UInt16(20)); append(&bytes, UInt16(0)); append(&bytes, UInt16(0))
        append(&bytes, UInt16(0)); append(&bytes, UInt16(0)); append(&bytes, crc); append(&bytes, size); append(&bytes, size)
        append(&bytes, UInt16(nameBytes.count)); append(&bytes, UInt16(0))
        bytes += nameBytes
        bytes += data
        // Central directory record.
        append(&central, UInt32(0x0201_4B50)); append(&central, UInt16(20)); append(&central, UInt16(20))
        append(&central, UInt16(0)); append(&central, UInt16(0)); append(&central, UInt16(0)); append(&central, UInt16(0))
        append(&central, crc); append(&central, size); append(&central, size)
        append(&central, UInt16(nameBytes.count)); append(&central, UInt16(0)); append(&central, UInt16(0))
        append(&central, UInt16(0)); append(&central, UInt16(0)); append(&central, UInt32(0)); append(&central, offset)
        central += nameBytes
        count += 1
    }

    package mutating func add(_ name: String, _ data: [UInt8]) {
        data.withUnsafeBytes { add(name, $0) }
    }

    package func finish() -> [UInt8] {
        var out = bytes + central
        append(&out, UInt32(0x0605_4B50)); append(&out, UInt16(0)); append(&out, UInt16(0))
        append(&out, UInt16(count)); append(&out, UInt16(count))
        append(&out, UInt32(central.count)); append(&out, UInt32(bytes.count)); append(&out, UInt16(0))
        return out
    }

    private func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}

/// The zip CRC-32 (reflected polynomial 0xEDB88320).
package enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var c = UInt32(index)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    package static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
