/// An error the user reads: one line that names the file, says what is wrong, and ends with a hint
/// on what to do about it.
///
/// Parsers keep their own typed errors with byte offsets and convert to this at their boundary.
public struct WeightconvError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var problem: String
    public var hint: String?

    public init(file: String, problem: String, hint: String? = nil) {
        self.file = file
        self.problem = problem
        self.hint = hint
    }

    /// `file: problem (hint)` on one line; newlines inside the parts are folded.
    public var description: String {
        var line = "\(file): \(problem)"
        if let hint { line += " (\(hint))" }
        return line.replacingNewlines()
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : Character($0) })
    }
}
