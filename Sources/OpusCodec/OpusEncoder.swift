internal import COpus
import MediaCore

/// Encoder settings (RFC 6716; RFC 7587 for RTP: clock 48 kHz, 20 ms frames by default).
public struct OpusEncoderConfiguration: Sendable, Equatable {
    public enum Application: Sendable, Equatable {
        /// Speech-optimised (OPUS_APPLICATION_VOIP).
        case voip
        /// General audio (OPUS_APPLICATION_AUDIO).
        case audio
        /// Lowest delay (OPUS_APPLICATION_RESTRICTED_LOWDELAY).
        case restrictedLowDelay
    }

    /// Input sample rate: 8, 12, 16, 24 or 48 kHz (RTP clock is 48 kHz regardless, RFC 7587 §4.1).
    public var sampleRate: Int = 48_000
    /// 1 (mono send, the default) or 2.
    public var channels: Int = 1
    public var application: Application = .voip
    /// Target bitrate in bit/s.
    public var bitrate: Int = 32_000
    /// 0…10: the capacity knob (docs/performance.md: 5 for many calls, 9–10 for a single endpoint).
    public var complexity: Int = 5
    /// In-band forward error correction (RFC 6716 §2.1.7; `useinbandfec=1` in SDP).
    public var inbandFEC: Bool = true
    /// Expected packet loss in percent; drives how much FEC is spent.
    public var packetLossPercent: Int = 10
    /// Discontinuous transmission (`usedtx=1`).
    public var dtx: Bool = false

    public init(sampleRate: Int = 48_000, channels: Int = 1, application: Application = .voip, bitrate: Int = 32_000,
                complexity: Int = 5, inbandFEC: Bool = true, packetLossPercent: Int = 10, dtx: Bool = false) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.application = application
        self.bitrate = bitrate
        self.complexity = complexity
        self.inbandFEC = inbandFEC
        self.packetLossPercent = packetLossPercent
        self.dtx = dtx
    }
}

/// An Opus encoder over libopus. One owner; not thread-safe.
public final class OpusEncoder: AudioEncoder {
    private let handle: OpaquePointer
    private let poolKey: OpusStatePool.Key
    public let sampleRate: Int
    public let channels: Int
    public var rtpClockRate: Int { 48_000 }
    public private(set) var configuration: OpusEncoderConfiguration

    public init(_ configuration: OpusEncoderConfiguration = OpusEncoderConfiguration()) throws(OpusError) {
        let app: Int32
        switch configuration.application {
        case .voip: app = OPUS_APPLICATION_VOIP
        case .audio: app = OPUS_APPLICATION_AUDIO
        case .restrictedLowDelay: app = OPUS_APPLICATION_RESTRICTED_LOWDELAY
        }
        let key = OpusStatePool.Key(encoder: true, sampleRate: Int32(configuration.sampleRate),
                                    channels: Int32(configuration.channels), application: app)
        let h: OpaquePointer
        if let kept = OpusStatePool.take(key) {
            h = kept
        } else {
            var err: Int32 = 0
            guard let created = opus_encoder_create(key.sampleRate, key.channels, app, &err), err == OPUS_OK else {
                throw OpusError("opus_encoder_create", err == OPUS_OK ? OPUS_ALLOC_FAIL : err)
            }
            h = created
        }
        self.handle = h
        self.poolKey = key
        self.sampleRate = configuration.sampleRate
        self.channels = configuration.channels
        self.configuration = configuration
        try check(copus_set_signal_voice(h), "OPUS_SET_SIGNAL")
        try setBitrate(configuration.bitrate)
        try setComplexity(configuration.complexity)
        try setInbandFEC(configuration.inbandFEC)
        try setPacketLossPercent(configuration.packetLossPercent)
        try setDTX(configuration.dtx)
    }

    deinit {
        // Reset, a state goes back to the pool for the next encoder (see `OpusStatePool`).
        if copus_encoder_reset(handle) != OPUS_OK || !OpusStatePool.give(poolKey, handle) { opus_encoder_destroy(handle) }
    }

    public func setBitrate(_ bps: Int) throws(OpusError) {
        try check(copus_set_bitrate(handle, Int32(bps)), "OPUS_SET_BITRATE")
        configuration.bitrate = bps
    }

    public func setComplexity(_ value: Int) throws(OpusError) {
        try check(copus_set_complexity(handle, Int32(value)), "OPUS_SET_COMPLEXITY")
        configuration.complexity = value
    }

    public func setInbandFEC(_ on: Bool) throws(OpusError) {
        try check(copus_set_inband_fec(handle, on ? 1 : 0), "OPUS_SET_INBAND_FEC")
        configuration.inbandFEC = on
    }

    public func setPacketLossPercent(_ value: Int) throws(OpusError) {
        try check(copus_set_packet_loss_perc(handle, Int32(value)), "OPUS_SET_PACKET_LOSS_PERC")
        configuration.packetLossPercent = value
    }

    public func setDTX(_ on: Bool) throws(OpusError) {
        try check(copus_set_dtx(handle, on ? 1 : 0), "OPUS_SET_DTX")
        configuration.dtx = on
    }

    /// The bitrate libopus reports it is using.
    public var effectiveBitrate: Int {
        var v: Int32 = 0
        _ = copus_get_bitrate(handle, &v)
        return Int(v)
    }

    /// Encodes one frame of 2.5–60 ms (normally 20 ms = 960 samples per channel at 48 kHz).
    /// A 1–2 byte result is a DTX/silence frame (RFC 6716 §3.1: TOC only) and need not be sent.
    public func encode(pcm: UnsafeBufferPointer<Int16>, into output: UnsafeMutableRawBufferPointer) throws -> Int {
        let frame = pcm.count / channels
        let n = opus_encode(handle, pcm.baseAddress!, Int32(frame),
                            output.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(min(output.count, 1500)))
        guard n >= 0 else { throw OpusError("opus_encode", n) }
        return Int(n)
    }

    /// Array convenience (allocates; tests and tools).
    public func encode(_ pcm: [Int16]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 1500)
        let n = try pcm.withUnsafeBufferPointer { p in try out.withUnsafeMutableBytes { try encode(pcm: p, into: $0) } }
        return Array(out.prefix(n))
    }

    private func check(_ rc: Int32, _ what: String) throws(OpusError) {
        guard rc == OPUS_OK else { throw OpusError("opus_encoder_ctl(\(what))", rc) }
    }
}
