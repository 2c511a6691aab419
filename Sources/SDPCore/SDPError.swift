/// The one error type of SDPCore (docs/architecture.md, house rule 9).
///
/// Parse errors carry the 1-based line number and the offending line (shortened); negotiation
/// errors carry the index of the media description concerned and a short context string.
public struct SDPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        // MARK: Parsing (RFC 8866 §5)
        /// The input holds no SDP lines at all.
        case empty
        /// A line is not of the form `<type>=<value>` with a lowercase letter as type (RFC 8866 §5).
        case malformedLine
        /// A line contains a control character other than tab (RFC 8866 §9: no NUL, CR or LF in values).
        case invalidCharacter
        /// The first line is not `v=0` (RFC 8866 §5.1).
        case invalidVersion
        /// A required session-level line is missing (`o=`).
        case missingLine(Character)
        /// A line that may appear only once per section appears twice.
        case duplicateLine(Character)
        /// A line is in a place where it cannot be (e.g. `r=` before any `t=`).
        case unexpectedLine(Character)
        /// `o=` does not have six fields (RFC 8866 §5.2).
        case invalidOrigin
        /// `c=` is not `<nettype> <addrtype> <address>` (RFC 8866 §5.7).
        case invalidConnection
        /// `b=` is not `<bwtype>:<bandwidth>` (RFC 8866 §5.8).
        case invalidBandwidth
        /// `t=` is not two decimal times (RFC 8866 §5.9).
        case invalidTiming
        /// `m=` is not `<media> <port>[/<n>] <proto> <fmt>…` (RFC 8866 §5.14).
        case invalidMedia
        /// An attribute line has an empty name (RFC 8866 §5.13).
        case invalidAttribute
        /// A typed attribute (candidate, fingerprint, rtpmap, ssrc, rtcp) does not follow its grammar.
        case invalidAttributeValue(name: String)

        // MARK: Offer/answer (RFC 3264, RFC 8839, RFC 5763)
        /// The description has no (usable) audio media description.
        case noAudioMedia
        /// No codec of the audio media description is one we support (Opus, PCMU, PCMA).
        case noUsableAudioCodec
        /// The audio media description has no `a=fingerprint` at media or session level (RFC 8122 §5).
        case missingFingerprint
        /// The audio media description has no `a=ice-ufrag`/`a=ice-pwd` (RFC 8839 §5.4).
        case missingICECredentials
        /// The transport protocol is not a secure RTP profile we speak (`…/SAVP` or `…/SAVPF`).
        case unsupportedProtocol(String)
        /// The `a=setup` value is not allowed here (e.g. `actpass` in an answer, RFC 5763 §5).
        case invalidSetup(String)
        /// The answer does not line up with the offer (m-line count, media type or codec, RFC 3264 §6).
        case answerMismatch
        /// The answer rejected (port 0) the audio media description we offered (RFC 3264 §6).
        case audioRejected
    }

    public var kind: Kind
    /// 1-based line number of the offending line for parse errors; nil for negotiation errors.
    public var line: Int?
    /// The offending line (truncated to 80 characters) or a short description.
    public var context: String

    public init(_ kind: Kind, line: Int? = nil, context: String = "") {
        self.kind = kind
        self.line = line
        self.context = context.count > 80 ? String(context.prefix(80)) + "…" : context
    }

    public var description: String {
        var s = "SDPError.\(kind)"
        if let line { s += " at line \(line)" }
        if !context.isEmpty { s += ": \(context)" }
        return s
    }
}
