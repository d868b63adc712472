// swift-tools-version:6.0
// SonoKit: ultrasound DICOM exports -> trained, evaluated classifier and per-study reports.
// Modules (data flows left to right): CDCMTK -> DICOM -> Preprocess -> Manifest/Catalog -> CNN
// -> Evaluation -> Reports; `sonokit` is a thin ArgumentParser executable over them.
import PackageDescription

/// Release builds drop bounds checks in the hot loops (they are tested in debug builds).
let releaseFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "SonoKit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sonokit", targets: ["sonokit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: Imaging: RGB pictures, PNG/PNM files
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng"),
        .target(name: "Imaging", dependencies: ["CLibPNG"], swiftSettings: releaseFlags),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),

        // MARK: CNN: tensors, layers, optimisers, VGG16/small models on oneDNN
        .systemLibrary(name: "CDNNL"),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5"),
        .target(name: "CNN", dependencies: ["CDNNL", "CHDF5"], swiftSettings: releaseFlags),
        .testTarget(name: "CNNTests", dependencies: ["CNN"], resources: [.copy("Fixtures")]),

        // MARK: The command-line tool
        .executableTarget(
            name: "sonokit",
            dependencies: ["Imaging", "CNN", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: releaseFlags
        ),
    ],
    swiftLanguageModes: [.v5]
)
