/// A session description (RFC 8866 §5): the session-level lines followed by zero or more media
/// descriptions. Every line SDPCore reads is kept: modelled lines as typed fields, attributes in
/// order, and lines of unknown type in `otherLines`.
public struct SessionDescription: Sendable, Equatable {
    /// `v=` (RFC 8866 §5.1); always 0.
    public var version: Int
    /// `o=` (RFC 8866 §5.2).
    public var origin: SDPOrigin
    /// `s=` (RFC 8866 §5.3); `-` when there is no name. The parser supplies `-` when the line is missing.
    public var sessionName: String
    /// `i=` (RFC 8866 §5.4).
    public var information: String?
    /// `u=` (RFC 8866 §5.5).
    public var uri: String?
    /// `e=` lines (RFC 8866 §5.6).
    public var emails: [String]
    /// `p=` lines (RFC 8866 §5.6).
    public var phones: [String]
    /// Session-level `c=` (RFC 8866 §5.7).
    public var connection: SDPConnection?
    /// Session-level `b=` lines (RFC 8866 §5.8).
    public var bandwidths: [SDPBandwidth]
    /// `t=` lines, each with its `r=` lines (RFC 8866 §5.9, §5.10). The parser supplies `t=0 0` when missing.
    public var timings: [SDPTiming]
    /// `z=` (RFC 8866 §5.11).
    public var timeZones: String?
    /// `k=` (RFC 8866 §5.12, obsolete but kept).
    public var encryptionKey: String?
    /// Session-level lines of a type SDPCore does not model, in order; emitted before the attributes.
    public var otherLines: [SDPLine]
    /// Session-level `a=` lines in order (RFC 8866 §5.13).
    public var attributes: [SDPAttribute]
    /// The media descriptions in order (`m=` sections, RFC 8866 §5.14).
    public var media: [MediaDescription]

    public init(
        version: Int = 0,
        origin: SDPOrigin,
        sessionName: String = "-",
        information: String? = nil,
        uri: String? = nil,
        emails: [String] = [],
        phones: [String] = [],
        connection: SDPConnection? = nil,
        bandwidths: [SDPBandwidth] = [],
        timings: [SDPTiming] = [SDPTiming()],
        timeZones: String? = nil,
        encryptionKey: String? = nil,
        otherLines: [SDPLine] = [],
        attributes: [SDPAttribute] = [],
        media: [MediaDescription] = []
    ) {
        self.version = version
        self.origin = origin
        self.sessionName = sessionName
        self.information = information
        self.uri = uri
        self.emails = emails
        self.phones = phones
        self.connection = connection
        self.bandwidths = bandwidths
        self.timings = timings
        self.timeZones = timeZones
        self.encryptionKey = encryptionKey
        self.otherLines = otherLines
        self.attributes = attributes
        self.media = media
    }

    /// Parses SDP text (see `SDPParser`).
    public init(parsing text: String) throws(SDPError) {
        self = try SDPParser.parse(text)
    }

    /// The SDP text with CRLF line endings in canonical order (see `SDPSerializer`).
    public var text: String { SDPSerializer.serialize(self) }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2).
/// The numeric fields are kept as text: endpoints write 64-bit and longer values.
public struct SDPOrigin: Sendable, Equatable, Hashable {
    public var username: String
    public var sessionID: String
    public var sessionVersion: String
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(
        username: String = "-", sessionID: String, sessionVersion: String,
        networkType: String = "IN", addressType: String = "IP4", address: String = "127.0.0.1"
    ) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    /// The line value after `o=`.
    public var value: String { "\(username) \(sessionID) \(sessionVersion) \(networkType) \(addressType) \(address)" }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7). A multicast TTL/count suffix
/// stays part of `address`.
public struct SDPConnection: Sendable, Equatable, Hashable {
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(networkType: String = "IN", addressType: String = "IP4", address: String) {
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    /// `IN IP4 <address>` or `IN IP6 <address>`, chosen by whether the address contains `:`.
    public init(address: String) {
        self.init(addressType: address.contains(":") ? "IP6" : "IP4", address: address)
    }

    public var value: String { "\(networkType) \(addressType) \(address)" }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8), e.g. `AS:2580` or `TIAS:64000`.
public struct SDPBandwidth: Sendable, Equatable, Hashable {
    public var type: String
    public var value: UInt64

    public init(type: String, value: UInt64) {
        self.type = type
        self.value = value
    }

    public var text: String { "\(type):\(value)" }
}

/// `t=<start-time> <stop-time>` with its `r=` repeat lines (RFC 8866 §5.9, §5.10). WebRTC uses `t=0 0`.
public struct SDPTiming: Sendable, Equatable, Hashable {
    public var start: UInt64
    public var stop: UInt64
    /// The `r=` line values that follow this `t=` line, verbatim.
    public var repeats: [String]

    public init(start: UInt64 = 0, stop: UInt64 = 0, repeats: [String] = []) {
        self.start = start
        self.stop = stop
        self.repeats = repeats
    }
}
