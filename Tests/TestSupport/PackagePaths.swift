import Foundation

/// The package root: the folder above this file's `Tests/` that holds Package.swift, found from
/// this file's path so tests run from any directory.
public let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while url.path != "/" {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path),
           FileManager.default.fileExists(atPath: url.appendingPathComponent("Sources").path) {
            return url.path
        }
        url.deleteLastPathComponent()
    }
    return FileManager.default.currentDirectoryPath
}()

/// The repository's committed `fixtures/` folder.
public let fixturesRoot = URL(fileURLWithPath: packageRoot).appendingPathComponent("fixtures")

/// The command-line binary `swift build --build-tests` built next to the tests: beside the test
/// executable in the build products folder (any configuration or `--scratch-path`), else the
/// default debug build. Test targets that run it list `weightconv` as a dependency so it is built.
public let weightconvBinary: String = {
    var folders: [URL] = []
    if let executable = Bundle.main.executableURL { folders.append(executable.deletingLastPathComponent()) }
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        folders.append(bundle.bundleURL.deletingLastPathComponent())
    }
    for folder in folders {
        let candidate = folder.appendingPathComponent("weightconv").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return packageRoot + "/.build/debug/weightconv"
}()
