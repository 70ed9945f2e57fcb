#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import WeightconvCore

/// The temporary files of writes in progress, so that whoever handles an interrupt (the CLI's
/// SIGINT handler) can delete them. The library installs no signal handler of its own.
package final class TemporaryFileRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var paths = Set<String>()

    package init() {}

    func register(_ path: String) { lock.withLock { _ = paths.insert(path) } }

    /// Runs `create` (an `open` of `path`) and registers `path` if it succeeded, atomically with respect
    /// to `removeAll()`: an interrupt cannot fall between the file appearing and its registration.
    func creating(_ path: String, _ create: () -> Int32) -> Int32 {
        lock.withLock {
            let descriptor = create()
            if descriptor >= 0 { paths.insert(path) }
            return descriptor
        }
    }
    func unregister(_ path: String) { lock.withLock { _ = paths.remove(path) } }

    /// Paths currently being written.
    package var active: [String] { lock.withLock { paths.sorted() } }

    /// Deletes every temporary file still registered. Safe to call from any thread, at any time: a
    /// write that completes concurrently has already renamed its file, so nothing complete is lost.
    package func removeAll() {
        lock.withLock {
            for path in paths { _ = unlink(path) }
            paths.removeAll()
        }
    }
}

/// A file written under a temporary name in the destination's folder and renamed into place only
/// when complete, so the destination is always either its old content or the whole new file.
final class AtomicOutputFile {
    let destination: String
    let temporaryPath: String
    private var descriptor: Int32
    private let registry: TemporaryFileRegistry?

    private init(destination: String, temporaryPath: String, descriptor: Int32, registry: TemporaryFileRegistry?) {
        self.destination = destination
        self.temporaryPath = temporaryPath
        self.descriptor = descriptor
        self.registry = registry
    }

    /// Creates `.NAME.XXXXXX.tmp` beside `destination`. Refuses a destination that is a folder or
    /// the same file (same device and inode, so links and `..` spellings are caught) as an input.
    static func create(destination: String, protecting inputs: [String],
                       registry: TemporaryFileRegistry?) throws(WeightconvError) -> AtomicOutputFile {
        var target = stat()
        if stat(destination, &target) == 0 {
            guard target.st_mode & S_IFMT != S_IFDIR else {
                throw WeightconvError(file: destination, problem: "is a folder", hint: "give a file name with -o")
            }
            for input in inputs {
                var source = stat()
                if stat(input, &source) == 0, source.st_dev == target.st_dev, source.st_ino == target.st_ino {
                    throw WeightconvError(file: destination, problem: "is the input file '\(input)'; refusing to overwrite it",
                                          hint: "write to another path with -o")
                }
            }
        }
        let (folder, name) = split(destination)
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        for _ in 0..<100 {
            let suffix = String((0..<6).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
            let path = (folder.isEmpty ? "" : folder + "/") + ".\(name).\(suffix).tmp"
            let openTemporary = { open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644) }
            let fd = registry?.creating(path, openTemporary) ?? openTemporary()
            if fd >= 0 {
                return AtomicOutputFile(destination: destination, temporaryPath: path, descriptor: fd, registry: registry)
            }
            if errno != EEXIST {
                throw WeightconvError(file: destination,
                                      problem: "cannot create a file in '\(folder.isEmpty ? "." : folder)': \(String(cString: strerror(errno)))",
                                      hint: "choose a writable folder for the output")
            }
        }
        throw WeightconvError(file: destination, problem: "cannot find an unused temporary name in its folder")
    }

    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    private func failure(_ what: String) -> WeightconvError {
        WeightconvError(file: destination, problem: "\(what): \(String(cString: strerror(errno)))",
                        hint: "check free space and permissions of the output folder")
    }

    /// Sets the final size up front: the unwritten gaps read as zero, which is what padding must be.
    func setLength(_ length: Int) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw failure("cannot size the output") }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let written = pwrite(descriptor, bytes.baseAddress.map { $0 + done }, bytes.count - done, off_t(offset + done))
            if written < 0 {
                if errno == EINTR { continue }
                // Tensor bytes are written straight from the input's mapping: when another process
                // truncates the input, pwrite meets the lost pages first and fails with EFAULT
                // (a read of them in this process would be the SIGBUS the CLI reports the same way).
                if errno == EFAULT {
                    throw WeightconvError(file: destination, problem: "cannot write the output: an input file shrank while it was being read",
                                          hint: "another process truncated or replaced it; run again once it is complete")
                }
                throw failure("cannot write the output")
            }
            done += written
        }
        #if os(Linux)
        // Starts the writeback of what was just written (Linux's DONTNEED on dirty pages queues
        // them for writing, as sync_file_range would, which Glibc's module does not export), so
        // the disk works while the next tensors are hashed and the closing fsync waits less:
        // import of a 100 MB checkpoint 213 → 187 ms (median of 10, interleaved). Advice only:
        // its result does not matter.
        _ = posix_fadvise(descriptor, off_t(offset), off_t(bytes.count), POSIX_FADV_DONTNEED)
        #endif
    }

    /// fsync, rename over the destination, fsync the folder so the rename itself is durable.
    func commit() throws {
        guard fsync(descriptor) == 0 else { throw failure("cannot flush the output") }
        close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, destination) == 0 else { throw failure("cannot move the output into place") }
        registry?.unregister(temporaryPath)
        let folder = AtomicOutputFile.split(destination).folder
        let folderDescriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Closes and deletes the temporary file; the destination is left as it was.
    func abandon() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        _ = unlink(temporaryPath)
        registry?.unregister(temporaryPath)
    }

    deinit {
        if descriptor >= 0 { abandon() }
    }
}

/// Writes `bytes` as the whole of `path` atomically: the destination is either untouched or complete,
/// never partial. `inputs` are files the destination must not be.
package func writeFileAtomically(_ bytes: [UInt8], to path: String, protecting inputs: [String] = [],
                                temporaryFiles: TemporaryFileRegistry? = nil) throws {
    let output = try AtomicOutputFile.create(destination: path, protecting: inputs, registry: temporaryFiles)
    do {
        try bytes.withUnsafeBytes { try output.write($0, at: 0) }
        try output.commit()
    } catch {
        output.abandon()
        throw error
    }
}
