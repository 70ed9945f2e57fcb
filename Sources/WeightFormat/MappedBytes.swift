#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightconvCore

/// The read-only bytes of a whole file, memory-mapped so that opening costs nothing per byte and
/// tensors can be handed out in place. Immutable once created, hence shareable across threads.
///
/// If another process truncates the file while it is mapped, touching the lost pages raises SIGBUS;
/// that is the price of zero-copy access every mapped format (safetensors, GGUF) pays.
public final class MappedBytes: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    private let release: @Sendable (UnsafeRawBufferPointer) -> Void

    private init(bytes: UnsafeRawBufferPointer, release: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        self.bytes = bytes
        self.release = release
    }

    deinit { release(bytes) }

    /// Maps `path` read-only. Refuses anything that is not a regular file (a FIFO or device could
    /// block or never end).
    public static func map(path: String) throws(WeightconvError) -> MappedBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw WeightconvError(file: path, problem: "cannot open: \(String(cString: strerror(errno)))",
                                  hint: "check the path and permissions")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw WeightconvError(file: path, problem: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw WeightconvError(file: path, problem: "not a regular file", hint: "give the path of a weight file")
        }
        guard let size = Int(exactly: status.st_size), size >= 0 else {
            throw WeightconvError(file: path, problem: "file size \(status.st_size) is not representable")
        }
        if size == 0 {
            return MappedBytes(bytes: UnsafeRawBufferPointer(start: nil, count: 0), release: { _ in })
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw WeightconvError(file: path, problem: "cannot map the file: \(String(cString: strerror(errno)))")
        }
        return MappedBytes(bytes: UnsafeRawBufferPointer(start: address, count: size)) { buffer in
            _ = munmap(UnsafeMutableRawPointer(mutating: buffer.baseAddress), buffer.count)
        }
    }

    /// An in-memory copy, page-aligned like a mapping (for tests and for bytes that never were a file).
    public static func copying(_ source: [UInt8]) -> MappedBytes {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: WCVLayout.pageSize)
        source.withUnsafeBytes { storage.copyMemory(from: $0) }
        return MappedBytes(bytes: UnsafeRawBufferPointer(rebasing: storage[0..<source.count])) { buffer in
            UnsafeMutableRawPointer(mutating: buffer.baseAddress)?.deallocate()
        }
    }
}
