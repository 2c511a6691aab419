/// The one error type of MediaCore (docs/architecture.md house rule 9).
public enum MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A caller-provided output buffer is too small.
    case bufferTooSmall(needed: Int, available: Int)
    /// An argument is outside what the component supports (sample rate, channel count, …).
    case unsupported(String)
    /// A malformed WAV (RIFF) file: what is wrong and at which byte offset.
    case malformedWAV(String, offset: Int)

    public var description: String {
        switch self {
        case .bufferTooSmall(let needed, let available):
            return "Media: output buffer too small: needed \(needed), \(available) available"
        case .unsupported(let what): return "Media: unsupported: \(what)"
        case .malformedWAV(let why, let offset): return "Media: malformed WAV at byte \(offset): \(why)"
        }
    }
}
