import WeightFormat
import WeightconvCore

/// The outcome of `weightconv check`: intact or not, and the one line that says so.
public struct IntegrityReport: Sendable, Equatable {
    public var intact: Bool
    public var line: String
    /// The damaged tensor, when the damage is inside one.
    public var tensor: String?
}

/// Validates a `.wcv` file's header and, unless `headerOnly`, every tensor checksum and padding byte.
public func checkWeightFile(path: String, headerOnly: Bool = false) -> IntegrityReport {
    let storage: MappedFile
    do {
        storage = try MappedFile(path: path)
    } catch {
        return IntegrityReport(intact: false, line: "\(error)", tensor: nil)
    }
    let header: WeightFileHeader
    do {
        header = try WeightFile.validate(storage)
    } catch {
        return IntegrityReport(intact: false, line: "\(error.weightconvError(file: path))", tensor: error.tensor)
    }
    let what = "\(header.entries.count) tensors, \(storage.bytes.count) bytes"
    if headerOnly {
        return IntegrityReport(intact: true, line: "\(path): header intact (\(what); tensor checksums not checked)", tensor: nil)
    }
    do {
        let file = try WeightFile(storage: storage, path: path)
        if let problem = file.verifyChecksums() {
            return IntegrityReport(intact: false, line: "\(problem.weightconvError(file: path))", tensor: problem.tensor)
        }
    } catch {
        return IntegrityReport(intact: false, line: "\(error)", tensor: nil)
    }
    return IntegrityReport(intact: true, line: "\(path): intact (\(what); header and every tensor checksum verified)", tensor: nil)
}
