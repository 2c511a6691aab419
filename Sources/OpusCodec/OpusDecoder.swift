internal import COpus
import MediaCore

/// An Opus decoder over libopus, with packet loss concealment and in-band FEC recovery.
/// A mono decoder also decodes a stereo peer's packets (libopus downmixes, RFC 7587 §3.4).
public final class OpusDecoder: AudioDecoder {
    private let handle: OpaquePointer
    private let poolKey: OpusStatePool.Key
    public let sampleRate: Int
    public let channels: Int

    public init(sampleRate: Int = 48_000, channels: Int = 1) throws(OpusError) {
        let key = OpusStatePool.Key(encoder: false, sampleRate: Int32(sampleRate), channels: Int32(channels), application: 0)
        if let kept = OpusStatePool.take(key) {
            self.handle = kept
        } else {
            var err: Int32 = 0
            guard let h = opus_decoder_create(key.sampleRate, key.channels, &err), err == OPUS_OK else {
                throw OpusError("opus_decoder_create", err == OPUS_OK ? OPUS_ALLOC_FAIL : err)
            }
            self.handle = h
        }
        self.poolKey = key
        self.sampleRate = sampleRate
        self.channels = channels
    }

    deinit {
        // Reset, a state goes back to the pool for the next decoder (see `OpusStatePool`).
        if copus_decoder_reset(handle) != OPUS_OK || !OpusStatePool.give(poolKey, handle) { opus_decoder_destroy(handle) }
    }

    public func decode(payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int {
        guard payload.count > 0 else { throw OpusError("opus_decode", OPUS_INVALID_PACKET) }
        let n = opus_decode(handle, payload.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(payload.count),
                            pcm.baseAddress!, Int32(pcm.count / channels), 0)
        guard n >= 0 else { throw OpusError("opus_decode", n) }
        return Int(n)
    }

    /// RFC 6716 §4.4: packet loss concealment (decode with no data).
    public func conceal(samplesPerChannel: Int, into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int {
        let n = opus_decode(handle, nil, 0, pcm.baseAddress!, Int32(min(samplesPerChannel, pcm.count / channels)), 0)
        guard n >= 0 else { throw OpusError("opus_decode(PLC)", n) }
        return Int(n)
    }

    /// RFC 6716 §2.1.7: recovers the lost frame from the LBRR data in the next packet (decode_fec=1).
    /// Falls back to concealment when the next packet carries no FEC.
    public func recover(samplesPerChannel: Int, fromNext payload: UnsafeRawBufferPointer,
                        into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int {
        guard payload.count > 0 else { return try conceal(samplesPerChannel: samplesPerChannel, into: pcm) }
        let n = opus_decode(handle, payload.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(payload.count),
                            pcm.baseAddress!, Int32(min(samplesPerChannel, pcm.count / channels)), 1)
        guard n >= 0 else { throw OpusError("opus_decode(FEC)", n) }
        return Int(n)
    }

    /// Number of samples per channel in an Opus packet (RFC 6716 §3.1), without decoding it.
    public static func samplesPerChannel(in payload: [UInt8], sampleRate: Int = 48_000) -> Int? {
        guard !payload.isEmpty else { return nil }
        let n = payload.withUnsafeBufferPointer { opus_packet_get_nb_samples($0.baseAddress!, Int32($0.count), Int32(sampleRate)) }
        return n > 0 ? Int(n) : nil
    }

    /// Array conveniences (allocate; tests and tools).
    public func decode(_ payload: [UInt8], frameSamples: Int = 960) throws -> [Int16] {
        var pcm = [Int16](repeating: 0, count: 5760 * channels)
        let n = try payload.withUnsafeBytes { p in try pcm.withUnsafeMutableBufferPointer { try decode(payload: p, into: $0) } }
        return Array(pcm.prefix(n * channels))
    }

    public func conceal(samplesPerChannel: Int = 960) throws -> [Int16] {
        var pcm = [Int16](repeating: 0, count: samplesPerChannel * channels)
        let n = try pcm.withUnsafeMutableBufferPointer { try conceal(samplesPerChannel: samplesPerChannel, into: $0) }
        return Array(pcm.prefix(n * channels))
    }

    public func recover(samplesPerChannel: Int = 960, fromNext payload: [UInt8]) throws -> [Int16] {
        var pcm = [Int16](repeating: 0, count: samplesPerChannel * channels)
        let n = try payload.withUnsafeBytes { p in
            try pcm.withUnsafeMutableBufferPointer { try recover(samplesPerChannel: samplesPerChannel, fromNext: p, into: $0) }
        }
        return Array(pcm.prefix(n * channels))
    }
}
