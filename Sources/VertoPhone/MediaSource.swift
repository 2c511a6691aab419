/// What a media session sends when the application has not queued frames.
public enum MediaSource: Sendable, Equatable {
    /// Silence (kept flowing so peers' media timeouts do not fire, docs/verto-protocol.md §4.4).
    case silence
    /// A continuous tone (one or more frequencies, e.g. 1 kHz test tone or 425 Hz ringback).
    case tone(frequencies: [Double], amplitude: Double)
    /// PCM at the session rate, played once or looped.
    case samples([Int16], loop: Bool)
    /// Send back what is received (the echo test extension).
    case echo
}
