/// Interleaved signed 16-bit PCM, normally 20 ms at the session's `sampleRate`.
public struct AudioFrame: Sendable, Equatable {
    public var samples: [Int16]
    public var sampleRate: Int
    public var channels: Int
    /// RTP timestamp of the frame (received frames), or 0.
    public var timestamp: UInt32

    public init(samples: [Int16], sampleRate: Int, channels: Int = 1, timestamp: UInt32 = 0) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.channels = channels
        self.timestamp = timestamp
    }

    public var duration: Double { Double(samples.count / max(1, channels)) / Double(max(1, sampleRate)) }
}

/// What a media session sends when the application has not queued frames.
public enum MediaSource: Sendable, Equatable {
    /// Silence (kept flowing so peers' media timeouts do not fire, docs/verto-protocol.md §4.4).
    case silence
    /// A continuous tone (one or more frequencies, e.g. 1 kHz test tone or 425 Hz ringback).
    case tone(frequencies: [Double], amplitude: Double)
    /// PCM at the session rate, played once or looped.
    case samples([Int16], loop: Bool)
    /// Send back what is received (the echo test extension).
    case echo
}
