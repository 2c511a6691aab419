import NIOCore

/// Settings of a `JitterBuffer`. The defaults suit 20 ms Opus at 48 kHz.
public struct JitterBufferConfiguration: Sendable, Equatable {
    /// RTP clock rate of the stream.
    public var clockRate: Int
    /// Duration of one packet and of one playout tick (fixed ptime).
    public var frameDuration: TimeAmount
    /// Packet slots (a power of two is not required). Also bounds how far ahead of playout a
    /// packet may be before the buffer resynchronizes.
    public var capacity: Int
    /// Largest payload stored; larger packets are dropped and counted (`oversized`). Opus packets are
    /// at most 1275 bytes.
    public var maxPayloadSize: Int
    /// Bounds of the target delay.
    public var minimumDelay: TimeAmount
    public var maximumDelay: TimeAmount
    /// Quantile of the delay-variation histogram used as the target (e.g. 0.95).
    public var delayQuantile: Double
    /// Per-packet forgetting factor of the histogram (0.998 ≈ a memory of 500 packets, 10 s at 20 ms).
    public var forgetFactor: Double
    /// Histogram bin width.
    public var binWidth: TimeAmount
    /// Packets in the sliding window whose fastest arrival is the zero of delay variation.
    public var referenceWindow: Int
    /// How fast the delay bump set by a packet later than the target fades, per second of time.
    public var peakDecayPerSecond: TimeAmount
    /// At most one frame is dropped to shrink the delay per this interval.
    public var shrinkInterval: TimeAmount
    /// A packet whose delay variation exceeds this (arriving this much later than its timestamp
    /// says), or that arrives more than `maximumDelay` *earlier* than the fastest recent packet, is
    /// taken as a timestamp discontinuity and the buffer restarts at it.
    public var resyncThreshold: TimeAmount
    /// After this many consecutive packets too late to play (beyond `maximumDelay` behind the playout
    /// clock, e.g. after a small backward timestamp jump), the buffer restarts.
    public var lateRunBeforeRestart: Int
    /// The codec can recover a lost frame from the next packet (Opus in-band FEC): playout then
    /// answers `.recover` instead of `.conceal` when the next packet is present.
    public var codecHasFEC: Bool

    public init(clockRate: Int = 48000, frameDuration: TimeAmount = .milliseconds(20), capacity: Int = 32,
                maxPayloadSize: Int = 1280, minimumDelay: TimeAmount = .zero, maximumDelay: TimeAmount = .milliseconds(400),
                delayQuantile: Double = 0.95, forgetFactor: Double = 0.998, binWidth: TimeAmount = .milliseconds(5),
                referenceWindow: Int = 128, peakDecayPerSecond: TimeAmount = .milliseconds(10),
                shrinkInterval: TimeAmount = .milliseconds(500), resyncThreshold: TimeAmount = .seconds(1),
                lateRunBeforeRestart: Int = 25, codecHasFEC: Bool = false) {
        self.clockRate = clockRate
        self.frameDuration = frameDuration
        self.capacity = capacity
        self.maxPayloadSize = maxPayloadSize
        self.minimumDelay = minimumDelay
        self.maximumDelay = maximumDelay
        self.delayQuantile = delayQuantile
        self.forgetFactor = forgetFactor
        self.binWidth = binWidth
        self.referenceWindow = referenceWindow
        self.peakDecayPerSecond = peakDecayPerSecond
        self.shrinkInterval = shrinkInterval
        self.resyncThreshold = resyncThreshold
        self.lateRunBeforeRestart = lateRunBeforeRestart
        self.codecHasFEC = codecHasFEC
    }

    /// Samples (at the RTP clock) per frame.
    public var samplesPerFrame: Int { Int(Int64(clockRate) * frameDuration.nanoseconds / 1_000_000_000) }
}

/// Counters of a `JitterBuffer`.
public struct JitterBufferStatistics: Sendable, Equatable {
    /// Packets offered to `insert`.
    public var received = 0
    /// Packets offered twice (still buffered or already played); dropped.
    public var duplicate = 0
    /// Packets that arrived after their frame was given up (concealed, recovered or skipped); dropped.
    public var late = 0
    /// Frames never received in time: every sequence number skipped by playout.
    public var lost = 0
    /// `.conceal` answers.
    public var concealed = 0
    /// `.recover` answers.
    public var recovered = 0
    /// `.decode` answers.
    public var decoded = 0
    /// Frames dropped on purpose to shrink the delay.
    public var discarded = 0
    /// Packets larger than `maxPayloadSize`; dropped.
    public var oversized = 0
    /// Times the buffer restarted: SSRC change, sequence or timestamp discontinuity.
    public var resets = 0
    /// SSRC changes (included in `resets`).
    public var ssrcChanges = 0
    /// `.wait` answers after the first packet (buffering, underrun, DTX gaps).
    public var waits = 0
    /// Calls to `insertNonAudio` (telephone events sharing the sequence space); not in `received`.
    public var nonAudio = 0

    public init() {}
}

/// What `insert` did with a packet.
public enum JitterBufferInsertResult: Sendable, Equatable {
    case accepted
    /// Accepted after a restart (new SSRC, sequence or timestamp discontinuity): it plays at once.
    case resynchronized
    case duplicate
    case late
    case tooLarge
}

/// A buffered frame handed out by `playout`; read its payload with `JitterBuffer.withPayload(of:_:)`.
public struct JitterBufferFrame: Sendable, Equatable {
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var marker: Bool
    public var payloadLength: Int
    let slot: Int
}

/// What to play at one tick.
public enum JitterBufferPlayout: Sendable, Equatable {
    /// Decode this frame.
    case decode(JitterBufferFrame)
    /// The frame due now is lost, and `frame` — the next one, which stays buffered and is decoded
    /// normally at the next tick — carries FEC for it: call the decoder's `recover(fromNext:)`.
    case recover(JitterBufferFrame)
    /// The frame due now (this RTP timestamp) is lost: call the decoder's `conceal`.
    case conceal(timestamp: UInt32)
    /// Nothing to decode yet: before the first packet, while waiting for a late packet within the
    /// target delay, in a timestamp gap (DTX), or in an underrun. Play silence or decoder concealment.
    case wait
}
