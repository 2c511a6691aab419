/* Small primitives the cores need: HMAC-SHA1 (STUN, RFC 8489 §14.5), SHA-256, MD5 (the TURN long-term key, RFC 8489 §9.2.2), PBKDF2 (RFC 8018), CSPRNG. */
#include "copenssl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

int copenssl_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len, uint8_t *out) {
    unsigned int n = 0;
    return HMAC(EVP_sha1(), key, (int)key_len, msg, msg_len, out, &n) != NULL && n == 20;
}

int copenssl_sha256(const uint8_t *data, size_t len, uint8_t *out) {
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

int copenssl_md5(const uint8_t *data, size_t len, uint8_t *out) {
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_md5(), NULL) == 1 && n == 16;
}

int copenssl_pbkdf2_sha256(const char *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
                           unsigned iterations, uint8_t *out, size_t out_len) {
    return PKCS5_PBKDF2_HMAC(pass, (int)pass_len, salt, (int)salt_len, (int)iterations, EVP_sha256(), (int)out_len, out) == 1;
}

int copenssl_random(uint8_t *out, size_t len) { return RAND_bytes(out, (int)len) == 1; }

int copenssl_memcmp(const void *a, const void *b, size_t len) { return CRYPTO_memcmp(a, b, len); }
