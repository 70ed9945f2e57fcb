// swift-tools-version:6.1
// A package that depends on weightconv the way its users do: by version, from a tagged release.
// tools/check_downstream.sh tags a temporary clone of the current commit and points
// WEIGHTCONV_PACKAGE_URL at it; `from:` makes SwiftPM refuse any unsafe build flag in weightconv.
import PackageDescription

let weightconv = Context.environment["WEIGHTCONV_PACKAGE_URL"] ?? "https://github.com/weightconv/weightconv"

let package = Package(
    name: "downstream",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: weightconv, from: "0.1.0"),
    ],
    targets: [
        // The README's library example, with the whole toolkit (import, verify, run).
        .executableTarget(name: "LibraryExample",
                          dependencies: [.product(name: "WeightconvKit", package: "weightconv")]),
        // An app that only runs converted files: must link neither libzip nor the checkpoint reader.
        .executableTarget(name: "RuntimeExample",
                          dependencies: [.product(name: "WeightconvRuntime", package: "weightconv")]),
    ]
)
