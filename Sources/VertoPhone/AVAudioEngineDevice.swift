#if canImport(AVFAudio)
@preconcurrency import AVFAudio
import NIOConcurrencyHelpers

/// An `AudioDevice` on Apple platforms: AVAudioEngine's input node (tapped, converted to 16-bit
/// mono at the call's rate and cut into frames) and a source node that pulls the next frame when
/// the output hardware needs it.
///
/// Compiled only where AVFAudio exists. **Untested here**: the project is built and tested on
/// Linux only (docs/testing.md); the Linux implementation is `PulseAudioDevice`. Known limits: the
/// render block takes frames through a lock and a hop to the media's loop (a real-time thread
/// should only copy from a ring filled by another thread), and configuration changes
/// (AVAudioEngineConfigurationChange) are not reported.
public final class AVAudioEngineDevice: AudioDevice, @unchecked Sendable {
    // @unchecked, at a platform-object boundary: `engine` and the converter are touched only in
    // start/stop (serialised by `lock`) and by the engine's own render and tap threads.
    public let sampleRate: Int
    public let frameSamples: Int
    private let engine = AVAudioEngine()
    private let lock = NIOLock()
    private var running = false
    private var source: AVAudioSourceNode?

    public init(sampleRate: Int = 48_000, frameDuration: Duration = .milliseconds(20)) {
        self.sampleRate = sampleRate
        self.frameSamples = Int(Double(sampleRate) * (frameDuration / .milliseconds(1)) / 1000)
    }

    public func start(capture: @escaping @Sendable ([Int16]) -> Void, playout: @escaping @Sendable () -> [Int16]?,
                      failure: @escaping @Sendable (String) -> Void) throws {
        try lock.withLock {
            guard !running else { return }
            guard let callFormat = AVAudioFormat(commonFormat: .pcmFormatInt16, sampleRate: Double(sampleRate), channels: 1,
                                                 interleaved: true) else {
                throw AVAudioEngineDeviceError("no 16-bit mono format at \(sampleRate) Hz")
            }
            let frame = frameSamples

            // Playout: the render thread asks for samples; whole frames are taken from `playout`.
            let pending = NIOLockedValueBox<[Int16]>([])
            let source = AVAudioSourceNode(format: callFormat) { _, _, frameCount, audioBufferList -> OSStatus in
                let buffers = UnsafeMutableAudioBufferListPointer(audioBufferList)
                guard let data = buffers.first?.mData?.assumingMemoryBound(to: Int16.self) else { return noErr }
                let needed = Int(frameCount)
                pending.withLockedValue { queue in
                    while queue.count < needed {
                        queue += playout() ?? [Int16](repeating: 0, count: frame)
                    }
                    for i in 0..<needed { data[i] = queue[i] }
                    queue.removeFirst(needed)
                }
                return noErr
            }
            engine.attach(source)
            engine.connect(source, to: engine.mainMixerNode, format: callFormat)
            self.source = source

            // Capture: the input node's native format, converted, cut into frames.
            let input = engine.inputNode
            let nativeFormat = input.outputFormat(forBus: 0)
            guard let converter = AVAudioConverter(from: nativeFormat, to: callFormat) else {
                engine.detach(source)
                self.source = nil
                throw AVAudioEngineDeviceError("cannot convert \(nativeFormat) to \(callFormat)")
            }
            let collected = NIOLockedValueBox<[Int16]>([])
            let reported = NIOLockedValueBox(false)
            input.installTap(onBus: 0, bufferSize: AVAudioFrameCount(frame), format: nativeFormat) { buffer, _ in
                let capacity = AVAudioFrameCount(Double(buffer.frameLength) * callFormat.sampleRate / nativeFormat.sampleRate) + 16
                guard let converted = AVAudioPCMBuffer(pcmFormat: callFormat, frameCapacity: capacity) else { return }
                nonisolated(unsafe) var given = false
                nonisolated(unsafe) let input = buffer
                var error: NSError?
                converter.convert(to: converted, error: &error) { _, status in
                    if given { status.pointee = .noDataNow; return nil }
                    given = true
                    status.pointee = .haveData
                    return input
                }
                if let error {
                    if !reported.withLockedValue({ let r = $0; $0 = true; return r }) { failure("capture: \(error)") }
                    return
                }
                guard let samples = converted.int16ChannelData?[0] else { return }
                let chunk = Array(UnsafeBufferPointer(start: samples, count: Int(converted.frameLength)))
                let frames: [[Int16]] = collected.withLockedValue { c in
                    c += chunk
                    var out: [[Int16]] = []
                    while c.count >= frame {
                        out.append(Array(c[0..<frame]))
                        c.removeFirst(frame)
                    }
                    return out
                }
                for f in frames { capture(f) }
            }
            do {
                try engine.start()
            } catch {
                input.removeTap(onBus: 0)
                engine.detach(source)
                self.source = nil
                throw AVAudioEngineDeviceError("AVAudioEngine.start: \(error)")
            }
            running = true
        }
    }

    public func stop() {
        lock.withLock {
            guard running else { return }
            running = false
            engine.inputNode.removeTap(onBus: 0)
            engine.stop()
            if let source { engine.detach(source) }
            source = nil
        }
    }
}

public struct AVAudioEngineDeviceError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
#endif
