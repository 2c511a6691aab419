import CryptoCore
import OpusCodec
import SRTPCore

/// One-time process costs moved off the first call's setup path: the DTLS certificate and context
/// (~0.25 ms), libsrtp2's crypto-kernel self-tests (milliseconds), and the first Opus codec.
enum EngineWarmUp {
    static let done: Bool = {
        _ = DTLSIdentity.shared
        SRTPLibrary.initialize()
        _ = try? OpusEncoder()
        _ = try? OpusDecoder()
        return true
    }()
}
