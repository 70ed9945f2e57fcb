import Dispatch
import Foundation
import WeightFormat

/// Deletes the temporary files of writes in progress when the user interrupts (Ctrl-C) or the
/// process is asked to stop, so an interrupted import never leaves a partial file behind.
/// Signals are received on a dispatch queue, not in a signal handler, so the cleanup may lock and
/// allocate freely.
enum InterruptCleanup {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install(_ registry: TemporaryFileRegistry) {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                registry.removeAll()
                FileHandle.standardError.write(Data("weightconv: interrupted; no output was written\n".utf8))
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// Prints `error` as the one line the user reads (on stderr).
func printFailure(_ error: any Error) {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
}
