import Foundation

/// The package root: the folder above this file's `Tests/` that holds Package.swift.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while url.path != "/" {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path),
           FileManager.default.fileExists(atPath: url.appendingPathComponent("Sources").path) {
            return url.path
        }
        url.deleteLastPathComponent()
    }
    return FileManager.default.currentDirectoryPath
}()

/// The command-line binary `swift build --build-tests` built next to the tests.
let weightconvBinary = packageRoot + "/.build/debug/weightconv"

/// A running `weightconv` (possibly behind a launcher such as `setpriv` or `prlimit`) whose
/// output is collected while it runs.
final class Child: @unchecked Sendable {
    let process = Process()
    private let out = Pipe(), err = Pipe()
    private let group = DispatchGroup()
    private var outData = Data(), errData = Data()

    /// `launcher` comes first (`["/usr/bin/prlimit", "--fsize=65536", "--"]`), then the binary and `arguments`.
    init(_ arguments: [String], launcher: [String] = []) throws {
        let command = launcher + [weightconvBinary] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        group.enter()
        DispatchQueue.global().async { [self] in outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { [self] in errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    }

    var pid: pid_t { process.processIdentifier }

    /// Waits for the exit (at most `timeout` seconds, then the child is killed and this throws).
    func finish(timeout: TimeInterval = 120) throws -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            throw ChildTimedOut()
        }
        process.waitUntilExit()
        group.wait()
        return Outcome(status: process.terminationStatus, killedBySignal: process.terminationReason == .uncaughtSignal,
                       stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    static func run(_ arguments: [String], launcher: [String] = []) throws -> Outcome {
        try Child(arguments, launcher: launcher).finish()
    }
}

struct ChildTimedOut: Error {}

struct Outcome {
    var status: Int32
    var killedBySignal: Bool
    var stdout: String
    var stderr: String

    var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
}

/// A folder for one test: an input, an existing output, and whatever the child leaves behind.
struct Workspace {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("fault-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Names in the folder, hidden temporaries included.
    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    var temporaries: [String] { ((try? listing()) ?? []).filter { $0.hasSuffix(".tmp") } }

    func remove() {
        _ = chmod(path, 0o755)
        try? FileManager.default.removeItem(atPath: path)
    }
}

func bytes(of path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// A safetensors file of `tensorCount` F32 tensors of 1 Mi elements each (4 MiB), written by hand:
/// 8-byte header length, the JSON header, then the data. Every value is distinct, so a partial copy
/// could never be mistaken for the whole.
func writeBigSafetensors(to path: String, tensorCount: Int = 12) throws {
    let elements = 1 << 20
    var entries: [String] = []
    for index in 0..<tensorCount {
        let begin = index * elements * 4
        entries.append("\"t\(index)\":{\"dtype\":\"F32\",\"shape\":[1024,1024],\"data_offsets\":[\(begin),\(begin + elements * 4)]}")
    }
    var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    guard let handle = FileHandle(forWritingAtPath: path) ?? {
        FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }() else { throw CocoaError(.fileWriteUnknown) }
    defer { try? handle.close() }
    var length = UInt64(header.count).littleEndian
    try handle.write(contentsOf: Data(bytes: &length, count: 8) + Data(header))
    var block = [Float](repeating: 0, count: elements)
    for index in 0..<tensorCount {
        for i in block.indices { block[i] = Float(index * elements + i) }
        try handle.write(contentsOf: block.withUnsafeBytes { Data($0) })
    }
}

/// The one big input all the tests read from, kept under `.build/` (never in the system temporary
/// folder, where every run would leave 48 MiB) and written only when missing. Never modified:
/// the truncation test works on a copy.
let sharedBigInput: Result<String, Error> = Result {
    let folder = packageRoot + "/.build/fault-injection"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    let path = folder + "/big.safetensors"
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    if size != bigInputSize {
        try? FileManager.default.removeItem(atPath: path)
        try writeBigSafetensors(to: path)
    }
    return path
}

/// 12 tensors of 4 MiB plus the header (its length is fixed by the tensor names and offsets).
let bigInputSize = 50_332_560
