import NIOCore

/// Sends DTMF digits as RFC 4733 telephone events, one decision per packetization tick.
///
/// Per event (RFC 4733 §2.5.1): the first packet carries the marker bit; every packet of the event
/// carries the same RTP timestamp (the media timestamp of the tick the event started on); the
/// duration grows by one packet interval per tick (§2.5.1.2); the final packet has the E bit and is
/// sent `endRepeats` times, 3 by default (§2.5.1.4). Events use the audio stream's SSRC, sequence
/// space and clock (§2.1), and audio is suppressed while an event is on.
///
/// The shell calls `tick(mediaTimestamp:)` once per packetization interval, instead of sending an
/// audio frame when the result is `.event`. No allocation per tick.
public struct DTMFSender: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// RTP clock rate of the telephone-event payload (the audio clock, e.g. 48 000 with Opus).
        public var clockRate: Int
        /// Packetization interval (also the audio frame duration).
        public var packetInterval: TimeAmount
        /// Volume in −dBm0 (§2.3.4).
        public var volume: UInt8
        /// Default tone duration per digit.
        public var defaultDuration: TimeAmount
        /// Pause between digits (audio is sent meanwhile), rounded up to whole ticks.
        public var interDigitGap: TimeAmount
        /// How many times the end packet is sent (§2.5.1.4 recommends 3).
        public var endRepeats: Int

        public init(clockRate: Int = 8000, packetInterval: TimeAmount = .milliseconds(20), volume: UInt8 = 10,
                    defaultDuration: TimeAmount = .milliseconds(100), interDigitGap: TimeAmount = .milliseconds(50),
                    endRepeats: Int = 3) {
            self.clockRate = clockRate
            self.packetInterval = packetInterval
            self.volume = volume
            self.defaultDuration = defaultDuration
            self.interDigitGap = interDigitGap
            self.endRepeats = endRepeats
        }
    }

    /// What to send at one tick.
    public enum Tick: Sendable, Equatable {
        /// No event: send audio as usual.
        case idle
        /// Send this telephone-event packet instead of audio.
        case event(DTMFPacket)
    }

    public let configuration: Configuration
    /// Samples per packet interval.
    public let samplesPerInterval: Int

    private var queue: [(digit: DTMFDigit, ticks: Int)] = []
    private var queueHead = 0
    private var current: (digit: DTMFDigit, timestamp: UInt32, ticks: Int, index: Int)?
    private var gapRemaining = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let interval = max(configuration.packetInterval.nanoseconds, 1)
        self.samplesPerInterval = max(1, Int(Int64(configuration.clockRate) * interval / 1_000_000_000))
    }

    /// Ticks needed for `duration`: at least 1, rounded up, capped so the duration field
    /// (16 bits, §2.5.1.3) does not overflow — longer tones are not split into segments.
    public func ticks(for duration: TimeAmount) -> Int {
        let interval = max(configuration.packetInterval.nanoseconds, 1)
        let clamped = min(max(duration.nanoseconds, 0), 3_600_000_000_000)  // an hour is plenty
        let wanted = max(1, Int((clamped + interval - 1) / interval))
        return min(wanted, max(1, Int(UInt16.max) / samplesPerInterval))
    }

    /// Queues a digit (allocates when the queue grows; not a per-packet path).
    public mutating func enqueue(_ digit: DTMFDigit, duration: TimeAmount? = nil) {
        if queueHead > 0 && queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        }
        queue.append((digit, ticks(for: duration ?? configuration.defaultDuration)))
    }

    /// Queues several digits with the default duration.
    public mutating func enqueue(_ digits: [DTMFDigit]) {
        for d in digits { enqueue(d) }
    }

    /// True when no event is being sent and none is queued (the inter-digit gap may still run).
    public var isIdle: Bool { current == nil && queueHead == queue.count }

    /// Digits waiting to start.
    public var pendingCount: Int { queue.count - queueHead }

    /// Drops queued digits and the current event. A started event is cut short without an end
    /// packet; receivers then end it by timeout.
    public mutating func cancel() {
        queue.removeAll(keepingCapacity: true)
        queueHead = 0
        current = nil
        gapRemaining = 0
    }

    /// The whole packet sequence of one digit starting at `startTimestamp` (allocates; for tools and
    /// tests — the shell drives `tick(mediaTimestamp:)` instead).
    public static func plan(_ digit: DTMFDigit, duration: TimeAmount, startTimestamp: UInt32,
                            configuration: Configuration = Configuration()) -> [DTMFPacket] {
        var sender = DTMFSender(configuration: configuration)
        sender.enqueue(digit, duration: duration)
        var out: [DTMFPacket] = []
        var ts = startTimestamp
        while case .event(let p) = sender.tick(mediaTimestamp: ts) {
            out.append(p)
            ts &+= UInt32(truncatingIfNeeded: sender.samplesPerInterval)
            if p.event.isEnd { break }
        }
        return out
    }

    /// Advances one packet interval. `mediaTimestamp` is the RTP timestamp the audio frame of this
    /// tick would carry (the event's timestamp when an event starts here).
    public mutating func tick(mediaTimestamp: UInt32) -> Tick {
        if current == nil {
            if gapRemaining > 0 {
                gapRemaining -= 1
                return .idle
            }
            guard queueHead < queue.count else { return .idle }
            let next = queue[queueHead]
            queueHead += 1
            current = (next.digit, mediaTimestamp, next.ticks, 0)
        }
        guard let c = current else { return .idle }
        let isEnd = c.index == c.ticks - 1
        let duration = UInt16(min((c.index + 1) * samplesPerInterval, Int(UInt16.max)))
        let packet = DTMFPacket(
            event: TelephoneEvent(event: c.digit.eventCode, isEnd: isEnd, volume: configuration.volume, duration: duration),
            timestamp: c.timestamp, marker: c.index == 0, transmissions: isEnd ? max(1, configuration.endRepeats) : 1)
        if isEnd {
            current = nil
            let interval = max(configuration.packetInterval.nanoseconds, 1)
            let gap = min(max(configuration.interDigitGap.nanoseconds, 0), 3_600_000_000_000)
            gapRemaining = Int((gap + interval - 1) / interval)
        } else {
            current?.index += 1
        }
        return .event(packet)
    }
}

/// One telephone-event packet to send (RFC 4733 §2.5.1).
public struct DTMFPacket: Sendable, Equatable {
    public var event: TelephoneEvent
    /// RTP timestamp: the start of the event, the same for all its packets (§2.5.1.1).
    public var timestamp: UInt32
    /// Marker bit for the first transmission (§2.5.1.1: the first packet of an event).
    public var marker: Bool
    /// Send this many copies, each with its own sequence number; only the first may carry the
    /// marker. 1, or `endRepeats` for the end packet (§2.5.1.4).
    public var transmissions: Int

    public init(event: TelephoneEvent, timestamp: UInt32, marker: Bool, transmissions: Int) {
        self.event = event
        self.timestamp = timestamp
        self.marker = marker
        self.transmissions = transmissions
    }
}
