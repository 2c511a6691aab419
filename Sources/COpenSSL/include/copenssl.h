#ifndef VERTOPHONE_COPENSSL_H
#define VERTOPHONE_COPENSSL_H
/*
 * A narrow C wrapper over the system OpenSSL 3 for CryptoCore: DTLS 1.2 with use_srtp over memory
 * BIOs (RFC 6347, RFC 5764), self-signed identities, fingerprints (RFC 8122), HMAC-SHA1 (STUN) and
 * PBKDF2. Only opaque handles and plain C types cross this header, so OpenSSL's own headers never
 * meet the BoringSSL modules that NIOSSL brings into the same process.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct copenssl_identity copenssl_identity;
typedef struct copenssl_dtls copenssl_dtls;

/* ---- errors ---- */
/* Drains OpenSSL's error queue of this thread into buf (NUL-terminated). Returns the length. */
size_t copenssl_drain_errors(char *buf, size_t cap);
const char *copenssl_version(void);

/* ---- identities: key + self-signed certificate + one SSL_CTX ---- */
/* key_type: 0 = ECDSA P-256, 1 = RSA (rsa_bits). Returns NULL on failure (errors queued). */
copenssl_identity *copenssl_identity_new(int key_type, int rsa_bits, const char *common_name, int days);
/* Loads a PEM certificate + private key (e.g. a test fixture). */
copenssl_identity *copenssl_identity_from_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len);
void copenssl_identity_free(copenssl_identity *id);
/* Digest of the certificate's DER encoding with "sha-1", "sha-256", "sha-384" or "sha-512".
   Returns the digest length, 0 on unknown algorithm, or -1 if out is too small. */
int copenssl_identity_fingerprint(const copenssl_identity *id, const char *alg, uint8_t *out, size_t cap);
/* DER / PEM exports. Return the number of bytes needed (call with cap 0 to size). */
int copenssl_identity_cert_der(const copenssl_identity *id, uint8_t *out, size_t cap);
int copenssl_identity_cert_pem(const copenssl_identity *id, char *out, size_t cap);
int copenssl_identity_key_pem(const copenssl_identity *id, char *out, size_t cap);

/* ---- DTLS endpoint over memory BIOs ---- */
enum {
    COPENSSL_DTLS_WANT = 0,      /* handshake in progress: send queued datagrams, wait */
    COPENSSL_DTLS_DONE = 1,      /* handshake complete */
    COPENSSL_DTLS_FAILED = -1,   /* fatal: see copenssl_drain_errors / copenssl_dtls_alert */
    COPENSSL_DTLS_CLOSED = 2     /* peer sent close_notify */
};
/* is_server: 1 = DTLS server (accept), 0 = client (connect). mtu: max datagram size (>= 256).
   initial_timeout_us: first retransmission timeout (doubles up to 4 s; OpenSSL's default is 1 s). */
copenssl_dtls *copenssl_dtls_new(copenssl_identity *id, int is_server, int mtu, unsigned initial_timeout_us);
void copenssl_dtls_free(copenssl_dtls *d);
/* Starts (client: queues the ClientHello) or continues the handshake. Returns a COPENSSL_DTLS_* value. */
int copenssl_dtls_handshake(copenssl_dtls *d);
/* Feeds one received datagram (DTLS records). Drives the handshake or reads application data.
   Returns a COPENSSL_DTLS_* value. */
int copenssl_dtls_feed(copenssl_dtls *d, const uint8_t *data, size_t len);
/* Pops the next outgoing datagram into out. Returns its length, 0 if none, -1 if cap is too small. */
int copenssl_dtls_pop(copenssl_dtls *d, uint8_t *out, size_t cap);
/* Microseconds until the retransmission timer fires, or -1 when no timer runs. */
long long copenssl_dtls_timeout_us(copenssl_dtls *d);
/* Call when the timer fired: retransmits the last flight if due. Returns a COPENSSL_DTLS_* value. */
int copenssl_dtls_handle_timeout(copenssl_dtls *d);
/* Peer certificate digest (see copenssl_identity_fingerprint). 0 when no peer certificate. */
int copenssl_dtls_peer_fingerprint(copenssl_dtls *d, const char *alg, uint8_t *out, size_t cap);
/* 1 = SRTP_AES128_CM_SHA1_80, 7 = SRTP_AEAD_AES_128_GCM, 0 = none negotiated. */
int copenssl_dtls_srtp_profile(copenssl_dtls *d);
/* RFC 5764 §4.2 key export ("EXTRACTOR-dtls_srtp"). Returns 1 on success. */
int copenssl_dtls_export_srtp(copenssl_dtls *d, uint8_t *out, size_t len);
/* Negotiated cipher name and protocol version ("DTLSv1.2"), for diagnostics. */
const char *copenssl_dtls_cipher(copenssl_dtls *d);
const char *copenssl_dtls_version(copenssl_dtls *d);
/* The last alert received or sent as "description (code)", or an empty string. */
const char *copenssl_dtls_alert(copenssl_dtls *d);
/* Queues a close_notify alert. */
void copenssl_dtls_shutdown(copenssl_dtls *d);
/* Sends application data (unused by SRTP, kept for tests). Returns bytes written or -1. */
int copenssl_dtls_write(copenssl_dtls *d, const uint8_t *data, size_t len);
/* Pops received application data, if any. Returns bytes, 0 if none. */
int copenssl_dtls_read(copenssl_dtls *d, uint8_t *out, size_t cap);

/* ---- primitives ---- */
/* HMAC-SHA1 (RFC 2104) for STUN MESSAGE-INTEGRITY (RFC 8489 §14.5). out must hold 20 bytes. */
int copenssl_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len, uint8_t *out);
/* SHA-256 of data. out must hold 32 bytes. */
int copenssl_sha256(const uint8_t *data, size_t len, uint8_t *out);
/* MD5 of data (only for the STUN long-term credential key, RFC 8489 §9.2.2). out must hold 16 bytes. */
int copenssl_md5(const uint8_t *data, size_t len, uint8_t *out);
/* PBKDF2-HMAC-SHA256 (RFC 8018 §5.2). */
int copenssl_pbkdf2_sha256(const char *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
                           unsigned iterations, uint8_t *out, size_t out_len);
/* Cryptographically secure random bytes. */
int copenssl_random(uint8_t *out, size_t len);
/* Constant-time comparison; 0 when equal. */
int copenssl_memcmp(const void *a, const void *b, size_t len);

#ifdef __cplusplus
}
#endif
#endif
