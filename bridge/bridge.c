#include "bridge.h"

#include "client.h"
#include "hub.h"
#include "local.h"
#include "mqtt.h"
#include "notify.h"
#include "record.h"
#include "reload.h"
#include "robot.h"
#include "tls.h"
#include "web.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct robot *bridge_robot(struct bridge *b, const char *name)
{
    for (unsigned i = 0; i < b->nrobots; i++)
        if (strcmp(b->robots[i].cfg->name, name) == 0)
            return &b->robots[i];
    return NULL;
}

/* Turn a client away with one ERROR line (it fits any fresh socket buffer). */
static void refuse_client(struct bridge *b, int fd, const char *peer, const char *line, size_t len)
{
    /* A TLS port sends no plain text, this line neither. */
    if (!b->json_tls && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug(&b->log, "client %s: %s", peer, strerror(errno));
    close(fd);
}

static void json_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct bridge *b = w->data;
    for (;;) {
        struct sockaddr_storage sa;
        int fd = net_accept(b->json_fd, &b->spare_fd, &sa);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn(&b->log, "client listener: accept: %s", strerror(errno));
            return;
        }
        char peer[ADDR_TEXT_MAX];
        net_format(&sa, true, peer);
        if (b->nclients >= b->cfg.limits.max_clients) {
            /* One short line fits any fresh socket buffer: no queue needed. */
            static const char busy[] =
                "{\"class\":\"ERROR\",\"code\":\"busy\",\"message\":\"too many clients\"}\n";
            lograte_log(&b->lograte, &b->log, ev_now(loop), LOGRATE_CLIENT_BUSY, LOG_WARN,
                        "client %s refused: %u clients already connected", peer, b->nclients);
            refuse_client(b, fd, peer, busy, sizeof busy - 1);
            continue;
        }
        if (!peers_admit_client(b, &sa)) {
            static const char busy[] =
                "{\"class\":\"ERROR\",\"code\":\"busy\",\"message\":"
                "\"too many clients from this address\"}\n";
            lograte_log(&b->lograte, &b->log, ev_now(loop), LOGRATE_CLIENT_PER_ADDRESS, LOG_WARN,
                        "client %s refused: its address has %u clients already "
                        "(limits.max_clients_per_address)", peer,
                        b->cfg.limits.max_clients_per_address);
            refuse_client(b, fd, peer, busy, sizeof busy - 1);
            continue;
        }
        net_tune(fd, 0);
        net_sndbuf(fd, CLIENT_SNDBUF);
        log_debug(&b->log, "client %s connected", peer);
        struct client *c = b->json_tls ? tls_accept(b->json_tls, b, fd, peer)
                                       : client_open(b, fd, peer);
        if (!c) {
            peers_release_client(b, &sa);
            continue;
        }
        c->peer_sa = sa;
        c->peer_counted = true;
    }
}

static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    clients_flush_all(w->data);
}

/* Request timeouts and folded log counts; the period follows the limits,
 * so a reload that shortens a timeout is honoured within a second. */
static void sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct bridge *b = w->data;
    double now = ev_now(loop);
    w->repeat = clients_expire(b, now);
    lograte_flush(&b->lograte, &b->log, now);
    ev_timer_again(loop, w);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    struct bridge *b = w->data;
    log_info(&b->log, "signal %d: shutting down", w->signum);
    bridge_shutdown(b, "shutdown");
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    struct bridge *b = w->data;
    log_info(&b->log, "SIGHUP: reloading the configuration");
    notify_reloading(b);
    int rc = bridge_reload(b);
    /* Certificates are read again even when the file was refused: a
     * renewed certificate must not wait for a fixed configuration. */
    if (tls_reload(b) < 0)
        rc = -1;
    record_reopen(b);
    audit_reopen(b);
    notify_reloaded(b, rc == 0);
}

int bridge_open(struct bridge *b, struct ev_loop *loop, char err[NET_ERR_MAX])
{
    b->loop = loop;
    b->robot_fd = b->json_fd = b->unix_fd = -1;
    b->audit.fd = -1;
    /* Command-line listeners too: no open port without access rules. */
    char why[CONFIG_ERR_MAX];
    if (config_check_exposure(&b->cfg, why) < 0) {
        snprintf(err, NET_ERR_MAX, "%.*s", NET_ERR_MAX - 1, why);
        return -1;
    }
    b->started = ev_now(loop);
    /* Without the spare, a full fd table would leave a listener ready forever. */
    b->spare_fd = -1;
    if (net_spare_reserve(&b->spare_fd) < 0) {
        snprintf(err, NET_ERR_MAX, "cannot open /dev/null for the spare descriptor: %s",
                 strerror(errno));
        return -1;
    }
    clients_register(b);
    if (robots_init(b) < 0) {
        snprintf(err, NET_ERR_MAX, "out of memory");
        return -1;
    }
    char bound[ADDR_TEXT_MAX];
    b->robot_fd = net_listen(&b->cfg.robot_listen, bound, err);
    if (b->robot_fd < 0)
        return -1;
    log_info(&b->log, "listening for robots on %s", bound);
    snprintf(b->diag.robot_port, sizeof b->diag.robot_port, "%s", bound);
    if (b->cfg.json_tls.enabled) {
        char tls_err[TLS_ERR_MAX];
        b->json_tls = tls_server_new(&b->cfg.json_tls, "json_tls", tls_err);
        if (!b->json_tls) {
            if (strlen(tls_err) >= NET_ERR_MAX)
                log_error(&b->log, "%s", tls_err); /* long paths: the whole line first */
            snprintf(err, NET_ERR_MAX, "%.*s", NET_ERR_MAX - 1, tls_err);
            return -1;
        }
    }
    b->json_fd = net_listen(&b->cfg.json_listen, bound, err);
    if (b->json_fd < 0)
        return -1;
    log_info(&b->log, "listening for clients on %s", bound);
    if (b->json_tls)
        log_info(&b->log, "clients must speak TLS (json_tls: %s)", b->cfg.json_tls.cert);
    char aerr[AUDIT_ERR_MAX];
    if (audit_open(b, aerr) < 0) {
        snprintf(err, NET_ERR_MAX, "%.*s", NET_ERR_MAX - 1, aerr);
        return -1;
    }
    if (local_open(b, err) < 0)
        return -1;
    if (mqtt_open(b, err) < 0)
        return -1;
    if (web_open(b, err) < 0)
        return -1;

    ev_io_init(&b->robot_accept, robot_accept_cb, b->robot_fd, EV_READ);
    ev_io_init(&b->json_accept, json_accept_cb, b->json_fd, EV_READ);
    ev_signal_init(&b->sigint, signal_cb, SIGINT);
    ev_signal_init(&b->sigterm, signal_cb, SIGTERM);
    ev_signal_init(&b->sighup, hup_cb, SIGHUP);
    ev_prepare_init(&b->flush, flush_cb);
    ev_timer_init(&b->sweep, sweep_cb, 0, LIMITS_SWEEP_MAX);
    b->robot_accept.data = b->json_accept.data = b->sigint.data = b->sigterm.data = b->sighup.data =
        b->flush.data = b->sweep.data = b;
    ev_io_start(loop, &b->robot_accept);
    ev_io_start(loop, &b->json_accept);
    ev_signal_start(loop, &b->sigint);
    ev_signal_start(loop, &b->sigterm);
    ev_signal_start(loop, &b->sighup);
    ev_prepare_start(loop, &b->flush);
    b->sweep.repeat = clients_expire(b, ev_now(loop));
    ev_timer_again(loop, &b->sweep);
    return 0;
}

void bridge_shutdown(struct bridge *b, const char *reason)
{
    if (b->stopping)
        return;
    b->stopping = true;
    notify_stopping(b);
    ev_io_stop(b->loop, &b->robot_accept);
    ev_io_stop(b->loop, &b->json_accept);
    if (b->unix_fd >= 0)
        ev_io_stop(b->loop, &b->unix_accept);
    ev_timer_stop(b->loop, &b->sweep);
    robots_close_all(b, reason);
    json_t *j = json_pack("{s:s, s:s}", "class", "BYE", "reason", reason);
    struct msg *m = j ? msg_from_json(j, false) : NULL;
    if (m)
        hub_broadcast(b, m);
    msg_unref(m);
    json_decref(j);
    /* One last non-blocking write: clients that keep up see LINK down and BYE. */
    clients_flush_all(b);
    ev_break(b->loop, EVBREAK_ALL);
}

void bridge_close(struct bridge *b)
{
    if (b->loop) {
        ev_io_stop(b->loop, &b->robot_accept);
        ev_io_stop(b->loop, &b->json_accept);
        ev_signal_stop(b->loop, &b->sigint);
        ev_signal_stop(b->loop, &b->sigterm);
        ev_signal_stop(b->loop, &b->sighup);
        ev_prepare_stop(b->loop, &b->flush);
        ev_timer_stop(b->loop, &b->sweep);
        robots_close_all(b, "shutdown");
    }
    /* Its WebSocket clients go with the context; then the TCP ones. */
    web_close(b);
    if (b->loop) {
        while (b->clients)
            client_close(b->clients);
        local_close(b);
    }
    audit_close(b, b->stopping ? "shutdown" : "start failed");
    peers_free(&b->peers);
    mqtt_close(b);
    tls_server_free(b->json_tls);
    b->json_tls = NULL;
    robots_free(b);
    if (b->robot_fd >= 0)
        close(b->robot_fd);
    if (b->json_fd >= 0)
        close(b->json_fd);
    if (b->spare_fd >= 0)
        close(b->spare_fd);
    b->robot_fd = b->json_fd = b->spare_fd = -1;
}
