#include "robot.h"

#include "audit.h"

#include "admission.h"
#include "diag.h"
#include "hub.h"
#include "render.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int link_line(void *ctx, const char *line, size_t len);
static int link_error(void *ctx, enum frame_err err);
static void link_read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void link_write_cb(struct ev_loop *loop, ev_io *w, int revents);
static void link_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void ack_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void command_start_next(struct robot *r);
static void robot_take_frame(struct robot *r, const struct frame_values *fv, double now);
static void record_line(struct robot *r, double now, const char *line, size_t len);
static void link_close(struct link *l, const char *reason);

/* ---- robots ------------------------------------------------------------ */

int robot_init(struct bridge *b, struct robot *r, const struct robot_cfg *cfg, unsigned index)
{
    memset(r, 0, sizeof *r);
    r->latest = calloc(FRAME_TYPES_MAX, sizeof *r->latest);
    r->io = json_object();
    if (!r->latest || !r->io) {
        free(r->latest);
        json_decref(r->io);
        memset(r, 0, sizeof *r);
        return -1;
    }
    r->b = b;
    r->cfg = cfg;
    r->index = index;
    r->next_seq = 1;
    for (int k = 0; k < CMD_SLOTS; k++) {
        ev_timer_init(&r->ack_timer[k], ack_timer_cb, 0, 0);
        r->ack_timer[k].data = r;
    }
    return 0;
}

int robots_init(struct bridge *b)
{
    unsigned n = b->cfg.nrobots;
    b->robots = calloc(n ? n : 1, sizeof *b->robots);
    if (!b->robots)
        return -1;
    for (b->nrobots = 0; b->nrobots < n; b->nrobots++) {
        unsigned i = b->nrobots;
        if (robot_init(b, &b->robots[i], &b->cfg.robots[i], i) < 0) {
            robots_free(b);    /* the ones set up so far */
            return -1;
        }
    }
    return 0;
}

static void count_outcome(struct robot *r, const struct command_req *cmd, enum cmd_outcome o)
{
    r->cmd_outcomes[cmd->type_index][o]++;
}

static void command_free(struct command_req *cmd)
{
    json_decref(cmd->id);
    free(cmd);
}

/* The audit trail's `result` record of a command that ended: outcome is
 * the AK status ("OK", "ERR", ...) or how it failed ("timeout", ...). */
static void command_result(struct robot *r, const struct command_req *cmd, const char *outcome,
                           const json_t *code)
{
    if (!cmd->audited)
        return;
    json_t *rec = json_pack("{s:s, s:s}", "event", "result", "principal", cmd->principal);
    if (!rec) {
        audit_record(r->b, NULL);
        return;
    }
    if (cmd->peer[0])
        json_object_set_new(rec, "peer", json_string(cmd->peer));
    json_object_set_new(rec, "robot", json_string(r->cfg->name));
    json_object_set_new(rec, "type", json_string(cmd->type));
    json_object_set_new(rec, "seq", json_integer(cmd->seq));
    json_object_set_new(rec, "outcome", json_string(outcome));
    if (code)
        json_object_set(rec, "code", (json_t *)code);
    audit_record(r->b, rec);
}

/* Fail the command in flight and every queued one, e.g. on link down. */
static void commands_fail_all(struct robot *r, const char *code, const char *why)
{
    struct command_req *cmd = r->queue;
    for (int k = 0; k < CMD_SLOTS; k++) {
        ev_timer_stop(r->b->loop, &r->ack_timer[k]);
        if (r->inflight[k]) {
            r->inflight[k]->next = cmd;
            cmd = r->inflight[k];
            r->inflight[k] = NULL;
        }
    }
    r->queue = r->queue_tail = NULL;
    r->queued = 0;
    while (cmd) {
        struct command_req *next = cmd->next;
        count_outcome(r, cmd, OUTCOME_OFFLINE);
        if (cmd->to.fn)
            reply_error(cmd->to, cmd->id, code, "%s seq %u to robot %s failed: %s", cmd->type,
                        (unsigned)cmd->seq, r->cfg->name, why);
        command_result(r, cmd, code, NULL);
        command_free(cmd);
        cmd = next;
    }
}

/* Forget everything about a robot: link, commands, state. */
void robot_remove(struct robot *r, const char *reason)
{
    if (!r->b)
        return; /* never set up, or moved away */
    if (r->link)
        link_close(r->link, reason);
    commands_fail_all(r, "robot_offline", reason);
    for (unsigned t = 0; r->latest && t < FRAME_TYPES_MAX; t++)
        msg_unref(r->latest[t]);
    free(r->latest);
    r->latest = NULL;
    json_decref(r->io);
    r->io = NULL;
}

void robots_free(struct bridge *b)
{
    for (unsigned i = 0; b->robots && i < b->nrobots; i++)
        robot_remove(&b->robots[i], "the bridge is shutting down");
    free(b->robots);
    b->robots = NULL;
    b->nrobots = 0;
}

void robot_move(struct robot *to, struct robot *from, const struct robot_cfg *cfg, unsigned index)
{
    struct ev_loop *loop = from->b->loop;
    *to = *from;
    to->cfg = cfg;
    to->index = index;
    if (to->link)
        to->link->robot = to;
    serve_robot_moved(to);
    /* libev holds the address of an active watcher: restart it in place. */
    for (int k = 0; k < CMD_SLOTS; k++) {
        double left = ev_is_active(&from->ack_timer[k])
                          ? ev_timer_remaining(loop, &from->ack_timer[k]) : -1;
        ev_timer_stop(loop, &from->ack_timer[k]);
        ev_timer_init(&to->ack_timer[k], ack_timer_cb, left > 0 ? left : 0.001, 0);
        to->ack_timer[k].data = to;
        if (left >= 0)
            ev_timer_start(loop, &to->ack_timer[k]);
    }
    memset(from, 0, sizeof *from);
}

void robot_set_idle(struct robot *r, double idle_timeout)
{
    if (!r->link || r->link->timer.repeat == idle_timeout)
        return;
    r->link->timer.repeat = idle_timeout;
    ev_timer_again(r->b->loop, &r->link->timer);
}

bool robot_link_from(const struct robot *r, const char *peer)
{
    return r->link && net_peer_matches(&r->link->sa, peer);
}

void robot_disconnect(struct robot *r, const char *reason)
{
    if (r->link)
        link_close(r->link, reason);
}

uint64_t robots_error_total(const struct bridge *b, enum frame_err e)
{
    uint64_t n = b->stats.errors[e];
    for (unsigned i = 0; i < b->nrobots; i++)
        n += b->robots[i].errors[e];
    return n;
}

/* LINK up (key "peer") or down (key "reason") to every output. */
static void publish_link(struct robot *r, bool up, const char *key, const char *value)
{
    const char *state = up ? "up" : "down";
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "class", "LINK", "robot", r->cfg->name,
                          "state", state, key, value);
    struct msg *m = j ? msg_from_json(j, true) : NULL;
    hub_publish_link(r->b, r->index, up, m);
    msg_unref(m);
    json_decref(j);
}

/* ---- links --------------------------------------------------------------- */

static void pending_remove(struct link *l)
{
    struct bridge *b = l->b;
    if (l->prev)
        l->prev->next = l->next;
    else if (b->pending == l)
        b->pending = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
    b->npending--;
    if (l->pending_counted)
        peers_release_pending(b, &l->sa);
    l->pending_counted = false;
}

/* Close a link. reason != NULL for an accepted link: LINK down is published.
 * Inside framer_feed the memory is freed by the read callback afterwards. */
static void link_close(struct link *l, const char *reason)
{
    struct bridge *b = l->b;
    struct robot *r = l->robot;
    ev_io_stop(b->loop, &l->rio);
    ev_io_stop(b->loop, &l->wio);
    ev_timer_stop(b->loop, &l->timer);
    close(l->fd);
    l->fd = -1;
    if (r) {
        r->link = NULL;
        r->since = ev_now(b->loop);
        log_info(&b->log, "robot %s: link down (%s)", r->cfg->name, reason);
        commands_fail_all(r, "robot_offline", reason);
        serve_link_down(r);
        publish_link(r, false, "reason", reason);
        l->robot = NULL;
    } else {
        pending_remove(l);
    }
    l->closed = true;
    if (!l->in_feed)
        free(l);
}

void robot_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct bridge *b = w->data;
    for (;;) {
        struct sockaddr_storage sa;
        int fd = net_accept(b->robot_fd, &b->spare_fd, &sa);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn(&b->log, "robot listener: accept: %s", strerror(errno));
            return;
        }
        char peer[ADDR_TEXT_MAX];
        net_format(&sa, true, peer);
        b->diag.connections++;
        if (b->npending >= ROBOT_PENDING_MAX) {
            lograte_log(&b->lograte, &b->log, ev_now(loop), LOGRATE_ROBOT_BUSY, LOG_WARN,
                        "robot connection from %s refused: %d connections already wait for HI",
                        peer, ROBOT_PENDING_MAX);
            diag_refuse(b, &(struct refused_link){fd, peer, REFUSE_BUSY, NULL, NULL});
            close(fd);
            continue;
        }
        /* One address may not hold every place before HI: a controller
         * from another address still gets in (interface 1.1, E). */
        if (!peers_admit_pending(b, &sa)) {
            lograte_log(&b->lograte, &b->log, ev_now(loop), LOGRATE_ROBOT_PER_ADDRESS, LOG_WARN,
                        "robot connection from %s refused: %u connections from its address "
                        "already wait for HI (limits.max_pending_per_address)", peer,
                        b->cfg.limits.max_pending_per_address);
            diag_refuse(b, &(struct refused_link){fd, peer, REFUSE_BUSY, NULL, NULL});
            close(fd);
            continue;
        }
        struct link *l = calloc(1, sizeof *l);
        if (!l) {
            peers_release_pending(b, &sa);
            close(fd);
            continue;
        }
        l->b = b;
        l->fd = fd;
        l->sa = sa;
        memcpy(l->peer, peer, sizeof peer);
        /* Keepalive finds a dead peer even when the idle timer is long. */
        net_tune(fd, (int)ceil(b->cfg.limits.idle_timeout));
        framer_init(&l->framer, link_line, link_error, l);
        ev_io_init(&l->rio, link_read_cb, fd, EV_READ);
        ev_io_init(&l->wio, link_write_cb, fd, EV_WRITE);
        ev_timer_init(&l->timer, link_timer_cb, b->cfg.limits.hello_timeout, 0);
        l->rio.data = l->wio.data = l->timer.data = l;
        ev_io_start(loop, &l->rio);
        ev_timer_start(loop, &l->timer);
        l->next = b->pending;
        if (b->pending)
            b->pending->prev = l;
        b->pending = l;
        b->npending++;
        l->pending_counted = true;
        log_debug(&b->log, "robot connection from %s", peer);
    }
}

static void link_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct link *l = w->data;
    char buf[ROBOT_READ_CHUNK];
    ssize_t n = read(l->fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        char why[96];
        if (n == 0)
            snprintf(why, sizeof why, "closed by robot");
        else
            snprintf(why, sizeof why, "read error: %s", strerror(errno));
        if (!l->robot)
            log_debug(&l->b->log, "robot connection from %s: %s before HI", l->peer, why);
        link_close(l, why);
        return;
    }
    if (l->robot)
        ev_timer_again(loop, &l->timer);
    l->in_feed = true;
    framer_feed(&l->framer, buf, (size_t)n);
    l->in_feed = false;
    if (l->closed)
        free(l);
}

static void link_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct link *l = w->data;
    if (l->robot) {
        log_warn(&l->b->log, "robot %s: nothing received for %.1f s", l->robot->cfg->name,
                 l->b->cfg.limits.idle_timeout);
        link_close(l, "idle timeout");
    } else {
        lograte_log(&l->b->lograte, &l->b->log, ev_now(loop), LOGRATE_ROBOT_HELLO_TIMEOUT,
                    LOG_WARN, "robot connection from %s: no HI within %.1f s, closing", l->peer,
                    l->b->cfg.limits.hello_timeout);
        char secs[16];
        snprintf(secs, sizeof secs, "%.1f", l->b->cfg.limits.hello_timeout);
        diag_refuse(l->b, &(struct refused_link){l->fd, l->peer, REFUSE_HELLO_TIMEOUT, NULL, secs});
        link_close(l, NULL);
    }
}

/* Write to the robot; what the socket does not take now waits in l->out. */
static int link_write(struct link *l, const char *data, size_t len)
{
    if (l->out_len + len > sizeof l->out)
        return -1;
    if (l->out_len == 0) {
        ssize_t w = send(l->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (w > 0) {
            data += w;
            len -= (size_t)w;
        }
    }
    if (len) {
        memcpy(l->out + l->out_len, data, len);
        l->out_len += len;
        ev_io_start(l->b->loop, &l->wio);
    }
    return 0;
}

static void link_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct link *l = w->data;
    ssize_t n = send(l->fd, l->out, l->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        char why[96];
        snprintf(why, sizeof why, "write error: %s", strerror(errno));
        link_close(l, why);
        return;
    }
    memmove(l->out, l->out + n, l->out_len - (size_t)n);
    l->out_len -= (size_t)n;
    if (!l->out_len)
        ev_io_stop(loop, w);
}

/* ---- frames ------------------------------------------------------------ */

static void count_error(struct link *l, enum frame_err err, unsigned field)
{
    struct bridge *b = l->b;
    struct robot *r = l->robot;
    r->errors[err]++;
    double now = ev_now(b->loop);
    if (now - r->last_err_log < ROBOT_ERR_LOG_PERIOD) {
        r->errors_unlogged++;
        return;
    }
    if (r->errors_unlogged)
        log_warn(&b->log, "robot %s: dropped a bad frame (%s, field %u); %llu more since the last report",
                 r->cfg->name, frame_err_name(err), field, (unsigned long long)r->errors_unlogged);
    else
        log_warn(&b->log, "robot %s: dropped a bad frame (%s, field %u)", r->cfg->name,
                 frame_err_name(err), field);
    r->errors_unlogged = 0;
    r->last_err_log = now;
}

static int link_error(void *ctx, enum frame_err err)
{
    struct link *l = ctx;
    if (l->robot) {
        count_error(l, err, 0);
        return 0;
    }
    l->b->stats.errors[err]++;
    lograte_log(&l->b->lograte, &l->b->log, ev_now(l->b->loop), LOGRATE_ROBOT_BAD_HELLO, LOG_WARN,
                "robot connection from %s: bad first frame (%s), closing", l->peer,
                frame_err_name(err));
    diag_refuse(l->b, &(struct refused_link){l->fd, l->peer, REFUSE_BAD_HELLO, NULL,
                                             frame_err_name(err)});
    link_close(l, NULL);
    return 1;
}

static int link_hello(struct link *l, const char *line, size_t len)
{
    struct bridge *b = l->b;
    struct frame_values fv;
    struct decode_error de;
    if (frame_decode(b->cfg.schema, DIR_IN, line, len, &fv, &de) < 0) {
        b->stats.errors[de.err]++;
        lograte_log(&b->lograte, &b->log, ev_now(b->loop), LOGRATE_ROBOT_BAD_HELLO, LOG_WARN,
                    "robot connection from %s: bad first frame (%s), closing", l->peer,
                    frame_err_name(de.err));
        char said[IDENT_MAX + 1], detail[48];
        enum refusal why = refusal_of_bad_hello(line, len, &de, said, detail, sizeof detail);
        diag_refuse(b, &(struct refused_link){l->fd, l->peer, why, said[0] ? said : NULL, detail});
        link_close(l, NULL);
        return 1;
    }
    if (fv.def->role != ROLE_HELLO) {
        b->stats.errors[FRAME_ERR_BEFORE_HELLO]++;
        lograte_log(&b->lograte, &b->log, ev_now(b->loop), LOGRATE_ROBOT_NOT_HELLO, LOG_WARN,
                    "robot connection from %s: sent %s before HI, closing", l->peer,
                    fv.def->type);
        diag_refuse(b, &(struct refused_link){l->fd, l->peer, REFUSE_NOT_HELLO, NULL,
                                              fv.def->type});
        link_close(l, NULL);
        return 1;
    }
    char name[IDENT_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)fv.v[0].len, fv.v[0].str);
    struct robot *r = bridge_robot(b, name);
    if (!r) {
        lograte_log(&b->lograte, &b->log, ev_now(b->loop), LOGRATE_ROBOT_UNKNOWN_NAME, LOG_WARN,
                    "robot connection from %s: HI names %s, which is not configured; closing",
                    l->peer, name);
        diag_refuse(b, &(struct refused_link){l->fd, l->peer, REFUSE_UNKNOWN_NAME, name, NULL});
        link_close(l, NULL);
        return 1;
    }
    if (r->cfg->has_peer && !net_peer_matches(&l->sa, r->cfg->peer)) {
        lograte_log(&b->lograte, &b->log, ev_now(b->loop), LOGRATE_ROBOT_PEER, LOG_WARN,
                    "robot connection from %s: %s may only connect from %s; closing", l->peer,
                    name, r->cfg->peer);
        diag_refuse(b, &(struct refused_link){l->fd, l->peer, REFUSE_PEER, name, r->cfg->peer});
        link_close(l, NULL);
        return 1;
    }
    if (r->link) {
        log_info(&b->log, "robot %s: new link from %s replaces the one from %s", name, l->peer,
                 r->peer);
        link_close(r->link, "replaced by a new link");
    }
    pending_remove(l);
    l->robot = r;
    r->link = l;
    r->ever_linked = true;
    r->since = ev_now(b->loop);
    memcpy(r->peer, l->peer, sizeof r->peer);
    ev_timer_stop(b->loop, &l->timer);
    l->timer.repeat = b->cfg.limits.idle_timeout;
    ev_timer_again(b->loop, &l->timer);
    log_info(&b->log, "robot %s: link up from %s", name, l->peer);
    publish_link(r, true, "peer", r->peer);
    /* HI is a frame like any other: watchers and `state` see its sw text. */
    record_line(r, r->since, line, len);
    robot_take_frame(r, &fv, r->since);
    return 0;
}

static void robot_on_ack(struct robot *r, const struct frame_values *fv)
{
    uint32_t ack = (uint32_t)fv->v[0].num;
    int k = 0;
    while (k < CMD_SLOTS && !(r->inflight[k] && r->inflight[k]->seq == ack))
        k++;
    if (k == CMD_SLOTS) {
        log_debug(&r->b->log, "robot %s: AK for seq %u, which is not in flight", r->cfg->name,
                  (unsigned)ack);
        return;
    }
    struct command_req *cmd = r->inflight[k];
    if (cmd->audited) {
        char status[64];   /* an AK status is a short word; a longer one is cut */
        snprintf(status, sizeof status, "%.*s", (int)fv->v[1].len, fv->v[1].str);
        json_t *code = fv->nvalues > 2 && fv->v[2].present
                           ? json_integer((json_int_t)fv->v[2].num) : NULL;
        command_result(r, cmd, status, code);
        json_decref(code);
    }
    bool ok = fv->v[1].len == 2 && memcmp(fv->v[1].str, "OK", 2) == 0;
    count_outcome(r, cmd, ok ? OUTCOME_OK : OUTCOME_ERR);
    ack_hist_observe(&r->ack, ev_now(r->b->loop) - cmd->sent_at);
    if (cmd->to.fn) {
        json_t *j = json_pack("{s:s}", "class", "ACK");
        if (j) {
            if (cmd->id)
                json_object_set(j, "id", cmd->id);
            json_object_set_new(j, "robot", json_string(r->cfg->name));
            json_object_set_new(j, "type", json_string(cmd->type));
            json_object_set_new(j, "seq", json_integer(cmd->seq));
            json_object_set_new(j, "status", json_stringn(fv->v[1].str, fv->v[1].len));
            if (fv->nvalues > 2 && fv->v[2].present)
                json_object_set_new(j, "code", json_integer((json_int_t)fv->v[2].num));
            if (fv->nvalues > 3 && fv->v[3].present)
                json_object_set_new(j, "text", json_stringn(fv->v[3].str, fv->v[3].len));
            cmd->to.fn(cmd->to.ctx, j);
            json_decref(j);
        }
    }
    ev_timer_stop(r->b->loop, &r->ack_timer[k]);
    r->inflight[k] = NULL;
    command_free(cmd);
    command_start_next(r);
}

static void robot_on_io(struct robot *r, const struct frame_values *fv)
{
    char name[IDENT_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)fv->v[0].len, fv->v[0].str);
    if (!json_object_get(r->io, name) && json_object_size(r->io) >= ROBOT_IO_MAX)
        return;
    json_object_set_new(r->io, name, json_real(fv->v[1].num));
}

static void robot_take_frame(struct robot *r, const struct frame_values *fv, double now)
{
    struct bridge *b = r->b;
    r->frames_in++;
    b->stats.frames_in++;
    /* fv->def came from this schema: the index exists. */
    unsigned ti = (unsigned)schema_index(b->cfg.schema, fv->def);
    r->frames_by_type[ti]++;
    if (fv->def->role == ROLE_ACK)
        robot_on_ack(r, fv);
    else if (fv->def->role == ROLE_IO)
        robot_on_io(r, fv);
    else if (fv->def->role == ROLE_REQUEST)
        serve_on_request(r, fv, now);
    if (!fv->def->publish)
        return;
    char text[FRAME_TEXT_MAX];
    size_t n = frame_render_text(fv, r->cfg->name, now, text, sizeof text);
    struct msg *m = n ? msg_new(text, n, true) : NULL;
    if (!m)
        return;
    msg_unref(r->latest[ti]);
    r->latest[ti] = msg_ref(m);
    r->latest_at[ti] = now;
    hub_publish_frame(b, r->index, ti, m);
    msg_unref(m);
}

static void record_line(struct robot *r, double now, const char *line, size_t len)
{
    if (r->b->record)
        fprintf(r->b->record, "%.6f %s %.*s\n", now, r->cfg->name, (int)len, line);
}

static int link_line(void *ctx, const char *line, size_t len)
{
    struct link *l = ctx;
    if (!l->robot)
        return link_hello(l, line, len);
    struct robot *r = l->robot;
    struct bridge *b = l->b;
    double now = ev_now(b->loop);
    record_line(r, now, line, len);
    struct frame_values fv;
    struct decode_error de;
    if (frame_decode(b->cfg.schema, DIR_IN, line, len, &fv, &de) < 0) {
        count_error(l, de.err, de.field);
        return 0;
    }
    robot_take_frame(r, &fv, now);
    return 0;
}

/* ---- commands ---------------------------------------------------------- */

int robot_write(struct robot *r, const char *frame, size_t len)
{
    if (!r->link || link_write(r->link, frame, len) < 0)
        return -1;
    return 0;
}

uint32_t robot_peek_seq(const struct robot *r)
{
    return r->next_seq;
}

/* Write cmd to the robot and start its ack timer; false when the link
 * cannot take it (the asker has been told). */
static bool command_transmit(struct robot *r, struct command_req *cmd, enum cmd_slot slot)
{
    if (!r->link || link_write(r->link, cmd->frame, cmd->len) < 0) {
        count_outcome(r, cmd, OUTCOME_OFFLINE);
        if (cmd->to.fn)
            reply_error(cmd->to, cmd->id, "robot_offline", "robot %s is not reading its link",
                        r->cfg->name);
        command_result(r, cmd, "robot_offline", NULL);
        command_free(cmd);
        return false;
    }
    r->b->stats.commands++;
    cmd->sent_at = ev_now(r->b->loop);
    r->inflight[slot] = cmd;
    ev_timer_set(&r->ack_timer[slot], r->b->cfg.limits.ack_timeout, 0);
    ev_timer_start(r->b->loop, &r->ack_timer[slot]);
    return true;
}

static void command_start_next(struct robot *r)
{
    while (!r->inflight[SLOT_NORMAL] && r->queue) {
        struct command_req *cmd = r->queue;
        r->queue = cmd->next;
        if (!r->queue)
            r->queue_tail = NULL;
        r->queued--;
        cmd->next = NULL;
        command_transmit(r, cmd, SLOT_NORMAL);
    }
}

static enum command_admit robot_admit(const struct robot *r, const struct frame_def *def)
{
    struct command_slots slots = {
        .linked = r->link != NULL,
        .normal_busy = r->inflight[SLOT_NORMAL] != NULL,
        .urgent_busy = r->inflight[SLOT_URGENT] != NULL,
        .queued = r->queued,
        .queue_max = r->b->cfg.limits.command_queue,
    };
    return command_admit(&slots, def->urgent);
}

/* rapidbridge_commands_total: a command refused before it was queued. */
static void count_refusal(struct robot *r, const struct frame_def *def, enum command_admit verdict)
{
    unsigned ti = (unsigned)schema_index(r->b->cfg.schema, def);
    r->cmd_outcomes[ti][verdict == COMMAND_OFFLINE ? OUTCOME_OFFLINE : OUTCOME_BUSY]++;
}

const char *robot_refusal(struct robot *r, const struct frame_def *def)
{
    enum command_admit verdict = robot_admit(r, def);
    if (verdict == COMMAND_OFFLINE || verdict == COMMAND_BUSY)
        count_refusal(r, def, verdict);
    switch (verdict) {
    case COMMAND_OFFLINE: return "robot_offline";
    case COMMAND_BUSY: return "busy";
    default: return NULL;
    }
}

void robot_send(struct robot *r, struct reply_to to, const json_t *id, const struct frame_def *def,
                const char *frame, size_t len, uint32_t seq)
{
    robot_send_from(r, to, id, def, frame, len, seq, NULL);
}

void robot_send_from(struct robot *r, struct reply_to to, const json_t *id,
                     const struct frame_def *def, const char *frame, size_t len, uint32_t seq,
                     const struct command_origin *origin)
{
    enum command_admit verdict = robot_admit(r, def);
    bool refused = verdict == COMMAND_OFFLINE || verdict == COMMAND_BUSY;
    if (refused)
        count_refusal(r, def, verdict);
    struct command_req *cmd = refused ? NULL : calloc(1, sizeof *cmd);
    if (!cmd) {
        if (verdict == COMMAND_OFFLINE)
            reply_error(to, id, "robot_offline", "robot %s is not connected", r->cfg->name);
        else if (verdict == COMMAND_BUSY)
            reply_error(to, id, "busy", "robot %s has %u commands waiting; try again later",
                        r->cfg->name, r->queued);
        else
            reply_error(to, id, "busy", "out of memory");
        if (origin) {
            struct command_req gone = {.audited = true, .seq = seq};
            snprintf(gone.principal, sizeof gone.principal, "%s", origin->principal);
            snprintf(gone.peer, sizeof gone.peer, "%s", origin->peer ? origin->peer : "");
            snprintf(gone.type, sizeof gone.type, "%s", def->type);
            command_result(r, &gone, verdict == COMMAND_OFFLINE ? "robot_offline" : "busy", NULL);
        }
        return;
    }
    if (origin) {
        cmd->audited = true;
        snprintf(cmd->principal, sizeof cmd->principal, "%s", origin->principal);
        snprintf(cmd->peer, sizeof cmd->peer, "%s", origin->peer ? origin->peer : "");
    }
    cmd->to = to;
    cmd->id = id ? json_incref((json_t *)id) : NULL;
    snprintf(cmd->type, sizeof cmd->type, "%s", def->type);
    cmd->type_index = (unsigned)schema_index(r->b->cfg.schema, def);
    cmd->seq = seq;
    r->next_seq = seq >= SEQ_MAX ? 0 : seq + 1;
    cmd->len = len;
    memcpy(cmd->frame, frame, len);
    if (verdict == COMMAND_URGENT) {
        command_transmit(r, cmd, SLOT_URGENT);
        return;
    }
    if (r->queue_tail)
        r->queue_tail->next = cmd;
    else
        r->queue = cmd;
    r->queue_tail = cmd;
    r->queued++;
    command_start_next(r);
}

static void ack_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct robot *r = w->data;
    int slot = w == &r->ack_timer[SLOT_URGENT] ? SLOT_URGENT : SLOT_NORMAL;
    struct command_req *cmd = r->inflight[slot];
    if (!cmd)
        return;
    log_warn(&r->b->log, "robot %s: no AK for %s seq %u within %.1f s", r->cfg->name, cmd->type,
             (unsigned)cmd->seq, r->b->cfg.limits.ack_timeout);
    count_outcome(r, cmd, OUTCOME_TIMEOUT);
    if (cmd->to.fn)
        reply_error(cmd->to, cmd->id, "timeout", "robot %s did not acknowledge %s seq %u within %.1f s",
                    r->cfg->name, cmd->type, (unsigned)cmd->seq, r->b->cfg.limits.ack_timeout);
    command_result(r, cmd, "timeout", NULL);
    r->inflight[slot] = NULL;
    command_free(cmd);
    command_start_next(r);
}

bool robots_owe(const struct bridge *b, const void *ctx)
{
    for (unsigned i = 0; i < b->nrobots; i++) {
        const struct robot *r = &b->robots[i];
        for (int k = 0; k < CMD_SLOTS; k++)
            if (r->inflight[k] && r->inflight[k]->to.fn && r->inflight[k]->to.ctx == ctx)
                return true;
        for (const struct command_req *cmd = r->queue; cmd; cmd = cmd->next)
            if (cmd->to.fn && cmd->to.ctx == ctx)
                return true;
    }
    return false;
}

void robots_forget(struct bridge *b, const void *ctx)
{
    for (unsigned i = 0; i < b->nrobots; i++) {
        struct robot *r = &b->robots[i];
        for (int k = 0; k < CMD_SLOTS; k++)
            if (r->inflight[k] && r->inflight[k]->to.ctx == ctx)
                r->inflight[k]->to.fn = NULL;
        for (struct command_req *cmd = r->queue; cmd; cmd = cmd->next)
            if (cmd->to.ctx == ctx)
                cmd->to.fn = NULL;
    }
}

void robots_close_all(struct bridge *b, const char *reason)
{
    for (unsigned i = 0; i < b->nrobots; i++)
        if (b->robots[i].link)
            link_close(b->robots[i].link, reason);
    while (b->pending)
        link_close(b->pending, NULL);
}
