#include "request.h"

#include "access.h"
#include "audit.h"
#include "diag.h"
#include "lease.h"
#include "mqtt.h"
#include "render.h"
#include "robot.h"
#include "schema_dump.h"
#include "send.h"
#include "serve.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reply object with class and the request's id. */
static json_t *reply_new(const char *cls, const json_t *id)
{
    json_t *j = json_pack("{s:s}", "class", cls);
    if (j && id)
        json_object_set(j, "id", (json_t *)id);
    return j;
}

static void reply_send(struct client *c, json_t *j)
{
    if (j)
        client_reply(c, j);
    json_decref(j);
}

/* The robot named by member "robot", or NULL after replying with an error. */
static struct robot *robot_member(struct client *c, const json_t *req, const json_t *id)
{
    const json_t *name = json_object_get(req, "robot");
    if (!json_is_string(name)) {
        client_error(c, id, "bad_request", "\"robot\" must be a robot name (string)");
        return NULL;
    }
    struct robot *r = bridge_robot(c->b, json_string_value(name));
    if (!r)
        client_error(c, id, "unknown_robot", "no robot named \"%s\" is configured",
                     json_string_value(name));
    return r;
}

/* ERROR unauthorized naming the missing grant (r NULL: on any robot). */
static void unauthorized(struct client *c, const json_t *id, const char *grant,
                         const struct robot *r)
{
    char who[PRINCIPAL_TEXT_MAX];
    principal_text(&c->who, who);
    if (r)
        client_error(c, id, "unauthorized", "%s may not do this on robot %s (grant: %s)", who,
                     r->cfg->name, grant);
    else
        client_error(c, id, "unauthorized", "%s may not do this (grant: %s)", who, grant);
}

/* A new ERROR object (for replies that carry more members). */
__attribute__((format(printf, 3, 4)))
static json_t *reply_error_new(const json_t *id, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = reply_error_vnew(id, code, fmt, ap);
    va_end(ap);
    return j;
}

static void req_version(struct client *c, const json_t *req, const json_t *id)
{
    (void)req;
    json_t *j = reply_new("VERSION", id);
    if (j) {
        json_object_set_new(j, "release", json_string(RB_RELEASE));
        json_object_set_new(j, "proto_major", json_integer(RB_PROTO_MAJOR));
        json_object_set_new(j, "proto_minor", json_integer(RB_PROTO_MINOR));
    }
    reply_send(c, j);
}

static void req_robots(struct client *c, const json_t *req, const json_t *id)
{
    (void)req;
    struct bridge *b = c->b;
    json_t *j = reply_new("ROBOTS", id);
    json_t *list = json_array();
    for (unsigned i = 0; i < b->nrobots && list; i++) {
        const struct robot *r = &b->robots[i];
        uint64_t errors = 0;
        for (int e = 0; e < FRAME_ERR_COUNT; e++)
            errors += r->errors[e];
        json_t *o = json_pack("{s:s, s:b}", "name", r->cfg->name, "connected", r->link != NULL);
        if (!o)
            continue;
        if (r->ever_linked) {
            json_object_set_new(o, "peer", json_string(r->peer));
            json_object_set_new(o, "since", json_real(r->since));
        }
        json_object_set_new(o, "frames_in", json_integer((json_int_t)r->frames_in));
        json_object_set_new(o, "errors", json_integer((json_int_t)errors));
        diag_robot_entry(r, o);
        json_array_append_new(list, o);
    }
    if (j) {
        json_object_set_new(j, "robots", list);
        diag_robots_reply(b, j);
    } else {
        json_decref(list);
    }
    reply_send(c, j);
}

/* Room for any STATE reply: the latest frame of every type and an I/O map
 * of ROBOT_IO_MAX names take far less. */
#define STATE_TEXT_MAX (FRAME_TYPES_MAX * FRAME_TEXT_MAX + 256 * 1024)

/* A text built by appending, never past STATE_TEXT_MAX; `failed` once
 * something did not fit or memory ran out (then nothing more is added). */
struct text_buf {
    char *data;
    size_t len, cap;
    bool failed;
};

static void text_put(struct text_buf *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (n > STATE_TEXT_MAX - t->len) {
        t->failed = true;
        return;
    }
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        char *data = realloc(t->data, cap);
        if (!data) {
            t->failed = true;
            return;
        }
        t->data = data;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
}

static void text_str(struct text_buf *t, const char *s)
{
    text_put(t, s, strlen(s));
}

/* ,"age":SECONDS} closing a frame object of STATE; the age is clamped to
 * [0, 1e15] s so the text stays short. */
static void text_age(struct text_buf *t, double age)
{
    if (!(age >= 0))
        age = 0;
    if (age > 1e15)
        age = 1e15;
    char num[48];
    int n = snprintf(num, sizeof num, ",\"age\":%.3f}", age);
    text_put(t, num, (size_t)n);
}

/* The STATE reply is spliced from text: the stored FRAME lines go in as
 * they were sent, never parsed or rendered again. */
static void req_state(struct client *c, const json_t *req, const json_t *id)
{
    struct robot *r = robot_member(c, req, id);
    if (!r)
        return;
    json_t *head = reply_new("STATE", id);
    if (!head)
        return;
    json_object_set_new(head, "robot", json_string(r->cfg->name));
    json_object_set_new(head, "connected", json_boolean(r->link != NULL));
    /* The frames below come from a link that is gone. */
    json_object_set_new(head, "stale", json_boolean(r->link == NULL));
    char *head_text = json_dumps(head, RB_JSON_FLAGS);
    char *io_text = json_dumps(r->io, RB_JSON_FLAGS);
    json_decref(head);
    struct text_buf t = {.failed = !head_text || !io_text};
    if (!t.failed) {
        text_put(&t, head_text, strlen(head_text) - 1); /* without its closing brace */
        text_str(&t, ",\"frames\":{");
        const struct frame_def *d;
        const char *sep = "";
        for (unsigned i = 0; (d = schema_at(c->b->cfg.schema, i)) != NULL; i++) {
            if (!r->latest[i])
                continue;
            text_str(&t, sep);
            text_str(&t, "\"");
            text_str(&t, d->type);
            text_str(&t, "\":");
            /* The FRAME text without its closing brace and LF, then its age. */
            text_put(&t, r->latest[i]->data, r->latest[i]->len - 2);
            text_age(&t, ev_now(c->b->loop) - r->latest_at[i]);
            sep = ",";
        }
        text_str(&t, "},\"io\":");
        text_str(&t, io_text);
        text_str(&t, "}");
    }
    struct msg *m = t.failed ? NULL : msg_new(t.data, t.len, false);
    if (m)
        client_push(c, m);
    msg_unref(m);
    free(t.data);
    free(head_text);
    free(io_text);
}

static void req_stats(struct client *c, const json_t *req, const json_t *id)
{
    (void)req;
    struct bridge *b = c->b;
    json_t *j = reply_new("STATS", id);
    json_t *errors = json_object();
    if (!j || !errors) {
        json_decref(errors);
        json_decref(j);
        return;
    }
    unsigned up = 0;
    for (unsigned i = 0; i < b->nrobots; i++)
        up += b->robots[i].link != NULL;
    for (int e = 0; e < FRAME_ERR_COUNT; e++)
        json_object_set_new(errors, frame_err_name(e),
                            json_integer((json_int_t)robots_error_total(b, e)));
    json_object_set_new(j, "uptime", json_real(ev_now(b->loop) - b->started));
    json_object_set_new(j, "clients", json_integer(b->nclients));
    json_object_set_new(j, "robots_connected", json_integer(up));
    json_object_set_new(j, "frames_in", json_integer((json_int_t)b->stats.frames_in));
    json_object_set_new(j, "frames_out", json_integer((json_int_t)b->stats.frames_out));
    json_object_set_new(j, "drops", json_integer((json_int_t)b->stats.drops));
    json_object_set_new(j, "disconnects", json_integer((json_int_t)b->stats.disconnects));
    json_object_set_new(j, "commands", json_integer((json_int_t)b->stats.commands));
    json_object_set_new(j, "errors", errors);
    diag_stats(b, j);
    serve_stats(b, j);
    mqtt_stats(b, j);
    audit_stats(b, j);
    reply_send(c, j);
}

/* Parse a watch filter list into a bit mask; false after replying an error. */
static bool watch_list(struct client *c, const json_t *id, const json_t *list, const char *what,
                       uint64_t *mask)
{
    if (!json_is_array(list)) {
        client_error(c, id, "bad_request", "\"%s\" must be an array of strings", what);
        return false;
    }
    *mask = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v)) {
            client_error(c, id, "bad_request", "\"%s\" must be an array of strings", what);
            return false;
        }
        const char *s = json_string_value(v);
        if (strcmp(what, "robots") == 0) {
            struct robot *r = bridge_robot(c->b, s);
            if (!r) {
                client_error(c, id, "unknown_robot", "no robot named \"%s\" is configured", s);
                return false;
            }
            if (!access_may(c->b, &c->who, (int)r->index, "watch")) {
                unauthorized(c, id, "watch", r);
                return false;
            }
            *mask |= UINT64_C(1) << r->index;
            continue;
        }
        const struct frame_def *want = schema_find(c->b->cfg.schema, DIR_IN, s, strlen(s));
        if (!want) {
            client_error(c, id, "unknown_type", "\"%s\" is not a frame type robots send", s);
            return false;
        }
        *mask |= UINT64_C(1) << schema_index(c->b->cfg.schema, want);
    }
    return true;
}

static void req_watch(struct client *c, const json_t *req, const json_t *id)
{
    const json_t *enable = json_object_get(req, "enable");
    const json_t *robots = json_object_get(req, "robots");
    const json_t *types = json_object_get(req, "types");
    if (enable && !json_is_boolean(enable)) {
        client_error(c, id, "bad_request", "\"enable\" must be true or false");
        return;
    }
    uint64_t rmask = UINT32_MAX, tmask = UINT64_MAX;
    if (robots && !watch_list(c, id, robots, "robots", &rmask))
        return;
    if (!robots && c->b->cfg.has_access) {
        /* Every robot: every robot this principal may watch (at least one,
         * or request_handle would have refused). */
        rmask = 0;
        for (unsigned i = 0; i < c->b->nrobots; i++)
            if (access_may(c->b, &c->who, (int)i, "watch"))
                rmask |= UINT64_C(1) << i;
    }
    if (types && !watch_list(c, id, types, "types", &tmask))
        return;
    c->watching = !enable || json_is_true(enable);
    c->watch_robots = (uint32_t)rmask;
    c->watch_types = tmask;
    json_t *j = reply_new("WATCH", id);
    if (j) {
        json_object_set_new(j, "enable", json_boolean(c->watching));
        if (robots)
            json_object_set(j, "robots", (json_t *)robots);
        if (types)
            json_object_set(j, "types", (json_t *)types);
    }
    reply_send(c, j);
}

/* The frame table in the configuration's syntax (schema_dump.h), so a
 * client can build its command forms from it. */
static void req_frames(struct client *c, const json_t *req, const json_t *id)
{
    (void)req;
    json_t *j = reply_new("FRAMES", id);
    json_t *list = schema_frames_json(c->b->cfg.schema);
    if (!j || !list) {
        json_decref(list);
        json_decref(j);
        return;
    }
    json_object_set_new(j, "frames", list);
    reply_send(c, j);
}

static void req_send(struct client *c, const json_t *req, const json_t *id)
{
    (void)id;
    struct send_origin from = {.who = &c->who, .peer = c->peer, .conn = c};
    send_submit(c->b, &from, req, client_reply_to(c));
}

/* {"cmd":"auth","token":"SECRET"}: the token is checked, then wiped from
 * the parsed request (the transport wipes its own buffers: client.c). The
 * error never says what was wrong: a name, a token, a block. */
static void req_auth(struct client *c, const json_t *req, const json_t *id)
{
    json_t *token = json_object_get(req, "token");
    bool ok = false;
    if (json_is_string(token)) {
        size_t len = json_string_length(token);
        ok = access_authenticate(c->b, c, json_string_value(token), len);
        /* jansson keeps the text in memory it allocated and owns no other copy. */
        OPENSSL_cleanse((char *)json_string_value(token), len);
    } else {
        ok = access_authenticate(c->b, c, "", 0);
    }
    if (!ok) {
        client_error(c, id, "unauthorized", "authentication failed");
        return;
    }
    char text[PRINCIPAL_TEXT_MAX];
    json_t *j = reply_new("AUTH", id);
    if (j) {
        json_object_set_new(j, "principal", json_string(principal_text(&c->who, text)));
        json_object_set_new(j, "grants", access_grants(c->b, &c->who));
    }
    reply_send(c, j);
}

static void reply_control(struct client *c, const json_t *id, json_t *j)
{
    if (j && id)
        json_object_set(j, "id", (json_t *)id);
    reply_send(c, j);
}

/* {"cmd":"control","robot":R[,"takeover":true]} (interface 1.1 C). */
static void req_control(struct client *c, const json_t *req, const json_t *id)
{
    struct bridge *b = c->b;
    struct robot *r = robot_member(c, req, id);
    if (!r)
        return;
    const json_t *takeover = json_object_get(req, "takeover");
    if (takeover && !json_is_boolean(takeover)) {
        client_error(c, id, "bad_request", "\"takeover\" must be true or false");
        return;
    }
    if (!b->cfg.has_access) {
        client_error(c, id, "bad_request", "there is no control lease without access rules: "
                     "every client may send the allowed commands");
        return;
    }
    if (!access_may(b, &c->who, (int)r->index, "control")
        && !(json_is_true(takeover) && access_may(b, &c->who, (int)r->index, "takeover"))) {
        unauthorized(c, id, "control", r);
        return;
    }
    const char *holder = lease_holder(b, r->cfg->name);
    bool take_over = json_is_true(takeover) && holder && !lease_held_by(b, r->cfg->name, c);
    if (take_over && !access_may(b, &c->who, (int)r->index, "takeover")) {
        unauthorized(c, id, "takeover", r);
        return;
    }
    char previous[PRINCIPAL_TEXT_MAX];
    enum lease_take got = lease_take(b, r, c, take_over, previous);
    if (got == LEASE_HELD) {
        json_t *e = reply_error_new(id, "not_in_control", "%s holds the control of robot %s%s",
                                    holder, r->cfg->name,
                                    access_may(b, &c->who, (int)r->index, "takeover")
                                        ? "; \"takeover\": true takes it over" : "");
        if (e)
            json_object_set_new(e, "holder", json_string(holder));
        reply_send(c, e);
        return;
    }
    char me[PRINCIPAL_TEXT_MAX];
    principal_text(&c->who, me);
    reply_control(c, id, lease_control_json(r->cfg->name, "taken", me,
                                            previous[0] ? previous : NULL, NULL));
}

/* {"cmd":"release","robot":R}: only the holder's connection releases. */
static void req_release(struct client *c, const json_t *req, const json_t *id)
{
    struct bridge *b = c->b;
    struct robot *r = robot_member(c, req, id);
    if (!r)
        return;
    if (!b->cfg.has_access) {
        client_error(c, id, "bad_request", "there is no control lease without access rules");
        return;
    }
    char me[PRINCIPAL_TEXT_MAX];
    principal_text(&c->who, me);
    if (!lease_release(b, r, c)) {
        const char *holder = lease_holder(b, r->cfg->name);
        json_t *e = holder ? reply_error_new(id, "not_in_control", "%s holds the control of "
                                             "robot %s, not this connection", holder, r->cfg->name)
                           : reply_error_new(id, "not_in_control", "nobody holds the control "
                                             "of robot %s", r->cfg->name);
        if (e && holder)
            json_object_set_new(e, "holder", json_string(holder));
        reply_send(c, e);
        return;
    }
    reply_control(c, id, lease_control_json(r->cfg->name, "released", me, NULL, "release"));
}

/* serve needs its grant on the robot, or on every robot when none is named
 * (serving them all). */
static bool may_serve(const struct client *c, const struct robot *r)
{
    const struct bridge *b = c->b;
    if (r)
        return access_may(b, &c->who, (int)r->index, "serve");
    for (unsigned i = 0; i < b->nrobots; i++)
        if (!access_may(b, &c->who, (int)i, "serve"))
            return false;
    return true;
}

static void req_serve(struct client *c, const json_t *req, const json_t *id)
{
    struct robot *r = NULL;
    if (json_object_get(req, "robot") && !(r = robot_member(c, req, id)))
        return;
    if (!may_serve(c, r)) {
        unauthorized(c, id, "serve", r);
        return;
    }
    serve_set(c, r, req, id);
}

/* Only the connection serving the request may answer it (serve.c checks). */
static void req_reply(struct client *c, const json_t *req, const json_t *id)
{
    serve_reply(c, req, id);
}

typedef void request_fn(struct client *c, const json_t *req, const json_t *id);

/* The grant each request needs before it runs (NULL: none, or checked
 * inside: send per type, control per robot, watch per robot named). A
 * robot-wide grant here means "on at least one robot". */
static const struct {
    const char *cmd;
    request_fn *fn;
    const char *grant;
} requests[] = {
    {"version", req_version, "watch"}, {"robots", req_robots, "watch"},
    {"state", req_state, "watch"},     {"watch", req_watch, "watch"},
    {"stats", req_stats, "watch"},     {"send", req_send, NULL},
    {"auth", req_auth, NULL},          {"control", req_control, NULL},
    {"release", req_release, NULL},
    {"serve", req_serve, NULL},        {"reply", req_reply, NULL},
    {"frames", req_frames, "watch"},
};

/* state names one robot: its own grant. */
static bool state_allowed(struct client *c, const json_t *req, const json_t *id)
{
    const json_t *name = json_object_get(req, "robot");
    struct robot *r = json_is_string(name) ? bridge_robot(c->b, json_string_value(name)) : NULL;
    if (!r || access_may(c->b, &c->who, (int)r->index, "watch"))
        return true;  /* no such robot: state's own error says so */
    unauthorized(c, id, "watch", r);
    return false;
}

void request_handle(struct client *c, const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return;
    diag_count_request(c->b);
    json_error_t e;
    json_t *req = json_loadb(line, len, JSON_DECODE_ANY, &e);
    if (!req) {
        /* jansson quotes the input near the error: never a token's text. */
        if (memmem(line, len, "\"token\"", 7))
            client_error(c, NULL, "bad_json", "not valid JSON (column %d)", e.column);
        else
            client_error(c, NULL, "bad_json", "%s (column %d)", e.text, e.column);
        return;
    }
    const json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
    if (json_is_null(id))
        id = NULL; /* echoing it would put a null in the reply */
    const json_t *cmd = json_is_object(req) ? json_object_get(req, "cmd") : NULL;
    if (!json_is_object(req))
        client_error(c, NULL, "bad_json", "a request must be a JSON object");
    else if (!json_is_string(cmd))
        client_error(c, id, "bad_request", "a request needs \"cmd\" (string)");
    else {
        const char *name = json_string_value(cmd);
        size_t k;
        for (k = 0; k < sizeof requests / sizeof requests[0]; k++)
            if (strcmp(requests[k].cmd, name) == 0)
                break;
        if (k == sizeof requests / sizeof requests[0])
            client_error(c, id, "unknown_cmd", "unknown cmd \"%s\" (version, robots, state, "
                         "watch, send, stats, frames, auth, control, release, serve, reply)", name);
        else if (requests[k].grant && !access_may(c->b, &c->who, -1, requests[k].grant))
            unauthorized(c, id, requests[k].grant, NULL);
        else if (requests[k].fn != req_state || state_allowed(c, req, id))
            requests[k].fn(c, req, id);
    }
    json_decref(req);
}
