// swift-tools-version:6.1
// Micro benchmarks of LLMKit's per-request client path (issue 12), with ordo-one's Benchmark.
// A separate package so the root package (what CI builds) never depends on the benchmark
// framework. Run with bench/micro.sh, or:
//   swift package --package-path Benchmarks benchmark
import PackageDescription

// A path dependency's identity is the name of its folder (whatever the checkout is called).
let llmkit = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "LLMKit"

let package = Package(
    name: "LLMKitBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        // MallocInterposer only: the default RuntimeInterposer trait needs a package the
        // offline mirror does not have (and mallocCountTotal needs only the malloc interposer).
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ClientPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "LLMKit", package: llmkit),
                .product(name: "Providers", package: llmkit),
            ],
            path: "Benchmarks/ClientPath",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
