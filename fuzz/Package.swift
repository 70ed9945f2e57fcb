// swift-tools-version:6.0
// Fuzz targets, kept in their own package so that the instrumented build (`swift build --sanitize fuzzer`)
// never touches the main package's build. Run them with tools/fuzz.sh.
import PackageDescription

let fuzzFlags: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "weightconv-fuzz",
    dependencies: [.package(name: "weightconv", path: "..")],
    targets: [
        .executableTarget(name: "FuzzProbe",
                          dependencies: [.product(name: "WeightconvKit", package: "weightconv")],
                          swiftSettings: fuzzFlags),
    ]
)
