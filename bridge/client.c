#include "client.h"

#include "request.h"
#include "robot.h"
#include "serve.h"
#include "web.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define CLIENT_QUEUE_SLOTS_MIN 16 /* first size of the message ring; doubles as needed */

static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void client_write_cb(struct ev_loop *loop, ev_io *w, int revents);

static ssize_t plain_read(struct client *c, void *buf, size_t len)
{
    return read(c->fd, buf, len);
}

static ssize_t plain_writev(struct client *c, const struct iovec *iov, int iovcnt)
{
    return writev(c->fd, iov, iovcnt);
}

static void plain_shutdown(struct client *c)
{
    (void)c;
}

const struct client_transport client_plain_transport = {
    .read = plain_read,
    .writev = plain_writev,
    .shutdown = plain_shutdown,
    .kind = "tcp",
};

static void mark_dirty(struct client *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = c->b->dirty;
    c->b->dirty = c;
}

static void send_version(struct client *c, const json_t *id)
{
    json_t *j = json_pack("{s:s, s:s, s:i, s:i}", "class", "VERSION", "release", RB_RELEASE,
                          "proto_major", RB_PROTO_MAJOR, "proto_minor", RB_PROTO_MINOR);
    if (j && id)
        json_object_set(j, "id", (json_t *)id);
    if (j)
        client_reply(c, j);
    json_decref(j);
}

struct client *client_new(struct bridge *b, int fd, const char *peer)
{
    struct client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->b = b;
    c->tx = &client_plain_transport;
    c->fd = fd;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    principal_anonymous(&c->who);
    ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
    ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
    c->rio.data = c->wio.data = c;
    c->first_deadline = ev_now(b->loop) + b->cfg.limits.first_request_timeout;
    c->next = b->clients;
    if (b->clients)
        b->clients->prev = c;
    b->clients = c;
    b->nclients++;
    return c;
}

void client_start(struct client *c)
{
    c->starting = false;
    ev_set_cb(&c->rio, client_read_cb);
    ev_set_cb(&c->wio, client_write_cb);
    ev_io_start(c->b->loop, &c->rio);
    send_version(c, NULL);
}

struct client *client_open(struct bridge *b, int fd, const char *peer)
{
    struct client *c = client_new(b, fd, peer);
    if (c)
        client_start(c);
    return c;
}

void client_tls_verified(struct client *c)
{
    principal_cert(&c->who, c->tls_cn);
}

struct client *client_open_ws(struct bridge *b, void *ws, const char *peer)
{
    struct client *c = client_new(b, -1, peer);
    if (!c)
        return NULL;
    c->ws = ws;
    send_version(c, NULL);
    return c;
}

/* For rapidbridge_clients{kind}: TLS is a TCP client. */
const char *client_kind(const struct client *c)
{
    return c->fd < 0 ? "ws" : c->unix_socket ? "unix" : "tcp";
}

static void unlink_dirty(struct client *c)
{
    if (!c->dirty)
        return;
    for (struct client **p = &c->b->dirty; *p; p = &(*p)->dirty_next) {
        if (*p == c) {
            *p = c->dirty_next;
            break;
        }
    }
    c->dirty = false;
}

void client_close(struct client *c)
{
    struct bridge *b = c->b;
    lease_client_gone(b, c);
    robots_forget(b, c);
    serve_client_gone(b, c);
    if (c->fd < 0) {
        web_client_closed(c);
    } else {
        ev_io_stop(b->loop, &c->rio);
        ev_io_stop(b->loop, &c->wio);
        c->tx->shutdown(c);
        close(c->fd);
    }
    unlink_dirty(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        b->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    b->nclients--;
    if (c->peer_counted)
        peers_release_client(b, &c->peer_sa);
    for (size_t i = 0; i < c->q_count; i++)
        msg_unref(c->q[(c->q_head + i) % c->q_cap]);
    free(c->q);
    free(c->in);
    free(c);
}

static size_t soft_limit(const struct client *c)
{
    return c->b->cfg.limits.client_queue_bytes;
}

static bool queue_grow(struct client *c)
{
    size_t cap = c->q_cap ? c->q_cap * 2 : CLIENT_QUEUE_SLOTS_MIN;
    struct msg **q = malloc(cap * sizeof *q);
    if (!q)
        return false;
    for (size_t i = 0; i < c->q_count; i++)
        q[i] = c->q[(c->q_head + i) % c->q_cap];
    free(c->q);
    c->q = q;
    c->q_cap = cap;
    c->q_head = 0;
    return true;
}

bool client_push(struct client *c, struct msg *m)
{
    if (c->closing || c->doomed)
        return false;
    enum admit verdict = client_admit(c->q_bytes, m->stream, soft_limit(c));
    if (verdict == ADMIT_DROP) {
        c->dropped++;
        c->b->stats.drops++;
        return false;
    }
    if (verdict == ADMIT_CUT_OFF || (c->q_count == c->q_cap && !queue_grow(c))) {
        /* Replies piled up behind a client that does not read: cut it off.
         * The flush pass closes it, outside any iteration over clients. */
        log_warn(&c->b->log, "client %s: output queue over %zu bytes, disconnecting", c->peer,
                 soft_limit(c) * CLIENT_HARD_FACTOR);
        c->b->stats.disconnects++;
        c->doomed = true;
        mark_dirty(c);
        return false;
    }
    c->q[(c->q_head + c->q_count) % c->q_cap] = msg_ref(m);
    c->q_count++;
    c->q_bytes += m->len;
    if (m->stream)
        c->b->stats.frames_out++;
    mark_dirty(c);
    return true;
}

void client_reply(struct client *c, const json_t *j)
{
    const char *cls = json_string_value(json_object_get(j, "class"));
    if (cls && strcmp(cls, "ERROR") == 0)
        diag_count_error(c->b, json_string_value(json_object_get(j, "code")));
    struct msg *m = msg_from_json(j, false);
    if (!m)
        return;
    client_push(c, m);
    msg_unref(m);
}

static void reply_to_client(void *ctx, const json_t *reply)
{
    client_reply(ctx, reply);
}

struct reply_to client_reply_to(struct client *c)
{
    return (struct reply_to){reply_to_client, c};
}

void client_error(struct client *c, const json_t *id, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = reply_error_vnew(id, code, fmt, ap);
    va_end(ap);
    if (j)
        client_reply(c, j);
    json_decref(j);
}

/* After the queue shrank: tell a client that lost stream messages. */
static void maybe_report_drops(struct client *c)
{
    if (!client_drops_due(c->dropped, c->q_bytes, soft_limit(c)))
        return;
    json_t *j = json_pack("{s:s, s:I}", "class", "DROPPED", "count", (json_int_t)c->dropped);
    c->dropped = 0;
    if (j)
        client_reply(c, j);
    json_decref(j);
}

/* Returns false when the connection broke (the caller closes it). */
static bool write_some(struct client *c)
{
    size_t budget = CLIENT_WRITE_BUDGET;
    while (c->q_count && budget) {
        struct iovec iov[CLIENT_IOV_MAX];
        int n = 0;
        size_t total = 0;
        for (size_t i = 0; i < c->q_count && n < CLIENT_IOV_MAX && total < budget; i++, n++) {
            struct msg *m = c->q[(c->q_head + i) % c->q_cap];
            size_t off = i == 0 ? c->q_off : 0;
            iov[n].iov_base = m->data + off;
            iov[n].iov_len = m->len - off;
            total += iov[n].iov_len;
        }
        ssize_t w = c->tx->writev(c, iov, n);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        size_t left = (size_t)w;
        budget = left >= budget ? 0 : budget - left;
        c->q_bytes -= left;
        while (left) {
            struct msg *m = c->q[c->q_head];
            size_t rest = m->len - c->q_off;
            if (left < rest) {
                c->q_off += left;
                break;
            }
            left -= rest;
            c->q_off = 0;
            msg_unref(m);
            c->q_head = (c->q_head + 1) % c->q_cap;
            c->q_count--;
        }
        if ((size_t)w < total)
            break; /* socket buffer full */
    }
    return true;
}

struct msg *client_queue_peek(const struct client *c)
{
    return c->q_count ? c->q[c->q_head] : NULL;
}

void client_queue_consume(struct client *c)
{
    if (!c->q_count)
        return;
    struct msg *m = c->q[c->q_head];
    c->q_bytes -= m->len - c->q_off;
    c->q_off = 0;
    c->q_head = (c->q_head + 1) % c->q_cap;
    c->q_count--;
    msg_unref(m);
    maybe_report_drops(c);
}

static bool line_blank(const char *line, size_t len);

void client_request_text(struct client *c, const char *data, size_t len)
{
    if (c->closing || c->doomed)
        return;
    if (c->first_deadline && !line_blank(data, len))
        c->first_deadline = 0;
    request_handle(c, data, len);
}

void client_flush(struct client *c)
{
    if (c->fd < 0) {
        web_client_flush(c);
        return;
    }
    if (c->doomed) {
        client_close(c);
        return;
    }
    if (c->starting)
        return; /* client_start marks it dirty again */
    if (!write_some(c)) {
        log_debug(&c->b->log, "client %s: write failed: %s", c->peer, strerror(errno));
        client_close(c);
        return;
    }
    maybe_report_drops(c);
    if (c->q_count && !write_some(c)) {
        client_close(c);
        return;
    }
    if (c->q_count == 0 && (c->closing || (c->input_closed && !robots_owe(c->b, c)))) {
        client_close(c);
        return;
    }
    if (c->q_count)
        ev_io_start(c->b->loop, &c->wio);
    else
        ev_io_stop(c->b->loop, &c->wio);
}

/* ---- time limits ---- */

static bool expired(const struct client *c, double now)
{
    return (c->first_deadline > 0 && now >= c->first_deadline)
           || (c->line_deadline > 0 && now >= c->line_deadline);
}

double clients_expire(struct bridge *b, double now)
{
    const struct limits *lim = &b->cfg.limits;
    for (struct client *c = b->clients, *next; c; c = next) {
        next = c->next;
        /* Closing or half-closed clients are on their way out already. */
        if (c->closing || c->doomed || c->input_closed || !expired(c, now))
            continue;
        bool first = c->first_deadline > 0 && now >= c->first_deadline;
        lograte_log(&b->lograte, &b->log, now, LOGRATE_CLIENT_TIMEOUT, LOG_WARN,
                    "client %s: %s, closing", c->peer,
                    first ? "no whole request since it connected (limits.first_request_timeout)"
                          : "a request line stayed incomplete (limits.request_timeout)");
        if (first)
            client_error(c, NULL, "timeout", "no whole request within %g s of connecting; closing",
                         lim->first_request_timeout);
        else
            client_error(c, NULL, "timeout", "request line incomplete for %g s; closing",
                         lim->request_timeout);
        /* One write without waiting, then close: a client that does not
         * read must not keep its slot by not taking the ERROR. (A WebSocket
         * client is closed at once: libwebsockets writes only when asked.) */
        if (c->fd >= 0)
            write_some(c);
        client_close(c);
    }
    double shortest = lim->first_request_timeout < lim->request_timeout
                          ? lim->first_request_timeout : lim->request_timeout;
    double period = shortest / 4;
    return period > LIMITS_SWEEP_MAX ? LIMITS_SWEEP_MAX
                                     : period < LIMITS_SWEEP_MIN ? LIMITS_SWEEP_MIN : period;
}

/* ---- the hub output: every watching client whose filter matches ---- */

static void watchers_frame(struct hub_output *o, unsigned robot_index, unsigned type_index,
                           struct msg *m)
{
    struct bridge *b = o->ctx;
    uint32_t rbit = UINT32_C(1) << robot_index;
    uint64_t tbit = UINT64_C(1) << type_index;
    for (struct client *c = b->clients; c; c = c->next)
        if (c->watching && (c->watch_robots & rbit) && (c->watch_types & tbit))
            client_push(c, m);
}

static void watchers_link(struct hub_output *o, unsigned robot_index, bool up, struct msg *m)
{
    (void)up;
    struct bridge *b = o->ctx;
    uint32_t rbit = UINT32_C(1) << robot_index;
    if (!m)
        return;
    for (struct client *c = b->clients; c; c = c->next)
        if (c->watching && (c->watch_robots & rbit))
            client_push(c, m);
}

bool client_follows(const struct client *c, unsigned robot_index)
{
    return c->watching && (c->watch_robots & (UINT32_C(1) << robot_index));
}

static void watchers_notice(struct hub_output *o, unsigned robot_index, struct msg *m,
                            const void *except)
{
    struct bridge *b = o->ctx;
    for (struct client *c = b->clients; c; c = c->next)
        if (c != except && client_follows(c, robot_index))
            client_push(c, m);
}

static void watchers_broadcast(struct hub_output *o, struct msg *m)
{
    struct bridge *b = o->ctx;
    for (struct client *c = b->clients; c; c = c->next)
        client_push(c, m);
}

/* Filters name robots by index; they follow their robots by name. */
static void watchers_remap(struct hub_output *o, const struct hub_remap *map)
{
    struct bridge *b = o->ctx;
    for (struct client *c = b->clients; c; c = c->next)
        c->watch_robots = hub_remap_robots(map, c->watch_robots);
}

void clients_register(struct bridge *b)
{
    static const struct hub_output_ops ops = {
        .frame = watchers_frame,
        .link = watchers_link,
        .broadcast = watchers_broadcast,
        .notice = watchers_notice,
        .remap = watchers_remap,
    };
    b->watchers = (struct hub_output){
        .ops = &ops, .ctx = b, .robots = HUB_ALL_ROBOTS, .types = HUB_ALL_TYPES,
    };
    hub_register(b, &b->watchers);
}

void clients_flush_all(struct bridge *b)
{
    while (b->dirty) {
        struct client *c = b->dirty;
        b->dirty = c->dirty_next;
        c->dirty = false;
        client_flush(c);
    }
}

static void client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    client_flush(w->data);
}

/* Keep n more bytes of a line that is not complete yet. */
static bool in_append(struct client *c, const char *data, size_t n)
{
    if (c->in_len + n > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : 256;
        while (cap < c->in_len + n)
            cap *= 2;
        char *in = realloc(c->in, cap);
        if (!in)
            return false;
        c->in = in;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, data, n);
    c->in_len += n;
    return true;
}

/* Spaces, tabs and CRs only (PROTOCOL.md 5.1: such lines are ignored). */
static bool line_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            return false;
    return true;
}

/* Hand every complete line in data to the request handler; keep the rest. */
static void take_lines(struct client *c, const char *data, size_t n)
{
    while (n && !c->closing) {
        const char *lf = memchr(data, '\n', n);
        size_t part = lf ? (size_t)(lf - data) : n;
        if (c->in_len + part > CLIENT_LINE_MAX) {
            client_error(c, NULL, "line_too_long", "request line over %d bytes", CLIENT_LINE_MAX);
            c->closing = true;
            c->in_len = 0;
            return;
        }
        const char *line = data;
        size_t len = part;
        /* Only a line begun in an earlier read is copied; most are used in place. */
        if (!lf || c->in_len) {
            if (!in_append(c, data, part)) {
                c->closing = true;
                return;
            }
            if (!lf) {
                /* A partial line began: it has request_timeout to end. */
                if (!c->line_deadline)
                    c->line_deadline = ev_now(c->b->loop) + c->b->cfg.limits.request_timeout;
                return;
            }
            line = c->in;
            len = c->in_len;
        }
        if (len && line[len - 1] == '\r')
            len--;
        request_handle(c, line, len);
        if (line == c->in)
            OPENSSL_cleanse(c->in, c->in_len); /* it may have held a token (auth) */
        /* Blank lines are ignored, so they are not the first request. */
        if (c->first_deadline && !line_blank(line, len))
            c->first_deadline = 0;
        c->line_deadline = 0;
        c->in_len = 0;
        data += part + 1;
        n -= part + 1;
    }
    if (c->in_len == 0 && c->in_cap > CLIENT_READ_CHUNK) {
        /* Do not keep a big buffer around for an idle client. */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
}

static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct client *c = w->data;
    char buf[CLIENT_READ_CHUNK];
    ssize_t n = c->tx->read(c, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n == 0 && !c->watching) {
        /* Half-closed after its requests: the replies and ACKs still due go
         * out first. (A watcher that closes is gone: nothing would ever
         * write to it to find out.) */
        log_debug(&c->b->log, "client %s: end of input", c->peer);
        c->input_closed = true;
        ev_io_stop(c->b->loop, &c->rio);
        mark_dirty(c);
        return;
    }
    if (n <= 0) {
        log_debug(&c->b->log, "client %s: gone", c->peer);
        client_close(c);
        return;
    }
    take_lines(c, buf, (size_t)n);
    /* Request bytes may hold a token (auth): none stays on the stack. */
    OPENSSL_cleanse(buf, (size_t)n);
    if (c->closing) {
        /* Reply first, then close: stop reading, let the flush finish. */
        ev_io_stop(c->b->loop, &c->rio);
        mark_dirty(c);
    }
}
