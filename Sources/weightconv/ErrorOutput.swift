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
