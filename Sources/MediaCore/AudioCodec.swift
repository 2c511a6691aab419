/// Codec protocols (MediaCore owns them; OpusCodec and the G.711 codecs implement them).
///
/// PCM is interleaved signed 16-bit at the codec's `sampleRate`; one frame is normally 20 ms.
/// Implementations must not allocate per call: callers pass their own buffers.

/// Encodes PCM frames into RTP payloads.
public protocol AudioEncoder: AnyObject {
    /// Sample rate of the PCM the encoder takes (48 000 for Opus, 8 000 for G.711).
    var sampleRate: Int { get }
    /// Channels of the PCM the encoder takes (interleaved).
    var channels: Int { get }
    /// RTP clock rate of the payload (48 000 for Opus, 8 000 for G.711).
    var rtpClockRate: Int { get }
    /// Encodes one frame (`pcm.count / channels` samples per channel) into `output`.
    /// - Returns: the payload length in bytes.
    func encode(pcm: UnsafeBufferPointer<Int16>, into output: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Decodes RTP payloads into PCM frames, with loss concealment.
public protocol AudioDecoder: AnyObject {
    /// Sample rate of the PCM the decoder produces.
    var sampleRate: Int { get }
    /// Channels of the PCM the decoder produces (interleaved).
    var channels: Int { get }
    /// Decodes one payload into `pcm`.
    /// - Returns: samples per channel written.
    func decode(payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int
    /// Produces `samplesPerChannel` samples of concealment for a lost packet.
    func conceal(samplesPerChannel: Int, into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int
    /// Recovers a lost packet from the packet that follows it (Opus in-band FEC). Codecs without FEC
    /// conceal instead.
    func recover(samplesPerChannel: Int, fromNext payload: UnsafeRawBufferPointer,
                 into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int
}

extension AudioDecoder {
    public func recover(samplesPerChannel: Int, fromNext payload: UnsafeRawBufferPointer,
                        into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int {
        try conceal(samplesPerChannel: samplesPerChannel, into: pcm)
    }
}
