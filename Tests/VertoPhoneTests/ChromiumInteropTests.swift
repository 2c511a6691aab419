import Foundation
import NIOCore
import Testing
import TestSupport
@testable import VertoPhone

/// A real browser (headless Debian Chromium, installed by scripts/test) runs our Verto test page
/// (tools/interop/chromium) against our server role: it logs in like verto.js, calls 9196 and 9664
/// with a fake-capture tone and reports the received frequency from a WebAudio AnalyserNode; and our
/// server calls the browser (inbound to the page).
@Suite(.serialized, .realTime) struct ChromiumInteropTests {
    func runPage(_ endpoint: VertoEndpoint, _ args: [String]) throws -> PythonPeer {
        try PythonPeer(script: "chromium/run_chromium.py", arguments: [
            "--url", "ws://127.0.0.1:\(endpoint.port)/", "--login", "1001@127.0.0.1", "--password", "verto-test",
            "--timeout", "40"] + args)
    }

    func result(_ page: PythonPeer) async throws -> [String: Any] {
        let (status, output) = await page.finish()
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
        #expect(status == 0, "run_chromium.py exit \(status): \(line.prefix(1500))")
        return json
    }

    @Test(arguments: [("9196", 440.0), ("9664", 1000.0)])
    func browserCallsOurServer(destination: String, expected: Double) async throws {
        let endpoint = try await startEndpoint()
        // Our leg of the call, to report its media counters if the browser hears nothing.
        let leg = Task { try await nextEvent(endpoint, timeout: .seconds(40)) { e -> MediaSession? in
            if case .newWebRTCCall(_, let m) = e { return m } else { return nil }
        } }
        let page = try runPage(endpoint, ["--mode", "call", "--destination", destination, "--tone", "440",
                                          "--expect-hz", "\(Int(expected))", "--hangup-after", "1"])
        let r = try await result(page)
        let hz = r["dominantHz"] as? Double ?? 0
        var ourLeg = ""
        if abs(hz - expected) >= 20, let media = try? await leg.value {
            ourLeg = String(describing: try? await media.stats())
        }
        leg.cancel()
        #expect(abs(hz - expected) < 20, "the browser hears \(expected) Hz (got \(hz)); our leg: \(ourLeg)")
        #expect((r["violations"] as? [Any])?.isEmpty ?? true, "no verto.js contract violations: \(r["violations"] ?? "")")
        try await endpoint.stop()
    }

    @Test func ourServerCallsTheBrowser() async throws {
        let endpoint = try await startEndpoint()
        // One consumer of the endpoint's events for the whole flow (two iterating the same stream
        // would each take events from the other): the page's login, then our call's media.
        let flow = Task { () throws -> MediaSession? in
            for await e in endpoint.events {
                switch e {
                case .loggedIn(let user, _) where user == "1001":
                    _ = try await endpoint.call(user: "1001", callerIDNumber: "9000", source: .tone(frequencies: [1000], amplitude: 0.3))
                case .newWebRTCCall(_, let m):
                    return m
                default:
                    break
                }
            }
            return nil
        }
        let page = try runPage(endpoint, ["--mode", "answer", "--tone", "440", "--expect-hz", "1000", "--hangup-after", "6"])
        let found = try await within(.seconds(40), "the page's login and our call's media") { try await flow.value }
        let media = try #require(found)
        #expect(try await hears(media, 440), "our server hears the browser's 440 Hz")
        // For the record (not asserted: speed is for benchmarks): the browser's answer applied →
        // DTLS connected and → first frame decoded, on our side.
        if let m = try await media.stats()?.milestones, let applied = m.remoteDescriptionApplied {
            func ms(_ d: NIODeadline?) -> String { d.map { String(format: "%.1f ms", Double(($0 - applied).nanoseconds) / 1e6) } ?? "-" }
            print("inbound to Chromium: answer applied → DTLS \(ms(m.dtlsConnected)), first frame \(ms(m.firstFrameDecoded))")
        }
        let r = try await result(page)
        #expect(abs((r["dominantHz"] as? Double ?? 0) - 1000) < 20, "the browser hears our 1 kHz")
        try await endpoint.stop()
    }
}
