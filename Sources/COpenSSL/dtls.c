/* DTLS 1.2 + use_srtp over memory BIOs (RFC 6347, RFC 5764) on the system OpenSSL 3. */
#include "copenssl.h"
#include "internal.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/srtp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    uint8_t *data;
    size_t len;
} datagram;

struct copenssl_dtls {
    SSL *ssl;
    BIO *rbio;              /* memory BIO: received datagrams are written here */
    BIO *wbio;              /* queue BIO: each BIO_write is one outgoing datagram */
    datagram *queue;        /* FIFO of outgoing datagrams */
    size_t qhead, qcount, qcap;
    unsigned initial_timeout_us;
    int done;
    int closed;
    uint8_t *app;           /* last received application data (tests only) */
    size_t app_len;
    char alert[96];
};

/* ---- the outgoing queue BIO: keeps DTLS datagram boundaries (a mem BIO would merge a flight) ---- */

static int queue_push(copenssl_dtls *d, const void *buf, size_t len) {
    if (d->qcount == d->qcap) {
        size_t ncap = d->qcap ? d->qcap * 2 : 8;
        datagram *n = malloc(ncap * sizeof(datagram));
        if (!n) return 0;
        for (size_t i = 0; i < d->qcount; i++) n[i] = d->queue[(d->qhead + i) % d->qcap];
        free(d->queue);
        d->queue = n;
        d->qhead = 0;
        d->qcap = ncap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return 0;
    memcpy(copy, buf, len);
    d->queue[(d->qhead + d->qcount) % d->qcap] = (datagram){copy, len};
    d->qcount++;
    return 1;
}

static int qbio_write(BIO *b, const char *buf, int len) {
    copenssl_dtls *d = BIO_get_data(b);
    if (!d || len < 0) return -1;
    return queue_push(d, buf, (size_t)len) ? len : -1;
}

static long qbio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b; (void)num; (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU: return 0;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return 0;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING: return 0;
    default: return 0;
    }
}

static int qbio_create(BIO *b) { BIO_set_init(b, 1); return 1; }
static int qbio_destroy(BIO *b) { BIO_set_data(b, NULL); return 1; }

static BIO_METHOD *queue_method(void) {
    static BIO_METHOD *method = NULL;
    if (method) return method;
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "vertophone-dgram-queue");
    BIO_meth_set_write(m, qbio_write);
    BIO_meth_set_ctrl(m, qbio_ctrl);
    BIO_meth_set_create(m, qbio_create);
    BIO_meth_set_destroy(m, qbio_destroy);
    method = m;
    return method;
}

static BIO_METHOD *shared_method = NULL;
static CRYPTO_ONCE method_once = CRYPTO_ONCE_STATIC_INIT;
static void make_method(void) { shared_method = queue_method(); }

/* ---- timers and alerts ---- */

static int endpoint_index = -1;
static CRYPTO_ONCE index_once = CRYPTO_ONCE_STATIC_INIT;
static void make_index(void) { endpoint_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

/* RFC 6347 §4.2.4.1: the initial timer is 1 s by default; on loopback/ICE-validated paths we start
   lower (configurable) and double on each expiry, capped at 4 s. */
static unsigned int timer_cb(SSL *ssl, unsigned int previous_us) {
    copenssl_dtls *d = SSL_get_ex_data(ssl, endpoint_index);
    unsigned initial = d && d->initial_timeout_us ? d->initial_timeout_us : 1000000u;
    if (previous_us == 0) return initial;
    unsigned next = previous_us * 2;
    return next > 4000000u ? 4000000u : next;
}

static void info_cb(const SSL *ssl, int where, int ret) {
    if (!(where & SSL_CB_ALERT)) return;
    copenssl_dtls *d = SSL_get_ex_data(ssl, endpoint_index);
    if (!d) return;
    snprintf(d->alert, sizeof d->alert, "%s %s (%d)", (where & SSL_CB_READ) ? "received" : "sent",
             SSL_alert_desc_string_long(ret), ret & 0xff);
}

copenssl_dtls *copenssl_dtls_new(copenssl_identity *id, int is_server, int mtu, unsigned initial_timeout_us) {
    CRYPTO_THREAD_run_once(&method_once, make_method);
    CRYPTO_THREAD_run_once(&index_once, make_index);
    if (!id || !shared_method || endpoint_index < 0) return NULL;
    copenssl_dtls *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->initial_timeout_us = initial_timeout_us;
    d->ssl = SSL_new(copenssl_identity_ctx(id));
    d->rbio = BIO_new(BIO_s_mem());
    d->wbio = BIO_new(shared_method);
    if (!d->ssl || !d->rbio || !d->wbio) {
        if (d->ssl) SSL_free(d->ssl);
        if (d->rbio) BIO_free(d->rbio);
        if (d->wbio) BIO_free(d->wbio);
        free(d);
        return NULL;
    }
    BIO_set_mem_eof_return(d->rbio, -1);
    BIO_set_data(d->wbio, d);
    SSL_set_bio(d->ssl, d->rbio, d->wbio);  /* the SSL owns both BIOs now */
    SSL_set_ex_data(d->ssl, endpoint_index, d);
    SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
    /* The write buffer is sized for the largest record: handshake messages are fragmented to the
       MTU anyway and DTLS-SRTP sends no application data, so 2 KB records do (16 KB by default,
       kept for the connection's life). */
    SSL_set_max_send_fragment(d->ssl, 2048);
    DTLS_set_link_mtu(d->ssl, mtu < 256 ? 256 : mtu);
    DTLS_set_timer_cb(d->ssl, timer_cb);
    SSL_set_info_callback(d->ssl, info_cb);
    if (is_server) SSL_set_accept_state(d->ssl); else SSL_set_connect_state(d->ssl);
    return d;
}

void copenssl_dtls_free(copenssl_dtls *d) {
    if (!d) return;
    SSL_free(d->ssl);
    for (size_t i = 0; i < d->qcount; i++) free(d->queue[(d->qhead + i) % d->qcap].data);
    free(d->queue);
    free(d->app);
    free(d);
}

static int step_result(copenssl_dtls *d, int rc) {
    if (rc == 1) { d->done = 1; return COPENSSL_DTLS_DONE; }
    int err = SSL_get_error(d->ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return COPENSSL_DTLS_WANT;
    if (err == SSL_ERROR_ZERO_RETURN) { d->closed = 1; return COPENSSL_DTLS_CLOSED; }
    return COPENSSL_DTLS_FAILED;
}

int copenssl_dtls_handshake(copenssl_dtls *d) {
    if (d->closed) return COPENSSL_DTLS_CLOSED;
    if (d->done) return COPENSSL_DTLS_DONE;
    ERR_clear_error();
    return step_result(d, SSL_do_handshake(d->ssl));
}

int copenssl_dtls_feed(copenssl_dtls *d, const uint8_t *data, size_t len) {
    if (d->closed) return COPENSSL_DTLS_CLOSED;
    if (len > 0 && BIO_write(d->rbio, data, (int)len) != (int)len) return COPENSSL_DTLS_FAILED;
    ERR_clear_error();
    if (!d->done) {
        int r = step_result(d, SSL_do_handshake(d->ssl));
        if (r != COPENSSL_DTLS_DONE) { (void)BIO_reset(d->rbio); return r; }
    }
    /* Established: read application data / alerts; this also answers a retransmitted final flight. */
    uint8_t buf[2048];
    for (;;) {
        int n = SSL_read(d->ssl, buf, sizeof buf);
        if (n > 0) {
            uint8_t *copy = realloc(d->app, (size_t)n);
            if (copy) { memcpy(copy, buf, (size_t)n); d->app = copy; d->app_len = (size_t)n; }
            continue;
        }
        int err = SSL_get_error(d->ssl, n);
        if (err == SSL_ERROR_ZERO_RETURN) { d->closed = 1; return COPENSSL_DTLS_CLOSED; }
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
        (void)BIO_reset(d->rbio);
        return COPENSSL_DTLS_FAILED;
    }
    (void)BIO_reset(d->rbio);
    return COPENSSL_DTLS_DONE;
}

int copenssl_dtls_pop(copenssl_dtls *d, uint8_t *out, size_t cap) {
    if (d->qcount == 0) return 0;
    datagram *g = &d->queue[d->qhead];
    if (g->len > cap) return -1;
    memcpy(out, g->data, g->len);
    int n = (int)g->len;
    free(g->data);
    d->qhead = (d->qhead + 1) % d->qcap;
    d->qcount--;
    return n;
}

long long copenssl_dtls_timeout_us(copenssl_dtls *d) {
    struct timeval tv;
    if (d->closed || DTLSv1_get_timeout(d->ssl, &tv) != 1) return -1;
    return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

int copenssl_dtls_handle_timeout(copenssl_dtls *d) {
    ERR_clear_error();
    int r = DTLSv1_handle_timeout(d->ssl);
    if (r < 0) return COPENSSL_DTLS_FAILED;
    if (d->closed) return COPENSSL_DTLS_CLOSED;
    return d->done ? COPENSSL_DTLS_DONE : COPENSSL_DTLS_WANT;
}

int copenssl_dtls_peer_fingerprint(copenssl_dtls *d, const char *alg, uint8_t *out, size_t cap) {
    X509 *peer = SSL_get1_peer_certificate(d->ssl);
    if (!peer) return 0;
    int n = copenssl_x509_digest(peer, alg, out, cap);
    X509_free(peer);
    return n;
}

int copenssl_dtls_srtp_profile(copenssl_dtls *d) {
    SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    return p ? (int)p->id : 0;
}

int copenssl_dtls_export_srtp(copenssl_dtls *d, uint8_t *out, size_t len) {
    static const char label[] = "EXTRACTOR-dtls_srtp";
    return SSL_export_keying_material(d->ssl, out, len, label, sizeof label - 1, NULL, 0, 0) == 1;
}

const char *copenssl_dtls_cipher(copenssl_dtls *d) { return SSL_get_cipher_name(d->ssl); }
const char *copenssl_dtls_version(copenssl_dtls *d) { return SSL_get_version(d->ssl); }
const char *copenssl_dtls_alert(copenssl_dtls *d) { return d->alert; }

void copenssl_dtls_shutdown(copenssl_dtls *d) {
    ERR_clear_error();
    if (d->done && !d->closed) (void)SSL_shutdown(d->ssl);
    d->closed = 1;
}

int copenssl_dtls_write(copenssl_dtls *d, const uint8_t *data, size_t len) {
    ERR_clear_error();
    int n = SSL_write(d->ssl, data, (int)len);
    return n > 0 ? n : -1;
}

int copenssl_dtls_read(copenssl_dtls *d, uint8_t *out, size_t cap) {
    if (!d->app_len) return 0;
    size_t n = d->app_len < cap ? d->app_len : cap;
    memcpy(out, d->app, n);
    d->app_len = 0;
    return (int)n;
}
