// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "LLMKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LLMKit", targets: ["LLMKit"]),
        .library(name: "Providers", targets: ["Providers"]),
        .library(name: "PromptLabCLI", targets: ["PromptLabCLI"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .library(name: "LLMKitTestSupport", targets: ["TestSupport"]),
        .executable(name: "promptlab", targets: ["PromptLab"]),
        .executable(name: "fault-server", targets: ["FaultServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CJansson",
            pkgConfig: "jansson",
            providers: [.apt(["libjansson-dev"])]
        ),
        .target(
            name: "LLMKit",
            dependencies: [
                "CJansson",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // Test hooks (KillPoint: kill -9 at a named point) exist in debug builds only.
            swiftSettings: swiftSettings + [.define("LLMKIT_TEST_HOOKS", .when(configuration: .debug))]
        ),
        .target(
            name: "Providers",
            dependencies: [
                "LLMKit",
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            // Experiment files (YAML, read with Yams): the grid, its runs, ensembles and report.
            name: "Experiments",
            dependencies: [
                "LLMKit",
                "Providers",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings + [.define("LLMKIT_TEST_HOOKS", .when(configuration: .debug))]
        ),
        .target(
            name: "PromptLabCLI",
            dependencies: [
                "LLMKit",
                "Providers",
                "Experiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                // Mapping files and experiment files (YAML; JSON is YAML too).
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "PromptLab",
            dependencies: ["PromptLabCLI", "Providers"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FaultServer",
            dependencies: ["TestSupport"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["LLMKit", "Providers"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LLMKitTests",
            dependencies: ["LLMKit", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProvidersTests",
            dependencies: ["Providers", "LLMKit", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PromptLabTests",
            dependencies: ["PromptLab", "PromptLabCLI", "LLMKit", "Providers", "TestSupport", "Experiments"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
