// swift-tools-version:6.0
// Fuzz targets, kept in their own package so that the instrumented build (`swift build --sanitize fuzzer
// --sanitize address`) never touches the main package's build. Run them with tools/fuzz.sh.
//
// Each target is one libFuzzer entry point (`LLVMFuzzerTestOneInput`) over one reader; FuzzSupport
// holds what they share (scratch files, reading every tensor's bytes, a stored-zip writer).
import PackageDescription

let fuzzFlags: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
let readers: Target.Dependency = .product(name: "WeightconvReaders", package: "weightconv")

func fuzzTarget(_ name: String) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport", readers], swiftSettings: fuzzFlags)
}

let package = Package(
    name: "weightconv-fuzz",
    dependencies: [.package(name: "weightconv", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [readers]),
        fuzzTarget("FuzzPickle"),
        fuzzTarget("FuzzTorchZip"),
        fuzzTarget("FuzzLegacy"),
        fuzzTarget("FuzzWeightFile"),
        fuzzTarget("FuzzSafetensors"),
        fuzzTarget("FuzzNpz"),
        fuzzTarget("FuzzNpy"),
        fuzzTarget("FuzzStrictJSON"),
        fuzzTarget("FuzzImage"),
    ]
)
