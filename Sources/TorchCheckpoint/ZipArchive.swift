import CZip
import WeightconvCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only zip archive, read through libzip from a memory-mapped file.
///
/// libzip does all the zip parsing. It reads through a source callback that serves the mapping,
/// which also lets the archive learn where a STORED entry's data starts in the file (the position
/// of libzip's read of the entry's first byte), so storages can be served from the mapping
/// without a copy. Deflated entries are inflated by libzip.
package final class ZipArchive {
    /// One member of the archive, as the central directory describes it.
    package struct Entry: Sendable, Equatable {
        package var index: Int
        package var name: String
        /// Uncompressed size (as the archive claims it; reads check it).
        package var size: Int
        package var compressedSize: Int
        /// `true` when the data is stored uncompressed (and can be mapped).
        package var isStored: Bool
        package var isEncrypted: Bool
        /// libzip's compression method number (0 stored, 8 deflate, …).
        package var compressionMethod: Int
    }

    package let file: MappedFile
    package let entries: [Entry]
    private let archive: OpaquePointer
    private let context: SourceContext
    private var entryIndexByName: [String: Int] = [:]

    package var path: String { file.path }

    package init(file: MappedFile) throws(WeightconvError) {
        self.file = file
        let context = SourceContext(file: file)
        self.context = context
        var error = zip_error_t()
        zip_error_init(&error)
        defer { zip_error_fini(&error) }
        guard let source = zip_source_function_create(sourceCallback, Unmanaged.passUnretained(context).toOpaque(), &error) else {
            throw WeightconvError(file: file.path, problem: "libzip cannot create a source: \(Self.text(of: &error))")
        }
        guard let archive = zip_open_from_source(source, ZIP_RDONLY, &error) else {
            zip_source_free(source)
            throw WeightconvError(file: file.path, problem: "not a readable zip archive: \(Self.text(of: &error))",
                                  hint: "the file may be truncated or damaged; download it again")
        }
        self.archive = archive

        let declared = zip_get_num_entries(archive, 0)
        // Every central-directory record takes at least 46 bytes, so a count beyond that is a lie.
        guard declared >= 0, let count = Int(exactly: declared), count <= file.count / 46 + 1 else {
            zip_discard(archive)
            throw WeightconvError(file: file.path, problem: "zip archive declares \(declared) entries, more than the file can hold")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for index in 0..<count {
            var info = zip_stat_t()
            zip_stat_init(&info)
            guard zip_stat_index(archive, UInt64(index), 0, &info) == 0, let namePointer = info.name else {
                let message = String(cString: zip_strerror(archive))
                zip_discard(archive)
                throw WeightconvError(file: file.path, problem: "cannot read zip entry \(index): \(message)")
            }
            guard let size = Int(exactly: info.size), let compressed = Int(exactly: info.comp_size) else {
                zip_discard(archive)
                throw WeightconvError(file: file.path, problem: "zip entry \(index) has a size that does not fit in memory")
            }
            entries.append(Entry(index: index, name: String(cString: namePointer), size: size, compressedSize: compressed,
                                 isStored: info.comp_method == UInt16(ZIP_CM_STORE),
                                 isEncrypted: info.encryption_method != UInt16(ZIP_EM_NONE),
                                 compressionMethod: Int(info.comp_method)))
        }
        self.entries = entries
        for entry in entries where entryIndexByName[entry.name] == nil { entryIndexByName[entry.name] = entry.index }
    }

    deinit { zip_discard(archive) }

    package func entry(named name: String) -> Entry? {
        entryIndexByName[name].map { entries[$0] }
    }

    /// Reads an entry whole (inflating it if needed). `limit` bounds the allocation: the size comes
    /// from the archive, so it is checked before anything is allocated.
    package func read(_ entry: Entry, limit: Int) throws(WeightconvError) -> [UInt8] {
        try checkReadable(entry)
        guard entry.size <= limit else {
            throw WeightconvError(file: path, problem: "zip entry '\(entry.name)' is \(entry.size) bytes, over the \(limit)-byte limit for it")
        }
        var bytes = [UInt8](repeating: 0, count: entry.size)
        var got = 0
        var failure: WeightconvError?
        bytes.withUnsafeMutableBytes { buffer in
            do throws(WeightconvError) { got = try readData(entry, into: buffer, at: 0) } catch { failure = error }
        }
        if let failure { throw failure }
        guard got == entry.size else {
            throw WeightconvError(file: path, problem: "zip entry '\(entry.name)' holds \(got) bytes, not the \(entry.size) its header claims",
                                  hint: "the file is truncated or damaged")
        }
        return bytes
    }

    /// Reads `buffer.count` bytes of an entry starting at uncompressed `offset`; returns the bytes read.
    package func readData(_ entry: Entry, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(WeightconvError) -> Int {
        try checkReadable(entry)
        guard let handle = zip_fopen_index(archive, UInt64(entry.index), 0) else {
            throw WeightconvError(file: path, problem: "cannot open zip entry '\(entry.name)': \(String(cString: zip_strerror(archive)))")
        }
        defer { zip_fclose(handle) }
        if offset > 0 {
            if entry.isStored {
                guard zip_fseek(handle, Int64(offset), SEEK_SET) == 0 else {
                    throw WeightconvError(file: path, problem: "cannot seek in zip entry '\(entry.name)': \(String(cString: zip_file_strerror(handle)))")
                }
            } else {
                // Deflate cannot seek: inflate and drop the bytes before `offset`.
                var skip = offset
                var scratch = [UInt8](repeating: 0, count: min(offset, 1 << 20))
                while skip > 0 {
                    let want = min(skip, scratch.count)
                    let got = scratch.withUnsafeMutableBytes { zip_fread(handle, $0.baseAddress, UInt64(want)) }
                    guard got > 0 else {
                        throw WeightconvError(file: path, problem: "zip entry '\(entry.name)' ends before byte \(offset)")
                    }
                    skip -= Int(got)
                }
            }
        }
        var total = 0
        while total < buffer.count {
            guard let start = buffer.baseAddress else { break }
            let got = zip_fread(handle, start + total, UInt64(buffer.count - total))
            if got < 0 {
                throw WeightconvError(file: path, problem: "cannot read zip entry '\(entry.name)': \(String(cString: zip_file_strerror(handle)))",
                                      hint: "the file is truncated or damaged")
            }
            if got == 0 { break }
            total += Int(got)
        }
        return total
    }

    /// Where a STORED entry's bytes start in the file, so they can be served from the mapping.
    ///
    /// Found by letting libzip read the entry's first byte and noting where in the file that read
    /// landed; the result is then checked (range inside the file, first bytes equal to what libzip
    /// returns). `nil` when the entry is not stored or the check fails; callers then read through
    /// libzip instead.
    package func storedDataOffset(of entry: Entry) -> Int? {
        guard entry.isStored, !entry.isEncrypted, entry.size == entry.compressedSize else { return nil }
        if entry.size == 0 { return 0 }
        guard let handle = zip_fopen_index(archive, UInt64(entry.index), 0) else { return nil }
        defer { zip_fclose(handle) }
        var probe = [UInt8](repeating: 0, count: min(entry.size, 16))
        context.lastReadStart = nil
        context.recording = true
        // One byte: libzip's read of the data then starts exactly at the data offset.
        let got = probe.withUnsafeMutableBytes { zip_fread(handle, $0.baseAddress, 1) }
        context.recording = false
        guard got == 1, let offset = context.lastReadStart,
              let mapped = file.slice(offset: offset, count: entry.size) else { return nil }
        let rest = probe.count - 1
        if rest > 0 {
            let more = probe.withUnsafeMutableBytes { zip_fread(handle, $0.baseAddress.map { $0 + 1 }, UInt64(rest)) }
            guard more == rest else { return nil }
        }
        guard probe.elementsEqual(mapped.prefix(probe.count)) else { return nil }
        return offset
    }

    private func checkReadable(_ entry: Entry) throws(WeightconvError) {
        if entry.isEncrypted {
            throw WeightconvError(file: path, problem: "zip entry '\(entry.name)' is encrypted", hint: "torch never encrypts checkpoints; this is not one")
        }
        // Reads allocate the claimed size up front, so a claim must first fit the file: a stored entry
        // holds its bytes in it, a compressed one at least its compressed bytes.
        if entry.compressedSize > file.count || (entry.isStored && entry.size > file.count) {
            throw WeightconvError(file: path, problem: "zip entry '\(entry.name)' claims \(max(entry.size, entry.compressedSize)) bytes in a \(file.count)-byte file",
                                  hint: "the file is truncated, damaged or hostile")
        }
        // Deflate expands at most ~1032:1; a larger claim is a zip bomb or a corrupt header.
        if !entry.isStored, let bound = CheckedMath.multiply(entry.compressedSize, 1040), entry.size > bound + 1024 {
            throw WeightconvError(file: path, problem: "zip entry '\(entry.name)' claims \(entry.size) bytes from \(entry.compressedSize) compressed",
                                  hint: "no deflate stream expands that much; the file is damaged or hostile")
        }
    }

    private static func text(of error: inout zip_error_t) -> String {
        String(cString: zip_error_strerror(&error))
    }
}

/// State behind libzip's source callback: the mapping and the read position.
private final class SourceContext {
    let file: MappedFile
    var position = 0
    var recording = false
    var lastReadStart: Int?
    var error = zip_error_t()

    init(file: MappedFile) {
        self.file = file
        zip_error_init(&error)
    }

    deinit { zip_error_fini(&error) }
}

private func commandBit(_ command: zip_source_cmd_t) -> Int64 { Int64(1) << Int64(command.rawValue) }

/// libzip's source protocol over the mapping: open/read/seek/tell/stat, nothing writable.
private let sourceCallback: zip_source_callback = { userdata, data, length, command in
    guard let userdata else { return -1 }
    let context = Unmanaged<SourceContext>.fromOpaque(userdata).takeUnretainedValue()
    switch command {
    case ZIP_SOURCE_OPEN:
        context.position = 0
        return 0
    case ZIP_SOURCE_READ:
        guard let data else { return -1 }
        let available = max(0, context.file.count - context.position)
        let count = Int(min(UInt64(available), length))
        if count > 0, let from = context.file.slice(offset: context.position, count: count), let source = from.baseAddress {
            data.copyMemory(from: source, byteCount: count)
            if context.recording { context.lastReadStart = context.position }
        }
        context.position += count
        return Int64(count)
    case ZIP_SOURCE_CLOSE, ZIP_SOURCE_FREE:
        return 0
    case ZIP_SOURCE_STAT:
        guard let data, length >= UInt64(MemoryLayout<zip_stat_t>.size) else { return -1 }
        let stat = data.assumingMemoryBound(to: zip_stat_t.self)
        zip_stat_init(stat)
        stat.pointee.size = UInt64(context.file.count)
        stat.pointee.valid |= UInt64(ZIP_STAT_SIZE)
        return Int64(MemoryLayout<zip_stat_t>.size)
    case ZIP_SOURCE_ERROR:
        guard let data else { return -1 }
        return zip_error_to_data(&context.error, data, length)
    case ZIP_SOURCE_SEEK:
        guard let data else { return -1 }
        let target = zip_source_seek_compute_offset(UInt64(context.position), UInt64(context.file.count), data, length, &context.error)
        guard target >= 0 else { return -1 }
        context.position = Int(target)
        return 0
    case ZIP_SOURCE_TELL:
        return Int64(context.position)
    case ZIP_SOURCE_SUPPORTS:
        return [ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS].reduce(0) { $0 | commandBit($1) }
    default:
        zip_error_set(&context.error, ZIP_ER_OPNOTSUPP, 0)
        return -1
    }
}
