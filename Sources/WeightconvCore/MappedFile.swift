#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only, so tensor bytes are served from the page cache without copying
/// and without loading the file at open. Every reader (checkpoints, zip entries, `.wcv`,
/// safetensors) reads its file through one of these. Immutable once created, hence shareable
/// across threads; unmapped when the last reference goes.
///
/// If another process truncates the file while it is mapped, touching the lost pages raises SIGBUS;
/// that is the price of zero-copy access every mapped format (safetensors, GGUF) pays.
package final class MappedFile: @unchecked Sendable {
    /// The file's path, or the name given to an in-memory copy.
    package let path: String
    /// The whole file (empty for an empty file: mmap refuses length 0).
    package let bytes: UnsafeRawBufferPointer
    /// How the bytes were obtained, hence how they are given back.
    private let origin: Origin

    private enum Origin {
        case mapping, allocation, none
    }

    private init(path: String, bytes: UnsafeRawBufferPointer, origin: Origin) {
        self.path = path
        self.bytes = bytes
        self.origin = origin
    }

    /// Maps `path` read-only. Refuses anything that is not a regular file (a FIFO or device could
    /// block or never end).
    package convenience init(path: String) throws(WeightconvError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw WeightconvError(file: path, problem: "cannot open: \(Self.errnoText())",
                                  hint: "check the path and its permissions")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw WeightconvError(file: path, problem: "cannot stat: \(Self.errnoText())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw WeightconvError(file: path, problem: "not a regular file", hint: "pass the path of a file, not a directory or device")
        }
        guard let size = Int(exactly: info.st_size), size >= 0 else {
            throw WeightconvError(file: path, problem: "file size \(info.st_size) is not representable")
        }
        if size == 0 {
            self.init(path: path, bytes: UnsafeRawBufferPointer(start: nil, count: 0), origin: .none)
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw WeightconvError(file: path, problem: "cannot map \(size) bytes: \(Self.errnoText())")
        }
        self.init(path: path, bytes: UnsafeRawBufferPointer(start: mapped, count: size), origin: .mapping)
    }

    /// An in-memory copy aligned like a mapping (for tests, fuzzing, and bytes that never were a
    /// file). The default alignment is the largest page size in use (16 KiB, Apple silicon).
    package static func copying(_ source: [UInt8], path: String = "memory", alignment: Int = 16_384) -> MappedFile {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: alignment)
        source.withUnsafeBytes { storage.copyMemory(from: $0) }
        return MappedFile(path: path, bytes: UnsafeRawBufferPointer(rebasing: storage[0..<source.count]), origin: .allocation)
    }

    deinit {
        switch origin {
        case .mapping: _ = munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
        case .allocation: UnsafeMutableRawPointer(mutating: bytes.baseAddress)?.deallocate()
        case .none: break
        }
    }

    /// The file's size in bytes.
    package var count: Int { bytes.count }

    /// `count` bytes at `offset`, or `nil` when the range leaves the file (checked, never traps).
    package func slice(offset: Int, count length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, let end = CheckedMath.add(offset, length), end <= count else { return nil }
        if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard let base = bytes.baseAddress else { return nil }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    /// Drops the pages of a range from this process's resident set once it has been read (the
    /// mapping is private and never written, so they are re-read from the file if touched again).
    /// Keeps the memory of a pass over every tensor near one storage rather than the whole file.
    /// Does nothing for an in-memory copy, whose pages would come back as zeros.
    package func releasePages(offset: Int, count length: Int) {
        guard origin == .mapping, let base = bytes.baseAddress, length > 0, offset >= 0, offset <= count - length else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let start = offset / page * page
        let end = (offset + length) / page * page  // whole pages only: neighbours may still be in use
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// ``releasePages(offset:count:)`` for a buffer handed out by ``slice(offset:count:)``; a
    /// buffer that does not lie wholly in the mapping (a copy elsewhere in memory) is left alone.
    package func releasePages(of buffer: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, let start = buffer.baseAddress, start >= base else { return }
        releasePages(offset: start - base, count: buffer.count)
    }

    /// The first `n` bytes (fewer if the file is shorter), for `FileKind.sniff`.
    package func prefix(_ n: Int) -> [UInt8] { Array(bytes.prefix(n)) }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
