import ArgumentParser
import MediaCore
import PulseAudioDevice
import SpeexDSP
import VertoPhone
import WebRTCAudioProcessing

/// `--audio`: the call on the machine's sound devices (PulseAudio / PipeWire's pulse server).
struct AudioOptions: ParsableArguments {
    @Flag(help: "Use the sound devices (PulseAudio or PipeWire): the microphone is sent, the far end is played.")
    var audio = false

    @Option(help: "Capture device name (see `vertophone devices`; default: the system's).")
    var input: String?

    @Option(help: "Playout device name (default: the system's).")
    var output: String?

    @Option(help: "Echo cancellation: speex (default: the better ERLE measured here), webrtc or off.")
    var aec = "speex"

    /// Starts the devices on `media` at its codec's rate; nil without `--audio`.
    func attach(to media: MediaSession, timeline tl: Timeline) throws -> CallAudio? {
        guard audio else { return nil }
        let rate = media.sampleRate
        let device = PulseAudioDevice(input: input, output: output, sampleRate: rate)
        let canceller: (any EchoCanceller)?
        switch aec {
        case "speex": canceller = try SpeexEchoCanceller(sampleRate: rate, frameSize: device.frameSamples, denoise: true)
        case "webrtc": canceller = try WebRTCEchoCanceller(sampleRate: rate, noiseSuppression: true)
        case "off": canceller = nil
        default: throw ValidationError("--aec takes speex, webrtc or off")
        }
        let bridge = CallAudio(device: device, media: media, echoCanceller: canceller)
        try bridge.start()
        tl.log("audio", ["input": .text(input ?? "default"), "output": .text(output ?? "default"), "rate": .integer(rate),
                         "aec": .text(aec)])
        return bridge
    }
}

/// Lists the sound devices.
struct Devices: ReportingCommand {
    static let configuration = CommandConfiguration(abstract: "List the sound devices (PulseAudio / PipeWire), the defaults marked.")

    @OptionGroup var output: OutputOptions

    func execute() async throws {
        let tl = Timeline(json: output.json)
        for d in try PulseAudioDevice.devices() {
            tl.log(d.isInput ? "input" : "output", ["name": .text(d.name), "description": .text(d.description),
                                                     "default": .text(d.isDefault ? "yes" : "no")])
        }
    }
}
