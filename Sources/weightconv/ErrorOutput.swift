import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes an error as the one line a user reads on stderr (`error: file: problem (hint)`).
func printErrorLine(_ error: any Error) {
    let text = String(describing: error).split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    let line = Array(("error: " + text + "\n").utf8)
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
