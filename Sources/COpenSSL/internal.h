#ifndef VERTOPHONE_COPENSSL_INTERNAL_H
#define VERTOPHONE_COPENSSL_INTERNAL_H
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "copenssl.h"

SSL_CTX *copenssl_identity_ctx(copenssl_identity *id);
int copenssl_x509_digest(X509 *cert, const char *alg, uint8_t *out, size_t cap);
#endif
