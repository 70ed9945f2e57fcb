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
    }
}
