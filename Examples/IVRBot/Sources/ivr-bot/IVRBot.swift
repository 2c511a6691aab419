import Foundation
import VertoPhone

/// A Verto IVR bot on the server role: browsers running verto.js (or any Verto client) log in and
/// call any number. The bot answers with a 660 Hz "welcome" tone, then follows the caller's DTMF:
/// 1 plays 1 kHz, 2 echoes the caller, 0 goes back to the welcome tone, # hangs up.
///
///     ivr-bot [--port 5066]        (demo users 1000–1002 / verto-test, loopback only)
@main
struct IVRBot {
    static func main() async throws {
        let args = Array(CommandLine.arguments.dropFirst())
        let port = args.firstIndex(of: "--port").flatMap { args.indices.contains($0 + 1) ? Int(args[$0 + 1]) : nil } ?? 5066

        var configuration = VertoEndpointConfiguration(users: .demo())
        configuration.port = port
        // Every destination goes to the application: this program.
        configuration.routing = ServerRoutingTable(routes: [:], fallback: .application)
        let endpoint = try await VertoEndpoint.start(configuration: configuration)
        say("IVR bot listening on ws://127.0.0.1:\(endpoint.port)/ (users 1000-1002, password verto-test)")

        for await event in endpoint.events {
            switch event {
            case .newWebRTCCall(let info, let media) where !info.outbound:
                say("call \(info.callID) from \(info.callerIDNumber ?? "?") to \(info.destination)")
                Task { await serve(info, media, endpoint) }
            case .ended(let callID, let cause):
                say("call \(callID) ended: \(cause)")
            default:
                break
            }
        }
    }

    static func serve(_ info: ServerCallInfo, _ media: MediaSession, _ endpoint: VertoEndpoint) async {
        let welcome = MediaSource.tone(frequencies: [660], amplitude: 0.3)
        media.setSource(welcome)
        do {
            try await endpoint.answer(callID: info.callID)
        } catch {
            say("could not answer \(info.callID): \(error)")
            return
        }
        for await event in media.events {
            guard case .dtmf(let digit) = event else {
                if event == .closed { return }
                continue
            }
            say("call \(info.callID): digit \(digit)")
            switch digit {
            case "1": media.setSource(.tone(frequencies: [1000], amplitude: 0.3))
            case "2": media.setSource(.echo)
            case "0": media.setSource(welcome)
            case "#": try? await endpoint.hangup(callID: info.callID)
            default: break
            }
        }
    }
}

/// One line on standard output, written at once (print's buffer would hold it in a pipe or a file).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
