// swift-tools-version:6.2
// An example that depends on VertoPhone by path, as an app depends on it by URL. Build it with a
// plain `swift build` in this folder (the C libraries' -dev packages installed: see the README).
import PackageDescription

// A package that is depended on by path is known by its folder's name: the checkout's, whatever
// it is called.
let vertoPhone = Context.packageDirectory.split(separator: "/").dropLast(2).last.map { String($0).lowercased() } ?? "vertophone"

let package = Package(
    name: "CtiConsole",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        .executableTarget(name: "cti-console", dependencies: [
            .product(name: "WebitelCTI", package: vertoPhone),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
