import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightconvKit

/// Writes an error as the one line a user reads on stderr (`error: file: problem (hint)`). Names in
/// the message may come from a hostile file, so control characters (line breaks of any kind,
/// terminal escapes) are shown escaped and can never split or rewrite the line.
func printErrorLine(_ error: any Error) {
    let line = Array(("error: " + TerminalText.escaped(String(describing: error)) + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func printErrorLine(_ message: String) {
    printErrorLine(PlainMessage(text: message))
}

private struct PlainMessage: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}

/// Runs a command's body; any failure becomes one line on stderr and exit status 1. Usage errors
/// keep ArgumentParser's own reporting (with the usage text).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        printErrorLine(error)
        throw ExitCode.failure
    }
}
