#include "load.h"

#include "child.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOAD_CARRY_MAX 4096          /* a partial line kept per client */
#define LOAD_READ_BUF (64 * 1024)    /* one client read */
#define LOAD_EVENTS 1024
#define LOAD_SETUP_TIMEOUT 30.0      /* s for every client to be registered */
#define LOAD_HI_TIMEOUT 10.0         /* s for every client to see HI */
#define LOAD_STREAM_SLACK 60.0       /* s past the planned stream before giving up */
#define LOAD_DRAIN_MAX 10.0          /* s after the last write, at most */
#define LOAD_IDLE_TAIL 0.05          /* s after the last HB before reading the CPU */
#define LOAD_STATS_TIMEOUT 2.0
#define LOAD_PREFILL 150000          /* frames: more than a stalled client's socket and queue hold */
#define LOAD_PREFILL_SETTLE 10.0     /* s for the bridge to have handled the prefill */
#define LOAD_RELAY_SETTLE 0.3        /* s for the relay to have copied it (it says nothing) */
#define LOAD_STATS_POLL 0.05         /* s between STATS requests while waiting */
#define LOAD_FLOOD_BATCH 64          /* frames per robot write when flooding */
#define LOAD_FLOOD_TURN (64 * 1024)  /* robot bytes per loop turn; then clients read */
#define LOAD_ROBOT_SNDBUF (64 * 1024) /* flood: keep the backlog in the target, not the kernel */
#define LOAD_ROBOT_OUT_MAX (8 * 1024 * 1024)
#define LOAD_SAMPLES_MAX (16u * 1024 * 1024)
#define LOAD_FRAME_MAX 128
#define LOAD_SEQ_MAX 99999
#define LOAD_WS_CARRY (LOAD_CARRY_MAX + 16) /* a partial WebSocket frame, header included */

enum conn_kind { K_WATCHER, K_WS, K_STALLED, K_CONTROL };
/* S_TLS: the TLS handshake; S_HANDSHAKE: waiting to be registered (WATCH). */
enum conn_state { S_CONNECTING, S_TLS, S_HANDSHAKE, S_READY, S_PARKED, S_CLOSED };

struct conn {
    int fd;
    SSL *ssl;                /* NULL: plain TCP */
    enum conn_kind kind;
    enum conn_state st;
    bool saw_hi;
    uint64_t got;            /* JT frames received */
    uint64_t told_dropped;   /* sum of DROPPED counts */
    bool ws_open;            /* K_WS: the upgrade was answered 101 */
    size_t carry_len;
    char carry[LOAD_WS_CARRY + 1];
};

struct run {
    enum load_target target;
    SSL_CTX *tls;            /* spec->tls: the clients' context */
    const struct load_spec *spec;
    int ep, tfd, robot_fd;
    enum load_mode mode;     /* of the phase running: the prefill floods */
    struct conn *conns;
    unsigned nconns, ready, hi_seen, complete;
    bool robot_out_armed;
    char *out;               /* robot bytes the socket did not take yet */
    size_t out_len, out_cap;
    uint32_t seq;
    unsigned sent, total;
    double epoch, first_send, last_rx;
    double phase_ms;         /* frames sent before this (ms since epoch) are not counted */
    uint32_t *lat;           /* latency samples, µs */
    size_t nlat, lat_cap;
    uint32_t *lat_ws;        /* the WebSocket watchers' */
    size_t nlat_ws, lat_ws_cap;
    long long stats_drops, stats_frames_in;
    bool stats_seen;
    bool failed;
    char *err;
    char rbuf[LOAD_READ_BUF];
};

/* epoll user data of the robot and the timer; clients use their conn. */
enum { TAG_ROBOT, TAG_TIMER, TAGS };
static const char tags[TAGS];
#define TAG(t) ((void *)&tags[t])

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

__attribute__((format(printf, 2, 3))) static void fail(struct run *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, LOAD_ERR_MAX, fmt, ap);
    va_end(ap);
}

static bool has_prefix(const char *l, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && memcmp(l, p, k) == 0;
}

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return sa;
}

/* ---- clients -------------------------------------------------------------- */

static void conn_lost(struct run *r, struct conn *c, const char *why)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    c->st = S_CLOSED;
    fail(r, "client %u (%s): %s", (unsigned)(c - r->conns),
         c->kind == K_WATCHER ? "watcher" : c->kind == K_WS ? "ws watcher"
         : c->kind == K_STALLED ? "stalled" : "control", why);
}

static void became_ready(struct run *r, struct conn *c)
{
    if (c->st != S_HANDSHAKE)
        return;
    c->st = S_READY;
    r->ready++;
}

static void saw_hi(struct run *r, struct conn *c)
{
    if (c->saw_hi || c->kind == K_CONTROL)
        return;
    c->saw_hi = true;
    r->hi_seen++;
    if (c->kind == K_STALLED) {
        /* From now on this client never reads. */
        epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
        c->st = S_PARKED;
    }
}

static void on_jt(struct run *r, struct conn *c, const char *ms_text, double rx)
{
    double sent_ms = strtod(ms_text, NULL);
    if (sent_ms < r->phase_ms)
        return; /* a prefill frame */
    c->got++;
    if (c->kind != K_WATCHER && c->kind != K_WS)
        return;
    if (c->got == r->total)
        r->complete++;
    r->last_rx = rx;
    double lat_us = (rx - r->epoch) * 1e6 - sent_ms * 1e3;
    uint32_t **lat = c->kind == K_WS ? &r->lat_ws : &r->lat;
    size_t *nlat = c->kind == K_WS ? &r->nlat_ws : &r->nlat;
    size_t *lat_cap = c->kind == K_WS ? &r->lat_ws_cap : &r->lat_cap;
    if (*nlat == *lat_cap) {
        size_t cap = *lat_cap ? *lat_cap * 2 : 65536;
        uint32_t *l = cap <= LOAD_SAMPLES_MAX ? realloc(*lat, cap * sizeof *l) : NULL;
        if (!l)
            return; /* enough samples */
        *lat = l;
        *lat_cap = cap;
    }
    (*lat)[(*nlat)++] = lat_us <= 0 ? 0 : lat_us >= 4e9 ? UINT32_MAX : (uint32_t)lrint(lat_us);
}

static void on_line(struct run *r, struct conn *c, const char *l, size_t n, double rx)
{
    if (r->target == TARGET_RELAY) {
        const char *comma;
        if (has_prefix(l, n, "JT,") && (comma = memchr(l + 3, ',', n - 3)) != NULL)
            on_jt(r, c, comma + 1, rx);
        else if (has_prefix(l, n, "HI,"))
            saw_hi(r, c);
        else if (has_prefix(l, n, "RELAY"))
            became_ready(r, c);
        return;
    }
    static const char cls[] = "{\"class\":\"";
    if (!has_prefix(l, n, cls))
        return;
    const char *k = l + sizeof cls - 1, *p;
    size_t kn = n - (sizeof cls - 1);
    if (has_prefix(k, kn, "FRAME\"")) {
        if ((p = memmem(l, n, "\"joints\":[", 10)) != NULL)
            on_jt(r, c, p + 10, rx);
        else if (memmem(l, n, "\"type\":\"HI\"", 11))
            saw_hi(r, c);
    } else if (has_prefix(k, kn, "DROPPED\"")) {
        if ((p = memmem(l, n, "\"count\":", 8)) != NULL)
            c->told_dropped += strtoull(p + 8, NULL, 10);
    } else if (has_prefix(k, kn, "WATCH\"")) {
        if (c->kind != K_CONTROL)
            became_ready(r, c);
    } else if (has_prefix(k, kn, "VERSION\"")) {
        if (c->kind == K_CONTROL)
            became_ready(r, c);
    } else if (has_prefix(k, kn, "STATS\"")) {
        if ((p = memmem(l, n, "\"drops\":", 8)) != NULL)
            r->stats_drops = strtoll(p + 8, NULL, 10);
        if ((p = memmem(l, n, "\"frames_in\":", 12)) != NULL)
            r->stats_frames_in = strtoll(p + 12, NULL, 10);
        r->stats_seen = true;
    } else if (has_prefix(k, kn, "ERROR\"")) {
        fail(r, "the bridge answered: %.*s", (int)n, l);
    }
}

/* Split received bytes into lines; a partial line waits in c->carry. */
static void feed(struct run *r, struct conn *c, const char *d, size_t n, double rx)
{
    while (n) {
        const char *lf = memchr(d, '\n', n);
        size_t part = lf ? (size_t)(lf - d) : n;
        if (!lf || c->carry_len) {
            if (c->carry_len + part > LOAD_CARRY_MAX) {
                fail(r, "a line over %d bytes", LOAD_CARRY_MAX);
                c->carry_len = 0;
            } else {
                memcpy(c->carry + c->carry_len, d, part);
                c->carry_len += part;
            }
            if (!lf)
                return;
            c->carry[c->carry_len] = '\0';
            on_line(r, c, c->carry, c->carry_len, rx);
            c->carry_len = 0;
        } else {
            on_line(r, c, d, part, rx);
        }
        d += part + 1;
        n -= part + 1;
    }
}

/* TLS: read while OpenSSL holds plaintext or unread bytes (they would not
 * wake epoll). */
static void conn_read_tls(struct run *r, struct conn *c)
{
    for (;;) {
        ERR_clear_error();
        int n = SSL_read(c->ssl, r->rbuf, (int)sizeof r->rbuf);
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                conn_lost(r, c, e == SSL_ERROR_ZERO_RETURN ? "closed by the target" : "TLS error");
            return;
        }
        feed(r, c, r->rbuf, (size_t)n, now());
        /* Nothing held back: epoll (level-triggered) says when more comes,
         * without a read that would only return EAGAIN. */
        if (c->st == S_PARKED || c->st == S_CLOSED || !SSL_has_pending(c->ssl))
            return;
    }
}

/* A short line on a fresh connection: taken whole, or the client is lost. */
static bool conn_send(struct run *r, struct conn *c, const char *d, size_t n)
{
    bool ok = c->ssl ? SSL_write(c->ssl, d, (int)n) == (int)n : write(c->fd, d, n) == (ssize_t)n;
    if (!ok)
        conn_lost(r, c, "cannot send a request");
    return ok;
}

/* A client-to-server text frame: FIN, opcode 1, masked (RFC 6455 5.3). */
static bool ws_send_text(int fd, const char *text, size_t n)
{
    unsigned char f[8 + 128];
    static const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    if (n > 125)
        return false;
    f[0] = 0x81;
    f[1] = 0x80 | (unsigned char)n;
    memcpy(f + 2, key, 4);
    for (size_t i = 0; i < n; i++)
        f[6 + i] = (unsigned char)text[i] ^ key[i % 4];
    return write(fd, f, 6 + n) == (ssize_t)(6 + n);
}

/* WebSocket bytes: the 101 answer first, then unmasked frames from the
 * server, each one JSON message (on_line). */
static void ws_feed(struct run *r, struct conn *c, const char *d, size_t n, double rx)
{
    while (n) {
        size_t take = n < LOAD_WS_CARRY - c->carry_len ? n : LOAD_WS_CARRY - c->carry_len;
        memcpy(c->carry + c->carry_len, d, take);
        c->carry_len += take;
        d += take;
        n -= take;
        size_t off = 0;
        if (!c->ws_open) {
            c->carry[c->carry_len] = '\0';
            const char *end = strstr(c->carry, "\r\n\r\n");
            if (!end) {
                if (c->carry_len == LOAD_WS_CARRY)
                    fail(r, "no end of the upgrade answer");
                continue;
            }
            if (!has_prefix(c->carry, c->carry_len, "HTTP/1.1 101")) {
                fail(r, "upgrade refused: %.40s", c->carry);
                return;
            }
            c->ws_open = true;
            off = (size_t)(end + 4 - c->carry);
            static const char watch[] = "{\"cmd\":\"watch\",\"robots\":[\"rob1\"]}";
            if (!ws_send_text(c->fd, watch, sizeof watch - 1)) {
                fail(r, "cannot send watch over WebSocket");
                return;
            }
        }
        for (;;) {
            const unsigned char *h = (const unsigned char *)c->carry + off;
            size_t avail = c->carry_len - off, hl = 2, len;
            if (avail < 2)
                break;
            len = h[1] & 0x7f;
            if (len == 126) {
                hl = 4;
                if (avail < hl)
                    break;
                len = (size_t)h[2] << 8 | h[3];
            } else if (len == 127) {
                fail(r, "a WebSocket message over 64 KiB");
                return;
            }
            if (avail < hl + len)
                break;
            if ((h[0] & 0x0f) == 8) {
                conn_lost(r, c, "WebSocket closed by the target");
                return;
            }
            if ((h[0] & 0x0f) == 1)
                on_line(r, c, (const char *)h + hl, len, rx);
            off += hl + len;
        }
        memmove(c->carry, c->carry + off, c->carry_len - off);
        c->carry_len -= off;
        if (c->carry_len == LOAD_WS_CARRY) {
            fail(r, "a WebSocket frame over %d bytes", LOAD_WS_CARRY);
            return;
        }
    }
}

static void conn_read(struct run *r, struct conn *c)
{
    if (c->ssl) {
        conn_read_tls(r, c);
        return;
    }
    for (;;) {
        ssize_t n = read(c->fd, r->rbuf, sizeof r->rbuf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_lost(r, c, n == 0 ? "closed by the target" : strerror(errno));
            return;
        }
        if (c->kind == K_WS)
            ws_feed(r, c, r->rbuf, (size_t)n, now());
        else
            feed(r, c, r->rbuf, (size_t)n, now());
        if (c->st == S_CLOSED || r->failed)
            return;
        if (c->st == S_PARKED || (size_t)n < sizeof r->rbuf)
            return;
    }
}

static void conn_open(struct run *r, struct conn *c, uint16_t port)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->st = S_CLOSED;
        fail(r, "socket: %s", strerror(errno));
        return;
    }
    if (c->kind == K_STALLED) {
        int sz = LOAD_STALLED_RCVBUF;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    struct sockaddr_in sa = loopback(c->kind == K_WS ? r->spec->http_port : port);
    c->st = S_CONNECTING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if ((connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) ||
        epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        conn_lost(r, c, strerror(errno));
}

/* Connected (and through TLS when asked): ask to watch. */
static void conn_registering(struct run *r, struct conn *c)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->st = S_HANDSHAKE;
    static const char watch[] = "{\"cmd\":\"watch\",\"robots\":[\"rob1\"]}\n";
    /* A fresh socket takes a short line whole. */
    if (r->target == TARGET_BRIDGE && c->kind != K_CONTROL)
        conn_send(r, c, watch, sizeof watch - 1);
}

static void conn_tls_step(struct run *r, struct conn *c)
{
    ERR_clear_error();
    int rc = SSL_connect(c->ssl);
    if (rc == 1) {
        conn_registering(r, c);
        if (c->st != S_CLOSED)
            conn_read(r, c); /* the banner may already be inside OpenSSL */
        return;
    }
    int e = SSL_get_error(c->ssl, rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        conn_lost(r, c, "TLS handshake failed");
        return;
    }
    struct epoll_event ev = {.events = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT,
                             .data.ptr = c};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_event(struct run *r, struct conn *c, uint32_t events)
{
    if (c->st == S_TLS) {
        conn_tls_step(r, c);
        return;
    }
    if (c->st == S_CONNECTING) {
        int e = 0;
        socklen_t el = sizeof e;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        if (e) {
            conn_lost(r, c, strerror(e));
            return;
        }
        if (c->kind == K_WS) {
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
            c->st = S_HANDSHAKE;
            static const char upgrade[] =
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
            if (write(c->fd, upgrade, sizeof upgrade - 1) != (ssize_t)(sizeof upgrade - 1))
                conn_lost(r, c, "cannot send the upgrade");
            else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                conn_read(r, c);
            return;
        }
        if (r->tls) {
            c->ssl = SSL_new(r->tls);
            if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
                conn_lost(r, c, "SSL_new failed");
                return;
            }
            c->st = S_TLS;
            conn_tls_step(r, c);
            return;
        }
        conn_registering(r, c);
        if (c->st == S_CLOSED)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read(r, c);
}

/* ---- robot ----------------------------------------------------------------- */

static void robot_arm(struct run *r, bool out)
{
    if (r->robot_out_armed == out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = TAG(TAG_ROBOT)};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, r->robot_fd, &ev);
    r->robot_out_armed = out;
}

static void robot_write(struct run *r, const char *d, size_t n)
{
    if (!r->first_send)
        r->first_send = now();
    if (r->out_len == 0) {
        ssize_t w = send(r->robot_fd, d, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fail(r, "robot write: %s", strerror(errno));
            return;
        }
        if (w > 0) {
            d += w;
            n -= (size_t)w;
        }
        if (n == 0)
            return;
    }
    if (r->out_len + n > r->out_cap) {
        size_t cap = r->out_cap ? r->out_cap : 65536;
        while (cap < r->out_len + n)
            cap *= 2;
        char *o = cap <= LOAD_ROBOT_OUT_MAX ? realloc(r->out, cap) : NULL;
        if (!o) {
            fail(r, "the target stopped reading the robot (%zu bytes waiting)", r->out_len);
            return;
        }
        r->out = o;
        r->out_cap = cap;
    }
    memcpy(r->out + r->out_len, d, n);
    r->out_len += n;
    robot_arm(r, true);
}

static void robot_flush(struct run *r)
{
    while (r->out_len) {
        ssize_t w = send(r->robot_fd, r->out, r->out_len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fail(r, "robot write: %s", strerror(errno));
            return;
        }
        memmove(r->out, r->out + w, r->out_len - (size_t)w);
        r->out_len -= (size_t)w;
    }
}

/* A number as RAPID's NumToStr(v, decimals) writes it: fixed decimals,
 * trailing zeros and a bare point dropped ("1234.5", "-45.12", "90"). */
static size_t put_num(char *out, double v, int decimals)
{
    int n = snprintf(out, 32, "%.*f", decimals, v);
    while (n > 1 && memchr(out, '.', (size_t)n) && (out[n - 1] == '0' || out[n - 1] == '.'))
        if (out[--n] == '.')
            break;
    return (size_t)n;
}

static size_t make_frame(struct run *r, char *buf, double t)
{
    uint32_t seq = r->seq;
    r->seq = seq >= LOAD_SEQ_MAX ? 0 : seq + 1;
    size_t n;
    if (r->mode == LOAD_IDLE) {
        n = (size_t)snprintf(buf, LOAD_FRAME_MAX, "HB,%u\n", (unsigned)seq);
    } else {
        /* j1 is the send time in ms; j2 moves a little. ~55 bytes. */
        n = (size_t)snprintf(buf, LOAD_FRAME_MAX, "JT,%u,", (unsigned)seq);
        n += put_num(buf + n, (t - r->epoch) * 1e3, 3);
        buf[n++] = ',';
        n += put_num(buf + n, -45.0 - (r->sent % 1000u) * 0.001, 3);
        static const char rest[] = ",90.345,0.571,30.254,-179.987\n";
        memcpy(buf + n, rest, sizeof rest - 1);
        n += sizeof rest - 1;
    }
    r->sent++;
    return n;
}

/* Flood: whole batches while the robot socket takes them, a turn at a time. */
static void flood_turn(struct run *r)
{
    robot_flush(r);
    size_t turn = 0;
    while (!r->failed && r->out_len == 0 && r->sent < r->total && turn < LOAD_FLOOD_TURN) {
        char batch[LOAD_FLOOD_BATCH * LOAD_FRAME_MAX];
        size_t len = 0;
        double t = now();
        for (unsigned k = 0; k < LOAD_FLOOD_BATCH && r->sent < r->total; k++)
            len += make_frame(r, batch + len, t);
        robot_write(r, batch, len);
        turn += len;
    }
    robot_arm(r, r->out_len > 0 || r->sent < r->total);
}

static void on_timer(struct run *r)
{
    uint64_t ticks = 0;
    if (read(r->tfd, &ticks, sizeof ticks) != sizeof ticks)
        return;
    for (uint64_t k = 0; k < ticks && r->sent < r->total && !r->failed; k++) {
        char frame[LOAD_FRAME_MAX];
        size_t len = make_frame(r, frame, now());
        robot_write(r, frame, len);
    }
}

static void on_robot(struct run *r, uint32_t events)
{
    if (events & EPOLLIN) {
        char sink[256];
        ssize_t n = read(r->robot_fd, sink, sizeof sink);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            fail(r, "the target closed the robot link");
            return;
        }
    }
    if (events & (EPOLLOUT | EPOLLERR)) {
        if (r->mode == LOAD_FLOOD)
            flood_turn(r);
        else {
            robot_flush(r);
            robot_arm(r, r->out_len > 0);
        }
    }
}

static void robot_open(struct run *r, uint16_t port)
{
    r->robot_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->robot_fd < 0) {
        fail(r, "socket: %s", strerror(errno));
        return;
    }
    int one = 1, sz = LOAD_ROBOT_SNDBUF;
    setsockopt(r->robot_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (r->spec->mode == LOAD_FLOOD || r->spec->stalled)
        setsockopt(r->robot_fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    struct sockaddr_in sa = loopback(port);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = TAG(TAG_ROBOT)};
    static const char hi[] = "HI,0,rob1,1,rapidbridge bench\n";
    if (connect(r->robot_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        fcntl(r->robot_fd, F_SETFL, O_NONBLOCK) < 0 ||
        epoll_ctl(r->ep, EPOLL_CTL_ADD, r->robot_fd, &ev) < 0 ||
        send(r->robot_fd, hi, sizeof hi - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof hi - 1))
        fail(r, "robot connect: %s", strerror(errno));
}

/* ---- the run ---------------------------------------------------------------- */

static void pump(struct run *r, int timeout_ms)
{
    struct epoll_event evs[LOAD_EVENTS];
    int n = epoll_wait(r->ep, evs, LOAD_EVENTS, timeout_ms);
    for (int i = 0; i < n && !r->failed; i++) {
        void *p = evs[i].data.ptr;
        if (p == TAG(TAG_TIMER))
            on_timer(r);
        else if (p == TAG(TAG_ROBOT))
            on_robot(r, evs[i].events);
        else if (((struct conn *)p)->st != S_CLOSED && ((struct conn *)p)->st != S_PARKED)
            conn_event(r, p, evs[i].events);
    }
}

/* Connect conns[from, to) and wait until each is registered. */
static void connect_range(struct run *r, uint16_t port, unsigned from, unsigned to)
{
    double deadline = now() + LOAD_SETUP_TIMEOUT;
    unsigned base = r->ready, started = from;
    while (!r->failed && r->ready - base < to - from) {
        while (started < to && (started - from) - (r->ready - base) < LOAD_WAVE && !r->failed)
            conn_open(r, &r->conns[started++], port);
        if (now() > deadline)
            fail(r, "only %u of %u clients registered within %.0f s", r->ready - base, to - from,
                 LOAD_SETUP_TIMEOUT);
        pump(r, 100);
    }
}

static void wait_hi(struct run *r, unsigned want)
{
    double deadline = now() + LOAD_HI_TIMEOUT;
    while (!r->failed && r->hi_seen < want) {
        if (now() > deadline)
            fail(r, "only %u of %u clients saw HI within %.0f s", r->hi_seen, want,
                 LOAD_HI_TIMEOUT);
        pump(r, 100);
    }
}

static void ask_stats(struct run *r)
{
    struct conn *c = &r->conns[r->nconns - 1];
    static const char req[] = "{\"cmd\":\"stats\"}\n";
    r->stats_seen = false;
    if (!conn_send(r, c, req, sizeof req - 1)) {
        fail(r, "cannot ask for stats");
        return;
    }
    double deadline = now() + LOAD_STATS_TIMEOUT;
    while (!r->failed && !r->stats_seen && now() < deadline)
        pump(r, 10);
    if (!r->stats_seen)
        fail(r, "no STATS within %.0f s", LOAD_STATS_TIMEOUT);
}

/* Flood until the stalled clients are at their limit: from then on the
 * target drops every stream message for them. The kernel takes megabytes
 * into a loopback socket's buffers before the queue even starts, so 1 kHz
 * for a few seconds alone would never get there. */
static void prefill(struct run *r)
{
    r->mode = LOAD_FLOOD;
    r->total = LOAD_PREFILL;
    double deadline = now() + LOAD_PREFILL_SETTLE;
    flood_turn(r);
    while (!r->failed && (r->sent < r->total || r->out_len)) {
        if (now() > deadline)
            fail(r, "prefill: sent only %u of %u frames in time", r->sent, r->total);
        pump(r, 100);
    }
    if (r->target == TARGET_BRIDGE) {
        /* Every frame handled (HI + prefill) and some already dropped. */
        for (;;) {
            ask_stats(r);
            if (r->failed || (r->stats_frames_in > LOAD_PREFILL && r->stats_drops > 0))
                break;
            if (now() > deadline) {
                fail(r, "prefill: the bridge took %lld frames and dropped %lld", r->stats_frames_in,
                     r->stats_drops);
                break;
            }
            double until = now() + LOAD_STATS_POLL;
            while (!r->failed && now() < until)
                pump(r, 10);
        }
    } else {
        double until = now() + LOAD_RELAY_SETTLE;
        while (!r->failed && now() < until)
            pump(r, 10);
    }
    r->sent = 0;
    r->first_send = r->last_rx = 0;
    r->phase_ms = (now() - r->epoch) * 1e3;
}

static void start_timer(struct run *r)
{
    long long period_ns = llround(1e9 / r->spec->rate_hz);
    struct itimerspec its = {
        .it_interval = {period_ns / 1000000000, period_ns % 1000000000},
        .it_value = {period_ns / 1000000000, period_ns % 1000000000},
    };
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = TAG(TAG_TIMER)};
    r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r->tfd < 0 || timerfd_settime(r->tfd, 0, &its, NULL) < 0 ||
        epoll_ctl(r->ep, EPOLL_CTL_ADD, r->tfd, &ev) < 0)
        fail(r, "timerfd: %s", strerror(errno));
}

/* Write every frame, then wait for the healthy clients to have them. */
static void stream(struct run *r)
{
    const struct load_spec *s = r->spec;
    double start = now();
    r->mode = s->mode;
    r->total = s->mode == LOAD_FLOOD ? s->frames : (unsigned)llround(s->rate_hz * s->seconds);
    double give_up = start + (s->mode == LOAD_FLOOD ? 0 : s->seconds) + LOAD_STREAM_SLACK;
    if (s->mode == LOAD_FLOOD)
        flood_turn(r);
    else
        start_timer(r);
    while (!r->failed && (r->sent < r->total || r->out_len)) {
        if (now() > give_up)
            fail(r, "sent only %u of %u frames in time", r->sent, r->total);
        pump(r, 100);
    }
    if (r->tfd >= 0) {
        close(r->tfd);
        r->tfd = -1;
    }
    double done = now();
    if (s->mode == LOAD_IDLE) {
        while (!r->failed && now() < done + LOAD_IDLE_TAIL)
            pump(r, 10);
        return;
    }
    while (!r->failed && r->complete < s->watchers + s->ws_watchers) {
        double t = now();
        double quiet_since = r->last_rx > done ? r->last_rx : done;
        if (t > done + LOAD_DRAIN_MAX || t > quiet_since + LOAD_DRAIN_IDLE)
            break;
        pump(r, 10);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void summarize(struct run *r, struct load_result *res)
{
    const struct load_spec *s = r->spec;
    res->sent = r->sent;
    res->stats_drops = r->target == TARGET_BRIDGE && r->stats_seen ? r->stats_drops : -1;
    res->stalled_drops = -1;
    res->elapsed = r->last_rx > r->first_send ? r->last_rx - r->first_send : 0;
    uint64_t least = UINT64_MAX, sum = 0;
    for (unsigned i = 0; i < r->nconns; i++) {
        const struct conn *c = &r->conns[i];
        if (c->kind == K_STALLED)
            res->stalled_got += c->got;
        if (c->kind != K_WATCHER)
            continue;
        least = c->got < least ? c->got : least;
        sum += c->got;
        if (s->mode != LOAD_IDLE && c->got < r->sent)
            res->missing += r->sent - c->got;
        res->told_dropped += c->told_dropped;
    }
    if (s->mode != LOAD_IDLE && s->watchers && r->sent) {
        res->deliv_min = (double)least / r->sent;
        res->deliv_avg = (double)sum / s->watchers / r->sent;
        res->thr = res->elapsed > 0 ? (double)least / res->elapsed : 0;
    }
    uint64_t ws_least = UINT64_MAX;
    for (unsigned i = 0; i < r->nconns; i++) {
        const struct conn *c = &r->conns[i];
        if (c->kind != K_WS)
            continue;
        ws_least = c->got < ws_least ? c->got : ws_least;
        if (s->mode != LOAD_IDLE && c->got < r->sent)
            res->ws_missing += r->sent - c->got;
        res->ws_told_dropped += c->told_dropped;
    }
    if (s->ws_watchers && r->sent)
        res->ws_deliv_min = (double)ws_least / r->sent;
    res->ws_samples = r->nlat_ws;
    if (r->nlat_ws) {
        qsort(r->lat_ws, r->nlat_ws, sizeof *r->lat_ws, cmp_u32);
        res->ws_p50_ms = r->lat_ws[r->nlat_ws / 2] / 1e3;
        res->ws_p99_ms = r->lat_ws[(r->nlat_ws * 99) / 100] / 1e3;
        res->ws_max_ms = r->lat_ws[r->nlat_ws - 1] / 1e3;
    }
    res->samples = r->nlat;
    if (r->nlat) {
        qsort(r->lat, r->nlat, sizeof *r->lat, cmp_u32);
        res->p50_ms = r->lat[r->nlat / 2] / 1e3;
        res->p99_ms = r->lat[(r->nlat * 99) / 100] / 1e3;
        res->max_ms = r->lat[r->nlat - 1] / 1e3;
    }
}

/* TCP and WebSocket watchers alternate in connection order, so neither kind
 * is always the first written when a frame fans out. */
static enum conn_kind healthy_kind(const struct load_spec *s, unsigned i)
{
    unsigned pairs = s->watchers < s->ws_watchers ? s->watchers : s->ws_watchers;
    if (i < 2 * pairs)
        return i % 2 ? K_WS : K_WATCHER;
    return s->watchers > s->ws_watchers ? K_WATCHER : K_WS;
}

int load_run(enum load_target target, pid_t pid, uint16_t robot_port, uint16_t client_port,
             const struct load_spec *spec, struct load_result *res, char err[LOAD_ERR_MAX])
{
    memset(res, 0, sizeof *res);
    err[0] = '\0';
    struct run *r = calloc(1, sizeof *r);
    long long stalled_before = 0;
    if (!r) {
        snprintf(err, LOAD_ERR_MAX, "out of memory");
        return -1;
    }
    r->target = target;
    r->spec = spec;
    r->err = err;
    r->tfd = r->robot_fd = -1;
    r->seq = 1;
    r->epoch = now();
    unsigned healthy = spec->watchers + spec->ws_watchers;
    r->nconns = healthy + spec->stalled + (target == TARGET_BRIDGE ? 1 : 0);
    r->conns = calloc(r->nconns ? r->nconns : 1, sizeof *r->conns);
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!r->conns || r->ep < 0)
        fail(r, "out of memory or descriptors");
    if (spec->tls && target == TARGET_BRIDGE) {
        r->tls = SSL_CTX_new(TLS_client_method());
        if (!r->tls)
            fail(r, "SSL_CTX_new failed");
        else {
            SSL_CTX_set_verify(r->tls, SSL_VERIFY_NONE, NULL);
            /* One read(2) per batch of records, not two per record (header,
             * then body): the client's cost stays out of the figures. */
            SSL_CTX_set_read_ahead(r->tls, 1);
        }
    }
    for (unsigned i = 0; i < r->nconns; i++) {
        r->conns[i].fd = -1;
        r->conns[i].st = S_CLOSED;
        r->conns[i].kind = i < healthy ? healthy_kind(spec, i)
                         : i < healthy + spec->stalled ? K_STALLED : K_CONTROL;
    }

    /* Stalled clients (and the control client) first: the prefill must
     * reach them alone. Otherwise the robot comes last and HI marks the
     * start for everybody. */
    connect_range(r, client_port, healthy, r->nconns);
    if (spec->stalled) {
        robot_open(r, robot_port);
        wait_hi(r, spec->stalled);
        if (!r->failed)
            prefill(r);
        if (!r->failed && target == TARGET_BRIDGE)
            ask_stats(r);
        stalled_before = r->stats_drops;
    }
    connect_range(r, client_port, 0, healthy);
    if (!spec->stalled) {
        robot_open(r, robot_port);
        wait_hi(r, healthy);
    }

    double cpu0 = child_cpu_ms(pid), sched0 = child_sched_ms(pid);
    if (!r->failed)
        stream(r);
    res->cpu_ms = child_cpu_ms(pid) - cpu0;
    res->sched_ms = child_sched_ms(pid) - sched0;
    res->hwm_mib = child_hwm_mib(pid);
    if (!r->failed && target == TARGET_BRIDGE)
        ask_stats(r);
    summarize(r, res);
    if (target == TARGET_BRIDGE && spec->stalled && r->stats_seen)
        res->stalled_drops = r->stats_drops - stalled_before;

    if (r->robot_fd >= 0)
        close(r->robot_fd);
    for (unsigned i = 0; r->conns && i < r->nconns; i++) {
        SSL_free(r->conns[i].ssl);
        if (r->conns[i].st != S_CLOSED)
            close(r->conns[i].fd);
    }
    SSL_CTX_free(r->tls);
    if (r->tfd >= 0)
        close(r->tfd);
    if (r->ep >= 0)
        close(r->ep);
    bool failed = r->failed;
    free(r->lat);
    free(r->lat_ws);
    free(r->out);
    free(r->conns);
    free(r);
    return failed ? -1 : 0;
}
