import Foundation

/// A fresh folder under the system temporary folder for one test, deleted by `remove()`.
public struct ScratchFolder: Sendable {
    public let path: String

    /// `prefix` starts the folder's name, so a folder left behind by a crash says which tests made it.
    public init(prefix: String = "weightconv-tests") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    public var url: URL { URL(fileURLWithPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` in the folder and returns its path.
    @discardableResult
    public func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let target = file(name)
        try writeBytes(bytes, to: target)
        return target
    }

    /// Every entry of the folder, hidden temporaries included.
    public func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    /// The `*.tmp` files a writer left in the folder.
    public var temporaries: [String] { ((try? listing()) ?? []).filter { $0.hasSuffix(".tmp") } }

    /// Deletes the folder, also after a test made it read-only.
    public func remove() {
        _ = chmod(path, 0o755)
        try? FileManager.default.removeItem(atPath: path)
    }
}

public func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

public func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
