import Dispatch
import Foundation

/// Removes temporary files when the process is interrupted, so that an import stopped by Ctrl-C or
/// `kill` leaves no partial output behind.
///
/// Writers register the temporary file they write and unregister it once it has been renamed into
/// place (or removed). `install()` is called once by the command-line tool; a library user who
/// handles signals differently simply never calls it, and the writers' own error paths still clean up.
public enum Interruption {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pending: [Int: String] = [:]
    nonisolated(unsafe) private static var nextToken = 0
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    /// Handles SIGINT and SIGTERM: removes every registered file, says so on stderr, and exits with
    /// 128 + the signal number, as a shell expects of a process killed by it.
    public static func install() {
        lock.withLock {
            guard sources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM] {
                // The default action would kill the process before the files are removed.
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { interrupted(by: signalNumber) }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Registers a temporary file to remove on interruption; pass the token to `unregister`.
    public static func register(_ path: String) -> Int {
        lock.withLock {
            nextToken += 1
            pending[nextToken] = path
            return nextToken
        }
    }

    public static func unregister(_ token: Int) {
        lock.withLock { _ = pending.removeValue(forKey: token) }
    }

    private static func interrupted(by signalNumber: Int32) {
        // Hold the lock until exit so that no writer renames a file while it is being removed.
        lock.lock()
        for path in pending.values { unlink(path) }
        let name = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
        let message = "weightconv: interrupted by \(name); removed \(pending.count) partial output file(s)\n"
        FileHandle.standardError.write(Data(message.utf8))
        exit(128 + signalNumber)
    }
}
