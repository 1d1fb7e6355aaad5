/* diag.c - refusals, unknown hellos and request errors (see diag.h). */
#include "diag.h"

#include "bridge.h"
#include "robot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DRAIN_MAX (64 * 1024)  /* bytes read away before close, so it ends with FIN, not RST */

/* The NO text (for the FlexPendant, at most 72 characters are kept) and the
 * hint (for ROBOTS and `rapidbridge-cli doctor`: the next step). */
static void describe(const struct refused_link *rl, const struct robot *r, char *no, size_t nosz,
                     char *hint, size_t hintsz)
{
    const char *name = rl->name ? rl->name : "?";
    const char *detail = rl->detail ? rl->detail : "?";
    switch (rl->code) {
    case REFUSE_UNKNOWN_NAME:
        snprintf(no, nosz, "rapidbridge: robot name '%s' is not configured", name);
        snprintf(hint, hintsz, "HI named %s, which is not in robots[]: add it, or set the "
                 "controller's rbRobotName to a configured name", name);
        return;
    case REFUSE_PEER:
        snprintf(no, nosz, "rapidbridge: %s may only connect from %s", name, detail);
        snprintf(hint, hintsz, "%s may only connect from %s: connect from there, or change "
                 "robots[%u].peer", name, detail, r ? r->index : 0);
        return;
    case REFUSE_PROTO:
        snprintf(no, nosz, "rapidbridge: protocol %s is not supported; HI must say %d", detail,
                 RB_PROTO_MAJOR);
        snprintf(hint, hintsz, "HI asked for protocol %s; this bridge speaks %d: install the "
                 "RAPID link module that matches this bridge", detail, RB_PROTO_MAJOR);
        return;
    case REFUSE_BAD_HELLO:
        snprintf(no, nosz, "rapidbridge: the first frame is not a valid HI (%s)", detail);
        snprintf(hint, hintsz, "the first frame was not a valid HI (%s): check the HI the "
                 "RAPID link module sends (PROTOCOL.md 2.8)", detail);
        return;
    case REFUSE_NOT_HELLO:
        snprintf(no, nosz, "rapidbridge: the first frame must be HI (got %s)", detail);
        snprintf(hint, hintsz, "the first frame was %s: the link module must send HI first",
                 detail);
        return;
    case REFUSE_HELLO_TIMEOUT:
        snprintf(no, nosz, "rapidbridge: no HI within %s s", detail);
        snprintf(hint, hintsz, "connected but sent no HI within %s s (limits.hello_timeout)",
                 detail);
        return;
    case REFUSE_BUSY:
        snprintf(no, nosz, "rapidbridge: too many connections wait for HI; retrying helps");
        snprintf(hint, hintsz, "%d connections already waited for HI: something opens "
                 "connections and sends nothing", ROBOT_PENDING_MAX);
        return;
    }
    snprintf(no, nosz, "rapidbridge: refused");
    snprintf(hint, hintsz, "refused");
}

/* Write NO without waiting, end our side, read away what the robot sent
 * after its HI: a close with unread bytes would reset the connection, and
 * the robot might lose the NO before reading it. */
static void send_no(const struct bridge *b, int fd, const char *frame, size_t len)
{
    if (send(fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        log_debug(&b->log, "NO not sent: %s", strerror(errno));
        return;
    }
    shutdown(fd, SHUT_WR);
    char buf[4096];
    for (size_t total = 0; total < DRAIN_MAX;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
}

void diag_refuse(struct bridge *b, const struct refused_link *rl)
{
    struct diag *d = &b->diag;
    struct robot *r = rl->name ? bridge_robot(b, rl->name) : NULL;
    char no_text[COMMAND_MAX + 1], hint[DIAG_HINT_MAX];
    describe(rl, r, no_text, sizeof no_text, hint, sizeof hint);

    char frame[COMMAND_MAX + 1];
    int n = refusal_encode(b->cfg.schema, rl->code, no_text, frame);
    if (n > 0)
        send_no(b, rl->fd, frame, (size_t)n);

    if ((unsigned)rl->code < REFUSAL_COUNT)
        d->refused[rl->code]++;
    double now = ev_now(b->loop);
    if (r) {
        struct diag_refused *lr = &r->last_refused;
        lr->time = now;
        lr->code = rl->code;
        snprintf(lr->peer, sizeof lr->peer, "%s", rl->peer);
        snprintf(lr->hint, sizeof lr->hint, "%s", hint);
    } else if (rl->name && ident_valid(rl->name, strlen(rl->name))) {
        struct diag_unknown *u = &d->unknown[d->unknown_next];
        u->time = now;
        snprintf(u->peer, sizeof u->peer, "%s", rl->peer);
        snprintf(u->name, sizeof u->name, "%s", rl->name);
        d->unknown_next = (d->unknown_next + 1) % DIAG_UNKNOWN_MAX;
        if (d->unknown_n < DIAG_UNKNOWN_MAX)
            d->unknown_n++;
    }
}

void diag_count_request(struct bridge *b)
{
    b->diag.requests++;
}

static struct diag_count *error_count(struct diag *d, const char *code)
{
    for (unsigned i = 0; i < d->nerrors; i++)
        if (strcmp(d->errors[i].code, code) == 0)
            return &d->errors[i];
    return NULL;
}

void diag_count_error(struct bridge *b, const char *code)
{
    struct diag *d = &b->diag;
    if (!code || strlen(code) >= DIAG_CODE_LEN)
        code = "other";
    struct diag_count *c = error_count(d, code);
    if (!c) {
        /* A slot stays free for "other" until it has one: codes beyond the
         * table are counted there. */
        bool other = strcmp(code, "other") == 0 || error_count(d, "other");
        if (d->nerrors >= DIAG_CODES_MAX - (other ? 0 : 1)) {
            diag_count_error(b, "other");
            return;
        }
        c = &d->errors[d->nerrors++];
        snprintf(c->code, sizeof c->code, "%s", code);
        c->n = 0;
    }
    c->n++;
}

void diag_robot_entry(const struct robot *r, json_t *entry)
{
    const struct diag_refused *lr = &r->last_refused;
    if (lr->time <= 0)
        return;
    json_t *o = json_pack("{s:f, s:s, s:s, s:i, s:s}", "time", lr->time, "peer", lr->peer,
                          "reason", refusal_name(lr->code), "code", (int)lr->code, "hint",
                          lr->hint);
    if (o)
        json_object_set_new(entry, "last_refused", o);
}

void diag_robots_reply(const struct bridge *b, json_t *reply)
{
    const struct diag *d = &b->diag;
    if (!d->unknown_n)
        return;
    json_t *list = json_array();
    /* Oldest first. */
    unsigned first = (d->unknown_next + DIAG_UNKNOWN_MAX - d->unknown_n) % DIAG_UNKNOWN_MAX;
    for (unsigned k = 0; list && k < d->unknown_n; k++) {
        const struct diag_unknown *u = &d->unknown[(first + k) % DIAG_UNKNOWN_MAX];
        json_array_append_new(list, json_pack("{s:f, s:s, s:s}", "time", u->time, "peer",
                                              u->peer, "name", u->name));
    }
    if (list)
        json_object_set_new(reply, "unknown_hellos", list);
}

void diag_stats(const struct bridge *b, json_t *reply)
{
    const struct diag *d = &b->diag;
    json_t *refused = json_object();
    for (int c = 1; refused && c < REFUSAL_COUNT; c++)
        json_object_set_new(refused, refusal_name((enum refusal)c),
                            json_integer((json_int_t)d->refused[c]));
    json_t *port = json_pack("{s:s, s:I, s:o*}", "listen", d->robot_port, "connections",
                             (json_int_t)d->connections, "refused", refused);
    if (port)
        json_object_set_new(reply, "robot_port", port);
    json_t *errors = json_object();
    for (unsigned i = 0; errors && i < d->nerrors; i++)
        json_object_set_new(errors, d->errors[i].code, json_integer((json_int_t)d->errors[i].n));
    json_t *req = json_pack("{s:I, s:o*}", "total", (json_int_t)d->requests, "errors", errors);
    if (req)
        json_object_set_new(reply, "requests", req);
}
