import Foundation
import WebitelCTI

/// A CTI console: logs in through `WebitelCtiProvider` (the Creatio/Webitel CTI provider's event
/// model) and prints every provider event — onNewCall, onAcceptCall, onHoldCall, onUnholdCall,
/// onDtmfCall, onBridgeCall, onUuidCall, onHangupCall, onNewWebRTCCall. With a destination it places
/// one call, holds and unholds it, and drops it; without one it watches for `--seconds`.
///
///     cti-console [--url ws://127.0.0.1:5066/] [--login 1001@127.0.0.1] [--seconds 10] [DESTINATION]
///     (password: VERTOPHONE_PASSWORD)
@main
struct CtiConsole {
    static func main() async throws {
        var args = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String, _ fallback: String) -> String {
            guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
            defer { args.removeSubrange(i...(i + 1)) }
            return args[i + 1]
        }
        let url = option("--url", "ws://127.0.0.1:5066/")
        let login = option("--login", "1001@127.0.0.1").split(separator: "@", maxSplits: 1).map(String.init)
        let seconds = UInt64(option("--seconds", "10")) ?? 10
        let password = ProcessInfo.processInfo.environment["VERTOPHONE_PASSWORD"] ?? "verto-test"

        var settings = WebitelConnectionSettings(webitelWebrtcConnectionString: url, domain: login.count > 1 ? login[1] : "",
                                                 login: login[0], password: password)
        settings.mediaHost = "127.0.0.1"
        let provider = WebitelCtiProvider(configuration: settings)
        let printer = Task {
            for await event in provider.events {
                var line = "\(event.kind.rawValue) call=\(event.call.uuid) state=\(event.call.state.rawValue)"
                if case .dtmfCall(_, let digits) = event { line += " digits=\(digits)" }
                if case .hangupCall(let call) = event { line += " cause=\(call.hangupCause ?? "-")" }
                print(line)
            }
        }
        try await provider.connect()
        print("logged in to \(url)")
        if let destination = args.first {
            let call = try await provider.makeCall(destination)
            try await Task.sleep(for: .seconds(2))
            try await provider.holdCall(call)
            try await Task.sleep(for: .seconds(1))
            try await provider.unholdCall(call)
            try await Task.sleep(for: .seconds(1))
            try await provider.dropCall(call)
        } else {
            try await Task.sleep(for: .seconds(seconds))
        }
        try await Task.sleep(for: .milliseconds(200))
        try await provider.closeConnection()
        await printer.value
    }
}
