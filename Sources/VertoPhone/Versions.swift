import CryptoCore
import OpusCodec
import SRTPCore

/// Versions of the engine and of the C libraries it runs on (for `vertophone --version`).
public enum VertoPhoneVersion {
    public static let engine = "0.1.0"

    public static var summary: String {
        """
        vertophone \(engine)
        OpenSSL: \(CryptoLibrary.openSSLVersion)
        libsrtp: \(SRTPLibrary.version) (crypto backend: \(SRTPLibrary.backend.rawValue))
        libopus: \(OpusLibrary.version)
        """
    }
}

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
