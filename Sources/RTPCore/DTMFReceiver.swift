/// Turns received RFC 4733 telephone-event packets into digits, each exactly once.
///
/// Packets of one event share its RTP timestamp (§2.5.1.1), so the receiver dedupes by timestamp:
/// the digit is reported at the first packet seen of a new timestamp, whichever it is (the marked
/// first packet, a continuation, or one of the repeated end packets), so losing the first packet or
/// some end packets costs nothing, and retransmitted or reordered packets of an event already
/// reported are ignored. A long event split into segments (§2.5.1.3: a new timestamp, no marker,
/// same event code, while the previous segment has not ended) is not reported again. Packets older
/// than everything in the recent-event history are ignored as stale. No allocation per packet.
public struct DTMFReceiver: Sendable {
    /// A digit, reported once per event.
    public struct Detection: Sendable, Equatable {
        public var digit: DTMFDigit
        /// The event's RTP timestamp.
        public var timestamp: UInt32
        public var volume: UInt8

        public init(digit: DTMFDigit, timestamp: UInt32, volume: UInt8) {
            self.digit = digit
            self.timestamp = timestamp
            self.volume = volume
        }
    }

    private var timestamps: [UInt32]
    private var ended: [Bool]
    private var codes: [UInt8]
    private var count = 0
    private var next = 0
    private var latest: Int?

    /// Events counted, DTMF or not.
    public private(set) var eventsSeen = 0
    /// Packets ignored as duplicates, retransmissions or stale.
    public private(set) var packetsIgnored = 0

    /// - Parameter historySize: how many recent events are remembered for deduplication.
    public init(historySize: Int = 16) {
        let n = max(historySize, 2)
        timestamps = [UInt32](repeating: 0, count: n)
        ended = [Bool](repeating: false, count: n)
        codes = [UInt8](repeating: 0, count: n)
    }

    private func index(of ts: UInt32) -> Int? {
        for i in 0..<count where timestamps[i] == ts { return i }
        return nil
    }

    /// Feeds one telephone-event packet. Returns a detection when this packet reveals a new DTMF
    /// event; nil otherwise (non-DTMF events such as flash are tracked but not reported).
    public mutating func receive(_ event: TelephoneEvent, timestamp: UInt32, marker: Bool) -> Detection? {
        if let i = index(of: timestamp) {
            if event.isEnd { ended[i] = true }
            packetsIgnored += 1
            return nil
        }
        var isSegment = false
        if let l = latest {
            let delta = Int32(bitPattern: timestamp &- timestamps[l])
            if delta < 0 {
                // Older than the newest event: accept only if it is newer than the whole history
                // window (a reordered event), never when the history is full and it predates it.
                if count == timestamps.count {
                    let oldest = timestamps[next]  // the slot overwritten next holds the oldest entry
                    if Int32(bitPattern: timestamp &- oldest) < 0 {
                        packetsIgnored += 1
                        return nil
                    }
                }
            } else if !marker && codes[l] == event.event && !ended[l] {
                isSegment = true
            }
        }
        timestamps[next] = timestamp
        ended[next] = event.isEnd
        codes[next] = event.event
        if latest.map({ Int32(bitPattern: timestamp &- timestamps[$0]) > 0 }) ?? true { latest = next }
        next = (next + 1) % timestamps.count
        count = min(count + 1, timestamps.count)
        if isSegment { return nil }
        eventsSeen += 1
        guard let digit = event.digit else { return nil }
        return Detection(digit: digit, timestamp: timestamp, volume: event.volume)
    }
}
