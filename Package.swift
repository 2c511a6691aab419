// swift-tools-version:6.2
// VertoPhone: a Swift engine for WebRTC web phones that speak Verto (FreeSWITCH mod_verto).
// Layers (docs/architecture.md): L0 C wrappers -> L1 sans-IO cores -> L2 NIO shells -> L3 engine -> L4 provider/CLI.
import PackageDescription

// Warnings are not turned into errors here (that would break the builds of packages that depend on
// this one): scripts/test fails the build when the compiler warns about a file of this project.

let package = Package(
    name: "VertoPhone",
    platforms: [.macOS(.v14)],
    products: [
        // The sans-IO cores alone (no sockets, no event loops): for other shells, simulations, tests.
        .library(name: "VertoPhoneCores", targets: [
            "CoreSupport", "CryptoCore", "SRTPCore", "OpusCodec", "RTPCore", "MediaCore", "SDPCore", "VertoCore", "ICECore", "PeerCore",
            "EventSocketCore", "CallCore",
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
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        // L0: C in the basement, one wrapper per library.
        .target(name: "COpenSSL", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSpeexDSP", pkgConfig: "speexdsp", providers: [.apt(["libspeexdsp-dev"])]),
        // glibc's allocator statistics (the metrics' heap gauge).
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // L1: sans-IO cores.
        .target(name: "CoreSupport", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "CryptoCore", dependencies: [
            "COpenSSL", "CoreSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "SRTPCore", dependencies: ["CSRTP", "COpenSSL", "CoreSupport", "CryptoCore"]),
        .target(name: "OpusCodec", dependencies: [
            "COpus", "CoreSupport", "MediaCore",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .target(name: "SpeexDSP", dependencies: ["CSpeexDSP", "MediaCore"]),
        // webrtc-audio-processing's pkg-config file carries -D flags SwiftPM refuses (with a warning
        // on every build), so its include folder (Debian's) is given here; the wrapper defines them.
        .target(name: "CWebRTCAudioProcessing",
                cxxSettings: [.unsafeFlags(["-I/usr/include/webrtc_audio_processing"])],
                linkerSettings: [.linkedLibrary("webrtc_audio_processing")]),
        .target(name: "WebRTCAudioProcessing", dependencies: ["CWebRTCAudioProcessing", "MediaCore"]),
        .target(name: "CPulseAudio", linkerSettings: [.linkedLibrary("pulse-simple"), .linkedLibrary("pulse")]),
        .target(name: "RTPCore", dependencies: [
            "CoreSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "MediaCore", dependencies: [
            "CoreSupport", "RTPCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "SDPCore", dependencies: ["CoreSupport"]),
        .target(name: "ICECore", dependencies: [
            "CoreSupport", "CryptoCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "VertoCore", dependencies: [
            "CoreSupport",
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),

        .target(name: "EventSocketCore", dependencies: ["VertoCore"]),
        // The server role's call control: registry, routing, bridges, transfers, forking (sans-IO).
        .target(name: "CallCore", dependencies: [
            "CoreSupport", "VertoCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),

        .target(name: "PeerCore", dependencies: [
            "CoreSupport", "CryptoCore", "SRTPCore", "OpusCodec", "RTPCore", "MediaCore", "SDPCore", "ICECore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),

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
        ]),

        .target(name: "MediaNIO", dependencies: [
            "CoreSupport", "ICECore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // L3: the engine.
        .target(name: "VertoPhone", dependencies: [
            "CoreSupport", "CryptoCore", "SRTPCore", "OpusCodec", "RTPCore", "MediaCore", "SDPCore", "ICECore", "PeerCore",
            "VertoCore", "VertoNIO", "MediaNIO", "CallCore", "SpeexDSP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),

        // L3: an audio device on PulseAudio (PipeWire's pulse server too).
        .target(name: "PulseAudioDevice", dependencies: [
            "CPulseAudio", "VertoPhone",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),

        // L4: the provider layer and the CLI.
        .target(name: "WebitelCTI", dependencies: [
            "VertoPhone", "VertoCore", "EventSocketCore",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "vertophone", dependencies: [
            "VertoPhone", "VertoCore", "WebitelCTI", "MediaCore", "PeerCore", "CryptoCore", "VertoNIO", "PulseAudioDevice", "SpeexDSP", "WebRTCAudioProcessing",
            "CMalloc", "OpusCodec",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),

        // Fuzzing: the parsers a peer can reach, one entry point each (scripts/fuzz), and the
        // libFuzzer / replay executable.
        .target(name: "FuzzTargets", dependencies: [
            "CryptoCore", "EventSocketCore", "ICECore", "RTPCore", "SDPCore", "VertoCore", "VertoNIO",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "vertophone-fuzz", dependencies: ["FuzzTargets"]),

        // Tests (Swift Testing). Fixtures live in /Fixtures and are found relative to #filePath.
        .target(name: "TestSupport", dependencies: [
            "CoreSupport", "VertoCore", "VertoNIO", "EventSocketCore", "MediaCore", "VertoPhone",
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "CryptoCoreTests", dependencies: ["CryptoCore", "TestSupport"]),
        .testTarget(name: "SRTPCoreTests", dependencies: ["SRTPCore", "CryptoCore", "TestSupport"]),
        .testTarget(name: "OpusCodecTests", dependencies: ["OpusCodec", "MediaCore", "TestSupport"]),
        .testTarget(name: "RTPCoreTests", dependencies: ["RTPCore", "TestSupport"]),
        .testTarget(name: "MediaCoreTests", dependencies: ["MediaCore", "RTPCore", "TestSupport"]),
        .testTarget(name: "SDPCoreTests", dependencies: ["SDPCore", "TestSupport"]),
        .testTarget(name: "ICECoreTests", dependencies: ["ICECore", "CryptoCore", "TestSupport"]),
        .testTarget(name: "VertoNIOTests", dependencies: [
            "VertoNIO", "CryptoCore", "TestSupport",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "MediaNIOTests", dependencies: ["MediaNIO", "CoreSupport", "TestSupport"]),
        .testTarget(name: "PeerCoreTests", dependencies: [
            "PeerCore", "MediaNIO", "MediaCore", "SDPCore", "ICECore", "TestSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "VertoPhoneTests", dependencies: [
            "VertoPhone", "MediaCore", "MediaNIO", "VertoCore", "VertoNIO", "CryptoCore", "OpusCodec", "TestSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "WebitelCTITests", dependencies: [
            "WebitelCTI", "VertoPhone", "VertoCore", "EventSocketCore", "TestSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "FreeSWITCHIntegrationTests", dependencies: [
            "VertoPhone", "WebitelCTI", "VertoCore", "VertoNIO", "MediaCore", "EventSocketCore", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "VertoCoreTests", dependencies: ["VertoCore", "SDPCore", "TestSupport"]),
        .testTarget(name: "CallCoreTests", dependencies: ["CallCore", "VertoCore", "CoreSupport",
                                                          .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "PulseAudioDeviceTests", dependencies: [
            "PulseAudioDevice", "VertoPhone", "SpeexDSP", "MediaCore", "TestSupport",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "SpeexDSPTests", dependencies: ["SpeexDSP", "WebRTCAudioProcessing", "MediaCore", "CoreSupport", "TestSupport"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "ICECore", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
