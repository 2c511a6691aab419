internal import COpus

/// Errors of OpusCodec: a libopus status code with the function that returned it.
public struct OpusError: Error, Sendable, Equatable, CustomStringConvertible {
    public let function: String
    public let code: Int32

    init(_ function: String, _ code: Int32) {
        self.function = function
        self.code = code
    }

    /// libopus' description of the code ("invalid argument", "corrupted stream", …).
    public var message: String { String(cString: opus_strerror(code)) }
    public var description: String { "\(function): \(message) (\(code))" }

    /// The payload was not a valid Opus packet (RFC 6716 §3.4).
    public var isInvalidPacket: Bool { code == OPUS_INVALID_PACKET }
}

/// libopus version, for `vertophone --version`.
public enum OpusLibrary {
    public static var version: String { String(cString: opus_get_version_string()) }
}
