/* mqtt_session.c - libmosquitto on the bridge's libev loop (see mqtt_session.h).
 *
 * The rule that keeps this simple: the library is only ever called from
 * here, outside its own callbacks, except for the subscribe/publish calls
 * the owner makes from ops.up and ops.message. The callbacks only record
 * what happened (lost, refused, done); after_call() looks at it once the
 * library has returned, and it alone tears a connection down.
 */
#include "mqtt_session.h"

#include <errno.h>
#include <mqtt_protocol.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A pending getaddrinfo_a request. glibc writes into it from its own
 * thread until the request is done, so it lives on the heap and is freed
 * only then. */
struct mqtt_lookup {
    struct gaicb cb;
    struct gaicb *list[1];
    struct addrinfo hints;
};

static void after_call(struct mqtt_session *s);
static void attempt(struct mqtt_session *s);

static const char *tls_kind(const struct mqtt_session *s)
{
    return s->cfg->ca[0] ? " (TLS)" : "";
}

/* ---- library callbacks: record only -------------------------------------- */

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct mqtt_session *s = obj;
    if (rc != 0) {
        s->refused = rc;
        s->lost = true;
        return;
    }
    s->state = MQTT_UP;
    s->up_since = ev_now(s->b->loop);
    s->failing = false;
    log_info(&s->b->log, "mqtt: connected to %s:%u%s as %s", s->cfg->host, s->cfg->port,
             tls_kind(s), s->cfg->client_id);
    s->ops.up(s->ctx);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct mqtt_session *s = obj;
    s->lost_errno = errno;
    s->lost_rc = rc;
    s->lost = true;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    (void)mid;
    struct mqtt_session *s = obj;
    if (s->inflight > 0)
        s->inflight--;
    s->sent++;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    struct mqtt_session *s = obj;
    s->ops.message(s->ctx, msg);
}

/* The library's own account, for -v; not its per-packet chatter. */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    (void)mosq;
    struct mqtt_session *s = obj;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING | MOSQ_LOG_NOTICE))
        log_debug(&s->b->log, "mqtt: libmosquitto: %s", text);
}

/* An encrypted key would make libmosquitto ask on the terminal: refuse. */
static int no_key_password(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return 0;
}

/* ---- library state ---------------------------------------------------------- */

static int check_readable(const char *what, const char *path, char err[NET_ERR_MAX])
{
    if (access(path, R_OK) == 0)
        return 0;
    snprintf(err, NET_ERR_MAX, "mqtt.%s %.96s: %s", what, path, strerror(errno));
    return -1;
}

/* Options on a new or reinitialised library object. */
static int configure(struct mqtt_session *s, char err[NET_ERR_MAX])
{
    const struct mqtt_cfg *c = s->cfg;
    struct mosquitto *m = s->mosq;
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_disconnect_callback_set(m, on_disconnect);
    mosquitto_publish_callback_set(m, on_publish);
    mosquitto_message_callback_set(m, on_message);
    mosquitto_log_callback_set(m, on_log);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
                         c->protocol == MQTT_V5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_max_inflight_messages_set(m, MQTT_WINDOW);
    int rc = mosquitto_will_set(m, s->will_topic, (int)strlen(MQTT_WILL_PAYLOAD), MQTT_WILL_PAYLOAD,
                                c->qos, true);
    if (rc == MOSQ_ERR_SUCCESS && c->has_username)
        rc = mosquitto_username_pw_set(m, c->username, c->has_password ? c->password : NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, NET_ERR_MAX, "mqtt: %s", mosquitto_strerror(rc));
        return -1;
    }
    if (!c->ca[0])
        return 0;
    if (check_readable("ca", c->ca, err) < 0
        || (c->cert[0] && (check_readable("cert", c->cert, err) < 0
                           || check_readable("key", c->key, err) < 0)))
        return -1;
    struct stat st;
    bool dir = stat(c->ca, &st) == 0 && S_ISDIR(st.st_mode);
    rc = mosquitto_tls_set(m, dir ? NULL : c->ca, dir ? c->ca : NULL, c->cert[0] ? c->cert : NULL,
                           c->key[0] ? c->key : NULL, no_key_password);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, NET_ERR_MAX, "mqtt: TLS settings (ca %.96s): %s", c->ca,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

/* A library object with no connection and no queued messages. */
static int make_fresh(struct mqtt_session *s, char err[NET_ERR_MAX])
{
    s->fresh = false;
    if (!s->mosq) {
        s->mosq = mosquitto_new(s->cfg->client_id, true, s);
        if (!s->mosq) {
            snprintf(err, NET_ERR_MAX, "mqtt: %s", strerror(errno ? errno : ENOMEM));
            return -1;
        }
    } else if (mosquitto_reinitialise(s->mosq, s->cfg->client_id, true, s) != MOSQ_ERR_SUCCESS) {
        snprintf(err, NET_ERR_MAX, "mqtt: cannot reset the client: out of memory");
        return -1;
    }
    if (configure(s, err) < 0)
        return -1;
    s->fresh = true;
    return 0;
}

/* ---- the socket watcher ---------------------------------------------------- */

static int lib_socket(const struct mqtt_session *s)
{
    return s->mosq ? mosquitto_socket(s->mosq) : -1;
}

/* Watch the library's socket for what it needs now. */
static void sync_io(struct mqtt_session *s)
{
    int fd = lib_socket(s);
    int ev = fd >= 0 ? EV_READ | (mosquitto_want_write(s->mosq) ? EV_WRITE : 0) : 0;
    if (ev_is_active(&s->io) && s->io.fd == fd && s->io_events == ev)
        return;
    ev_io_stop(s->b->loop, &s->io);
    s->io_events = 0;
    if (fd < 0)
        return;
    ev_io_set(&s->io, fd, ev);
    ev_io_start(s->b->loop, &s->io);
    s->io_events = ev;
}

/* ---- failures and retries ---------------------------------------------------- */

static void describe_loss(const struct mqtt_session *s, char *out, size_t n)
{
    bool v5 = s->cfg->protocol == MQTT_V5;
    if (s->refused == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION && v5)
        snprintf(out, n, "refused: the broker does not speak MQTT 5; see mqtt.protocol");
    else if (s->refused)
        snprintf(out, n, "refused: %s", v5 ? mosquitto_reason_string(s->refused)
                                           : mosquitto_connack_string(s->refused));
    else if (v5 && s->lost_rc >= MQTT_RC_UNSPECIFIED)
        /* a DISCONNECT from the broker: its reason code */
        snprintf(out, n, "the broker disconnected: %s", mosquitto_reason_string(s->lost_rc));
    else if (s->lost_rc == MOSQ_ERR_ERRNO && s->lost_errno)
        snprintf(out, n, "%s", strerror(s->lost_errno));
    else if (s->lost_rc)
        snprintf(out, n, "%s", mosquitto_strerror(s->lost_rc));
    else
        snprintf(out, n, "closed");
}

/* The attempt or the connection is over: close it, tell the owner when it
 * was up, and try again after the back-off. */
static void fail(struct mqtt_session *s, const char *why)
{
    struct bridge *b = s->b;
    bool was_up = s->state == MQTT_UP;
    ev_io_stop(b->loop, &s->io);
    ev_timer_stop(b->loop, &s->tick);
    s->io_events = 0;
    s->abandoned += s->inflight;
    s->inflight = 0;
    s->state = MQTT_IDLE;
    s->lost = false;
    s->refused = s->lost_rc = s->lost_errno = 0;
    if (!was_up && !s->numeric)
        s->next_addr++;              /* the next address of the name, if any */
    s->backoff = session_backoff(s->backoff, was_up ? ev_now(b->loop) - s->up_since : 0);
    if (was_up)
        log_warn(&b->log, "mqtt: connection to %s:%u lost (%s); reconnecting in %.1f s",
                 s->cfg->host, s->cfg->port, why, s->backoff);
    else if (!s->failing)
        log_warn(&b->log, "mqtt: cannot connect to %s:%u (%s); retrying, at most every %.0f s",
                 s->cfg->host, s->cfg->port, why, MQTT_RETRY_MAX);
    else
        log_debug(&b->log, "mqtt: cannot connect to %s:%u (%s); next try in %.1f s",
                  s->cfg->host, s->cfg->port, why, s->backoff);
    s->failing = !was_up;
    /* Close the socket now and drop whatever the library still holds. */
    char err[NET_ERR_MAX];
    if (make_fresh(s, err) < 0)
        log_error(&b->log, "%s", err);
    ev_timer_set(&s->retry, s->backoff, 0);
    ev_timer_start(b->loop, &s->retry);
    if (was_up)
        s->ops.down(s->ctx);
}

/* After every call into the library: act on what its callbacks recorded. */
static void after_call(struct mqtt_session *s)
{
    char why[128];
    if (s->state == MQTT_IDLE || s->state == MQTT_RESOLVING)
        return;
    if (!s->lost && lib_socket(s) < 0)
        s->lost = true;
    if (!s->lost && s->state == MQTT_UP) {
        (void)s->ops.pump(s->ctx);
        if (!s->lost && lib_socket(s) < 0)
            s->lost = true;
    }
    if (s->lost) {
        describe_loss(s, why, sizeof why);
        fail(s, why);
        return;
    }
    sync_io(s);
}

/* ---- watchers -------------------------------------------------------------- */

/* While connecting: did the TCP connect fail? An in-progress connect raises
 * no event, so an event on a socket without a peer is a failed one.
 * libmosquitto 2.0.11 does not notice this with TLS and would report the
 * hung-up socket readable forever. */
static bool connect_failed(struct mqtt_session *s, int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0)
        return false;
    int e = 0;
    len = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0 || e == 0)
        e = errno == ENOTCONN ? ECONNREFUSED : errno;
    s->lost_errno = e;
    s->lost_rc = MOSQ_ERR_ERRNO;
    s->lost = true;
    return true;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct mqtt_session *s = w->data;
    if (s->state == MQTT_CONNECTING && connect_failed(s, w->fd)) {
        after_call(s);
        return;
    }
    int rc = MOSQ_ERR_SUCCESS;
    s->in_lib = true;
    if (revents & EV_READ)
        rc = mosquitto_loop_read(s->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && !s->lost && lib_socket(s) >= 0 && (revents & EV_WRITE))
        rc = mosquitto_loop_write(s->mosq, 1);
    s->in_lib = false;
    if (rc != MOSQ_ERR_SUCCESS && !s->lost) {
        s->lost_rc = rc;
        s->lost_errno = errno;
        s->lost = true;
    }
    after_call(s);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct mqtt_session *s = w->data;
    if (s->state == MQTT_CONNECTING && ev_now(loop) - s->attempt_started > MQTT_CONNECT_TIMEOUT) {
        fail(s, "no CONNACK in time");
        return;
    }
    s->in_lib = true;
    int rc = mosquitto_loop_misc(s->mosq);
    s->in_lib = false;
    if (rc != MOSQ_ERR_SUCCESS && !s->lost) {
        s->lost_rc = rc;
        s->lost = true;
    }
    after_call(s);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    attempt(w->data);
}

/* ---- name lookup --------------------------------------------------------- */

static void lookup_done(struct mqtt_session *s)
{
    struct mqtt_lookup *l = s->lookup;
    s->lookup = NULL;
    ev_timer_stop(s->b->loop, &s->resolve);
    s->state = MQTT_IDLE;
    int rc = gai_error(&l->cb);
    s->naddrs = s->next_addr = 0;
    if (rc == 0) {
        for (struct addrinfo *a = l->cb.ar_result; a && s->naddrs < MQTT_ADDRS_MAX; a = a->ai_next)
            if (getnameinfo(a->ai_addr, a->ai_addrlen, s->addrs[s->naddrs], sizeof s->addrs[0],
                            NULL, 0, NI_NUMERICHOST) == 0)
                s->naddrs++;
        freeaddrinfo(l->cb.ar_result);
    }
    free(l);
    if (s->naddrs == 0) {
        fail(s, rc ? gai_strerror(rc) : "the name has no address");
        return;
    }
    attempt(s);
}

static void resolve_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct mqtt_session *s = w->data;
    if (gai_error(&s->lookup->cb) != EAI_INPROGRESS)
        lookup_done(s);
}

static void lookup_start(struct mqtt_session *s)
{
    struct mqtt_lookup *l = calloc(1, sizeof *l);
    if (!l) {
        fail(s, "out of memory");
        return;
    }
    l->hints.ai_family = AF_UNSPEC;
    l->hints.ai_socktype = SOCK_STREAM;
    l->hints.ai_flags = AI_ADDRCONFIG;
    l->cb.ar_name = s->cfg->host;
    l->cb.ar_request = &l->hints;
    l->list[0] = &l->cb;
    int rc = getaddrinfo_a(GAI_NOWAIT, l->list, 1, NULL);
    if (rc != 0) {
        free(l);
        fail(s, gai_strerror(rc));
        return;
    }
    s->lookup = l;
    s->state = MQTT_RESOLVING;
    log_debug(&s->b->log, "mqtt: looking up %s", s->cfg->host);
    ev_timer_set(&s->resolve, MQTT_RESOLVE_POLL, MQTT_RESOLVE_POLL);
    ev_timer_start(s->b->loop, &s->resolve);
}

/* ---- connecting ----------------------------------------------------------- */

/* MQTT 5 CONNECT properties: the largest packet the bridge takes.
 * libmosquitto 2.0 has no non-blocking connect that takes properties
 * (upstream issues 1835 and 2644). mosquitto_connect_bind_v5 keeps the
 * properties in the client for every later connect before it checks its
 * arguments: without a host it keeps them and returns MOSQ_ERR_INVAL,
 * connecting nowhere, and mosquitto_connect_async then sends them (2.0.0 to
 * 2.0.20 alike). e2e_mqtt's test_oversized_command fails should a release
 * stop doing so. */
static int set_connect_properties(struct mqtt_session *s)
{
    mosquitto_property *props = NULL;
    int rc = mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, MQTT_PACKET_MAX);
    if (rc == MOSQ_ERR_SUCCESS) {
        rc = mosquitto_connect_bind_v5(s->mosq, NULL, s->cfg->port, MQTT_KEEPALIVE, NULL, props);
        if (rc == MOSQ_ERR_INVAL)
            rc = MOSQ_ERR_SUCCESS;   /* the expected answer to the missing host */
    }
    mosquitto_property_free_all(&props);
    return rc;
}

static void attempt(struct mqtt_session *s)
{
    struct bridge *b = s->b;
    char err[NET_ERR_MAX];
    if (!s->numeric && s->next_addr >= s->naddrs) {
        lookup_start(s);
        return;
    }
    s->state = MQTT_CONNECTING;
    s->attempt_started = ev_now(b->loop);
    if (!s->fresh) {
        /* fail() could not reset the client (and logged why): try again later. */
        fail(s, "the client could not be set up");
        return;
    }
    /* TLS checks the certificate against the name, so libmosquitto gets the
     * name (and looks it up again, normally answered at once now); plain
     * TCP gets the address found above and never waits for a name server. */
    const char *target = s->numeric || s->cfg->ca[0] ? s->cfg->host : s->addrs[s->next_addr];
    s->fresh = false;
    s->lost = false;
    errno = 0;
    s->in_lib = true;
    int rc = s->cfg->protocol == MQTT_V5 ? set_connect_properties(s) : MOSQ_ERR_SUCCESS;
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_connect_async(s->mosq, target, s->cfg->port, MQTT_KEEPALIVE);
    s->in_lib = false;
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, sizeof err, "%s",
                 rc == MOSQ_ERR_ERRNO && errno ? strerror(errno) : mosquitto_strerror(rc));
        fail(s, err);
        return;
    }
    log_debug(&b->log, "mqtt: connecting to %s port %u", target, s->cfg->port);
    ev_timer_set(&s->tick, MQTT_TICK, MQTT_TICK);
    ev_timer_start(b->loop, &s->tick);
    after_call(s);
}

/* ---- public ---------------------------------------------------------------- */

double session_backoff(double backoff, double up_for)
{
    if (up_for >= MQTT_STABLE || backoff <= 0)
        return MQTT_RETRY_MIN;
    return backoff * 2 < MQTT_RETRY_MAX ? backoff * 2 : MQTT_RETRY_MAX;
}

int session_open(struct mqtt_session *s, struct bridge *b, const struct mqtt_cfg *cfg,
                 const char *will_topic, struct mqtt_session_ops ops, void *ctx,
                 char err[NET_ERR_MAX])
{
    memset(s, 0, sizeof *s);
    s->b = b;
    s->cfg = cfg;
    s->ops = ops;
    s->ctx = ctx;
    snprintf(s->will_topic, sizeof s->will_topic, "%s", will_topic);
    ev_io_init(&s->io, io_cb, -1, 0);
    ev_timer_init(&s->tick, tick_cb, MQTT_TICK, MQTT_TICK);
    ev_timer_init(&s->retry, retry_cb, 0, 0);
    ev_timer_init(&s->resolve, resolve_cb, MQTT_RESOLVE_POLL, MQTT_RESOLVE_POLL);
    s->io.data = s->tick.data = s->retry.data = s->resolve.data = s;

    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    s->numeric = getaddrinfo(cfg->host, NULL, &hints, &res) == 0;
    if (res)
        freeaddrinfo(res);
    if (make_fresh(s, err) < 0) {
        if (s->mosq)
            mosquitto_destroy(s->mosq);
        s->mosq = NULL;
        return -1;
    }
    attempt(s);
    return 0;
}

bool session_up(const struct mqtt_session *s)
{
    return s->state == MQTT_UP && !s->lost;
}

bool session_can_publish(const struct mqtt_session *s)
{
    return session_up(s) && s->inflight < MQTT_WINDOW;
}

int session_publish(struct mqtt_session *s, const char *topic, const void *payload, size_t len,
                    bool retain)
{
    if (!session_can_publish(s) || len > INT32_MAX)
        return -1;
    /* Counted first: a QoS 0 message may be written, and on_publish called,
     * before mosquitto_publish returns. */
    s->inflight++;
    int rc = mosquitto_publish(s->mosq, NULL, topic, (int)len, payload, s->cfg->qos, retain);
    if (rc == MOSQ_ERR_SUCCESS)
        return 0;
    if (s->inflight > 0)
        s->inflight--;
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
        s->lost_rc = rc;
        s->lost_errno = errno;
        s->lost = true;
    } else {
        log_debug(&s->b->log, "mqtt: cannot publish on %s: %s", topic, mosquitto_strerror(rc));
    }
    return -1;
}

int session_subscribe(struct mqtt_session *s, const char *pattern)
{
    int rc = mosquitto_subscribe(s->mosq, NULL, pattern, s->cfg->qos);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_warn(&s->b->log, "mqtt: cannot subscribe to %s: %s", pattern, mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

void session_pump(struct mqtt_session *s)
{
    if (s->b && !s->in_lib)
        after_call(s);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait for the socket (bounded by deadline) and let the library read and
 * write. False when the connection is gone or the time is up. */
static bool flush_step(struct mqtt_session *s, double deadline)
{
    int fd = lib_socket(s);
    double left = deadline - mono_now();
    if (fd < 0 || s->lost || left <= 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (mosquitto_want_write(s->mosq))
        p.events |= POLLOUT;
    int n = poll(&p, 1, (int)(left * 1000) + 1);
    if (n < 0 && errno != EINTR)
        return false;
    int rc = MOSQ_ERR_SUCCESS;
    s->in_lib = true;
    if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
        rc = mosquitto_loop_read(s->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && lib_socket(s) >= 0 && n > 0 && (p.revents & POLLOUT))
        rc = mosquitto_loop_write(s->mosq, 1);
    s->in_lib = false;
    if (rc != MOSQ_ERR_SUCCESS)
        s->lost = true;
    return !s->lost && lib_socket(s) >= 0;
}

bool session_flush(struct mqtt_session *s, double seconds)
{
    double deadline = mono_now() + seconds;
    for (;;) {
        if (!session_up(s))
            return false;
        bool more = s->ops.pump(s->ctx);
        if (!more && s->inflight == 0 && !mosquitto_want_write(s->mosq))
            return true;
        if (!flush_step(s, deadline))
            return false;
    }
}

void session_close(struct mqtt_session *s, bool clean)
{
    struct bridge *b = s->b;
    if (!b)
        return;
    ev_io_stop(b->loop, &s->io);
    ev_timer_stop(b->loop, &s->tick);
    ev_timer_stop(b->loop, &s->retry);
    ev_timer_stop(b->loop, &s->resolve);
    if (s->lookup) {
        /* glibc may still be writing into it from its thread: free it only
         * when the request is over; otherwise leave it to the process exit. */
        gai_cancel(&s->lookup->cb);
        if (gai_error(&s->lookup->cb) != EAI_INPROGRESS) {
            if (gai_error(&s->lookup->cb) == 0)
                freeaddrinfo(s->lookup->cb.ar_result);
            free(s->lookup);
        }
        s->lookup = NULL;
    }
    if (s->mosq && clean && session_up(s) && mosquitto_disconnect(s->mosq) == MOSQ_ERR_SUCCESS) {
        double deadline = mono_now() + MQTT_DISCONNECT_SECONDS;
        while (mosquitto_want_write(s->mosq) && flush_step(s, deadline))
            ;
        log_info(&b->log, "mqtt: disconnected from %s:%u", s->cfg->host, s->cfg->port);
    }
    if (s->mosq)
        mosquitto_destroy(s->mosq);
    s->mosq = NULL;
    s->state = MQTT_IDLE;
    s->b = NULL;
}
