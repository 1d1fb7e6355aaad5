/* conn.c - the CLI's connection to the bridge; see conn.h. */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HOSTPORT_MAX 300 /* "[host]:port" text we accept */

int conn_init(struct conn *c, int stop_fd)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->stop_fd = stop_fd;
    c->buf = malloc(CONN_LINE_MAX + 1);
    return c->buf ? 0 : -1;
}

void conn_close(struct conn *c)
{
    if (c->ssl) {
        ERR_clear_error();
        SSL_shutdown(c->ssl); /* close_notify, best effort */
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ssl_ctx);
    c->ssl = c->ssl_ctx = NULL;
    ERR_clear_error();
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

int64_t conn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd has one of events, stop_fd is readable or the deadline
 * passes. */
static enum conn_status wait_for(struct conn *c, int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p[2] = {
            { .fd = fd, .events = events },
            { .fd = c->stop_fd, .events = POLLIN },   /* poll ignores fd -1 */
        };
        int timeout = -1;
        if (deadline != CONN_FOREVER) {
            int64_t left = deadline - conn_now_ms();
            timeout = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
        }
        int n = poll(p, 2, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            c->err = errno;
            return CONN_ERROR;
        }
        if (p[1].revents)
            return CONN_INTERRUPTED;
        if (n == 0)
            return CONN_TIMEOUT;
        return CONN_OK;   /* also on POLLERR/POLLHUP: the next call says what */
    }
}

/* "host:port" or "[v6]:port" -> host and port strings. */
static int split_hostport(const char *hp, char *host, size_t hostlen, const char **port)
{
    const char *colon;
    size_t n;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close || close[1] != ':')
            return -1;
        colon = close + 1;
        hp++;
        n = (size_t)(close - hp);
    } else {
        colon = strrchr(hp, ':');
        if (!colon || memchr(hp, ':', (size_t)(colon - hp)))
            return -1;   /* no port, or an IPv6 address without brackets */
        n = (size_t)(colon - hp);
    }
    if (n == 0 || n >= hostlen || colon[1] == '\0')
        return -1;
    memcpy(host, hp, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}

static enum conn_status connect_one(struct conn *c, const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        c->err = errno;
        return CONN_ERROR;
    }
    enum conn_status st = CONN_OK;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            c->err = errno;
            st = CONN_ERROR;
        } else if ((st = wait_for(c, fd, POLLOUT, deadline)) == CONN_OK) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            if (soerr != 0) {
                c->err = soerr;
                st = CONN_ERROR;
            }
        }
    }
    if (st != CONN_OK) {
        close(fd);
        return st;
    }
    c->fd = fd;
    return CONN_OK;
}

enum conn_status conn_connect(struct conn *c, const char *hostport, int64_t deadline,
                              char *err, size_t errlen)
{
    char host[HOSTPORT_MAX];
    const char *port;
    if (split_hostport(hostport, host, sizeof host, &port) != 0) {
        snprintf(err, errlen, "'%s' is not HOST:PORT (IPv6 as [::1]:7025)", hostport);
        c->err = EINVAL;
        return CONN_ERROR;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", hostport, gai_strerror(gai));
        c->err = EINVAL;
        return CONN_ERROR;
    }
    enum conn_status st = CONN_ERROR;
    c->err = EADDRNOTAVAIL;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        st = connect_one(c, ai, deadline);
        if (st == CONN_OK || st == CONN_INTERRUPTED || st == CONN_TIMEOUT)
            break;
    }
    freeaddrinfo(res);
    if (st != CONN_OK)
        snprintf(err, errlen, "cannot connect to %s: %s", hostport, conn_status_text(c, st));
    return st;
}

/* ---- TLS ---- */

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "connection closed";
}

/* After SSL_* returned rc <= 0: wait as OpenSSL asks (CONN_OK: try again),
 * or say why it failed. */
static enum conn_status tls_wait(struct conn *c, int rc, int64_t deadline)
{
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return wait_for(c, c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
    if (e == SSL_ERROR_ZERO_RETURN)
        return CONN_CLOSED;
    c->err = e == SSL_ERROR_SYSCALL && errno ? errno : EPROTO;
    c->tls_why = e == SSL_ERROR_SSL ? ssl_reason() : NULL;
    return e == SSL_ERROR_SYSCALL && !errno ? CONN_CLOSED : CONN_ERROR;
}

static int tls_fail(char *err, size_t errlen, const char *what, const char *file)
{
    snprintf(err, errlen, "TLS: %s%s%s: %s", what, file ? " " : "", file ? file : "",
             ssl_reason());
    return -1;
}

static int tls_setup(struct conn *c, const struct conn_tls *t, const char *host, char *err,
                     size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    c->ssl_ctx = ctx;
    if (!ctx)
        return tls_fail(err, errlen, "out of memory", NULL);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (t->ca ? SSL_CTX_load_verify_file(ctx, t->ca) != 1
              : SSL_CTX_set_default_verify_paths(ctx) != 1)
        return tls_fail(err, errlen, "cannot load the CA certificates", t->ca);
    if (t->cert && SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1)
        return tls_fail(err, errlen, "cannot load the client certificate", t->cert);
    if (t->key && SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1)
        return tls_fail(err, errlen, "cannot load the client key", t->key);
    SSL *ssl = SSL_new(ctx);
    c->ssl = ssl;
    if (!ssl || SSL_set_fd(ssl, c->fd) != 1)
        return tls_fail(err, errlen, "out of memory", NULL);
    const char *name = t->name ? t->name : host;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1
              : (SSL_set1_host(ssl, name) != 1 || SSL_set_tlsext_host_name(ssl, name) != 1))
        return tls_fail(err, errlen, "bad name to check", name);
    return 0;
}

enum conn_status conn_start_tls(struct conn *c, const struct conn_tls *t, const char *hostport,
                                int64_t deadline, char *err, size_t errlen)
{
    char host[HOSTPORT_MAX];
    const char *port;
    if (split_hostport(hostport, host, sizeof host, &port) != 0)
        snprintf(host, sizeof host, "%s", hostport);
    ERR_clear_error();
    if (tls_setup(c, t, host, err, errlen) != 0) {
        c->err = EINVAL;
        return CONN_ERROR;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_connect(c->ssl);
        if (rc == 1)
            return CONN_OK;
        long v = SSL_get_verify_result(c->ssl);
        enum conn_status st = tls_wait(c, rc, deadline);
        if (st == CONN_OK)
            continue;
        if (st == CONN_INTERRUPTED || st == CONN_TIMEOUT)
            snprintf(err, errlen, "TLS handshake with %s: %s", hostport, conn_status_text(c, st));
        else if (v != X509_V_OK)
            snprintf(err, errlen, "TLS handshake with %s: the bridge's certificate: %s", hostport,
                     X509_verify_cert_error_string(v));
        else
            snprintf(err, errlen, "TLS handshake with %s failed: %s", hostport, ssl_reason());
        return st;
    }
}

/* One read into buf: CONN_OK with *n > 0, or why not (after waiting as needed). */
static enum conn_status read_some(struct conn *c, char *buf, size_t len, int64_t deadline,
                                  size_t *n)
{
    for (;;) {
        if (c->ssl) {
            ERR_clear_error();
            errno = 0;
            int r = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
            if (r > 0) {
                *n = (size_t)r;
                return CONN_OK;
            }
            enum conn_status st = tls_wait(c, r, deadline);
            if (st != CONN_OK)
                return st;
            continue;
        }
        enum conn_status st = wait_for(c, c->fd, POLLIN, deadline);
        if (st != CONN_OK)
            return st;
        ssize_t r = recv(c->fd, buf, len, 0);
        if (r == 0)
            return CONN_CLOSED;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            c->err = errno;
            return CONN_ERROR;
        }
        *n = (size_t)r;
        return CONN_OK;
    }
}

enum conn_status conn_read_line(struct conn *c, int64_t deadline, const char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(c->buf + c->scan, '\n', c->len - c->scan);
        if (nl) {
            *line = c->buf + c->off;
            *len = (size_t)(nl - *line);
            c->off = c->scan = (size_t)(nl + 1 - c->buf);
            return CONN_OK;
        }
        c->scan = c->len;
        if (c->off > 0) {   /* make room: move the partial line to the front */
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->scan -= c->off;
            c->off = 0;
        }
        if (c->len > CONN_LINE_MAX)   /* buffer full and still no LF */
            return CONN_TOO_LONG;
        size_t n = 0;
        enum conn_status st = read_some(c, c->buf + c->len, CONN_LINE_MAX + 1 - c->len, deadline, &n);
        if (st != CONN_OK)
            return st;
        c->len += n;
    }
}

static enum conn_status send_all(struct conn *c, const char *p, size_t n, int flags, int64_t deadline)
{
    while (n > 0 && c->ssl) {
        ERR_clear_error();
        errno = 0;
        int w = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        enum conn_status st = tls_wait(c, w, deadline);
        if (st != CONN_OK)
            return st;
    }
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, flags | MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                c->err = errno;
                return CONN_ERROR;
            }
            enum conn_status st = wait_for(c, c->fd, POLLOUT, deadline);
            if (st != CONN_OK)
                return st;
            continue;
        }
        p += w;
        n -= (size_t)w;
    }
    return CONN_OK;
}

enum conn_status conn_send_json(struct conn *c, const json_t *msg, int64_t deadline)
{
    char *text = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) {
        c->err = ENOMEM;
        return CONN_ERROR;
    }
    enum conn_status st = send_all(c, text, strlen(text), MSG_MORE, deadline);
    if (st == CONN_OK)
        st = send_all(c, "\n", 1, 0, deadline);
    free(text);
    return st;
}

const char *conn_status_text(const struct conn *c, enum conn_status st)
{
    switch (st) {
    case CONN_OK: return "ok";
    case CONN_TIMEOUT: return "timed out";
    case CONN_CLOSED: return "the bridge closed the connection";
    case CONN_ERROR: return c->tls_why && c->err == EPROTO ? c->tls_why : strerror(c->err);
    case CONN_TOO_LONG: return "a line from the bridge is longer than 1 MiB";
    case CONN_INTERRUPTED: return "interrupted";
    }
    return "?";
}

enum conn_status conn_connect_unix(struct conn *c, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "--unix %s: the path is too long", path);
        c->err = ENAMETOOLONG;
        return CONN_ERROR;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* A local connect does not wait on the network: connect, then go non-blocking. */
    if (fd < 0 || connect(fd, (const struct sockaddr *)&sa, sizeof sa) != 0
        || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        c->err = errno;
        snprintf(err, errlen, "cannot connect to unix:%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CONN_ERROR;
    }
    c->fd = fd;
    return CONN_OK;
}

enum conn_status conn_open(struct conn *c, const char *unix_path, const char *hostport,
                           const struct conn_tls *tls, int64_t deadline, char *err, size_t errlen)
{
    enum conn_status st = unix_path ? conn_connect_unix(c, unix_path, err, errlen)
                                    : conn_connect(c, hostport, deadline, err, errlen);
    if (st == CONN_OK && tls)
        st = conn_start_tls(c, tls, hostport, deadline, err, errlen);
    return st;
}
