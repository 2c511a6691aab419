/* Self-signed DTLS identities (key + certificate + one SSL_CTX) and fingerprints (RFC 8122 §5). */
#include "copenssl.h"
#include "internal.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

struct copenssl_identity {
    EVP_PKEY *key;
    X509 *cert;
    SSL_CTX *ctx;
};

size_t copenssl_drain_errors(char *buf, size_t cap) {
    size_t used = 0;
    if (cap) buf[0] = 0;
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        char line[256];
        ERR_error_string_n(e, line, sizeof line);
        size_t n = strlen(line);
        if (cap && used + n + 2 < cap) {
            if (used) buf[used++] = ';';
            memcpy(buf + used, line, n);
            used += n;
            buf[used] = 0;
        }
    }
    return used;
}

const char *copenssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

static int accept_any(int preverify_ok, X509_STORE_CTX *ctx) {
    /* Self-signed peers are the norm in WebRTC: the certificate is authenticated afterwards by
       comparing its digest with the a=fingerprint from the signalling (RFC 5763 §5). */
    (void)preverify_ok; (void)ctx;
    return 1;
}

/* Suites: ECDHE with ECDSA (ours, browsers) and RSA (FreeSWITCH's RSA-4096 certificate), AES-GCM
   first, CBC-SHA last for old FreeSWITCH builds. */
static const char *kCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";

static SSL_CTX *make_ctx(EVP_PKEY *key, X509 *cert) {
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx) return NULL;
    int ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1
          && SSL_CTX_use_certificate(ctx, cert) == 1
          && SSL_CTX_use_PrivateKey(ctx, key) == 1
          && SSL_CTX_check_private_key(ctx) == 1
          && SSL_CTX_set_cipher_list(ctx, kCipherList) == 1
          && SSL_CTX_set1_groups_list(ctx, "X25519:P-256") == 1
          /* RFC 5764 §4.1.2; note: returns 0 on success. GCM (RFC 7714) preferred. */
          && SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") == 0;
    if (!ok) { SSL_CTX_free(ctx); return NULL; }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* No cookie exchange (no HelloVerifyRequest): ICE has already proved return routability. */
    SSL_CTX_clear_options(ctx, SSL_OP_COOKIE_EXCHANGE);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    return ctx;
}

static X509 *self_sign(EVP_PKEY *key, const char *cn, int days) {
    X509 *x = X509_new();
    if (!x) return NULL;
    BIGNUM *bn = BN_new();
    int ok = bn && X509_set_version(x, X509_VERSION_3)
          && BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)
          && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL
          && X509_gmtime_adj(X509_getm_notBefore(x), -86400) != NULL
          && X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) != NULL
          && X509_set_pubkey(x, key) == 1;
    BN_free(bn);
    if (ok) {
        X509_NAME *name = X509_get_subject_name(x);
        ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)(cn ? cn : "VertoPhone"), -1, -1, 0) == 1
          && X509_set_issuer_name(x, name) == 1;
    }
    if (ok) {
        /* A SAN lets the same identity serve wss on loopback in tests. */
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
        ok = ext && X509_add_ext(x, ext, -1) == 1;
        X509_EXTENSION_free(ext);
    }
    if (ok) ok = X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) { X509_free(x); return NULL; }
    return x;
}

copenssl_identity *copenssl_identity_new(int key_type, int rsa_bits, const char *common_name, int days) {
    EVP_PKEY *key = key_type == 1 ? EVP_RSA_gen((unsigned)(rsa_bits > 0 ? rsa_bits : 2048)) : EVP_EC_gen("P-256");
    if (!key) return NULL;
    X509 *cert = self_sign(key, common_name, days > 0 ? days : 30);
    if (!cert) { EVP_PKEY_free(key); return NULL; }
    SSL_CTX *ctx = make_ctx(key, cert);
    if (!ctx) { X509_free(cert); EVP_PKEY_free(key); return NULL; }
    copenssl_identity *id = calloc(1, sizeof *id);
    if (!id) { SSL_CTX_free(ctx); X509_free(cert); EVP_PKEY_free(key); return NULL; }
    id->key = key; id->cert = cert; id->ctx = ctx;
    return id;
}

copenssl_identity *copenssl_identity_from_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len) {
    BIO *cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
    BIO *kb = BIO_new_mem_buf(key_pem, (int)key_len);
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    BIO_free(cb); BIO_free(kb);
    SSL_CTX *ctx = (cert && key) ? make_ctx(key, cert) : NULL;
    copenssl_identity *id = ctx ? calloc(1, sizeof *id) : NULL;
    if (!id) { SSL_CTX_free(ctx); X509_free(cert); EVP_PKEY_free(key); return NULL; }
    id->key = key; id->cert = cert; id->ctx = ctx;
    return id;
}

void copenssl_identity_free(copenssl_identity *id) {
    if (!id) return;
    SSL_CTX_free(id->ctx);
    X509_free(id->cert);
    EVP_PKEY_free(id->key);
    free(id);
}

SSL_CTX *copenssl_identity_ctx(copenssl_identity *id) { return id->ctx; }

static const EVP_MD *md_named(const char *alg) {
    if (!alg) return NULL;
    if (strcasecmp(alg, "sha-256") == 0) return EVP_sha256();
    if (strcasecmp(alg, "sha-1") == 0) return EVP_sha1();
    if (strcasecmp(alg, "sha-384") == 0) return EVP_sha384();
    if (strcasecmp(alg, "sha-512") == 0) return EVP_sha512();
    return NULL;
}

int copenssl_x509_digest(X509 *cert, const char *alg, uint8_t *out, size_t cap) {
    const EVP_MD *md = md_named(alg);
    if (!md) return 0;
    if ((size_t)EVP_MD_get_size(md) > cap) return -1;
    unsigned int n = 0;
    if (X509_digest(cert, md, out, &n) != 1) return 0;
    return (int)n;
}

int copenssl_identity_fingerprint(const copenssl_identity *id, const char *alg, uint8_t *out, size_t cap) {
    return copenssl_x509_digest(id->cert, alg, out, cap);
}

int copenssl_identity_cert_der(const copenssl_identity *id, uint8_t *out, size_t cap) {
    int n = i2d_X509(id->cert, NULL);
    if (n <= 0 || (size_t)n > cap || !out) return n;
    uint8_t *p = out;
    return i2d_X509(id->cert, &p);
}

static int bio_export(BIO *b, char *out, size_t cap) {
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    if (n > 0 && out && (size_t)n <= cap) memcpy(out, data, (size_t)n);
    return (int)n;
}

int copenssl_identity_cert_pem(const copenssl_identity *id, char *out, size_t cap) {
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return -1;
    int n = PEM_write_bio_X509(b, id->cert) == 1 ? bio_export(b, out, cap) : -1;
    BIO_free(b);
    return n;
}

int copenssl_identity_key_pem(const copenssl_identity *id, char *out, size_t cap) {
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return -1;
    int n = PEM_write_bio_PrivateKey(b, id->key, NULL, NULL, 0, NULL, NULL) == 1 ? bio_export(b, out, cap) : -1;
    BIO_free(b);
    return n;
}
