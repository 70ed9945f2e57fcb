import Foundation

/// What a run of the command line left behind.
public struct CLIResult: Sendable {
    public var status: Int32
    /// Set when the child died of a signal instead of exiting.
    public var signal: Int32?
    public var stdout: String
    public var stderr: String

    public var killedBySignal: Bool { signal != nil }
    public var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
}

/// A run of the command line that did not finish in time (it was killed).
public struct TimedOut: Error, CustomStringConvertible {
    public var arguments: [String]
    public init(arguments: [String]) { self.arguments = arguments }
    public var description: String { "weightconv \(arguments.joined(separator: " ")) did not finish" }
}

/// A running `weightconv` (possibly behind a launcher such as `setpriv` or `prlimit`) whose
/// output is collected while it runs, so a full pipe never blocks it.
public final class Child: @unchecked Sendable {
    public let process = Process()
    public let arguments: [String]
    private let out = Pipe(), err = Pipe()
    private let group = DispatchGroup()
    private let collected = Collected()

    /// `launcher` comes first (`["/usr/bin/prlimit", "--fsize=65536", "--"]`), then the binary and `arguments`.
    public init(_ arguments: [String], launcher: [String] = []) throws {
        self.arguments = arguments
        let command = launcher + [weightconvBinary] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let (collected, out, err) = (collected, out, err)
        group.enter()
        DispatchQueue.global().async { [group] in collected.set(out: out.fileHandleForReading.readDataToEndOfFile()); group.leave() }
        group.enter()
        DispatchQueue.global().async { [group] in collected.set(err: err.fileHandleForReading.readDataToEndOfFile()); group.leave() }
    }

    public var pid: pid_t { process.processIdentifier }

    /// Waits for the exit (at most `timeout` seconds, then the child is killed and this throws ``TimedOut``).
    public func finish(timeout: TimeInterval = 120) throws -> CLIResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            throw TimedOut(arguments: arguments)
        }
        process.waitUntilExit()
        group.wait()
        let signalled = process.terminationReason == .uncaughtSignal
        return CLIResult(status: process.terminationStatus, signal: signalled ? process.terminationStatus : nil,
                         stdout: String(decoding: collected.out, as: UTF8.self), stderr: String(decoding: collected.err, as: UTF8.self))
    }

    public static func run(_ arguments: [String], launcher: [String] = [], timeout: TimeInterval = 120) throws -> CLIResult {
        try Child(arguments, launcher: launcher).finish(timeout: timeout)
    }
}

/// Runs `weightconv ARGS` to completion, draining its pipes while it runs.
public func runCLI(_ arguments: [String], timeout: TimeInterval = 60) throws -> CLIResult {
    try Child.run(arguments, timeout: timeout)
}

/// The two pipes' contents, filled from the reading threads.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var outData = Data()
    private var errData = Data()

    var out: Data { lock.withLock { outData } }
    var err: Data { lock.withLock { errData } }

    func set(out data: Data) { lock.withLock { outData = data } }
    func set(err data: Data) { lock.withLock { errData = data } }
}
