import TorchCheckpoint
import WeightconvCore
import WeightFormat

/// What a file is: sniffed from its first bytes, and for zip archives from their entry names.
package func detectFileKind(path: String) throws -> FileKind {
    try Checkpoint.detectKind(path: path)
}

/// Opens any file weightconv reads tensors from, chosen by what the file is (not its extension).
///
/// Every kind has its own case so that a new reader is one line here.
///
/// - Parameters:
///   - path: the file: a checkpoint, a `.wcv`, a safetensors file or an `.npz`.
///   - streaming: the caller reads each tensor once (a conversion), so a checkpoint drops the
///     pages of each storage from memory once read, keeping the resident set near one tensor.
package func openTensorStore(path: String, streaming: Bool = false) throws -> any TensorStore {
    let kind = try detectFileKind(path: path)
    switch kind {
    case .torchZipCheckpoint, .legacyCheckpoint, .pickle, .zipArchive:
        // A zip that is not a checkpoint is still handed to the reader: it names a hostile pickle inside.
        let checkpoint = try Checkpoint.open(path: path)
        checkpoint.releasesPagesAfterRead = streaming
        return checkpoint
    case .numpyArchive:
        return try NumpyArchive(path: path)
    case .wcv:
        return try WeightFile(path: path)
    case .safetensors:
        return try SafetensorsFile(path: path)
    case .empty, .torchScriptArchive, .numpyArray, .gitLFSPointer, .html, .gzip, .tar, .sevenZip, .unknown:
        throw Checkpoint.unreadable(kind, path: path)
    }
}
