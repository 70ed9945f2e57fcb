import Foundation
import PackagePlugin

/// Embeds the built-in layout files (`layouts/*.json`) in WeightconvKit as string literals, so the
/// `weightconv` binary carries them wherever it is copied (SwiftPM resources live in a bundle
/// directory beside the build products instead). The files stay the one source: the generated Swift
/// is rebuilt whenever one changes.
@main
struct EmbedLayouts: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "layouts")
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "BuiltinLayouts.swift")
        return [.buildCommand(displayName: "Embedding \(files.count) built-in layouts",
                              executable: try context.tool(named: "embed-layouts").url,
                              arguments: [output.path] + files.map(\.path),
                              inputFiles: files, outputFiles: [output])]
    }
}
