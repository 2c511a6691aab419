import Foundation
import VertoPhone

/// A terminal softphone: logs in to a Verto server (FreeSWITCH mod_verto, or `vertophone serve`),
/// calls a destination sending a tone, prints what it hears once a second (level and an estimate
/// of the main frequency), and hangs up.
///
///     softphone [--url ws://127.0.0.1:5066/] [--login 1001@127.0.0.1] [--media-host 127.0.0.1]
///               [--tone 440] [--seconds 10] DESTINATION        (password: VERTOPHONE_PASSWORD)
@main
struct Softphone {
    static func main() async throws {
        var args = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String, _ fallback: String) -> String {
            guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
            defer { args.removeSubrange(i...(i + 1)) }
            return args[i + 1]
        }
        let url = option("--url", "ws://127.0.0.1:5066/")
        let login = option("--login", "1001@127.0.0.1")
        let mediaHost = option("--media-host", "127.0.0.1")
        let tone = Double(option("--tone", "440")) ?? 440
        let seconds = Int64(option("--seconds", "10")) ?? 10
        guard let destination = args.first else {
            print("usage: softphone [--url URL] [--login USER@DOMAIN] [--tone HZ] [--seconds N] DESTINATION")
            exit(64)
        }
        let password = ProcessInfo.processInfo.environment["VERTOPHONE_PASSWORD"] ?? "verto-test"

        var options = VertoClientOptions(url: url, login: login, password: password)
        options.mediaHost = mediaHost
        let phone = VertoClient(options: options)
        try await phone.connect()
        print("logged in to \(url) as \(login)")

        let call = try await phone.call(destination, source: .tone(frequencies: [tone], amplitude: 0.3))
        print("calling \(destination), sending \(Int(tone)) Hz")
        let state = try await call.wait(timeout: .seconds(60)) { $0 == .active || $0.isEnded }
        guard state == .active else {
            print("not answered: \(state)")
            exit(2)
        }
        print("answered")

        // What we hear, once a second: RMS level in dBFS and the zero-crossing frequency estimate.
        let meter = Task {
            var samples: [Int16] = []
            for await frame in call.media.frames {
                samples += frame.samples
                guard samples.count >= frame.sampleRate else { continue }
                print(Meter.describe(samples, sampleRate: frame.sampleRate))
                samples.removeAll(keepingCapacity: true)
            }
        }
        _ = try? await call.wait(timeout: .seconds(seconds)) { $0.isEnded }
        meter.cancel()
        try await call.hangup()
        print("ended: \(call.state)")
        try await phone.disconnect()
    }
}

enum Meter {
    static func describe(_ pcm: [Int16], sampleRate: Int) -> String {
        let energy = pcm.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, pcm.count))
        let dbfs = 10 * log10(max(energy, 1e-9) / (32768.0 * 32768.0))
        var crossings = 0
        for i in 1..<pcm.count where (pcm[i - 1] < 0) != (pcm[i] < 0) { crossings += 1 }
        let hz = Double(crossings) / 2 * Double(sampleRate) / Double(pcm.count)
        return dbfs < -50 ? "hearing silence" : String(format: "hearing ~%.0f Hz at %.1f dBFS", hz, dbfs)
    }
}
