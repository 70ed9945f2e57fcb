// Writes LayoutCatalog.builtinFiles: each layout file named on the command line as a raw string
// literal, byte for byte (run by the EmbedLayouts plugin; see Plugins/EmbedLayouts).
import Foundation

// @main rather than top-level code: the fuzz build (tools/fuzz.sh) compiles the plugin tools with
// -sanitize=fuzzer too, which parses every file as a library.
@main
enum EmbedLayouts {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let output = arguments.first else {
            FileHandle.standardError.write(Data("usage: embed-layouts OUTPUT.swift LAYOUT.json…\n".utf8))
            exit(1)
        }
        var swift = "// Generated from layouts/*.json by the EmbedLayouts plugin: edit the JSON files, not this.\n"
        swift += "extension LayoutCatalog {\n    static let builtinFiles: [(name: String, text: String)] = [\n"
        for path in arguments.dropFirst() {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                FileHandle.standardError.write(Data("embed-layouts: cannot read \(path) as UTF-8\n".utf8))
                exit(1)
            }
            // More '#' than any run in the text, so no sequence inside can close the raw literal.
            var longest = 0, run = 0
            for character in text { run = character == "#" ? run + 1 : 0; longest = max(longest, run) }
            let hashes = String(repeating: "#", count: longest + 1)
            let name = URL(fileURLWithPath: path).lastPathComponent
            // A multi-line literal drops the newline before its closing delimiter: add one so the text is exact.
            swift += "        (\"\(name)\", \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)),\n"
        }
        swift += "    ]\n}\n"
        do {
            try swift.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("embed-layouts: cannot write \(output): \(error)\n".utf8))
            exit(1)
        }
    }
}
