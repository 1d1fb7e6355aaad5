#include "tls.h"

#include "client.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shown for a handshake that ended without an OpenSSL reason. */
#define TLS_REASON_MAX 160

struct tls_server {
    SSL_CTX *ctx;
};

/* Per connection, in c->tx_state. */
struct tls_conn {
    SSL *ssl;
    ev_timer deadline;  /* the handshake must be done by then */
    ev_io read_kick;    /* SSL_read needs the socket writable first */
    bool ready;         /* handshake done */
    bool failed;        /* fatal error: no close_notify (OpenSSL forbids it) */
};

/* ---- the server context ------------------------------------------------------ */

/* An encrypted key would make OpenSSL prompt on the terminal: refuse it. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* "reason" of OpenSSL's latest error, or fallback. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : fallback;
}

/* For a file that did not load: the first error says why ("no start
 * line"), the last only where ("PEM lib"). */
static const char *load_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unreadable";
}

static bool key_mismatch(void)
{
    unsigned long e;
    while ((e = ERR_get_error()))
        if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
            return true;
    return false;
}

/* The file can be opened: a clear errno message rather than OpenSSL's. */
static int readable(const char *what, const char *member, const char *path, char err[TLS_ERR_MAX])
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, TLS_ERR_MAX, "%s.%s %s: %s", what, member, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

static int load_files(SSL_CTX *ctx, const struct tls_cfg *cfg, const char *what,
                      char err[TLS_ERR_MAX])
{
    if (readable(what, "cert", cfg->cert, err) < 0 || readable(what, "key", cfg->key, err) < 0
        || (cfg->ca[0] && readable(what, "ca", cfg->ca, err) < 0))
        return -1;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
        snprintf(err, TLS_ERR_MAX, "%s.cert %s: not a PEM certificate (%s)", what, cfg->cert,
                 load_reason());
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1) {
        const char *why = load_reason();
        if (key_mismatch())
            snprintf(err, TLS_ERR_MAX, "%s.key %s: does not match the certificate in %s", what,
                     cfg->key, cfg->cert);
        else
            snprintf(err, TLS_ERR_MAX, "%s.key %s: not an unencrypted PEM private key (%s)",
                     what, cfg->key, why);
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, TLS_ERR_MAX, "%s.key %s: does not match the certificate in %s", what,
                 cfg->key, cfg->cert);
        return -1;
    }
    if (!cfg->ca[0])
        return 0;
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca);
    if (SSL_CTX_load_verify_file(ctx, cfg->ca) != 1 || !names) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        snprintf(err, TLS_ERR_MAX, "%s.ca %s: no PEM CA certificate in it (%s)", what, cfg->ca,
                 load_reason());
        return -1;
    }
    /* Tells clients which CA their certificate must come from. */
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER
                       | (cfg->require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
    return 0;
}

struct tls_server *tls_server_new(const struct tls_cfg *cfg, const char *what,
                                  char err[TLS_ERR_MAX])
{
    static const unsigned char sid_ctx[] = "rapidbridge";
    ERR_clear_error();
    struct tls_server *s = calloc(1, sizeof *s);
    SSL_CTX *ctx = s ? SSL_CTX_new(TLS_server_method()) : NULL;
    if (!ctx) {
        snprintf(err, TLS_ERR_MAX, "%s: out of memory", what);
        free(s);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* IGNORE_UNEXPECTED_EOF: a client that closes without close_notify is
     * at end of input, as on plain TCP (half a request line is never acted
     * on, so a cut cannot truncate a command). */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET
                        | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                              | SSL_MODE_RELEASE_BUFFERS);
    /* Read what the socket has in one read(2), not a header and a body per
     * record; what OpenSSL holds on is handed over (hand_over_pending). */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    if (load_files(ctx, cfg, what, err) < 0) {
        SSL_CTX_free(ctx);
        free(s);
        ERR_clear_error();
        return NULL;
    }
    s->ctx = ctx;
    return s;
}

void tls_server_free(struct tls_server *s)
{
    if (!s)
        return;
    SSL_CTX_free(s->ctx);
    free(s);
}

int tls_reload(struct bridge *b)
{
    if (!b->json_tls)
        return 0;
    char err[TLS_ERR_MAX];
    struct tls_server *s = tls_server_new(&b->cfg.json_tls, "json_tls", err);
    if (!s) {
        log_error(&b->log, "reload: TLS certificates not reloaded, the running ones stay: %s", err);
        return -1;
    }
    tls_server_free(b->json_tls);
    b->json_tls = s;
    log_info(&b->log, "reload: json_tls certificate %s in force for new connections",
             b->cfg.json_tls.cert);
    return 0;
}

/* ---- the transport ---------------------------------------------------------------- */

/* After SSL_read/SSL_write returned rc <= 0: -1 with errno EAGAIN when it
 * only has to wait, 0 at the client's close_notify (reads), -1 with another
 * errno when the connection is broken. */
static ssize_t transport_error(struct client *c, struct tls_conn *t, int rc, bool reading)
{
    int e = SSL_get_error(t->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        if (!reading) {
            /* Only renegotiation makes a write wait for input, and it is off. */
            t->failed = true;
            errno = EPROTO;
            return -1;
        }
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        if (reading)
            ev_io_start(c->b->loop, &t->read_kick);
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        if (reading)
            return 0;
        errno = EPIPE;
        return -1;
    case SSL_ERROR_SYSCALL:
        t->failed = true;
        if (errno == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
            errno = ECONNRESET;
        return -1;
    default:
        t->failed = true;
        log_debug(&c->b->log, "client %s: TLS: %s", c->peer, ssl_reason("protocol error"));
        errno = EPROTO;
        return -1;
    }
}

/* Plaintext OpenSSL already decrypted (or bytes it already read) makes the
 * socket look idle: run the read callback again on the next loop turn. */
static void hand_over_pending(struct client *c, struct tls_conn *t)
{
    if (SSL_has_pending(t->ssl) && ev_is_active(&c->rio))
        ev_feed_event(c->b->loop, &c->rio, EV_READ);
}

static ssize_t tls_read(struct client *c, void *buf, size_t len)
{
    struct tls_conn *t = c->tx_state;
    ERR_clear_error();
    errno = 0; /* SSL_ERROR_SYSCALL: only a failing syscall's errno counts */
    int n = SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n <= 0)
        return transport_error(c, t, n, true);
    hand_over_pending(c, t);
    return n;
}

/* Skip n bytes of the iovec array at (*i, *off). */
static void iov_advance(const struct iovec *iov, int iovcnt, int *i, size_t *off, size_t n)
{
    while (n && *i < iovcnt) {
        size_t rest = iov[*i].iov_len - *off;
        if (n < rest) {
            *off += n;
            return;
        }
        n -= rest;
        (*i)++;
        *off = 0;
    }
}

/* Gathers the iovecs into records of TLS_WRITE_CHUNK bytes: one record per
 * SSL_write instead of one per small message. After WANT_WRITE, OpenSSL
 * wants the same bytes again, at least as many: the caller's queue still
 * holds them from the same position, and write_some (client.c) always
 * offers at least a chunk's worth or all it has. */
static ssize_t tls_writev(struct client *c, const struct iovec *iov, int iovcnt)
{
    struct tls_conn *t = c->tx_state;
    unsigned char chunk[TLS_WRITE_CHUNK];
    size_t done = 0, off = 0;
    int i = 0;
    for (;;) {
        size_t n = 0, o = off;
        for (int j = i; j < iovcnt && n < sizeof chunk; j++, o = 0) {
            size_t take = iov[j].iov_len - o;
            if (take > sizeof chunk - n)
                take = sizeof chunk - n;
            memcpy(chunk + n, (const char *)iov[j].iov_base + o, take);
            n += take;
        }
        if (n == 0)
            return (ssize_t)done;
        ERR_clear_error();
        errno = 0;
        int w = SSL_write(t->ssl, chunk, (int)n);
        if (w <= 0) {
            ssize_t r = transport_error(c, t, w, false);
            return done ? (ssize_t)done : r;
        }
        done += (size_t)w;
        iov_advance(iov, iovcnt, &i, &off, (size_t)w);
    }
}

static void tls_shutdown(struct client *c)
{
    struct tls_conn *t = c->tx_state;
    if (!t)
        return;
    ev_timer_stop(c->b->loop, &t->deadline);
    ev_io_stop(c->b->loop, &t->read_kick);
    if (t->ready && !t->failed) {
        /* close_notify, best effort: the socket is non-blocking. */
        ERR_clear_error();
        SSL_shutdown(t->ssl);
    }
    ERR_clear_error();
    SSL_free(t->ssl);
    free(t);
    c->tx_state = NULL;
}

static const struct client_transport tls_transport = {
    .read = tls_read,
    .writev = tls_writev,
    .shutdown = tls_shutdown,
    .kind = "tls",
};

/* The socket became writable: retry the read that needed it. */
static void read_kick_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct client *c = w->data;
    ev_io_stop(loop, w);
    if (ev_is_active(&c->rio))
        ev_feed_event(loop, &c->rio, EV_READ);
}

/* ---- the handshake ------------------------------------------------------------------- */

/* The subject's one CN, if it fits and has no control characters. */
static bool peer_cn(X509 *cert, char out[TLS_CN_MAX])
{
    X509_NAME *name = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (at < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, at) >= 0)
        return false;
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
    bool ok = len > 0 && len < TLS_CN_MAX;
    for (int k = 0; ok && k < len; k++)
        ok = utf8[k] >= 0x20 && utf8[k] != 0x7f;
    if (ok) {
        memcpy(out, utf8, (size_t)len);
        out[len] = '\0';
    }
    OPENSSL_free(utf8);
    return ok;
}

bool tls_verified_cn(struct ssl_st *ssl, char cn[TLS_CN_MAX])
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    return cert && SSL_get_verify_result(ssl) == X509_V_OK && peer_cn(cert, cn);
}

static void handshake_done(struct client *c, struct tls_conn *t)
{
    ev_timer_stop(c->b->loop, &t->deadline);
    ev_io_stop(c->b->loop, &c->wio);
    t->ready = true;
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (cert && SSL_get_verify_result(t->ssl) == X509_V_OK) {
        if (peer_cn(cert, c->tls_cn)) {
            log_info(&c->b->log, "client %s: TLS client certificate CN \"%s\" verified", c->peer,
                     c->tls_cn);
            client_tls_verified(c);
        } else {
            log_warn(&c->b->log, "client %s: TLS client certificate verified, but its subject "
                     "has no single printable CN: not used", c->peer);
        }
    }
    log_debug(&c->b->log, "client %s: TLS %s %s", c->peer, SSL_get_version(t->ssl),
              SSL_get_cipher_name(t->ssl));
    client_start(c);
    hand_over_pending(c, t);
}

/* Why a handshake failed, for the log: never anything secret. */
static void handshake_reason(const struct tls_conn *t, int e, char out[TLS_REASON_MAX])
{
    long v = SSL_get_verify_result(t->ssl);
    if (e == SSL_ERROR_SYSCALL)
        snprintf(out, TLS_REASON_MAX, "%s", errno ? strerror(errno) : "connection closed");
    else if (v != X509_V_OK)
        snprintf(out, TLS_REASON_MAX, "client certificate: %s", X509_verify_cert_error_string(v));
    else
        snprintf(out, TLS_REASON_MAX, "%s", ssl_reason("protocol error"));
}

static void handshake_step(struct client *c)
{
    struct tls_conn *t = c->tx_state;
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        handshake_done(c, t);
        return;
    }
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        bool rd = e == SSL_ERROR_WANT_READ;
        (rd ? ev_io_stop : ev_io_start)(c->b->loop, &c->wio);
        (rd ? ev_io_start : ev_io_stop)(c->b->loop, &c->rio);
        return;
    }
    char why[TLS_REASON_MAX];
    handshake_reason(t, e, why);
    t->failed = true;
    log_warn(&c->b->log, "client %s: TLS handshake failed: %s", c->peer, why);
    client_close(c);
}

static void handshake_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    handshake_step(w->data);
}

static void handshake_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct client *c = w->data;
    log_warn(&c->b->log, "client %s: TLS handshake not done within %.1f s (limits.hello_timeout)",
             c->peer, c->b->cfg.limits.hello_timeout);
    client_close(c);
}

struct client *tls_accept(struct tls_server *s, struct bridge *b, int fd, const char *peer)
{
    struct client *c = client_new(b, fd, peer);
    if (!c)
        return NULL;
    struct tls_conn *t = calloc(1, sizeof *t);
    ERR_clear_error();
    if (!t || !(t->ssl = SSL_new(s->ctx)) || SSL_set_fd(t->ssl, fd) != 1) {
        log_warn(&b->log, "client %s: cannot start TLS: %s", peer, ssl_reason("out of memory"));
        if (t)
            SSL_free(t->ssl);
        free(t);
        client_close(c);
        return NULL;
    }
    SSL_set_accept_state(t->ssl);
    c->tx = &tls_transport;
    c->tx_state = t;
    c->starting = true;
    ev_timer_init(&t->deadline, handshake_timeout_cb, b->cfg.limits.hello_timeout, 0);
    ev_io_init(&t->read_kick, read_kick_cb, fd, EV_WRITE);
    t->deadline.data = t->read_kick.data = c;
    ev_timer_start(b->loop, &t->deadline);
    ev_set_cb(&c->rio, handshake_io_cb);
    ev_set_cb(&c->wio, handshake_io_cb);
    ev_io_start(b->loop, &c->rio);
    return c;
}
