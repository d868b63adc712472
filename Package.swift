// swift-tools-version:6.0
// SonoKit: ultrasound DICOM exports -> trained, evaluated classifier and per-study reports.
// Modules (data flows left to right): CDCMTK -> DICOM -> Preprocess -> Manifest/Catalog -> CNN
// -> Training -> Evaluation -> Reports, all on SonoKitCore; Workflows runs one job each over them,
// and `sonokit` is a thin ArgumentParser executable over Workflows. See ARCHITECTURE.md.
import PackageDescription

/// DCMTK 3.6.7 libraries the reader, the writers, the network client and server (dcmnet) and their TLS layer (dcmtls, OpenSSL) link (Debian ships only shared objects; the codec
/// libraries come along through them). See ../shared/PLATFORM.md.
let dcmtkLibraries = ["dcmimage", "dcmimgle", "dcmjpeg", "dcmjpls", "dcmtls", "dcmnet", "dcmdata", "dcmsr", "oflog", "ofstd"]

/// Release builds drop bounds and overflow checks in the modules with hot loops written in Swift
/// (resampling and normalisation, colour conversion, pixel and PNG loops, bootstrap resampling,
/// the seeded generator, the CNN's pooling and statistics loops, training's augmentation and batch
/// assembly); the checks stay on in every
/// debug build and test. Measured (`sonokit-bench preprocess SampleStudies --threads 1`, release,
/// best of 3 interleaved runs, idle Zen 5): crop+resample+normalise 2,715 frames/s with
/// -Ounchecked against 2,374 with -O (+14%); the whole pipeline, dominated by DCMTK and
/// libjpeg-turbo decoding, 576 against 565. Modules without such loops (Catalog, Reports,
/// Workflows, the executables) keep Swift's checks in release builds too.
let releaseFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "SonoKit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sonokit", targets: ["sonokit"]),
        .executable(name: "sonokit-bench", targets: ["sonokit-bench"]),
        // The libraries, for programs that use SonoKit without the CLI (layers as in ARCHITECTURE.md).
        .library(name: "Workflows", targets: ["Workflows"]),
        .library(name: "DICOM", targets: ["DICOM"]),
        .library(name: "DICOMNetwork", targets: ["DICOMNetwork"]),
        .library(name: "Catalog", targets: ["Catalog"]),
        .library(name: "Preprocess", targets: ["Preprocess"]),
        .library(name: "Manifest", targets: ["Manifest"]),
        .library(name: "CNN", targets: ["CNN"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Synthesis", targets: ["Synthesis"]),
        .library(name: "ModelExport", targets: ["ModelExport"]),
        .library(name: "SonoKitCore", targets: ["SonoKitCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        // ONNX export: the runtime library only (the ONNX messages are generated once, committed;
        // scripts/onnx/generate-proto.sh).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // MARK: SonoKitCore: what every library shares (seeded generator, atomic writes, SHA-256, keyed pseudonyms, JSON convention)
        .target(name: "SonoKitCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: releaseFlags),
        .testTarget(name: "SonoKitCoreTests", dependencies: ["SonoKitCore"]),

        // MARK: Imaging: RGB pictures, PNG/PNM files
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng"),
        .target(name: "Imaging", dependencies: ["CLibPNG", "SonoKitCore"], swiftSettings: releaseFlags),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),

        // MARK: DICOM: the DCMTK-backed reader (CDCMTK is the only C++)
        .target(
            name: "CDCMTK",
            // libjpeg-turbo's TurboJPEG (libturbojpeg0-dev) decodes JPEG baseline colour frames;
            // OpenSSL (libssl-dev) for the TLS layer's handshake reports (TLS.cpp).
            linkerSettings: (dcmtkLibraries + ["turbojpeg", "ssl", "crypto"]).map { .linkedLibrary($0) }
        ),
        .target(name: "DICOM", dependencies: ["CDCMTK", "Imaging", "SonoKitCore"], swiftSettings: releaseFlags),
        .testTarget(name: "DICOMTests", dependencies: ["DICOM", "Imaging", "SonoKitTestSupport"], resources: [.copy("Fixtures")]),

        // MARK: DICOMNetwork: the DICOM upper layer through DCMTK's dcmnet (C-ECHO, C-STORE SCU; `sonokit echo`, `send`)
        .target(name: "DICOMNetwork", dependencies: ["CDCMTK", "SonoKitCore"]),
        .testTarget(name: "DICOMNetworkTests", dependencies: ["DICOMNetwork", "SonoKitTestSupport"]),

        // MARK: Catalog: the SQLite index of an export (GRDB), ingest
        .target(
            name: "Catalog",
            dependencies: ["DICOM", "SonoKitCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "DICOM", "SonoKitTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),

        // MARK: Test support shared by every test target (schema validation, repository paths, child processes,
        // sample evaluation data); no Training/CNN, so DICOM and Catalog tests do not build oneDNN
        .target(name: "SonoKitTestSupport", dependencies: ["SonoKitCore", "Evaluation"], path: "Sources/SonoKitTestSupport"),
        // Test support that needs the network (a hand-set trained run), for the prediction and report tests
        .target(name: "SonoKitTrainingTestSupport", dependencies: ["SonoKitCore", "Training", "CNN", "Preprocess", "Evaluation"],
                path: "Sources/SonoKitTrainingTestSupport"),
        .testTarget(name: "CLITests", dependencies: ["sonokit", "SonoKitCLI", "Workflows", "Manifest", "SonoKitCore", "SonoKitTestSupport", "SonoKitTrainingTestSupport", "Catalog", "Training", "Preprocess", "Evaluation", "DICOM", "Imaging", "CNN"]),

        // MARK: Evaluation: metrics, confidence intervals, thresholds, calibration, study aggregation, plots
        .target(name: "Evaluation", dependencies: ["SonoKitCore"], swiftSettings: releaseFlags),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "SonoKitCore", "SonoKitTestSupport"], exclude: ["Fixtures"]),

        // MARK: Manifest: CSV label manifests, validation, patient-grouped stratified splits
        .target(
            name: "Manifest",
            dependencies: ["Catalog", "DICOM", "SonoKitCore", .product(name: "CSV", package: "CSV.swift"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "SonoKitCore", "Catalog", "DICOM", "SonoKitTestSupport"], exclude: ["Fixtures"]),

        // MARK: Preprocess: decoded frames -> crop -> resample -> normalised 224x224 tensors
        .target(
            name: "Preprocess",
            dependencies: ["DICOM", "Imaging", "SonoKitCore"],
            swiftSettings: releaseFlags
        ),
        .testTarget(name: "PreprocessTests", dependencies: ["Preprocess", "SonoKitCore", "DICOM", "Catalog", "Imaging", "SonoKitTestSupport"],
                    resources: [.copy("Fixtures")]),

        // MARK: CNN: tensors, layers, optimisers, VGG16/small models on oneDNN
        .systemLibrary(name: "CDNNL"),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5"),
        .target(name: "CNN", dependencies: ["CDNNL", "CHDF5", "SonoKitCore"], swiftSettings: releaseFlags),
        .testTarget(name: "CNNTests", dependencies: ["CNN", "SonoKitCore", "SonoKitTestSupport"], resources: [.copy("Fixtures")]),

        // MARK: Training: the training loop, callbacks, checkpoints, feature cache, trained runs for inference
        .target(
            name: "Training",
            dependencies: ["CNN", "CDNNL", "Preprocess", "Manifest", "Catalog", "Evaluation", "DICOM", "Imaging", "SonoKitCore",
                           .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: releaseFlags
        ),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "CNN", "SonoKitCore", "DICOM", "Preprocess", "Manifest", "Catalog", "Evaluation", "SonoKitTestSupport"]),

        // MARK: Reports: evaluation.html (inline SVG plots, PNG thumbnails), studies/frames CSV; per-study prediction reports (JSON, CSV, HTML), DICOM SR content
        .target(
            name: "Reports",
            dependencies: ["Evaluation", "Preprocess", "Imaging", "DICOM", "SonoKitCore"]
        ),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "SonoKitCore", "Training", "CNN", "Evaluation", "Preprocess", "Imaging", "DICOM", "SonoKitTestSupport",
                                                  "SonoKitTrainingTestSupport"]),

        // MARK: Synthesis: synthetic ultrasound cohorts (B-mode fans, speckle, lesions, burned-in text) written as DICOM
        // through DCMTK, deterministic from a seed (`sonokit synth`, the demo's cohort, load tests)
        // The renderer is optimised in debug builds too: the tests render hundreds of frames (about 100x slower unoptimised).
        .target(name: "Synthesis", dependencies: ["CDCMTK", "DICOM", "Imaging", "SonoKitCore"],
                swiftSettings: releaseFlags + [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .testTarget(name: "SynthesisTests", dependencies: ["Synthesis", "DICOM", "Imaging", "SonoKitCore", "SonoKitTestSupport"], exclude: ["Fixtures"]),

        // MARK: ModelExport: a trained run as one ONNX model (swift-protobuf, code generated from onnx.proto3),
        // checked by ONNX's checker and ONNX Runtime (scripts/onnx/)
        .target(
            name: "ModelExport",
            dependencies: ["CNN", "Training", "Preprocess", "Evaluation", "SonoKitCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(name: "ModelExportTests", dependencies: ["ModelExport", "CNN", "Training", "Preprocess", "DICOM", "Imaging", "Evaluation", "SonoKitCore",
                                                      "SonoKitTestSupport", "SonoKitTrainingTestSupport"]),

        // MARK: Workflows: one type per job a user runs (ingest, manifest validate/split, train, evaluate, predict, demo),
        // typed options in, typed results out; the commands are thin shells over them
        .target(
            name: "Workflows",
            dependencies: ["SonoKitCore", "DICOM", "Catalog", "Manifest", "Preprocess", "Imaging", "CNN", "Training", "Evaluation", "Reports", "Synthesis",
                           "ModelExport", "DICOMNetwork"]
        ),
        .testTarget(name: "WorkflowsTests", dependencies: ["Workflows", "ModelExport", "Synthesis", "SonoKitTrainingTestSupport", "SonoKitTestSupport", "SonoKitCore", "Catalog", "Manifest", "Training", "Evaluation", "Reports", "DICOM", "Preprocess"]),

        // MARK: The command-line tools: `sonokit` (user commands) and `sonokit-bench` (benchmarks),
        // thin ArgumentParser shells over the workflows, sharing the option groups and output
        // helpers of SonoKitCLI.
        .target(
            name: "SonoKitCLI",
            dependencies: ["Workflows", "Preprocess", "DICOM", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "sonokit",
            dependencies: ["SonoKitCLI", "Workflows", "SonoKitCore", "Preprocess", "DICOM", "Catalog", "Imaging", "Evaluation", "Manifest", "CNN", "Training", "Reports", "ModelExport", "Synthesis", "DICOMNetwork",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "sonokit-bench",
            dependencies: ["SonoKitCLI", "SonoKitCore", "Preprocess", "DICOM", "Catalog", "Imaging", "CNN", "Evaluation", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/sonokit-bench"
        ),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
