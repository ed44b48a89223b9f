// swift-tools-version: 6.2
// The libFuzzer targets of fieldlog's decoders. A package of its own, so that the main package
// builds without libFuzzer; build and run them with tools/fuzz.sh.
import PackageDescription

let package = Package(
    name: "fieldlog-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "fieldlog", path: "..")],
    targets: [
        // One fuzzer for every decoder; FIELDLOG_FUZZ_TARGET picks which (see FuzzChecks.targets).
        .executableTarget(
            name: "fuzz-decoders",
            dependencies: [.product(name: "FieldFuzzing", package: "fieldlog")],
            swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]
        )
    ]
)
