import CoreSupport
import CryptoCore
import Foundation

/// Who may log in to the server role. Passwords are stored as PBKDF2-HMAC-SHA256 hashes
/// (RFC 8018 §5.2) and compared in constant time; they never appear in logs.
public struct UserDirectory: Sendable {
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var salt: [UInt8]
        public var iterations: Int
        public var hash: [UInt8]
        /// Display name used as caller id for calls from this user.
        public var displayName: String?
    }

    public private(set) var entries: [String: Entry]
    /// True for the built-in demo/test users: a server refuses to listen on a non-loopback address
    /// with them (secure defaults).
    public let isDemo: Bool

    public init(entries: [Entry], isDemo: Bool = false) {
        self.entries = Dictionary(entries.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.isDemo = isDemo
    }

    /// Hashes a password into an entry (e.g. to write a users file).
    public static func makeEntry(id: String, password: String, displayName: String? = nil, iterations: Int = 10_000) throws -> Entry {
        let salt = SecureBytes.random(count: 16)
        return Entry(id: id, salt: salt, iterations: iterations,
                     hash: try PBKDF2.sha256(password: password, salt: salt, iterations: iterations), displayName: displayName)
    }

    /// The demo/test users of docs/testing.md's contract: 1000–1002, password `verto-test`. Only for the
    /// demo and the tests, on loopback.
    public static func demo() -> UserDirectory {
        let users = ["1000", "1001", "1002"].compactMap { try? makeEntry(id: $0, password: "verto-test", displayName: "User \($0)", iterations: 1000) }
        return UserDirectory(entries: users, isDemo: true)
    }

    /// The user id of a login: the part before `@` (mod_verto's chop-domain).
    public static func userID(of login: String) -> String {
        String(login.split(separator: "@", maxSplits: 1).first ?? "")
    }

    /// `login` is `user` or `user@domain`. An unknown user costs the same hash as a known one (against
    /// a stand-in entry with the directory's largest iteration count), so the time of a refusal
    /// does not tell which users exist.
    public func verify(login: String, password: String) -> Entry? {
        verify(login: login, password: password) { password, salt, iterations in
            try PBKDF2.sha256(password: password, salt: salt, iterations: iterations)
        }
    }

    func verify(login: String, password: String,
                hash: (String, [UInt8], Int) throws -> [UInt8]) -> Entry? {
        let known = entries[Self.userID(of: login)]
        let e = known ?? standIn
        guard let h = try? hash(password, e.salt, e.iterations) else { return nil }
        return SecureBytes.equal(h, e.hash) && known != nil ? e : nil
    }

    /// Hashed for unknown users; matches no password.
    private var standIn: Entry {
        Entry(id: "", salt: [UInt8](repeating: 0x5A, count: 16), iterations: entries.values.map(\.iterations).max() ?? 10_000,
              hash: [UInt8](repeating: 0, count: 32), displayName: nil)
    }

    // MARK: - Users file: one user a line, `id:pbkdf2-sha256:iterations:salt-hex:hash-hex[:display name]`.

    public enum FileError: Error, Sendable, Equatable {
        case malformedLine(Int)
    }

    public init(fileContents: String) throws {
        var list: [Entry] = []
        for (n, raw) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let f = line.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 5, f[1] == "pbkdf2-sha256", let it = Int(f[2]), it > 0, let salt = Hex.decode(f[3]),
                  let hash = Hex.decode(f[4]), !f[0].isEmpty else {
                throw FileError.malformedLine(n + 1)
            }
            list.append(Entry(id: f[0], salt: salt, iterations: it, hash: hash, displayName: f.count > 5 ? f[5] : nil))
        }
        self.init(entries: list)
    }

    public static func fileLine(_ e: Entry) -> String {
        "\(e.id):pbkdf2-sha256:\(e.iterations):\(Hex.encode(e.salt)):\(Hex.encode(e.hash))" + (e.displayName.map { ":\($0)" } ?? "")
    }
}
