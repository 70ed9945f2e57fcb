import Foundation
import WeightconvCore

/// Class names for a classifier's outputs, in class-index order.
public enum ClassLabels {
    /// A labels file holds at most this many bytes (ImageNet-21k's names are about 400 KB).
    public static let maximumFileBytes = 16 << 20

    /// Reads class names from `path`: a JSON array of strings, or else one name per line (blank
    /// trailing lines ignored, surrounding whitespace kept off each name).
    public static func read(contentsOf path: String) throws(WeightconvError) -> [String] {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int else {
            throw WeightconvError(file: path, problem: "cannot be read", hint: "check the path of the labels file")
        }
        guard size <= maximumFileBytes else {
            throw WeightconvError(file: path, problem: "\(size) bytes is too large for a labels file (limit \(maximumFileBytes))",
                                  hint: "give one class name per line, or a JSON list of names")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WeightconvError(file: path, problem: "cannot be read", hint: "check the path of the labels file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw WeightconvError(file: path, problem: "is not UTF-8 text", hint: "give one class name per line, or a JSON list of names")
        }
        return try parse(text, file: path)
    }

    /// Names from the text of a labels file; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(WeightconvError) -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var names: [String]
        if trimmed.hasPrefix("[") {
            guard let list = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [Any],
                  let strings = list as? [String] else {
                throw WeightconvError(file: file, problem: "starts with '[' but is not a JSON list of strings",
                                      hint: "write [\"cat\", \"dog\", …], or one name per line")
            }
            names = strings
        } else {
            // `\r\n` is one Character in Swift, so lines split on any newline character.
            names = trimmed.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        guard !names.isEmpty, !(names.count == 1 && names[0].isEmpty) else {
            throw WeightconvError(file: file, problem: "holds no class names", hint: "one name per line, or a JSON list of names")
        }
        if let blank = names.firstIndex(where: \.isEmpty) {
            throw WeightconvError(file: file, problem: "class \(blank) has an empty name",
                                  hint: "every class needs a name; one name per line, in class-index order")
        }
        return names
    }
}
