// swift-tools-version:6.1
// Benchmarks (ordo-one/benchmark), kept out of the main package so `swift build` / `swift test` do not
// pay for them. Run: scripts/bench (or `cd Benchmarks && ../scripts/with-env swift package benchmark`).
import PackageDescription

let package = Package(
    name: "VertoPhoneBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "VertoPhone", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MediaBenchmarks",
            dependencies: [
                .product(name: "VertoPhoneCores", package: "VertoPhone"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "MediaBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
