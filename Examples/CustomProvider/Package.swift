// swift-tools-version:6.0
// A downstream package: its own `promptlab` with one extra provider, built against LLMKit by path.
import PackageDescription

// A path dependency's identity is the name of its folder (whatever the checkout is called).
let llmkit = Context.packageDirectory.split(separator: "/").dropLast(2).last.map(String.init) ?? "LLMKit"

let package = Package(
    name: "CustomProvider",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .target(name: "ReferenceProvider", dependencies: [.product(name: "LLMKit", package: llmkit)]),
        .executableTarget(name: "custom-promptlab", dependencies: [
            "ReferenceProvider",
            .product(name: "PromptLabCLI", package: llmkit), .product(name: "Providers", package: llmkit),
        ]),
        .testTarget(name: "ReferenceProviderTests", dependencies: [
            "ReferenceProvider", .product(name: "LLMKitTestSupport", package: llmkit),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
