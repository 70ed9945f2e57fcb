#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization
import WeightFormat
import WeightconvCore

/// The program and version recorded in every file weightconv writes.
public enum ConverterIdentity {
    public static let version = "0.1.0"
    public static let name = "weightconv \(version)"
}

/// What a conversion wrote, for the CLI to print.
package struct ConversionReport: Sendable, Equatable {
    package var output: String
    package var tensorCount: Int
    package var fileSize: Int
    /// Tensors whose dtype changed.
    package var convertedCount: Int
}

extension WeightFileWriter {
    /// Writes `document` with the provenance of `source` (its name, size and SHA-256, and
    /// `transforms`), the source being hashed on another thread from now on.
    func write(_ tensors: [PendingTensor], document: WeightFileDocument, provenanceOf source: String, transforms: [String],
               to path: String) throws -> Summary {
        let identity = try ConcurrentSourceIdentity(path: source)
        defer { identity.cancel() }
        return try write(tensors, document: document, provenance: identity, transforms: transforms, to: path)
    }

    /// Writes `document` with the provenance `identity` is computing; the header receives the hash
    /// once it and the tensors are done.
    func write(_ tensors: [PendingTensor], document: WeightFileDocument, provenance identity: ConcurrentSourceIdentity,
               transforms: [String], to path: String) throws -> Summary {
        var document = document
        document.provenance = identity.placeholder(transforms: transforms)
        return try write(tensors, document: document, to: path) {
            document.provenance = try identity.finish(transforms: transforms)
            return document
        }
    }
}

/// The source's identity, hashed on another thread from the moment it is made (on two cores the
/// 100 MB pass then overlaps the parsing, checking and writing instead of adding to them). Until
/// it is known, the provenance holds the size from `stat` and 64 zeros where the hash goes, which
/// keeps the document's length. A conversion refused before it writes calls ``cancel()``, and
/// the hashing stops at its next megabyte.
final class ConcurrentSourceIdentity: @unchecked Sendable {
    let path: String
    let statSize: Int
    private let done = DispatchGroup()
    private let cancelled = Atomic<Bool>(false)
    // Written once on the hashing thread before `done.leave()`, read only after `done.wait()`.
    private var result: Result<SourceIdentity, any Error>?

    init(path: String) throws {
        self.path = path
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw WeightconvError(file: path, problem: "cannot be examined: \(String(cString: strerror(errno)))")
        }
        statSize = Int(status.st_size)
        done.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result { try SourceIdentity(path: path, until: { self.cancelled.load(ordering: .relaxed) }) }
            done.leave()
        }
    }

    /// Stops the hashing at its next megabyte (nothing is waiting for it any more).
    func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Provenance with the size known now and the hash to come.
    func placeholder(transforms: [String]) -> WeightFileDocument.Provenance {
        .init(sourceName: SourceIdentity.name(of: path), sourceSize: statSize, sourceSHA256: String(repeating: "0", count: 64),
              converter: ConverterIdentity.name, transforms: transforms)
    }

    /// Waits for the hash; refuses a source that changed size while it was converted.
    func finish(transforms: [String]) throws -> WeightFileDocument.Provenance {
        done.wait()
        guard let result else { throw WeightconvError(file: path, problem: "its SHA-256 was not computed") }
        let identity = try result.get()
        guard identity.size == statSize else {
            throw WeightconvError(file: path, problem: "changed size while it was converted (\(statSize) bytes, then \(identity.size))",
                                  hint: "convert a file nothing else is writing")
        }
        return .init(sourceName: identity.name, sourceSize: identity.size, sourceSHA256: identity.sha256,
                     converter: ConverterIdentity.name, transforms: transforms)
    }
}

/// The name, size and SHA-256 of a source file, for provenance.
package struct SourceIdentity: Sendable, Equatable {
    package var name: String
    package var size: Int
    package var sha256: String

    /// Hashes the file in 1 MiB reads into one reused buffer, so the pass over a large checkpoint
    /// costs a megabyte of memory, not the file's size in resident pages.
    ///
    /// `until` is asked before each read; when it answers true the hashing stops with an error.
    package init(path: String, until cancelled: () -> Bool = { false }) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw WeightconvError(file: path, problem: "cannot be opened to compute its SHA-256: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var hasher = SHA256Hex.Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            if cancelled() { throw WeightconvError(file: path, problem: "computing its SHA-256 was cancelled") }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw WeightconvError(file: path, problem: "read failed while computing its SHA-256: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            total += count
        }
        name = Self.name(of: path)
        size = total
        sha256 = hasher.finalize()
    }

    static func name(of path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
}

/// The architecture-free conversion: every tensor of any checkpoint stored under its own name, so
/// the format serves checkpoints of any network, and `inspect` lists the same tensors with the
/// same SHA-256 on both sides (unless a dtype change was asked for).
package enum GenericConversion {
    /// The tensors of `source`, with floating-point ones stored as `dtype` when given.
    package static func pendingTensors(of source: any TensorStore, dtype: DType?) throws -> (tensors: [PendingTensor], converted: Int) {
        var converted = 0
        let tensors = try source.tensors.map { descriptor -> PendingTensor in
            let target = descriptor.dtype.isFloatingPoint ? dtype : nil
            if let target, target != descriptor.dtype { converted += 1 }
            return try PendingTensor.from(source, name: descriptor.name, dtype: target)
        }
        return (tensors, converted)
    }

    /// Writes `source` (read from `sourcePath`) to `output` as `.wcv`, or as safetensors when
    /// `output` ends in `.safetensors`. Refuses to overwrite `sourcePath`.
    package static func convert(_ source: any TensorStore, sourcePath: String, to output: String, dtype: DType? = nil,
                               temporaryFiles: TemporaryFileRegistry? = nil) throws -> ConversionReport {
        if let dtype, !dtype.isFloatingPoint || dtype == .f64 {
            throw WeightconvError(file: output, problem: "cannot store weights as \(dtype.rawValue)", hint: "use --dtype f32, f16 or bf16")
        }
        let (tensors, converted) = try pendingTensors(of: source, dtype: dtype)
        if output.hasSuffix(".safetensors") {
            let size = try SafetensorsWriter(protectedPaths: [sourcePath], temporaryFiles: temporaryFiles)
                .write(tensors, metadata: exportMetadata(of: source), to: output)
            return ConversionReport(output: output, tensorCount: tensors.count, fileSize: size, convertedCount: converted)
        }
        var transforms = ["generic import: every tensor stored under its own name"]
        if let dtype, converted > 0 { transforms.append("floating-point tensors stored as \(dtype.rawValue)") }
        let metadata: MetadataValue
        if case .object = source.metadata { metadata = source.metadata } else { metadata = .object([("source", source.metadata)]) }
        let document = WeightFileDocument(
            originalKeys: Dictionary(source.tensors.map { ($0.name, $0.name) }, uniquingKeysWith: { first, _ in first }),
            metadata: metadata)
        let summary = try WeightFileWriter(protectedPaths: [sourcePath], temporaryFiles: temporaryFiles)
            .write(tensors, document: document, provenanceOf: sourcePath, transforms: transforms, to: output)
        return ConversionReport(output: output, tensorCount: tensors.count, fileSize: summary.fileSize, convertedCount: converted)
    }

    /// `__metadata__` for a safetensors export: `format: pt` (what loaders expect), the user
    /// metadata (strings as they are, other values as JSON), and a `.wcv` source's whole document.
    static func exportMetadata(of source: any TensorStore) -> [(key: String, value: String)] {
        var entries: [(key: String, value: String)] = [("format", "pt")]
        if case .object(let fields) = source.metadata {
            for (key, value) in fields where key != "format" {
                if case .string(let text) = value { entries.append((key, text)) } else { entries.append((key, value.jsonText)) }
            }
        }
        if let file = source as? WeightFile {
            entries.append(("weightconv.document",
                            String(decoding: file.document.canonicalJSON(tableOrder: file.tensors.map(\.name)), as: UTF8.self)))
        }
        return entries
    }
}
