#ifndef VERTOPHONE_COPENSSL_H
#define VERTOPHONE_COPENSSL_H
/* Placeholder; replaced by the DTLS wrapper. */
int copenssl_placeholder(void);
#endif
