import NIOSSL

/// The certificate and private key a wss listener presents (PEM): `VertoEndpointConfiguration.tls`.
public struct TLSServerIdentity: Sendable, Equatable {
    /// The certificate chain, leaf first (one or more PEM blocks).
    public var certificateChainPEM: String
    public var privateKeyPEM: String

    public init(certificateChainPEM: String, privateKeyPEM: String) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Read from PEM files (e.g. `serve --tls-cert/--tls-key`).
    public init(certificateFile: String, keyFile: String) throws {
        certificateChainPEM = try String(contentsOfFile: certificateFile, encoding: .utf8)
        privateKeyPEM = try String(contentsOfFile: keyFile, encoding: .utf8)
    }

    /// The TLS server context (throws on a certificate or key that does not parse).
    func makeContext() throws -> NIOSSLContext {
        try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem))))
    }
}
