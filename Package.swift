// swift-tools-version:6.1
import PackageDescription

// Dependencies point one way:
//   CZip ← TorchCheckpoint ─┐
//   WeightconvCore ─────────┼→ WeightFormat ─┐
//   CDNNL, CKernels, CThreadPool ← TensorEngine ← Networks ─────────┴→ WeightconvRuntime ← WeightconvKit ← weightconv
let package = Package(
    name: "weightconv",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "WeightconvKit", targets: ["WeightconvKit"]),
        // Only what an app that runs converted files needs: open a .wcv, build and run its network.
        // Links neither libzip nor the pickle reader.
        .library(name: "WeightconvRuntime", targets: ["WeightconvRuntime"]),
        .executable(name: "weightconv", targets: ["weightconv"]),
    ],
    // OneDNN (default): Linux multiplies with oneDNN's SGEMM (Debian's libdnnl-dev). Without it
    // (`--disable-default-traits`) Linux uses the portable C SGEMM; Apple platforms use Accelerate.
    traits: [
        .trait(name: "OneDNN", description: "Multiply matrices with oneDNN's SGEMM on Linux (libdnnl-dev)"),
        .default(enabledTraits: ["OneDNN"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // Documentation only (`swift package generate-documentation`); nothing links it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C libraries, one system-library target each.
        .systemLibrary(name: "CZip", pkgConfig: "libzip",
                       providers: [.apt(["libzip-dev"]), .brew(["libzip"])]),
        // oneDNN ships no pkg-config file; its headers and library are in the default paths.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"]), .brew(["onednn"])]),
        // Image decoding on Linux (Apple platforms use ImageIO): libjpeg-turbo's TurboJPEG API and libspng.
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"]), .brew(["jpeg-turbo"])]),
        .systemLibrary(name: "CSPNG", pkgConfig: "spng", providers: [.apt(["libspng-dev"]), .brew(["libspng"])]),

        // Shared vocabulary: dtypes, tensor descriptors, metadata values, hashing, checked arithmetic.
        .target(name: "WeightconvCore",
                dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Reads PyTorch checkpoints (zip and legacy) and safetensors without executing anything.
        .target(name: "TorchCheckpoint", dependencies: ["WeightconvCore", "CZip"]),
        // The native .wcv weight file: specification in docs/wcv-format.md.
        .target(name: "WeightFormat", dependencies: ["WeightconvCore"]),
        // NCHW float32 inference operators, one file per operator family.
        // AVX-512 kernels in C (Swift has no per-function target attributes), chosen at run time and
        // compiled only for x86-64; the portable SGEMM used where neither oneDNN nor Accelerate is.
        .target(name: "CKernels"),
        // Worker threads that spin briefly between an executor's parallel regions.
        .target(name: "CThreadPool"),
        .target(name: "TensorEngine",
                dependencies: [.target(name: "CDNNL", condition: .when(platforms: [.linux], traits: ["OneDNN"])),
                               "CKernels", "CThreadPool"]),
        // The four network families, built from a scoped weight source.
        .target(name: "Networks", dependencies: ["TensorEngine", "WeightconvCore"]),
        // JPEG and PNG files to RGB pixels, exactly as Pillow decodes them.
        .target(name: "ImageDecoding",
                dependencies: ["WeightconvCore",
                               .target(name: "CTurboJPEG", condition: .when(platforms: [.linux])),
                               .target(name: "CSPNG", condition: .when(platforms: [.linux]))]),
        // An image file to the tensor a network was trained on: resampling as Pillow / OpenCV do it,
        // centre crop, normalisation, the recipes of each layout family, class labels.
        .target(name: "ImagePipeline", dependencies: ["ImageDecoding", "WeightconvCore"]),
        // The one-line loading API: a .wcv file to a network ready to run.
        .target(name: "WeightconvRuntime", dependencies: ["WeightconvCore", "WeightFormat", "TensorEngine", "Networks",
                                                        "ImageDecoding", "ImagePipeline"]),
        // Import / verify pipeline.
        .target(name: "WeightconvKit",
                dependencies: ["WeightconvCore", "TorchCheckpoint", "WeightFormat", "TensorEngine", "Networks",
                               "WeightconvRuntime"],
                plugins: ["EmbedLayouts"]),
        // The built-in layouts (layouts/*.json, docs/layout-format.md) compiled into WeightconvKit.
        .executableTarget(name: "embed-layouts"),
        .plugin(name: "EmbedLayouts", capability: .buildTool(), dependencies: ["embed-layouts"]),
        .executableTarget(name: "weightconv",
                          dependencies: ["WeightconvKit",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Open/read timings of .wcv and safetensors files (release build; see docs/wcv-format.md).
        .executableTarget(name: "wcv-bench", dependencies: ["WeightFormat", "WeightconvCore"]),

        // Helpers every test target shares: the package and fixture paths, scratch folders, running the
        // command line. Not in any product. Test targets that run `weightconv` depend on it so it is built.
        .target(name: "TestSupport", dependencies: ["WeightconvCore"], path: "Tests/TestSupport"),
        .testTarget(name: "WeightconvCoreTests", dependencies: ["WeightconvCore", "TestSupport"]),
        .testTarget(name: "ImageDecodingTests", dependencies: ["ImageDecoding", "WeightconvCore", "TestSupport"]),
        .testTarget(name: "ImagePipelineTests", dependencies: ["ImagePipeline", "ImageDecoding", "WeightconvCore", "TestSupport"]),
        .testTarget(name: "WeightconvKitTests", dependencies: ["WeightconvKit", "TestSupport", "weightconv"]),
        .testTarget(name: "WeightconvRuntimeTests", dependencies: ["WeightconvRuntime", "TestSupport"]),
        .testTarget(name: "WeightFormatTests", dependencies: ["WeightFormat", "WeightconvCore", "TestSupport"]),
        .testTarget(name: "TorchCheckpointTests", dependencies: ["TorchCheckpoint", "WeightconvKit", "WeightconvCore", "TestSupport", "weightconv"]),
        .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine", "WeightconvCore", "TestSupport"]),
        .testTarget(name: "NetworksTests", dependencies: ["Networks", "TensorEngine", "WeightconvCore", "TestSupport"]),
        .testTarget(name: "HostileInputTests", dependencies: ["WeightconvKit", "TorchCheckpoint", "TestSupport", "weightconv"]),
        .testTarget(name: "FaultInjectionTests", dependencies: ["WeightconvKit", "TestSupport", "weightconv"]),
    ]
)

// The libFuzzer targets in fuzz/Sources (tools/fuzz.sh), one per reader. They reach the readers'
// `package` declarations as the tests do, so they belong to this package; they exist only when
// WEIGHTCONV_FUZZ is set, so a normal build, the tests and a package that depends on a release never
// see them or the -parse-as-library flag they need (libFuzzer provides `main`).
if Context.environment["WEIGHTCONV_FUZZ"] != nil {
    let readers: [Target.Dependency] = ["WeightconvCore", "TorchCheckpoint", "WeightFormat", "ImageDecoding"]
    package.targets.append(.target(name: "FuzzSupport", dependencies: readers, path: "fuzz/Sources/FuzzSupport"))
    for name in ["FuzzPickle", "FuzzTorchZip", "FuzzLegacy", "FuzzWeightFile", "FuzzSafetensors", "FuzzNpz", "FuzzNpy",
                 "FuzzStrictJSON", "FuzzImage"] {
        package.targets.append(.executableTarget(name: name, dependencies: ["FuzzSupport"] + readers,
                                                 path: "fuzz/Sources/\(name)",
                                                 swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
        package.products.append(.executable(name: name, targets: [name]))
    }
}
