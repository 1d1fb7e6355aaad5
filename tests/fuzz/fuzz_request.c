/* fuzz_request.c - libFuzzer harness: client request lines -> queued replies.
 *
 * The input is what a JSON client sends: lines of requests (the end of the
 * input ends the last line). It goes through the bridge twice, each time to
 * a fresh client on a socketpair of a bridge context built once, without
 * listeners or a running loop:
 *  1. through the socket: written in chunks whose sizes the first byte
 *     picks, each read by the client's own read callback, so the client's
 *     line reassembly (CR LF, lines split across reads) is exercised;
 *  2. directly: split at LF here, one CR dropped, request_handle() per line.
 * Both runs must queue the same bytes. The queue of run 1 is then checked
 * message by message: each one complete JSON object on one line (LF at the
 * end and nowhere else, no control byte, no NUL) with a string "class"; the
 * queue's byte count is the sum of its messages; the VERSION banner comes
 * first; then exactly one reply per non-blank line, in order, of the class
 * its cmd answers with or an ERROR with a code the contract allows for it,
 * echoing the request's id.
 *
 * The context has two robots, neither linked (so "send" ends in an ERROR
 * at the latest at robot_offline and no command stays pending; "serve" is
 * answered SERVE, and "reply" finds no request and is an ERROR), commands
 * allowed on rob1 only, a custom frame each way, and a stored state for
 * rob1 (frames and IO, set here as the robot module would) so that STATE
 * splices real FRAME text. The client queue limit is small enough that a
 * long input can pile replies past the hard limit (the client is then
 * doomed and later replies are refused).
 *
 * A new client per run, and the bridge's counters zeroed, keep every result
 * a function of the input alone (watch filters, a doomed client, a partial
 * line, STATS numbers do not leak into the next run); client_close()
 * releases the queue, so memory stays flat.
 *
 * Any broken invariant is __builtin_trap(), so libFuzzer keeps the input.
 */
#include "fuzz.h"
#include "bridge.h"
#include "client.h"
#include "config.h"
#include "decode.h"
#include "render.h"
#include "request.h"
#include "robot.h"
#include "schema.h"

#include <ev.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char CONFIG[] =
    "{\"robot_listen\":\"127.0.0.1:0\",\"json_listen\":\"127.0.0.1:0\","
    "\"robots\":["
    "{\"name\":\"rob1\",\"commands\":[\"PING\",\"SETDO\",\"SETREG\",\"SPEED\",\"CALL\",\"STOP\","
    "\"WDSET\"],\"checksum\":true},"
    "{\"name\":\"handler_2\",\"peer\":\"127.0.0.1\"}],"
    "\"frames\":["
    "{\"type\":\"WD\",\"direction\":\"in\",\"fields\":["
    "{\"name\":\"current\",\"kind\":\"real\",\"min\":0,\"max\":1000},"
    "{\"name\":\"mode\",\"kind\":\"enum\",\"values\":[\"PULSE\",\"CV\"]},"
    "{\"name\":\"zones\",\"kind\":\"int\",\"count\":3},"
    "{\"name\":\"note\",\"kind\":\"text\",\"optional\":true}]},"
    "{\"type\":\"WDSET\",\"direction\":\"out\",\"fields\":["
    "{\"name\":\"schedule\",\"kind\":\"int\",\"min\":1,\"max\":99},"
    "{\"name\":\"mode\",\"kind\":\"enum\",\"values\":[\"PULSE\",\"CV\"]}]},"
    "{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"JA\",\"fields\":["
    "{\"name\":\"station\",\"kind\":\"int\",\"min\":1,\"max\":9}]},"
    "{\"type\":\"JA\",\"direction\":\"out\",\"fields\":["
    "{\"name\":\"job\",\"kind\":\"identifier\"},{\"name\":\"count\",\"kind\":\"int\"}]}],"
    "\"limits\":{\"client_queue_bytes\":32768,\"command_queue\":4}}";

/* rob1's stored state: the latest frame of each of these types. */
static const char *const STATE_FRAMES[] = {
    "HI,0,rob1,1,RW 6.15.03",
    "JT,1,10.5,-20.25,30,0,90,-180",
    "ST,5,RUNNING,AUTO,ON,100",
    "IO,6,doGrip,1",
    "EV,7,W,10012,Motion supervision, joint 3",
    "WD,29,250.5,PULSE,1,-2,3,job1,note, with comma",
};

/* The codes of the contract (interface v1, section 4). */
static const char *const ERROR_CODES[] = {
    "bad_json",  "bad_request", "unknown_cmd",   "unknown_robot", "unknown_type", "bad_field",
    "forbidden", "robot_offline", "timeout",     "busy",          "line_too_long",
    "unauthorized", "not_in_control", "audit_failed",
};

/* What each cmd answers with, and the ERROR codes it may give instead
 * (never ACK here: no robot is linked). */
static const struct {
    const char *cmd;
    const char *cls;
    const char *codes; /* space separated, with a space at each end */
} CMDS[] = {
    {"version", "VERSION", " "},
    {"robots", "ROBOTS", " "},
    {"stats", "STATS", " "},
    {"state", "STATE", " bad_request unknown_robot "},
    {"watch", "WATCH", " bad_request unknown_robot unknown_type "},
    {"send", NULL, " bad_request unknown_robot unknown_type forbidden bad_field robot_offline "},
    /* Interface 1.1: no tokens_file and no access here, so auth always
     * fails and there is no lease to take or release. */
    {"auth", "AUTH", " unauthorized "},
    {"control", "CONTROL", " bad_request unknown_robot "},
    {"release", "CONTROL", " bad_request unknown_robot "},
    {"serve", "SERVE", " bad_request unknown_robot unknown_type busy "},
    /* no robot is linked, so no request ever waits for a reply */
    {"reply", NULL, " bad_request unknown_robot "},
    {"frames", "FRAMES", " "},
};

/* Built once; each run adds and removes one client. */
static struct bridge g_b;

/* ---- the context ---------------------------------------------------------- */

/* What the robot module keeps after these frames: the FRAME text, and IO. */
static void give_state(struct robot *r)
{
    static char text[FRAME_TEXT_MAX];
    for (size_t i = 0; i < sizeof STATE_FRAMES / sizeof STATE_FRAMES[0]; i++) {
        const char *line = STATE_FRAMES[i];
        struct frame_values v;
        struct decode_error err;
        CHECK(frame_decode(g_b.cfg.schema, DIR_IN, line, strlen(line), &v, &err) == 0);
        size_t n = frame_render_text(&v, r->cfg->name, 1764101234.123456, text, sizeof text);
        CHECK(n > 0);
        int ti = schema_index(g_b.cfg.schema, v.def);
        CHECK(ti >= 0);
        unsigned t = (unsigned)ti;
        msg_unref(r->latest[t]);
        r->latest[t] = msg_new(text, n, true);
        CHECK(r->latest[t] != NULL);
    }
    CHECK(json_object_set_new(r->io, "doGrip", json_integer(1)) == 0);
    r->ever_linked = true;
    r->since = 1764101234.5;
    snprintf(r->peer, sizeof r->peer, "127.0.0.1:50312");
    r->frames_in = 6;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[CONFIG_ERR_MAX];
    memset(&g_b, 0, sizeof g_b);
    g_b.log.level = LOG_ERROR; /* the doomed-client warning is expected */
    g_b.robot_fd = g_b.json_fd = g_b.spare_fd = -1;
    if (config_load_text(&g_b.cfg, "fuzz-request.json", CONFIG, sizeof CONFIG - 1, err) != 0) {
        fprintf(stderr, "%s\n", err);
        CHECK(0);
    }
    g_b.loop = ev_loop_new(EVFLAG_AUTO);
    CHECK(g_b.loop != NULL);
    g_b.started = ev_now(g_b.loop) - 12.5;
    CHECK(robots_init(&g_b) == 0);
    CHECK(g_b.nrobots == 2);
    give_state(&g_b.robots[0]);
    return 0;
}

/* Each run starts from the same counters (STATS reports them), so the two
 * runs of one input, and every input, see the same bridge. */
static struct client *open_client(int *peer_fd)
{
    memset(&g_b.stats, 0, sizeof g_b.stats);
    memset(&g_b.diag, 0, sizeof g_b.diag);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    struct client *c = client_open(&g_b, sv[0], "127.0.0.1:40000");
    CHECK(c != NULL);
    *peer_fd = sv[1];
    return c;
}

static void close_client(struct client *c, int peer_fd)
{
    client_close(c);
    close(peer_fd);
    CHECK(g_b.nclients == 0 && g_b.clients == NULL && g_b.dirty == NULL);
}

/* ---- the two runs --------------------------------------------------------- */

static size_t next_chunk(uint32_t *state, unsigned mode)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    switch (mode) {
    case 0: return 1;
    case 1: return 1 + x % 8;
    case 2: return 1 + x % 256;
    default: return 1 + x % CLIENT_READ_CHUNK;
    }
}

/* Let the client read what is waiting on its socket, as the loop would. */
static void client_read_all(struct client *c)
{
    int avail;
    while (!c->closing && ioctl(c->fd, FIONREAD, &avail) == 0 && avail > 0)
        ev_invoke(g_b.loop, &c->rio, EV_READ);
}

static void write_through(struct client *c, int peer_fd, const char *p, size_t n)
{
    while (n && !c->closing) {
        ssize_t w = write(peer_fd, p, n);
        CHECK(w > 0);
        p += w;
        n -= (size_t)w;
        client_read_all(c);
    }
}

static void run_socket(struct client *c, int peer_fd, const uint8_t *data, size_t size)
{
    uint32_t state = 0x9E3779B9u ^ data[0];
    unsigned mode = data[0] & 3;
    for (size_t off = 0; off < size && !c->closing;) {
        size_t n = next_chunk(&state, mode);
        if (n > size - off)
            n = size - off;
        write_through(c, peer_fd, (const char *)data + off, n);
        off += n;
    }
    if (data[size - 1] != '\n')
        write_through(c, peer_fd, "\n", 1);
    CHECK(c->closing || c->in_len == 0);
}

static void run_direct(struct client *c, const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        size_t len = lf ? (size_t)(lf - p) : (size_t)(end - p);
        size_t use = len && p[len - 1] == '\r' ? len - 1 : len;
        request_handle(c, p, use);
        p += len + 1;
    }
}

/* The queued bytes, in order. */
static char *queue_text(const struct client *c, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < c->q_count; i++)
        total += c->q[(c->q_head + i) % c->q_cap]->len;
    char *out = malloc(total ? total : 1);
    CHECK(out != NULL);
    size_t at = 0;
    for (size_t i = 0; i < c->q_count; i++) {
        const struct msg *m = c->q[(c->q_head + i) % c->q_cap];
        memcpy(out + at, m->data, m->len);
        at += m->len;
    }
    *len = total;
    return out;
}

/* ---- checks ----------------------------------------------------------------- */

static bool blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            return false;
    return true;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* Two JSON values are the same once both are written as the bridge writes. */
static bool same_json(const json_t *a, const json_t *b)
{
    char *ta = json_dumps(a, RB_JSON_FLAGS | JSON_ENCODE_ANY);
    char *tb = json_dumps(b, RB_JSON_FLAGS | JSON_ENCODE_ANY);
    CHECK(ta != NULL && tb != NULL);
    bool same = strcmp(ta, tb) == 0;
    free(ta);
    free(tb);
    return same;
}

/* One message: a complete JSON object on one line with a string "class". */
static json_t *check_msg(const struct msg *m)
{
    CHECK(m->refs >= 1);
    CHECK(!m->stream); /* nothing is published: only replies */
    CHECK(m->len >= 3 && m->data[m->len - 1] == '\n');
    for (size_t i = 0; i + 1 < m->len; i++)
        CHECK((unsigned char)m->data[i] >= 0x20); /* no LF, CR, NUL inside */
    json_error_t e;
    json_t *o = json_loadb(m->data, m->len - 1, JSON_REJECT_DUPLICATES, &e);
    if (!o)
        fprintf(stderr, "not JSON (%s): %.*s\n", e.text, (int)m->len, m->data);
    CHECK(o != NULL);
    CHECK(json_is_object(o));
    CHECK(json_is_string(json_object_get(o, "class")));
    return o;
}

static void check_error_members(const json_t *r, const char *allowed)
{
    const char *code = json_string_value(json_object_get(r, "code"));
    const char *message = json_string_value(json_object_get(r, "message"));
    CHECK(code != NULL);
    CHECK(in_list(code, ERROR_CODES, sizeof ERROR_CODES / sizeof ERROR_CODES[0]));
    if (!(message != NULL && message[0] != '\0')) {
        char *t = json_dumps(r, RB_JSON_FLAGS);
        fprintf(stderr, "ERROR without a message: %s\n", t ? t : "?");
        free(t);
    }
    CHECK(message != NULL && message[0] != '\0');
    if (allowed) {
        char word[64];
        snprintf(word, sizeof word, " %s ", code);
        if (!strstr(allowed, word))
            fprintf(stderr, "code %s not among%s\n", code, allowed);
        CHECK(strstr(allowed, word) != NULL);
    }
}

/* The reply r must answer the request line. */
static void check_reply(const json_t *r, const char *line, size_t len)
{
    const char *cls = json_string_value(json_object_get(r, "class"));
    json_error_t e;
    json_t *req = json_loadb(line, len, JSON_DECODE_ANY, &e);
    if (!req || !json_is_object(req)) {
        CHECK(strcmp(cls, "ERROR") == 0);
        check_error_members(r, " bad_json ");
        CHECK(json_object_get(r, "id") == NULL);
        json_decref(req);
        return;
    }
    const json_t *id = json_object_get(req, "id");
    if (json_is_null(id))
        id = NULL;
    const json_t *got_id = json_object_get(r, "id");
    CHECK((id == NULL) == (got_id == NULL));
    CHECK(id == NULL || same_json(id, got_id));

    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    size_t k = 0, ncmds = sizeof CMDS / sizeof CMDS[0];
    while (cmd && k < ncmds && strcmp(CMDS[k].cmd, cmd) != 0)
        k++;
    if (!cmd) {
        CHECK(strcmp(cls, "ERROR") == 0);
        check_error_members(r, " bad_request ");
    } else if (k == ncmds) {
        CHECK(strcmp(cls, "ERROR") == 0);
        check_error_members(r, " unknown_cmd ");
    } else if (strcmp(cls, "ERROR") == 0) {
        check_error_members(r, CMDS[k].codes);
    } else {
        CHECK(CMDS[k].cls != NULL && strcmp(cls, CMDS[k].cls) == 0);
        if (strcmp(cls, "STATE") == 0) {
            CHECK(json_is_string(json_object_get(r, "robot")));
            const json_t *robot = json_object_get(req, "robot");
            CHECK((robot == NULL) == (json_object_get(r, "robot") == NULL));
            CHECK(robot == NULL || same_json(json_object_get(r, "robot"), robot));
            CHECK(json_is_false(json_object_get(r, "connected")));
            CHECK(json_is_object(json_object_get(r, "frames")));
            CHECK(json_is_object(json_object_get(r, "io")));
        } else if (strcmp(cls, "WATCH") == 0) {
            const json_t *en = json_object_get(req, "enable");
            CHECK(json_is_boolean(json_object_get(r, "enable")));
            CHECK(json_is_true(json_object_get(r, "enable")) == (en == NULL || json_is_true(en)));
        } else if (strcmp(cls, "FRAMES") == 0) {
            CHECK(json_array_size(json_object_get(r, "frames")) > 0);
        } else if (strcmp(cls, "STATS") == 0) {
            CHECK(json_integer_value(json_object_get(r, "clients")) == 1);
            CHECK(json_is_object(json_object_get(r, "robot_requests")));
        } else if (strcmp(cls, "SERVE") == 0) {
            CHECK(same_json(json_object_get(r, "types"), json_object_get(req, "types")));
            const json_t *robot = json_object_get(req, "robot");
            CHECK((robot == NULL) == (json_object_get(r, "robot") == NULL));
            CHECK(robot == NULL || same_json(json_object_get(r, "robot"), robot));
        }
    }
    json_decref(req);
}

static void check_queue(const struct client *c, const uint8_t *data, size_t size)
{
    CHECK(c->q_off == 0); /* nothing was written */
    CHECK(c->q_count <= c->q_cap);
    size_t bytes = 0;
    const char *p = (const char *)data, *end = p + size;
    for (size_t i = 0; i < c->q_count; i++) {
        const struct msg *m = c->q[(c->q_head + i) % c->q_cap];
        bytes += m->len;
        json_t *r = check_msg(m);
        const char *cls = json_string_value(json_object_get(r, "class"));
        if (i == 0) {
            CHECK(strcmp(cls, "VERSION") == 0 && json_object_get(r, "id") == NULL);
            json_decref(r);
            continue;
        }
        const char *code = json_string_value(json_object_get(r, "code"));
        if (strcmp(cls, "ERROR") == 0 && code && strcmp(code, "line_too_long") == 0) {
            /* The line over CLIENT_LINE_MAX: the last reply, then the end. */
            CHECK(c->closing && i + 1 == c->q_count);
            json_decref(r);
            continue;
        }
        /* The next non-blank line is what this reply answers. */
        const char *line = NULL;
        size_t len = 0;
        while (p < end) {
            const char *lf = memchr(p, '\n', (size_t)(end - p));
            size_t n = lf ? (size_t)(lf - p) : (size_t)(end - p);
            const char *at = p;
            p += n + 1;
            if (n && at[n - 1] == '\r')
                n--;
            if (!blank(at, n)) {
                line = at;
                len = n;
                break;
            }
        }
        CHECK(line != NULL); /* no reply without a request */
        check_reply(r, line, len);
        json_decref(r);
    }
    CHECK(bytes == c->q_bytes);
    if (c->doomed || c->closing)
        return;
    /* Every request line was answered. */
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        size_t n = lf ? (size_t)(lf - p) : (size_t)(end - p);
        CHECK(blank(p, n));
        p += n + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int fd;
    struct client *c = open_client(&fd);
    run_socket(c, fd, data, size);
    check_queue(c, data, size);
    bool cut = c->closing; /* only past CLIENT_LINE_MAX */
    size_t len_a;
    char *a = queue_text(c, &len_a);
    close_client(c, fd);

    if (!cut) {
        c = open_client(&fd);
        run_direct(c, data, size);
        size_t len_b;
        char *b = queue_text(c, &len_b);
        close_client(c, fd);
        CHECK(len_a == len_b && memcmp(a, b, len_a) == 0);
        free(b);
    }
    free(a);
    return 0;
}
