/// An error the user reads: one line that names the file, says what is wrong, and ends with a hint
/// on what to do about it.
///
/// Parsers keep their own typed errors with byte offsets and convert to this at their boundary,
/// keeping the typed error as the ``cause``: the line is for people, the cause for code that needs
/// to tell one failure from another without reading text.
public struct WeightconvError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file the error is about, as the user named it.
    public var file: String
    /// What is wrong with it, in a few words.
    public var problem: String
    /// What to do about it, when there is something to say.
    public var hint: String?
    /// The typed error this one reports, when it reports one: match its case or read its fields
    /// with ``cause(as:)`` rather than parsing ``problem``. Not part of the line the user reads,
    /// nor of equality.
    public var cause: (any Error)?

    /// An error with its parts.
    ///
    /// - Parameters:
    ///   - file: The file the error is about.
    ///   - problem: What is wrong with it.
    ///   - hint: What to do about it.
    ///   - cause: The typed error this one reports, if any.
    public init(file: String, problem: String, hint: String? = nil, cause: (any Error)? = nil) {
        self.file = file
        self.problem = problem
        self.hint = hint
        self.cause = cause
    }

    /// Reports `cause` as the problem with `file`: the problem is the cause's own one-line text.
    ///
    /// - Parameters:
    ///   - file: The file the error is about.
    ///   - cause: The typed error to report and keep.
    ///   - hint: What to do about it.
    public init(file: String, reporting cause: any Error, hint: String? = nil) {
        self.init(file: file, problem: "\(cause)", hint: hint, cause: cause)
    }

    /// The cause as a `T`, looking through causes that are themselves `WeightconvError`s; `nil`
    /// when no cause in the chain is a `T`.
    ///
    /// - Parameter type: The error type to look for.
    /// - Returns: The first cause of that type.
    public func cause<T: Error>(as type: T.Type) -> T? {
        var next = cause
        while let error = next {
            if let match = error as? T { return match }
            next = (error as? WeightconvError)?.cause
        }
        return nil
    }

    /// `file: problem (hint)` on one line; newlines inside the parts are folded.
    public var description: String {
        var line = "\(file): \(problem)"
        if let hint { line += " (\(hint))" }
        return line.replacingNewlines()
    }

    /// Two errors are equal when they say the same thing: the same file, problem and hint.
    public static func == (lhs: WeightconvError, rhs: WeightconvError) -> Bool {
        lhs.file == rhs.file && lhs.problem == rhs.problem && lhs.hint == rhs.hint
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : Character($0) })
    }
}
