import CryptoCore
import OpusCodec
import SRTPCore

/// Versions of the engine and of the C libraries it runs on (for `vertophone --version`).
public enum VertoPhoneVersion {
    /// The one place the version is written; CHANGELOG.md's newest entry must carry it (a test checks).
    public static let engine = "0.2.0"

    public static var summary: String {
        """
        vertophone \(engine)
        OpenSSL: \(CryptoLibrary.openSSLVersion)
        libsrtp: \(SRTPLibrary.version) (crypto backend: \(SRTPLibrary.backend.rawValue))
        libopus: \(OpusLibrary.version)
        """
    }
}
