// swift-tools-version:6.2
// VertoPhone: a Swift engine for WebRTC web phones that speak Verto (FreeSWITCH mod_verto).
// Layers (ARCHITECTURE.md): L0 C wrappers -> L1 sans-IO cores -> L2 NIO shells -> L3 engine -> L4 provider/CLI.
import Foundation
import PackageDescription

// Warnings are errors in this project's own builds (scripts/ set VERTOPHONE_STRICT=1, so CI does),
// never in the build of a package that depends on this one.
let strict: [SwiftSetting] = ProcessInfo.processInfo.environment["VERTOPHONE_STRICT"] == "1"
    ? [.treatAllWarnings(as: .error)] : []

let package = Package(
    name: "VertoPhone",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "VertoPhoneCores", targets: [
            "CoreSupport", "CryptoCore", "SRTPCore", "OpusCodec", "RTPCore", "MediaCore", "SDPCore", "VertoCore", "ICECore", "PeerCore", "MediaNIO",
        ]),
        .library(name: "VertoPhoneEngine", targets: ["VertoPhone", "PeerCore", "MediaNIO", "VertoNIO"]),
        .library(name: "WebitelCTI", targets: ["WebitelCTI"]),
        .executable(name: "vertophone", targets: ["vertophone"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // L0: C in the basement, one wrapper per library.
        .target(name: "COpenSSL", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),

        // L1: sans-IO cores.
        .target(name: "CoreSupport", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "CryptoCore", dependencies: [
            "COpenSSL", "CoreSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "SRTPCore", dependencies: ["CSRTP", "COpenSSL", "CoreSupport", "CryptoCore"], swiftSettings: strict),
        .target(name: "OpusCodec", dependencies: ["COpus", "CoreSupport", "MediaCore"], swiftSettings: strict),
        .target(name: "RTPCore", dependencies: [
            "CoreSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "MediaCore", dependencies: [
            "CoreSupport", "RTPCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "SDPCore", dependencies: ["CoreSupport"], swiftSettings: strict),
        .target(name: "ICECore", dependencies: [
            "CoreSupport", "CryptoCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "VertoCore", dependencies: [
            "CoreSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: strict),

        .target(name: "PeerCore", dependencies: [
            "CoreSupport", "CryptoCore", "SRTPCore", "OpusCodec", "RTPCore", "MediaCore", "SDPCore", "ICECore",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strict),

        // L2: thin NIO shells.
        .target(name: "VertoNIO", dependencies: [
            "VertoCore", "CoreSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),

        .target(name: "MediaNIO", dependencies: [
            "CoreSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),

        // L3: the engine.
        .target(name: "VertoPhone", dependencies: [
            "CoreSupport", "CryptoCore", "SRTPCore", "OpusCodec", "RTPCore", "MediaCore", "SDPCore", "ICECore", "PeerCore",
            "VertoCore", "VertoNIO", "MediaNIO",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: strict),

        // L4: the provider layer and the CLI.
        .target(name: "WebitelCTI", dependencies: [
            "VertoPhone", "VertoCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .executableTarget(name: "vertophone", dependencies: [
            "VertoPhone", "VertoCore", "WebitelCTI", "MediaCore", "PeerCore", "CryptoCore", "VertoNIO",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),

        // Fuzzing: the parsers a peer can reach, one entry point each (scripts/fuzz), and the
        // libFuzzer / replay executable.
        .target(name: "FuzzTargets", dependencies: [
            "CryptoCore", "ICECore", "RTPCore", "SDPCore", "VertoCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strict),
        .executableTarget(name: "vertophone-fuzz", dependencies: ["FuzzTargets"], swiftSettings: strict),

        // Tests (Swift Testing). Fixtures live in /Fixtures and are found relative to #filePath.
        .target(name: "TestSupport", dependencies: [
            "CoreSupport", "VertoCore", "VertoNIO",
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "CryptoCoreTests", dependencies: ["CryptoCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "SRTPCoreTests", dependencies: ["SRTPCore", "CryptoCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "OpusCodecTests", dependencies: ["OpusCodec", "MediaCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "RTPCoreTests", dependencies: ["RTPCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MediaCoreTests", dependencies: ["MediaCore", "RTPCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "SDPCoreTests", dependencies: ["SDPCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ICECoreTests", dependencies: ["ICECore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "VertoNIOTests", dependencies: [
            "VertoNIO", "CryptoCore", "TestSupport",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], swiftSettings: strict),
        .testTarget(name: "MediaNIOTests", dependencies: ["MediaNIO", "CoreSupport", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "PeerCoreTests", dependencies: [
            "PeerCore", "MediaNIO", "MediaCore", "SDPCore", "ICECore", "TestSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "VertoPhoneTests", dependencies: [
            "VertoPhone", "MediaCore", "VertoCore", "VertoNIO", "CryptoCore", "TestSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "WebitelCTITests", dependencies: [
            "WebitelCTI", "VertoPhone", "VertoCore", "TestSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "FreeSWITCHIntegrationTests", dependencies: [
            "VertoPhone", "WebitelCTI", "VertoCore", "MediaCore", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "VertoCoreTests", dependencies: ["VertoCore", "SDPCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "TestSupport"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
