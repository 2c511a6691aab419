import Foundation
import MediaCore
import NIOConcurrencyHelpers
import PulseAudioDevice
import SpeexDSP
import Testing
import TestSupport
import VertoPhone

/// Calls on sound devices with no sound card: a real PulseAudio server with null sinks, started per
/// test. A second device ("the room") plays a tone into the phone's microphone sink and records the
/// phone's loudspeaker monitor; the audio is checked by frequency.
@Suite(.serialized, .realTime) struct PulseAudioDeviceTests {
    /// Plays `frequency` into `vp_mic` and keeps what `vp_speaker.monitor` carries.
    final class Room: Sendable {
        let device: PulseAudioDevice
        let heard = NIOLockedValueBox<[Int16]>([])

        init(server: String, frequency: Double) throws {
            device = PulseAudioDevice(input: "vp_speaker.monitor", output: "vp_mic", server: server)
            let frame = device.frameSamples, rate = Double(device.sampleRate)
            let phase = NIOLockedValueBox(0)
            let heard = self.heard
            try device.start(capture: { samples in heard.withLockedValue { $0 += samples } }, playout: {
                phase.withLockedValue { n in
                    defer { n += frame }
                    return (0..<frame).map { Int16(0.3 * 32767 * sin(2 * Double.pi * frequency * Double(n + $0) / rate)) }
                }
            }, failure: { _ in })
        }

        /// Waits until the last second of what the loudspeaker played has `frequency` dominant.
        func hears(_ frequency: Double, within: Duration = .seconds(20)) async -> Bool {
            let deadline = ContinuousClock.now + within
            while ContinuousClock.now < deadline {
                let last = heard.withLockedValue { Array($0.suffix(48_000)) }
                if last.count == 48_000, dominantFrequency(last) == frequency { return true }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
    }

    @Test func theDevicesAreListedWithTheDefaultsMarked() async throws {
        let pulse = try await PulseAudioServer.start()
        defer { pulse.stop() }
        let devices = try PulseAudioDevice.devices(server: pulse.address)
        #expect(devices.contains(AudioDeviceInfo(name: "vp_speaker", description: "VertoPhone-Speaker", isInput: false, isDefault: true)))
        #expect(devices.contains { $0.name == "vp_mic.monitor" && $0.isInput && $0.isDefault })
        #expect(devices.contains { $0.name == "vp_mic" && !$0.isInput && !$0.isDefault })
        #expect(throws: PulseAudioError.self) { _ = try PulseAudioDevice.devices(server: "unix:/nonexistent/native") }
    }

    /// The phone calls 9196 (echo) on our server with its microphone and loudspeaker on the null
    /// sinks: the tone spoken into the microphone goes to the server and comes back out of the
    /// loudspeaker (both directions of the call, through the echo canceller) — with Opus (48 kHz,
    /// 960-sample frames) and with PCMU only (8 kHz, 160-sample frames).
    @Test(arguments: ["opus", "pcmu"])
    func aCallOnTheSoundDevicesCarriesTheMicrophoneBothWays(codec: String) async throws {
        let pulse = try await PulseAudioServer.start()
        defer { pulse.stop() }
        let endpoint = try await startEndpoint()
        var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1001@127.0.0.1", password: "verto-test")
        o.mediaHost = "127.0.0.1"
        if codec == "pcmu" { o.media.offer.codecs = [.pcmu] }
        let c = VertoClient(options: o)
        try await c.connect()
        let call = try await c.call("9196")
        try await call.wait { $0 == .active }
        let rate = call.media.sampleRate
        #expect(rate == (codec == "pcmu" ? 8000 : 48_000), "the codec's rate once answered")
        let phone = PulseAudioDevice(input: "vp_mic.monitor", output: "vp_speaker", server: pulse.address, sampleRate: rate)
        let audio = CallAudio(device: phone, media: call.media,
                              echoCanceller: try SpeexEchoCanceller(sampleRate: rate, frameSize: phone.frameSamples))
        try audio.start()
        let room = try Room(server: pulse.address, frequency: 660)
        #expect(await room.hears(660), "the loudspeaker plays the echo of what the microphone heard")
        #expect(try await hears(call.media, 660), "the call itself carries it")
        room.device.stop()
        audio.stop()
        let counters = audio.counters
        #expect(counters.captured > 0 && counters.played > 0, "\(counters)")
        #expect(audio.failure == nil)
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// A device that does not exist is a typed error at start; one that vanishes mid-call is
    /// reported once and the call goes on (on silence).
    @Test func aMissingOrVanishingDeviceIsTypedAndTheCallGoesOn() async throws {
        let pulse = try await PulseAudioServer.start()
        defer { pulse.stop() }
        let missing = PulseAudioDevice(input: "no-such-source", output: "vp_speaker", server: pulse.address)
        #expect(throws: PulseAudioError.self) { try missing.start(capture: { _ in }, playout: { nil }, failure: { _ in }) }

        let endpoint = try await startEndpoint()
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        let phone = PulseAudioDevice(input: "vp_mic.monitor", output: "vp_speaker", server: pulse.address, sampleRate: call.media.sampleRate)
        let audio = CallAudio(device: phone, media: call.media)
        try audio.start()
        #expect(pulse.pactl("unload-module module-null-sink") == 0)
        let deadline = ContinuousClock.now + .seconds(10)
        while audio.failure == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(audio.failure != nil, "the vanished device is reported")
        #expect(call.state == .active)
        #expect(try await hears(call.media, 440), "the call still carries its own source")
        audio.stop()
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// `vertophone call 9196 --audio`: the CLI as a phone on the sound devices, with each echo canceller.
    @Test(arguments: ["speex", "webrtc"])
    func theCLIPhonesOnTheSoundDevices(aec: String) async throws {
        let pulse = try await PulseAudioServer.start()
        defer { pulse.stop() }
        let endpoint = try await startEndpoint()
        let room = try Room(server: pulse.address, frequency: 880)
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vertophone").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vp-cli-audio-\(UUID().uuidString.prefix(6)).txt").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let command = "PULSE_SERVER='\(pulse.address)' '\(binary)' call 9196 --url ws://127.0.0.1:\(endpoint.port)/ --login 1001@127.0.0.1 "
            + "--password verto-test --media-host 127.0.0.1 --audio --input vp_mic.monitor --output vp_speaker --aec \(aec) --hangup-after 8 --json "
            + ">'\(out)' 2>&1 </dev/null"
        let finished = Task { await Shell.runDetached(command) }
        #expect(await room.hears(880, within: .seconds(20)), "the CLI's loudspeaker plays the echo of its microphone")
        let status = await finished.value
        room.device.stop()
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(text)")
        let events = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let stats = try #require(events.first { $0["event"] as? String == "audio_stats" }, "\(text)")
        #expect((stats["captured"] as? Int ?? 0) > 100 && (stats["played"] as? Int ?? 0) > 100, "\(stats)")
        try await endpoint.stop()
    }

    /// Hot-plug: a sink loaded while watching is reported added (with its monitor source), made the
    /// default, reported as the new default output, and reported removed when unloaded.
    @Test func devicesComingAndGoingAndDefaultChangesAreEvents() async throws {
        let pulse = try await PulseAudioServer.start()
        defer { pulse.stop() }
        let events = PulseAudioDevice.deviceEvents(server: pulse.address)
        let watching = NIOLockedValueBox(false)
        let recorder = Task { () -> [AudioDeviceEvent] in
            var seen: [AudioDeviceEvent] = []
            for await e in events {
                seen.append(e)
                if e == .watching { watching.withLockedValue { $0 = true } }
                if case .removed(let d) = e, d.name == "vp_headset" { break }
            }
            return seen
        }
        let ready = ContinuousClock.now + .seconds(10)
        while !watching.withLockedValue({ $0 }), ContinuousClock.now < ready { try await Task.sleep(for: .milliseconds(10)) }
        #expect(watching.withLockedValue { $0 }, "the watch is in place")
        #expect(pulse.pactl("load-module module-null-sink sink_name=vp_headset") == 0)
        let bound = ContinuousClock.now + .seconds(10)
        // Each step waits for the server to apply the previous one (pactl returns when it has).
        #expect(pulse.pactl("set-default-sink vp_headset") == 0)
        #expect(pulse.pactl("unload-module module-null-sink") == 0)  // unloads every null sink
        let seen = try await withThrowingTaskGroup(of: [AudioDeviceEvent].self) { group in
            group.addTask { await recorder.value }
            group.addTask {
                try await Task.sleep(until: bound)
                recorder.cancel()
                return []
            }
            let first = try await group.next() ?? []
            group.cancelAll()
            return first
        }
        #expect(seen.contains { if case .added(let d) = $0 { d.name == "vp_headset" && !d.isInput } else { false } }, "\(seen)")
        #expect(seen.contains { if case .added(let d) = $0 { d.name == "vp_headset.monitor" && d.isInput } else { false } }, "\(seen)")
        #expect(seen.contains(.defaultChanged(isInput: false, name: "vp_headset")), "\(seen)")
        #expect(seen.contains { if case .removed(let d) = $0 { d.name == "vp_headset" } else { false } }, "\(seen)")
    }

    /// Each direction on its own: the phone calls 9664 (the server sends 1 kHz). The loudspeaker
    /// plays 1 kHz (server → device) and the server's side of the call hears the 660 Hz the room
    /// speaks into the microphone (device → server).
    @Test func eachDirectionCarriesItsOwnTone() async throws {
        let pulse = try await PulseAudioServer.start()
        defer { pulse.stop() }
        let endpoint = try await startEndpoint()
        let serverSide = Task {
            try await first(in: endpoint.events, within: .seconds(20), "the server's media") { e -> MediaSession? in
                if case .newWebRTCCall(let info, let media) = e, !info.outbound { return media } else { return nil }
            }
        }
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9664")
        try await call.wait { $0 == .active }
        let rate = call.media.sampleRate
        let phone = PulseAudioDevice(input: "vp_mic.monitor", output: "vp_speaker", server: pulse.address, sampleRate: rate)
        let audio = CallAudio(device: phone, media: call.media,
                              echoCanceller: try SpeexEchoCanceller(sampleRate: rate, frameSize: phone.frameSamples))
        try audio.start()
        let room = try Room(server: pulse.address, frequency: 660)
        #expect(await room.hears(1000), "server → loudspeaker: the 1 kHz of 9664")
        #expect(try await hears(try await serverSide.value, 660), "microphone → server: the room's 660 Hz")
        room.device.stop()
        audio.stop()
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }
}
