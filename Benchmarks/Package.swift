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
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
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
        .executableTarget(
            name: "SetupBenchmarks",
            dependencies: [
                .product(name: "VertoPhoneCores", package: "VertoPhone"),
                .product(name: "VertoPhoneEngine", package: "VertoPhone"),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "SetupBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
