internal import CSRTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which libsrtp2 the process runs on (docs/performance.md: Debian's NSS-backed build is ~5x slower per
/// packet and takes 0.63 ms per `srtp_create`; setup builds libsrtp2 on OpenSSL instead).
public enum SRTPLibrary {
    public enum Backend: String, Sendable {
        /// libsrtp2 built on OpenSSL by the project's setup, linked statically.
        case openSSL = "OpenSSL"
        /// Debian's shared libsrtp2, built on NSS (the slow fallback).
        case nss = "NSS"
        /// A shared libsrtp2 that does not use NSS (OpenSSL or libsrtp's built-in AES).
        case systemShared = "system (not NSS)"
    }

    /// Initialises libsrtp2 now (self-tests included) rather than on the first SRTP session.
    @discardableResult
    public static func initialize() -> Bool { srtpLibraryStatus == srtp_err_status_ok.rawValue }

    /// libsrtp2's own version string, e.g. "libsrtp2 2.5.0".
    public static var version: String { String(cString: srtp_get_version_string()) }

    /// Read from the process's memory map: NSS mapped means Debian's NSS build; a shared
    /// libsrtp2 without NSS means some other system build; neither means our static OpenSSL build.
    public static let backend: Backend = {
        _ = srtp_get_version()  // make sure the library is linked and loaded
        #if os(Linux)
        if let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) {
            if maps.contains("libnss3") { return .nss }
            if maps.contains("libsrtp2.so") { return .systemShared }
            return .openSSL
        }
        #endif
        return .systemShared
    }()

    /// One line for `--version` and logs.
    public static var summary: String { "\(version) on \(backend.rawValue)" }
}
