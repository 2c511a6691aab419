import NIOCore
import RTPCore

/// An adaptive jitter buffer for one audio stream, sans-IO: the caller passes `now` to every call.
///
/// - **No prefetch** (docs/performance.md §4): the first packet (and the first after a restart) is handed
///   out at the very next `playout` call.
/// - **Adaptive target delay**: each packet's delay variation is its arrival time minus its RTP
///   timestamp, relative to the fastest packet in a sliding window (the RFC 3550 §6.4.1 transit
///   time, taken against its recent minimum). The target is a quantile (default 95 %) of a histogram
///   of these values with exponential forgetting, raised at once by any packet later than the target
///   (late or only just in time) to that packet's delay — a bump that then fades linearly — and
///   bounded by `minimumDelay…maximumDelay`.
/// - **Playout** runs one frame per tick. A missing frame is waited for while the current delay is
///   below the target (the buffer grows), and given up once it is reached: `.recover` when the codec
///   has FEC and the next packet is here, else `.conceal`. When the current delay exceeds the target
///   by 1.5 frames and the next frame is buffered, one frame is dropped (at most one per
///   `shrinkInterval`), so the delay shrinks slowly.
/// - Duplicates and late packets are counted and dropped; an SSRC change, a sequence jump beyond the
///   capacity, a timestamp discontinuity (`resyncThreshold`) or a run of packets too late to play
///   (`lateRunBeforeRestart`) restarts the buffer, which then plays the next packet at once. A forward
///   timestamp gap with contiguous sequence numbers is played as silence (Opus DTX). Sequence
///   numbers and timestamps are unwrapped to 64 bits (wrap-safe).
/// - Payloads are copied into preallocated slots: steady-state `insert` and `playout` allocate nothing.
///
/// Single owner; not thread-safe.
public final class JitterBuffer {
    public let configuration: JitterBufferConfiguration
    public private(set) var statistics = JitterBufferStatistics()

    // Slots, indexed by extended sequence number modulo capacity.
    private enum SlotState: UInt8 { case empty, buffered, played, skipped }
    /// Every slot's payload, `slotSize` bytes apart. Slots start small (voice payloads are a few
    /// hundred bytes at most) and all grow, once, when a larger payload arrives: a buffer sized
    /// for 1,275-byte packets in every slot was most of a call's memory.
    private var storage: [UInt8]
    private var slotSize: Int
    static let initialSlotSize = 256
    private var slotState: [SlotState]
    private var slotSeq: [Int64]
    private var slotTs: [Int64]
    private var slotLength: [Int]
    private var slotMarker: [Bool]
    private var buffered = 0

    // Stream identity and unwrapping.
    private var ssrc: UInt32?
    private var previousSSRC: UInt32?
    private var seqUnwrapper = SequenceUnwrapper()
    private var tsUnwrapper = TimestampUnwrapper()
    private var restartCandidate: Int64?

    // Delay estimation.
    private var baseTime: NIODeadline?
    private var baseTs: Int64 = 0
    private var relWindow: [Int64]
    private var relCount = 0
    private var relNext = 0
    private var minRel: Int64 = 0
    private var histogram: [Double]
    private var histogramTotal = 0.0
    private var quantileDelay: Int64 = 0
    private var peak: Int64 = 0
    private var peakTime: NIODeadline?
    private var jitter: InterarrivalJitter

    // Playout.
    private var started = false
    private var nextSeq: Int64 = 0
    private var highestSeq: Int64 = 0
    private var pts: Int64 = 0
    private var lastShrink: NIODeadline?
    private var lastDelay: Int64 = 0
    private var lateRun = 0

    private let frameSamples: Int64
    private let frameNanos: Int64

    public init(configuration: JitterBufferConfiguration = JitterBufferConfiguration()) {
        self.configuration = configuration
        let capacity = max(configuration.capacity, 4)
        slotSize = max(1, min(configuration.maxPayloadSize, Self.initialSlotSize))
        storage = [UInt8](repeating: 0, count: capacity * slotSize)
        slotState = [SlotState](repeating: .empty, count: capacity)
        slotSeq = [Int64](repeating: 0, count: capacity)
        slotTs = [Int64](repeating: 0, count: capacity)
        slotLength = [Int](repeating: 0, count: capacity)
        slotMarker = [Bool](repeating: false, count: capacity)
        relWindow = [Int64](repeating: 0, count: max(configuration.referenceWindow, 1))
        let bins = Int(configuration.maximumDelay.nanoseconds / max(configuration.binWidth.nanoseconds, 1)) + 2
        histogram = [Double](repeating: 0, count: max(bins, 2))
        jitter = InterarrivalJitter(clockRate: configuration.clockRate)
        frameSamples = Int64(max(configuration.samplesPerFrame, 1))
        frameNanos = max(configuration.frameDuration.nanoseconds, 1)
    }

    private var capacity: Int { slotState.count }
    private func slot(_ seq: Int64) -> Int { Int(((seq % Int64(capacity)) + Int64(capacity)) % Int64(capacity)) }
    private func isBuffered(_ seq: Int64) -> Bool {
        let i = slot(seq)
        return slotState[i] == .buffered && slotSeq[i] == seq
    }

    // MARK: Public state

    /// The delay the buffer aims at now.
    public var targetDelay: TimeAmount { .nanoseconds(targetNanos(at: nil)) }

    /// How far behind the fastest possible arrival the last played frame was played.
    public var currentDelay: TimeAmount { .nanoseconds(lastDelay) }

    /// RFC 3550 A.8 interarrival jitter of the stream.
    public var interarrivalJitter: TimeAmount { jitter.jitterTime }

    /// Packets waiting to be played.
    public var bufferedPackets: Int { buffered }

    /// The SSRC being played, once a packet arrived.
    public var currentSSRC: UInt32? { ssrc }

    /// Reads the payload of a frame from `playout`. Valid until the next `insert` or `playout` call.
    public func withPayload<R>(of frame: JitterBufferFrame, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let size = slotSize
        return try storage.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[(frame.slot * size)..<(frame.slot * size + frame.payloadLength)]))
        }
    }

    /// Forgets the stream (keeps the statistics and the learned delay).
    public func reset() {
        restartStream()
        ssrc = nil
        previousSSRC = nil
    }

    /// Re-lays the slots `size` bytes apart (the next power of two, at most `maxPayloadSize`),
    /// keeping what they hold.
    private func growSlots(toHold size: Int) {
        var newSize = slotSize
        while newSize < size { newSize *= 2 }
        newSize = min(newSize, configuration.maxPayloadSize)
        var grown = [UInt8](repeating: 0, count: capacity * newSize)
        let old = slotSize
        grown.withUnsafeMutableBytes { dst in
            storage.withUnsafeBytes { src in
                for i in 0..<capacity where slotLength[i] > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: dst[(i * newSize)..<(i * newSize + slotLength[i])])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: src[(i * old)..<(i * old + slotLength[i])]))
                }
            }
        }
        storage = grown
        slotSize = newSize
    }

    // MARK: Insert

    /// Inserts a parsed RTP packet held in `bytes`.
    @discardableResult
    public func insert(_ packet: RTPPacket, in bytes: UnsafeRawBufferPointer, now: NIODeadline) -> JitterBufferInsertResult {
        insert(sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp, ssrc: packet.ssrc,
               marker: packet.marker, payload: UnsafeRawBufferPointer(rebasing: bytes[packet.payloadRange]), now: now)
    }

    /// Inserts one packet arriving at `now`; the payload is copied.
    @discardableResult
    public func insert(sequenceNumber: UInt16, timestamp: UInt32, ssrc newSSRC: UInt32, marker: Bool = false,
                       payload: UnsafeRawBufferPointer, now: NIODeadline) -> JitterBufferInsertResult {
        statistics.received += 1
        guard payload.count <= configuration.maxPayloadSize else {
            statistics.oversized += 1
            return .tooLarge
        }
        var result = JitterBufferInsertResult.accepted
        if let current = ssrc, current != newSSRC {
            if newSSRC == previousSSRC {
                // A straggler of the stream we already left.
                statistics.late += 1
                return .late
            }
            previousSSRC = current
            restartStream()
            statistics.ssrcChanges += 1
            statistics.resets += 1
            result = .resynchronized
        }
        ssrc = newSSRC
        var seq = seqUnwrapper.peek(sequenceNumber)
        if baseTime != nil {
            if started && seq < nextSeq {
                let i = slot(seq)
                if slotSeq[i] == seq && slotState[i] == .played {
                    statistics.duplicate += 1
                    return .duplicate
                }
                if nextSeq - seq > Int64(max(capacity, 100)) {
                    // Far behind: a very old packet, or the sender restarted its sequence. Two
                    // consecutive such packets confirm a restart (as RFC 3550 A.1 does).
                    if let c = restartCandidate, seq == c + 1 {
                        restartStream()
                        statistics.resets += 1
                        result = .resynchronized
                    } else {
                        restartCandidate = seq
                        statistics.late += 1
                        return .late
                    }
                } else {
                    statistics.late += 1
                    notePacketDelay(seq: seq, timestamp: timestamp, now: now, late: true)
                    return .late
                }
            } else if seq - nextSeq >= Int64(capacity) || (!started && highestSeq - seq >= Int64(capacity)) {
                // Too far ahead of playout (before playout: too far from the packets already here,
                // `nextSeq` being the lowest of them): a sequence jump.
                restartStream()
                statistics.resets += 1
                result = .resynchronized
            }
        }
        if baseTime != nil, !started || seq >= nextSeq {
            // Timestamp discontinuity: the delay variation jumps far beyond anything plausible.
            let ets = tsUnwrapper.peek(timestamp)
            let rel = relative(ts: ets, now: now)
            if rel - minRel > configuration.resyncThreshold.nanoseconds
                || minRel - rel > configuration.maximumDelay.nanoseconds {
                restartStream()
                statistics.resets += 1
                result = .resynchronized
            }
        }
        restartCandidate = nil
        seq = seqUnwrapper.unwrap(sequenceNumber)
        let ets = tsUnwrapper.unwrap(timestamp)
        let i = slot(seq)
        if slotState[i] == .buffered && slotSeq[i] == seq {
            statistics.duplicate += 1
            return .duplicate
        }
        if slotState[i] == .buffered { buffered -= 1 }  // excluded by the range checks; stay consistent
        slotState[i] = .buffered
        slotSeq[i] = seq
        slotTs[i] = ets
        slotMarker[i] = marker
        if payload.count > slotSize { growSlots(toHold: payload.count) }
        slotLength[i] = payload.count
        if payload.count > 0 {
            let size = slotSize
            storage.withUnsafeMutableBytes { raw in
                UnsafeMutableRawBufferPointer(rebasing: raw[(i * size)..<(i * size + payload.count)]).copyMemory(from: payload)
            }
        }
        buffered += 1
        if baseTime == nil {
            baseTime = now
            baseTs = ets
            nextSeq = seq
            highestSeq = seq
        } else {
            if !started && seq < nextSeq { nextSeq = seq }
            highestSeq = max(highestSeq, seq)
        }
        notePacketDelay(seq: seq, timestamp: timestamp, ets: ets, now: now)
        return result
    }

    /// Records that a packet of this stream without audio for this buffer — an RFC 4733 telephone
    /// event (which shares the audio's SSRC and sequence space, §2.1) or comfort noise handled
    /// elsewhere — used `sequenceNumber`, so playout passes over it instead of counting it as lost.
    /// Its timestamp plays no part in the delay estimate (all packets of an event share one).
    @discardableResult
    public func insertNonAudio(sequenceNumber: UInt16, ssrc packetSSRC: UInt32, now: NIODeadline) -> JitterBufferInsertResult {
        statistics.nonAudio += 1
        guard packetSSRC == ssrc, baseTime != nil else { return .late }  // nothing to fill yet
        let seq = seqUnwrapper.peek(sequenceNumber)
        guard seq >= nextSeq, seq - nextSeq < Int64(capacity) else { return .late }
        let i = slot(seq)
        if slotState[i] == .buffered && slotSeq[i] == seq { return .duplicate }
        _ = seqUnwrapper.unwrap(sequenceNumber)
        if slotState[i] == .buffered { buffered -= 1 }
        slotState[i] = .buffered
        slotSeq[i] = seq
        slotTs[i] = Int64.max
        slotLength[i] = Self.nonAudioLength
        slotMarker[i] = false
        buffered += 1
        highestSeq = max(highestSeq, seq)
        return .accepted
    }

    private static let nonAudioLength = -1
    private func isNonAudio(_ seq: Int64) -> Bool { slotLength[slot(seq)] == Self.nonAudioLength }

    private func notePacketDelay(seq: Int64, timestamp: UInt32, now: NIODeadline, late: Bool) {
        let ets = tsUnwrapper.peek(timestamp)
        notePacketDelay(seq: seq, timestamp: timestamp, ets: ets, now: now, late: late)
    }

    /// Updates the reference window, histogram, quantile, late bump and A.8 jitter.
    private func notePacketDelay(seq: Int64, timestamp: UInt32, ets: Int64, now: NIODeadline, late: Bool = false) {
        jitter.update(timestamp: timestamp, arrival: now)
        let rel = relative(ts: ets, now: now)
        relWindow[relNext] = rel
        relNext = (relNext + 1) % relWindow.count
        relCount = min(relCount + 1, relWindow.count)
        var m = Int64.max
        for k in 0..<relCount where relWindow[k] < m { m = relWindow[k] }
        minRel = m
        let sample = max(rel - minRel, 0)
        let f = configuration.forgetFactor
        for b in 0..<histogram.count { histogram[b] *= f }
        let bin = min(Int(sample / max(configuration.binWidth.nanoseconds, 1)), histogram.count - 1)
        histogram[bin] += 1 - f
        histogramTotal = histogramTotal * f + (1 - f)
        var cumulative = 0.0
        let wanted = configuration.delayQuantile * histogramTotal
        quantileDelay = Int64(histogram.count) * configuration.binWidth.nanoseconds
        for b in 0..<histogram.count {
            cumulative += histogram[b]
            if cumulative >= wanted {
                quantileDelay = b == 0 ? 0 : Int64(b + 1) * configuration.binWidth.nanoseconds
                break
            }
        }
        // A packet later than the current target (late or only just in time) bumps the target to
        // its delay at once; the bump then fades (`peakDecayPerSecond`).
        if late || sample > targetNanos(at: now) {
            let bumped = min(sample + configuration.binWidth.nanoseconds, configuration.maximumDelay.nanoseconds)
            peak = max(decayedPeak(at: now), bumped)
            peakTime = now
        }
    }

    /// Arrival minus media time, in nanoseconds since the stream's first packet.
    private func relative(ts: Int64, now: NIODeadline) -> Int64 {
        guard let baseTime else { return 0 }
        return (now - baseTime).nanoseconds - nanos(samples: ts - baseTs)
    }

    private func nanos(samples: Int64) -> Int64 {
        let (hi, lo) = samples.multipliedFullWidth(by: 1_000_000_000)
        return Int64(max(configuration.clockRate, 1)).dividingFullWidth((high: hi, low: lo)).quotient
    }

    private func decayedPeak(at now: NIODeadline?) -> Int64 {
        guard let peakTime, let now else { return peak }
        let elapsed = max((now - peakTime).nanoseconds, 0)
        let decay = Int64(Double(elapsed) / 1e9 * Double(configuration.peakDecayPerSecond.nanoseconds))
        return max(peak - decay, 0)
    }

    private func targetNanos(at now: NIODeadline?) -> Int64 {
        let raw = max(quantileDelay, decayedPeak(at: now ?? lastNow))
        return min(max(raw, configuration.minimumDelay.nanoseconds), configuration.maximumDelay.nanoseconds)
    }

    private var lastNow: NIODeadline?

    /// Empties the slots and restarts playout and timing; the learned delay is kept.
    private func restartStream() {
        for k in 0..<capacity { slotState[k] = .empty }
        buffered = 0
        seqUnwrapper.reset()
        tsUnwrapper.reset()
        restartCandidate = nil
        baseTime = nil
        relCount = 0
        relNext = 0
        minRel = 0
        jitter.reset()
        started = false
        lastShrink = nil
        lateRun = 0
    }

    // MARK: Playout

    /// How late playing media time `pts` at `now` is, relative to the fastest arrival.
    private func delay(now: NIODeadline) -> Int64 { relative(ts: pts, now: now) - minRel }

    private func frame(at seq: Int64) -> JitterBufferFrame {
        let i = slot(seq)
        return JitterBufferFrame(sequenceNumber: UInt16(truncatingIfNeeded: seq), timestamp: UInt32(truncatingIfNeeded: slotTs[i]),
                                 marker: slotMarker[i], payloadLength: slotLength[i], slot: i)
    }

    private func release(_ seq: Int64, as state: SlotState) {
        let i = slot(seq)
        if slotState[i] == .buffered && slotSeq[i] == seq { buffered -= 1 }
        slotState[i] = state
        slotSeq[i] = seq
    }

    /// The next thing to play, for the tick at `now` (call once per frame duration).
    public func playout(now: NIODeadline) -> JitterBufferPlayout {
        lastNow = now
        if !started {
            guard buffered > 0 else { return .wait }
            while !isBuffered(nextSeq) && nextSeq < highestSeq { nextSeq += 1 }  // defensive: lowest present
            guard isBuffered(nextSeq), !isNonAudio(nextSeq) else { return .wait }
            started = true
            pts = slotTs[slot(nextSeq)]
        }
        let target = targetNanos(at: now)
        let maxLateSamples = Int64(configuration.clockRate) * configuration.maximumDelay.nanoseconds / 1_000_000_000
        while true {
            if isBuffered(nextSeq) && isNonAudio(nextSeq) {
                // A telephone-event (or other non-audio) sequence number: pass over it.
                release(nextSeq, as: .played)
                nextSeq += 1
                continue
            }
            if isBuffered(nextSeq) {
                let ts = slotTs[slot(nextSeq)]
                if ts > pts + frameSamples / 2 {
                    // A timestamp gap (DTX or silence suppression): nothing to play for this interval.
                    pts += frameSamples
                    statistics.waits += 1
                    return .wait
                }
                if ts + maxLateSamples < pts {
                    // Far behind the playout clock (it arrived after a long underrun): drop it. A run of
                    // these means the timestamps jumped back: restart.
                    release(nextSeq, as: .skipped)
                    statistics.late += 1
                    statistics.lost += 1
                    nextSeq += 1
                    lateRun += 1
                    if lateRun >= configuration.lateRunBeforeRestart {
                        restartStream()
                        statistics.resets += 1
                        statistics.waits += 1
                        return .wait
                    }
                    continue
                }
                lateRun = 0
                let f = frame(at: nextSeq)
                release(nextSeq, as: .played)
                nextSeq += 1
                lastDelay = max(relative(ts: ts, now: now) - minRel, 0)
                pts = ts + frameSamples
                statistics.decoded += 1
                shrinkIfAbove(target: target, now: now)
                return .decode(f)
            }
            if let q = nextBufferedSequence(after: nextSeq) {
                let estimated = slotTs[slot(q)] - (q - nextSeq) * frameSamples
                if estimated + frameSamples <= pts {
                    // Its time passed while the buffer ran dry: already covered by `.wait` answers.
                    release(nextSeq, as: .skipped)
                    statistics.lost += 1
                    nextSeq += 1
                    continue
                }
                if delay(now: now) >= target {
                    let lostTs = UInt32(truncatingIfNeeded: pts)
                    release(nextSeq, as: .skipped)
                    statistics.lost += 1
                    nextSeq += 1
                    pts += frameSamples
                    if configuration.codecHasFEC && q == nextSeq {
                        statistics.recovered += 1
                        return .recover(frame(at: q))
                    }
                    statistics.concealed += 1
                    return .conceal(timestamp: lostTs)
                }
                statistics.waits += 1
                return .wait
            }
            // Nothing buffered: wait up to the target, then let media time pass (loss, DTX or a spike).
            if delay(now: now) >= target { pts += frameSamples }
            statistics.waits += 1
            return .wait
        }
    }

    private func nextBufferedSequence(after seq: Int64) -> Int64? {
        guard buffered > 0, highestSeq > seq else { return nil }
        var s = seq + 1
        while s <= highestSeq && s < seq + Int64(capacity) {
            if isBuffered(s) && !isNonAudio(s) { return s }
            s += 1
        }
        return nil
    }

    /// Drops the next frame when the delay is 1.5 frames above target (at most once per interval).
    private func shrinkIfAbove(target: Int64, now: NIODeadline) {
        guard lastDelay - frameNanos >= target + frameNanos / 2, isBuffered(nextSeq) else { return }
        if let last = lastShrink, now - last < configuration.shrinkInterval { return }
        let ts = slotTs[slot(nextSeq)]
        guard ts <= pts + frameSamples / 2 else { return }  // only a contiguous frame
        release(nextSeq, as: .skipped)
        nextSeq += 1
        pts = ts + frameSamples
        lastShrink = now
        statistics.discarded += 1
    }
}
