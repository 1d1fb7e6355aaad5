/* serve.c - requests from the robot, answered by a serving client (serve.h). */
#include "serve.h"

#include "audit.h"
#include "client.h"
#include "render.h"
#include "robot.h"
#include "rx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(SERVE_OUTCOMES <= ROBOT_REQUEST_OUTCOMES, "bridge_stats.robot_requests too small");

static const char *const outcome_names[SERVE_OUTCOMES] = {
    [SERVE_ANSWERED] = "answered", [SERVE_NO_HANDLER] = "no_handler",
    [SERVE_TIMEOUT] = "timeout",   [SERVE_ERROR] = "error",
    [SERVE_INVALID] = "invalid",   [SERVE_BUSY] = "busy",
    [SERVE_DROPPED] = "dropped",
};

static void count(struct bridge *b, enum serve_outcome o)
{
    b->stats.robot_requests[o]++;
}

static const char *type_name(const struct bridge *b, unsigned type_index)
{
    return schema_at(b->cfg.schema, type_index)->type;
}

/* Write RX to the robot; the link may be gone or full (then nothing). */
static void send_rx(struct robot *r, uint32_t seq, enum rx_code code, const char *text)
{
    char frame[COMMAND_MAX + 1];
    int n = rx_encode(r->b->cfg.schema, seq, code, text, r->cfg->checksum, frame);
    if (n > 0 && robot_write(r, frame, (size_t)n) < 0)
        log_warn(&r->b->log, "robot %s: RX for seq %u not written: the link is down or full",
                 r->cfg->name, (unsigned)seq);
}

/* The audit trail (interface 1.1 H), when configured: a `request` record as
 * a request comes in and a `reply` record as it ends, whoever answered it
 * (the handler's fields, or the RX the bridge sent). Unlike a command's, a
 * record that cannot be written does not hold the answer back: the robot is
 * waiting for it. audit_record counts the failure (STATS audit.failures). */
static void audit_request(struct robot *r, const json_t *request)
{
    json_t *rec = audit_event("request", NULL, NULL);
    if (!rec)
        return;
    json_object_set_new(rec, "robot", json_string(r->cfg->name));
    json_object_set(rec, "type", json_object_get(request, "type"));
    json_object_set(rec, "seq", json_object_get(request, "seq"));
    json_object_set(rec, "fields", json_object_get(request, "fields"));
    audit_record(r->b, rec);
}

static void audit_reply(struct robot *r, uint32_t seq, unsigned type_index, const struct client *h,
                        enum serve_outcome o, const json_t *fields, const char *rx_text)
{
    if (!audit_enabled(r->b))
        return;
    json_t *rec = audit_event("reply", h ? &h->who : NULL, h ? h->peer : NULL);
    if (!rec)
        return;
    json_object_set_new(rec, "robot", json_string(r->cfg->name));
    json_object_set_new(rec, "type", json_string(type_name(r->b, type_index)));
    json_object_set_new(rec, "seq", json_integer(seq));
    json_object_set_new(rec, "outcome", json_string(outcome_names[o]));
    if (fields)
        json_object_set_new(rec, "fields", json_deep_copy(fields));
    if (rx_text)
        json_object_set_new(rec, "rx", json_string(rx_text));
    audit_record(r->b, rec);
}

static void unlink_request(struct robot_request *q)
{
    struct robot *r = q->robot;
    for (struct robot_request **p = &r->asks; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            r->nasks--;
            break;
        }
    ev_timer_stop(r->b->loop, &q->timer);
}

/* Take a request out of its robot's list, answer RX (code != 0), audit how
 * it ended (fields: the handler's answer) and free it. */
static void finish_with(struct robot_request *q, enum serve_outcome o, enum rx_code code,
                        const char *text, const json_t *fields)
{
    struct robot *r = q->robot;
    unlink_request(q);
    count(r->b, o);
    audit_reply(r, q->seq, q->type_index, q->handler, o, fields, code ? text : NULL);
    if (code)
        send_rx(r, q->seq, code, text);
    free(q);
}

/* finish_with, no fields. */
static void finish(struct robot_request *q, enum serve_outcome o, enum rx_code code,
                   const char *text)
{
    finish_with(q, o, code, text, NULL);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct robot_request *q = w->data;
    struct robot *r = q->robot;
    char text[COMMAND_MAX];
    snprintf(text, sizeof text, "no reply within %.1f s", r->b->cfg.limits.robot_request_timeout);
    log_warn(&r->b->log, "robot %s: %s seq %u: %s", r->cfg->name,
             type_name(r->b, q->type_index), (unsigned)q->seq, text);
    finish(q, SERVE_TIMEOUT, RX_TIMEOUT, text);
}

static struct robot_request *find(struct robot *r, uint32_t seq)
{
    for (struct robot_request *q = r->asks; q; q = q->next)
        if (q->seq == seq)
            return q;
    return NULL;
}

/* {"class":"REQUEST","robot","type","seq","time","fields":{...}}: the FRAME
 * object with its field members moved under "fields". The slow, plain way:
 * request_text() splices the same object from the FRAME text, and this is
 * what it falls back to. */
static json_t *request_json(const struct robot *r, const struct frame_values *fv, double now)
{
    json_t *frame = frame_render(fv, r->cfg->name, now);
    json_t *fields = json_object();
    json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "class", "REQUEST", "robot", r->cfg->name,
                          "type", fv->def->type, "seq", (json_int_t)fv->seq);
    if (!frame || !fields || !j) {
        json_decref(frame);
        json_decref(fields);
        json_decref(j);
        return NULL;
    }
    static const char *const envelope[] = {"class", "robot", "type", "seq", "time"};
    const char *key;
    json_t *v;
    json_object_foreach (frame, key, v) {
        size_t k = 0;
        while (k < sizeof envelope / sizeof envelope[0] && strcmp(envelope[k], key) != 0)
            k++;
        if (k == sizeof envelope / sizeof envelope[0])
            json_object_set(fields, key, v);
    }
    json_object_set(j, "time", json_object_get(frame, "time"));
    json_object_set_new(j, "fields", fields);
    json_decref(frame);
    return j;
}

#define FRAME_HEAD "{\"class\":\"FRAME\""
#define REQUEST_HEAD "{\"class\":\"REQUEST\""
#define TIME_KEY ",\"time\":"
#define FIELDS_KEY ",\"fields\":{"

/* The REQUEST text spliced from the FRAME text (render.h: the envelope in
 * order, "time" a plain number, the fields after it, as jansson writes
 * them): the request is on the robot's round trip, and this costs a copy
 * where building and dumping a json_t costs an allocation per member. NULL
 * when the text is not of that shape or memory is short. */
static struct msg *request_text(const struct robot *r, const struct frame_values *fv, double now)
{
    char frame[FRAME_TEXT_MAX];
    size_t n = frame_render_text(fv, r->cfg->name, now, frame, sizeof frame - 1);
    size_t hl = sizeof FRAME_HEAD - 1;
    if (n < hl + 2 || memcmp(frame, FRAME_HEAD, hl) != 0 || frame[n - 1] != '}')
        return NULL;
    frame[n] = '\0';
    const char *t = strstr(frame + hl, TIME_KEY);
    if (!t)
        return NULL;
    const char *end = t + sizeof TIME_KEY - 1;
    while (*end && *end != ',' && *end != '}')
        end++;
    if (!*end)
        return NULL;
    /* head, envelope up to the end of time, "fields", the members, "}}" */
    size_t env = (size_t)(end - (frame + hl));
    size_t members = *end == ',' ? (size_t)(frame + n - 1 - (end + 1)) : 0;
    size_t len = sizeof REQUEST_HEAD - 1 + env + sizeof FIELDS_KEY - 1 + members + 2;
    struct msg *m = msg_alloc(len, false);
    if (!m)
        return NULL;
    char *p = m->data;
    memcpy(p, REQUEST_HEAD, sizeof REQUEST_HEAD - 1);
    p += sizeof REQUEST_HEAD - 1;
    memcpy(p, frame + hl, env);
    p += env;
    memcpy(p, FIELDS_KEY, sizeof FIELDS_KEY - 1);
    p += sizeof FIELDS_KEY - 1;
    memcpy(p, end + 1, members);
    p += members;
    memcpy(p, "}}", 2); /* msg_alloc put the LF after it */
    return m;
}

void serve_on_request(struct robot *r, const struct frame_values *fv, double now)
{
    struct bridge *b = r->b;
    unsigned ti = (unsigned)schema_index(b->cfg.schema, fv->def);
    struct client *h = r->serving[ti];
    char text[COMMAND_MAX];
    if (audit_enabled(b)) {
        json_t *j = request_json(r, fv, now);
        if (j)
            audit_request(r, j);
        json_decref(j);
    }
    if (!h) {
        snprintf(text, sizeof text, "nobody serves %s for %s", fv->def->type, r->cfg->name);
        log_info(&b->log, "robot %s: %s seq %u: %s", r->cfg->name, fv->def->type,
                 (unsigned)fv->seq, text);
        count(b, SERVE_NO_HANDLER);
        audit_reply(r, fv->seq, ti, NULL, SERVE_NO_HANDLER, NULL, text);
        send_rx(r, fv->seq, RX_NO_HANDLER, text);
        return;
    }
    bool twice = find(r, fv->seq) != NULL;
    if (twice || r->nasks >= SERVE_WAITING_MAX) {
        if (twice)
            snprintf(text, sizeof text, "seq %u already waits for a reply", (unsigned)fv->seq);
        else
            snprintf(text, sizeof text, "%d requests already wait for replies", SERVE_WAITING_MAX);
        log_warn(&b->log, "robot %s: %s seq %u: %s", r->cfg->name, fv->def->type,
                 (unsigned)fv->seq, text);
        count(b, SERVE_BUSY);
        audit_reply(r, fv->seq, ti, NULL, SERVE_BUSY, NULL, text);
        send_rx(r, fv->seq, RX_BUSY, text);
        return;
    }
    struct msg *m = request_text(r, fv, now);
    if (!m) {
        json_t *j = request_json(r, fv, now);
        m = j ? msg_from_json(j, false) : NULL;
        json_decref(j);
    }
    struct robot_request *q = m ? calloc(1, sizeof *q) : NULL;
    if (!q) {
        msg_unref(m);
        count(b, SERVE_BUSY);
        audit_reply(r, fv->seq, ti, NULL, SERVE_BUSY, NULL, "out of memory");
        send_rx(r, fv->seq, RX_BUSY, "out of memory");
        return;
    }
    q->robot = r;
    q->handler = h;
    q->seq = fv->seq;
    q->type_index = ti;
    ev_timer_init(&q->timer, timeout_cb, b->cfg.limits.robot_request_timeout, 0);
    q->timer.data = q;
    ev_timer_start(b->loop, &q->timer);
    struct robot_request **tail = &r->asks; /* in arrival order: RX go out in that order */
    while (*tail)
        tail = &(*tail)->next;
    *tail = q;
    r->nasks++;
    client_push(h, m); /* a reply in admission terms: never dropped */
    msg_unref(m);
}

/* ---- serve ---------------------------------------------------------------- */

/* The request types of list as a mask by schema index; false after an ERROR. */
static bool type_mask(struct client *c, const json_t *list, const json_t *id, uint64_t *mask)
{
    *mask = 0;
    if (!json_is_array(list)) {
        client_error(c, id, "bad_request", "\"types\" must be an array of request frame types");
        return false;
    }
    size_t i;
    const json_t *v;
    json_array_foreach (list, i, v) {
        const char *t = json_is_string(v) ? json_string_value(v) : NULL;
        if (!t) {
            client_error(c, id, "bad_request", "\"types\" must be an array of strings");
            return false;
        }
        const struct frame_def *d = schema_find(c->b->cfg.schema, DIR_IN, t, strlen(t));
        if (!d || d->role != ROLE_REQUEST) {
            client_error(c, id, "unknown_type", "\"%s\" is not a request frame type (a frame "
                         "with \"request\" in the configuration)", t);
            return false;
        }
        *mask |= UINT64_C(1) << schema_index(c->b->cfg.schema, d);
    }
    return true;
}

/* Every request of r waiting for c of a type in mask gets RX 1. */
static void abandon(struct robot *r, struct client *c, uint64_t mask, const char *why)
{
    struct robot_request *q = r->asks, *next;
    for (; q; q = next) {
        next = q->next;
        if (q->handler == c && (mask & (UINT64_C(1) << q->type_index)))
            finish(q, SERVE_NO_HANDLER, RX_NO_HANDLER, why);
    }
}

void serve_set(struct client *c, struct robot *only, const json_t *req, const json_t *id)
{
    struct bridge *b = c->b;
    uint64_t want;
    if (!type_mask(c, json_object_get(req, "types"), id, &want))
        return;
    unsigned lo = only ? only->index : 0, hi = only ? only->index + 1 : b->nrobots;
    for (unsigned i = lo; i < hi; i++) {
        struct robot *r = &b->robots[i];
        for (unsigned t = 0; t < FRAME_TYPES_MAX; t++) {
            struct client *other = r->serving[t];
            if ((want & (UINT64_C(1) << t)) && other && other != c) {
                client_error(c, id, "busy", "%s for robot %s is already served by %s",
                             type_name(b, t), r->cfg->name, other->peer);
                return;
            }
        }
    }
    for (unsigned i = lo; i < hi; i++) {
        struct robot *r = &b->robots[i];
        uint64_t stopped = 0;
        for (unsigned t = 0; t < FRAME_TYPES_MAX; t++) {
            bool on = want & (UINT64_C(1) << t);
            if (r->serving[t] == c && !on)
                stopped |= UINT64_C(1) << t;
            if (on && r->serving[t] != c)
                log_info(&b->log, "client %s serves %s for %s", c->peer, type_name(b, t),
                         r->cfg->name);
            if (r->serving[t] == c || on)
                r->serving[t] = on ? c : NULL;
        }
        if (stopped)
            abandon(r, c, stopped, "the handler stopped serving");
    }
    json_t *j = json_pack("{s:s}", "class", "SERVE");
    if (!j)
        return;
    if (id)
        json_object_set(j, "id", (json_t *)id);
    if (only)
        json_object_set_new(j, "robot", json_string(only->cfg->name));
    json_object_set(j, "types", json_object_get(req, "types"));
    client_reply(c, j);
    json_decref(j);
}

/* ---- reply ---------------------------------------------------------------- */

static void replied(struct client *c, const json_t *id, const struct robot *r, uint32_t seq)
{
    json_t *j = json_pack("{s:s}", "class", "REPLIED");
    if (!j)
        return;
    if (id)
        json_object_set(j, "id", (json_t *)id);
    json_object_set_new(j, "robot", json_string(r->cfg->name));
    json_object_set_new(j, "seq", json_integer(seq));
    client_reply(c, j);
    json_decref(j);
}

/* The handler's reply was not usable: it gets ERROR code, the robot RX 4. */
__attribute__((format(printf, 5, 6)))
static void invalid(struct client *c, const json_t *id, struct robot_request *q,
                    const char *code, const char *fmt, ...)
{
    char msg[COMMAND_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    client_error(c, id, code, "%s", msg);
    char text[COMMAND_MAX * 2 + 16];
    snprintf(text, sizeof text, "invalid reply: %s", msg);
    finish(q, SERVE_INVALID, RX_INVALID, text);
}

void serve_reply(struct client *c, const json_t *req, const json_t *id)
{
    struct bridge *b = c->b;
    const json_t *name = json_object_get(req, "robot");
    const json_t *seqv = json_object_get(req, "seq");
    if (!json_is_string(name)) {
        client_error(c, id, "bad_request", "\"robot\" must be a robot name (string)");
        return;
    }
    struct robot *r = bridge_robot(b, json_string_value(name));
    if (!r) {
        client_error(c, id, "unknown_robot", "no robot named \"%s\" is configured",
                     json_string_value(name));
        return;
    }
    if (!json_is_integer(seqv) || json_integer_value(seqv) < 0 ||
        json_integer_value(seqv) > SEQ_MAX) {
        client_error(c, id, "bad_request", "\"seq\" must be the request's seq (0 to %d)", SEQ_MAX);
        return;
    }
    uint32_t seq = (uint32_t)json_integer_value(seqv);
    struct robot_request *q = find(r, seq);
    if (!q || q->handler != c) {
        client_error(c, id, "bad_request", "no request seq %u from robot %s waits for a reply "
                     "from this connection (answered, timed out, or its link went down)",
                     (unsigned)seq, r->cfg->name);
        return;
    }
    const json_t *error = json_object_get(req, "error");
    const json_t *fields = json_object_get(req, "fields");
    if (error && fields) {
        invalid(c, id, q, "bad_request", "a reply has either \"fields\" or \"error\", not both");
        return;
    }
    if (error) {
        if (!json_is_string(error)) {
            invalid(c, id, q, "bad_request", "\"error\" must be a text");
            return;
        }
        log_info(&b->log, "robot %s: %s seq %u answered with error: %s", r->cfg->name,
                 type_name(b, q->type_index), (unsigned)seq, json_string_value(error));
        finish(q, SERVE_ERROR, RX_ERROR, json_string_value(error));
        replied(c, id, r, seq);
        return;
    }
    if (fields && !json_is_object(fields)) {
        invalid(c, id, q, "bad_request", "\"fields\" must be an object");
        return;
    }
    const struct frame_def *rd =
        schema_reply_of(b->cfg.schema, schema_at(b->cfg.schema, q->type_index));
    char frame[COMMAND_MAX + 1];
    struct command_error err;
    int n = rd ? command_encode(b->cfg.schema, rd->type, fields, seq, r->cfg->checksum, frame, &err)
               : -1;
    if (n < 0) {
        invalid(c, id, q, "bad_field", "%s", rd ? err.message : "no reply type");
        return;
    }
    if (robot_write(r, frame, (size_t)n) < 0) {
        client_error(c, id, "robot_offline", "robot %s is not reading its link", r->cfg->name);
        finish(q, SERVE_DROPPED, 0, NULL);
        return;
    }
    finish_with(q, SERVE_ANSWERED, 0, NULL, fields);
    replied(c, id, r, seq);
}

/* ---- lifetime --------------------------------------------------------------- */

void serve_client_gone(struct bridge *b, struct client *c)
{
    for (unsigned i = 0; i < b->nrobots; i++) {
        struct robot *r = &b->robots[i];
        bool served = false;
        for (unsigned t = 0; t < FRAME_TYPES_MAX; t++)
            if (r->serving[t] == c) {
                r->serving[t] = NULL;
                served = true;
            }
        if (served)
            log_info(&b->log, "client %s no longer serves requests of %s", c->peer, r->cfg->name);
        abandon(r, c, UINT64_MAX, "the handler disconnected");
    }
}

void serve_link_down(struct robot *r)
{
    while (r->asks)
        finish(r->asks, SERVE_DROPPED, 0, NULL);
}

void serve_robot_moved(struct robot *r)
{
    for (struct robot_request *q = r->asks; q; q = q->next)
        q->robot = r;
}

void serve_stats(const struct bridge *b, json_t *reply)
{
    json_t *o = json_object();
    if (!o)
        return;
    for (int k = 0; k < SERVE_OUTCOMES; k++)
        json_object_set_new(o, outcome_names[k], json_integer((json_int_t)b->stats.robot_requests[k]));
    json_object_set_new(reply, "robot_requests", o);
}
