/// One media description (RFC 8866 §5.14): the `m=` line and the lines that follow it up to the
/// next `m=` line.
public struct MediaDescription: Sendable, Equatable {
    /// `audio`, `video`, `application`, …
    public var media: String
    /// The transport port; 0 marks a rejected or disabled stream (RFC 3264 §6, §8.2).
    public var port: UInt16
    /// The optional `/<number of ports>` suffix of the port field.
    public var numberOfPorts: UInt16?
    /// The transport protocol, e.g. `UDP/TLS/RTP/SAVPF` or `RTP/SAVPF` (RFC 5764 §8, RFC 5124).
    public var proto: String
    /// The media formats: RTP payload type numbers for RTP profiles, in the offerer's order of preference.
    public var formats: [String]
    /// `i=` (RFC 8866 §5.4).
    public var information: String?
    /// Media-level `c=` (RFC 8866 §5.7).
    public var connection: SDPConnection?
    /// Media-level `b=` lines (RFC 8866 §5.8).
    public var bandwidths: [SDPBandwidth]
    /// `k=` (RFC 8866 §5.12).
    public var encryptionKey: String?
    /// Lines of a type SDPCore does not model here, in order; emitted before the attributes.
    public var otherLines: [SDPLine]
    /// Media-level `a=` lines in order (RFC 8866 §5.13).
    public var attributes: [SDPAttribute]

    public init(
        media: String,
        port: UInt16,
        numberOfPorts: UInt16? = nil,
        proto: String,
        formats: [String],
        information: String? = nil,
        connection: SDPConnection? = nil,
        bandwidths: [SDPBandwidth] = [],
        encryptionKey: String? = nil,
        otherLines: [SDPLine] = [],
        attributes: [SDPAttribute] = []
    ) {
        self.media = media
        self.port = port
        self.numberOfPorts = numberOfPorts
        self.proto = proto
        self.formats = formats
        self.information = information
        self.connection = connection
        self.bandwidths = bandwidths
        self.encryptionKey = encryptionKey
        self.otherLines = otherLines
        self.attributes = attributes
    }

    /// The line value after `m=`.
    public var mLineValue: String {
        var port = String(self.port)
        if let n = numberOfPorts { port += "/\(n)" }
        return ([media, port, proto] + formats).joined(separator: " ")
    }

    /// True when the port is 0: the stream is rejected (in an answer) or disabled (RFC 3264 §6, §8.2).
    public var isRejected: Bool { port == 0 }

    /// The payload types of the format list that are decimal numbers 0–127, in order.
    public var payloadTypes: [UInt8] {
        formats.compactMap { SDPText.unsigned($0, max: 127).map { UInt8($0) } }
    }
}
