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
