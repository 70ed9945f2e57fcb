#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightconvCore

/// A whole file mapped read-only, so tensor bytes are served from the page cache without copying
/// and without loading the file at open.
///
/// Shared by every view of the file (zip source, storages) and unmapped when the last one goes.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// Start of the mapping; `nil` for an empty file (mmap refuses length 0).
    let base: UnsafeRawPointer?
    public let count: Int

    public init(path: String) throws(WeightconvError) {
        self.path = path
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
            throw WeightconvError(file: path, problem: "not a regular file", hint: "pass a checkpoint file, not a directory or device")
        }
        guard let size = Int(exactly: info.st_size), size >= 0 else {
            throw WeightconvError(file: path, problem: "file size \(info.st_size) is not representable")
        }
        count = size
        if size == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw WeightconvError(file: path, problem: "cannot map \(size) bytes: \(Self.errnoText())")
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The whole file as a buffer (empty for an empty file).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : count) }

    /// `count` bytes at `offset`, or `nil` when the range leaves the file (checked, never traps).
    public func slice(offset: Int, count length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, let end = CheckedMath.add(offset, length), end <= count else { return nil }
        if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard let base else { return nil }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    /// Drops the pages of a range from this process's resident set once it has been read (the
    /// mapping is private and never written, so they are re-read from the file if touched again).
    /// Keeps the memory of a pass over every tensor near one storage rather than the whole file.
    public func releasePages(offset: Int, count length: Int) {
        guard let base, length > 0, offset >= 0, offset <= count - length else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let start = offset / page * page
        let end = (offset + length) / page * page  // whole pages only: neighbours may still be in use
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// ``releasePages(offset:count:)`` for a buffer handed out by ``slice(offset:count:)``; a
    /// buffer that does not lie wholly in the mapping (a copy elsewhere in memory) is left alone.
    public func releasePages(of buffer: UnsafeRawBufferPointer) {
        guard let base, let start = buffer.baseAddress, start >= base else { return }
        releasePages(offset: start - base, count: buffer.count)
    }

    /// The first `n` bytes (fewer if the file is shorter), for `FileKind.sniff`.
    public func prefix(_ n: Int) -> [UInt8] { Array(bytes.prefix(n)) }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
