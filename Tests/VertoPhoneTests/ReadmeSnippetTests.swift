import Foundation
import MediaCore
import Testing
import TestSupport
import VertoPhone

/// The README's quick-start snippet, compiled and run against our server: the lines between the
/// snippet markers below must be exactly the README's code block (checked first), so the README
/// never shows code that does not build or work.
@Suite(.serialized, .realTime) struct ReadmeSnippetTests {
    @Test func theQuickStartSnippetRunsAndIsTheREADMEs() async throws {
        let readme = try String(contentsOf: Fixtures.root.deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        func between(_ text: String, _ begin: String, _ end: String) -> String? {
            guard let a = text.range(of: begin), let b = text.range(of: end, range: a.upperBound..<text.endIndex) else { return nil }
            return String(text[a.upperBound..<b.lowerBound])
        }
        let inReadme = try #require(between(readme, "<!-- quick-start -->\n```swift\n", "```"))
        let inTest = try #require(between(source, "// quick-start: begin\n", "        // quick-start: end"))
        let dedented = inTest.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        #expect(dedented == inReadme, "README.md's quick-start block and this test's snippet differ")

        let endpoint = try await startEndpoint()
        let url = "ws://127.0.0.1:\(endpoint.port)/"
        // quick-start: begin
        var options = VertoClientOptions(url: url, login: "1001@127.0.0.1", password: "verto-test")
        options.mediaHost = "127.0.0.1"             // where media binds; the default 0.0.0.0 = every interface
        let phone = VertoClient(options: options)
        try await phone.connect()                    // WebSocket + Verto login
        let call = try await phone.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }        // answered, media up
        let heard = try await call.media.listen(seconds: 2)  // 2 s of the far end's audio (16-bit PCM)
        print("heard \(heard.count) samples at \(call.media.sampleRate) Hz")
        try await call.sendDTMF("1")
        try await call.hangup()
        try await phone.disconnect()
        // quick-start: end
        #expect(heard.count == 2 * call.media.sampleRate)
        #expect(dominatesSomeWindow(heard, 440), "the echo of our tone")
        try await endpoint.stop()
    }
}
