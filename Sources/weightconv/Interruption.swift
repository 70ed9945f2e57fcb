import Dispatch
import Foundation
import WeightconvKit

/// SIGINT, SIGTERM and SIGHUP during a write: remove the partial output, say so on one line, exit 128 + signal.
///
/// The library installs no signal handler; the command line owns the process, so it decides.
enum Interruption {
    /// Every write the command line starts registers its temporary file here.
    static let registry = TemporaryFileRegistry()
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func install() {
        guard sources.isEmpty else { return }
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            // The default action would end the process before the temporary file is removed.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let removed = registry.active.count
                registry.removeAll()
                let name = [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][signalNumber] ?? "signal \(signalNumber)"
                printErrorLine("interrupted by \(name); removed \(removed) partial output file(s), existing outputs untouched")
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
        installFaultHandlers()
    }

    /// The two ways the system can kill a write that is not an interrupt.
    ///
    /// SIGXFSZ: a write past the file-size limit (`ulimit -f`) would end the process with the
    /// temporary file still there; ignored, the write fails with EFBIG and the writer cleans up.
    /// SIGBUS: an input is memory-mapped, so another process truncating it turns our next read of
    /// the lost pages into a bus error. It cannot be recovered from, but the partial output can
    /// still be removed and the cause said in one line.
    private static func installFaultHandlers() {
        signal(SIGXFSZ, SIG_IGN)
        #if os(Linux)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interruption.inputVanished() }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGBUS, &action, nil)
        #endif
    }

    /// Rendered up front: a signal handler should not build strings.
    private static let busErrorLine = Array(("error: an input file shrank while it was being read (another process truncated "
        + "or replaced it); removed the partial output, existing outputs untouched\n").utf8)

    /// Runs inside the SIGBUS handler: only unlink, write and _exit (the registry's lock is never
    /// held while tensor bytes are read, which is where the fault happens).
    private static func inputVanished() -> Never {
        registry.removeAll()
        busErrorLine.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
        _exit(1)
    }
}
