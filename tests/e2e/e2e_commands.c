/* e2e_commands.c - commands from JSON clients to robots through the real
 * daemon (interface v1 sections 1 "Commands to the robot" and 2 "send"):
 * every built-in command round trip through robot-sim with its effect, the
 * exact bytes a robot receives (with and without checksum), ack timeouts,
 * link loss and replacement with commands pending, the command queue and
 * busy, concurrent clients, a client that leaves with a command in flight,
 * and requests refused before anything reaches the robot.
 *
 * Two kinds of robot: robot-sim (tests/sim) where the effect of a command
 * matters, and a raw socket of the test where the bytes on the wire or the
 * timing of the AK matter. All on loopback, every wait bounded.
 */
#include "harness.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define REPLY_MS 8000       /* a command's ACK/ERROR; CALL Home moves up to 2 s */
#define REQ_MAX 1024        /* one request line built by the test */
#define FRAME_BUF 128       /* one frame read by a raw robot (the bridge sends <= 80) */
#define PIPELINED 5         /* commands each client writes at once */

#define ALL_COMMANDS "[\"PING\",\"SETDO\",\"SETREG\",\"SPEED\",\"CALL\",\"STOP\"]"

/* rob1 runs robot-sim. */
static const char CONFIG_SIM[] =
    "{\"robots\":[{\"name\":\"rob1\",\"commands\":" ALL_COMMANDS "}]}";
static const char CONFIG_SIM_TIMEOUT[] =
    "{\"robots\":[{\"name\":\"rob1\",\"commands\":" ALL_COMMANDS "}],"
    "\"limits\":{\"ack_timeout\":0.3}}";
/* Raw robots: the test sends no HB, so the idle timeout is long. rob2 wants
 * checksums on what it is sent. */
static const char CONFIG_RAW[] =
    "{\"robots\":[{\"name\":\"rob1\",\"commands\":" ALL_COMMANDS "},"
    "{\"name\":\"rob2\",\"commands\":" ALL_COMMANDS ",\"checksum\":true}],"
    "\"limits\":{\"idle_timeout\":30}}";
static const char CONFIG_QUEUE1[] =
    "{\"robots\":[{\"name\":\"rob1\",\"commands\":" ALL_COMMANDS "}],"
    "\"limits\":{\"idle_timeout\":30,\"command_queue\":1}}";
/* rob1 may not be sent STOP; rob2 may be sent anything but is never linked. */
static const char CONFIG_REFUSE[] =
    "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"PING\",\"SETDO\",\"SETREG\",\"SPEED\","
    "\"CALL\"]},{\"name\":\"rob2\",\"commands\":" ALL_COMMANDS "}],"
    "\"limits\":{\"idle_timeout\":30}}";

static const char *const IGNORE_FRAME_ENV[] = {"seq", "time", NULL};

/* --- requests and replies ---------------------------------------------------- */

/* {"cmd":"send","robot":R,"type":T[,"fields":F][,"id":I]}; fields and id are
 * JSON text or NULL (member left out). */
static void send_command(struct tclient *c, const char *robot, const char *type,
                         const char *fields, const char *id)
{
    char req[REQ_MAX];
    int n = snprintf(req, sizeof req, "{\"cmd\":\"send\",\"robot\":\"%s\",\"type\":\"%s\"%s%s%s%s}",
                     robot, type, fields ? ",\"fields\":" : "", fields ? fields : "",
                     id ? ",\"id\":" : "", id ? id : "");
    assert_true(n > 0 && (size_t)n < sizeof req);
    tclient_send(c, req);
}

/* The next reply to a command (ACK or ERROR), stream objects skipped. */
static json_t *command_reply(struct tclient *c, int ms)
{
    for (;;) {
        json_t *j = tclient_try_recv(c, ms);
        if (j == NULL) {
            daemon_print_log_tail(c->d);
            fail_msg("no ACK or ERROR within %d ms (%s)", ms,
                     c->eof ? "connection closed" : "timeout");
        }
        const char *cls = json_str(j, "class");
        if (strcmp(cls, "ACK") == 0 || strcmp(cls, "ERROR") == 0)
            return j;
        if (!is_stream_class(cls)) {
            char *t = json_text(j);
            print_error("expected ACK or ERROR, got %s\n", t);
            free(t);
            json_decref(j);
            fail_msg("unexpected message while waiting for a command's reply");
        }
        json_decref(j);
    }
}

/* The ACK: exactly {"class":"ACK"[,"id":id],"robot","type","seq",<result>}
 * where result is the members from "status" on, as JSON text. */
static void check_ack(struct daemon *d, const json_t *ack, const char *id, const char *robot,
                      const char *type, long long seq, const char *result)
{
    char want[REQ_MAX];
    snprintf(want, sizeof want,
             "{\"class\":\"ACK\"%s%s,\"robot\":\"%s\",\"type\":\"%s\",\"seq\":%lld,%s}",
             id ? ",\"id\":" : "", id ? id : "", robot, type, seq, result);
    json_t *w = json_must(want);
    if (!json_equal(ack, w))
        daemon_print_log_tail(d);
    json_decref(w);
    assert_json_eq(ack, want, NULL);
}

static void expect_ack(struct tclient *c, const char *id, const char *robot, const char *type,
                       long long seq, const char *result)
{
    json_t *a = command_reply(c, REPLY_MS);
    check_ack(c->d, a, id, robot, type, seq, result);
    json_decref(a);
}

/* The next reply to a command is an ERROR (see assert_error). */
static void expect_command_error(struct tclient *c, const char *id, const char *code,
                                 const char *about)
{
    json_t *e = command_reply(c, REPLY_MS);
    assert_error(e, id, code, about);
    json_decref(e);
}

/* Nothing but stream objects arrives before the reply to a version request:
 * no stray ACK or ERROR is queued for this client. */
static void expect_no_reply_pending(struct tclient *c)
{
    json_decref(tclient_request(c, "{\"cmd\":\"version\"}", "VERSION", NULL));
}

/* Does got have every member of expected (JSON text) with an equal value? */
static bool has_members(const json_t *got, const char *expected)
{
    json_t *want = json_must(expected);
    bool ok = json_is_object(got);
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) if (ok && !json_equal(json_object_get(got, k), v)) ok = false;
    json_decref(want);
    return ok;
}

/* --- watchers ----------------------------------------------------------------- */

static void wait_link_up(struct tclient *w, const char *robot, int ms)
{
    for (;;) {
        json_t *l = tclient_wait_class(w, "LINK", ms, NULL);
        bool up = strcmp(json_str(l, "state"), "up") == 0 &&
                  strcmp(json_str(l, "robot"), robot) == 0;
        json_decref(l);
        if (up)
            return;
    }
}

/* The FRAME AK acknowledging command seq; what came before it goes to
 * skipped when not NULL. */
static json_t *wait_ak_frame(struct tclient *w, long long seq, int ms, json_t *skipped)
{
    for (;;) {
        json_t *j = tclient_try_recv(w, ms);
        if (j == NULL) {
            daemon_print_log_tail(w->d);
            fail_msg("no FRAME AK for command seq %lld within %d ms", seq, ms);
        }
        const char *t = json_str(j, "type");
        json_t *ack = json_object_get(j, "ack");
        if (strcmp(json_str(j, "class"), "FRAME") == 0 && t != NULL && strcmp(t, "AK") == 0 &&
            json_is_integer(ack) && json_integer_value(ack) == seq)
            return j;
        if (skipped != NULL)
            json_array_append(skipped, j);
        json_decref(j);
    }
}

static void check_ak_frame(const json_t *f, const char *robot, long long seq, const char *result)
{
    char want[REQ_MAX];
    snprintf(want, sizeof want,
             "{\"class\":\"FRAME\",\"robot\":\"%s\",\"type\":\"AK\",\"ack\":%lld,%s}",
             robot, seq, result);
    assert_json_eq(f, want, IGNORE_FRAME_ENV);
}

/* STATE of rob1: "io" (the io map) or frames[where] must have members. */
static void expect_state(struct tclient *q, const char *where, const char *members)
{
    json_t *s = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", "STATE", NULL);
    const json_t *part = strcmp(where, "io") == 0
                             ? json_object_get(s, "io")
                             : json_object_get(json_object_get(s, "frames"), where);
    if (!has_members(part, members)) {
        char *t = json_text(s);
        print_error("STATE %s should have %s; STATE is %s\n", where, members, t);
        free(t);
        json_decref(s);
        fail_msg("STATE does not show the command's effect");
    }
    json_decref(s);
}

/* --- raw robot ---------------------------------------------------------------- */

/* A raw robot linked as name, its LINK up consumed from watcher w. */
static int raw_robot(struct daemon *d, struct tclient *w, const char *name)
{
    int fd = trobot_hello(d, name);
    wait_link_up(w, name, HARNESS_RECV_MS);
    return fd;
}

/* --- every built-in command through robot-sim ----------------------------------- */

struct sim_case {
    const char *name;
    const char *type;
    const char *fields;     /* JSON object text, NULL: no "fields" member */
    const char *id;         /* JSON text, NULL: no "id" member */
    const char *result;     /* ACK and AK FRAME members from "status" on */
    const char *before;     /* members of the ST in STATE before sending, or NULL */
    const char *effect_type; /* a frame the robot sends before its AK, or NULL */
    const char *effect;     /* members of that frame */
    const char *state_where; /* "io" or a frame type in STATE after the ACK, or NULL */
    const char *state;      /* members it has */
};

#define AK_OK "\"status\":\"OK\""

/* In order, on one simulator whose arm moves from the start: every command
 * gets the next seq, 1, 2, ... */
static const struct sim_case sim_cases[] = {
    {"PING, number id", "PING", NULL, "1", AK_OK, NULL, NULL, NULL, NULL, NULL},
    {"SETDO on, string id", "SETDO", "{\"name\":\"doGrip\",\"value\":1}", "\"grip-on\"", AK_OK, NULL,
     "IO", "{\"name\":\"doGrip\",\"value\":1.0}", "io", "{\"doGrip\":1.0}"},
    {"SETDO off, object id", "SETDO", "{\"name\":\"doGrip\",\"value\":0}",
     "{\"n\":3,\"tags\":[\"a\",true]}", AK_OK, NULL, "IO", "{\"name\":\"doGrip\",\"value\":0.0}", "io",
     "{\"doGrip\":0.0}"},
    {"SETREG, no id", "SETREG", "{\"index\":7,\"value\":-2.5}", NULL, AK_OK, NULL, NULL, NULL, NULL,
     NULL},
    {"SPEED, real id", "SPEED", "{\"percent\":37}", "4.5", AK_OK, NULL, "ST", "{\"speed\":37}", "ST",
     "{\"speed\":37}"},
    {"CALL RemotePickPart, array id", "CALL", "{\"proc\":\"RemotePickPart\"}", "[6]", AK_OK, NULL, "IO",
     "{\"name\":\"doGrip\",\"value\":1.0}", "io", "{\"doGrip\":1.0}"},
    {"CALL RemoteHome (AK when home)", "CALL", "{\"proc\":\"RemoteHome\"}", "7", AK_OK, NULL, NULL, NULL, NULL,
     NULL},
    {"CALL of an unknown proc", "CALL", "{\"proc\":\"RemoteNoSuchProc\"}", "8",
     "\"status\":\"ERR\",\"code\":41,\"text\":\"unknown procedure RemoteNoSuchProc\"", NULL, NULL, NULL,
     NULL, NULL},
    {"SETDO of an unknown signal", "SETDO", "{\"name\":\"doNope\",\"value\":1}", "9",
     "\"status\":\"ERR\",\"code\":42,\"text\":\"unknown signal doNope\"", NULL, NULL, NULL, NULL,
     NULL},
    /* STOP ends the cycle: the arm stands still, the motion task runs on (e2e_rapid.c) */
    {"STOP", "STOP", NULL, "\"stop\"", AK_OK, "{\"exec\":\"RUNNING\"}", NULL, NULL, "ST",
     "{\"exec\":\"RUNNING\",\"speed\":37}"},
    {"PING with empty fields", "PING", "{}", "11", AK_OK, NULL, NULL, NULL, NULL, NULL},
};

static bool window_has(const json_t *msgs, const char *type, const char *members)
{
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const char *t = json_str(m, "type");
        if (strcmp(json_str(m, "class"), "FRAME") == 0 && t != NULL && strcmp(t, type) == 0 &&
            has_members(m, members))
            return true;
    }
    return false;
}

static void test_sim_round_trip(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_SIM);
    struct tclient *w = watcher_connect(d, "[\"AK\",\"IO\",\"ST\"]");
    struct tclient *c = tclient_connect(d);
    struct tclient *q = tclient_connect(d);
    sim_start(d, (const char *const[]){"--name", "rob1", "--rate", "10", NULL});
    wait_link_up(w, "rob1", 5000);
    for (size_t i = 0; i < sizeof sim_cases / sizeof sim_cases[0]; i++) {
        const struct sim_case *sc = &sim_cases[i];
        long long seq = (long long)i + 1;
        print_message("case: %s\n", sc->name);
        if (sc->before != NULL)
            expect_state(q, "ST", sc->before);
        send_command(c, "rob1", sc->type, sc->fields, sc->id);
        expect_ack(c, sc->id, "rob1", sc->type, seq, sc->result);

        json_t *window = json_array();
        json_t *ak = wait_ak_frame(w, seq, HARNESS_RECV_MS, window);
        check_ak_frame(ak, "rob1", seq, sc->result);
        json_decref(ak);
        if (sc->effect_type != NULL && !window_has(window, sc->effect_type, sc->effect)) {
            char *t = json_text(window);
            print_error("watcher saw before the AK: %s\n", t);
            free(t);
            fail_msg("no %s frame with %s before the AK", sc->effect_type, sc->effect);
        }
        json_decref(window);
        if (sc->state_where != NULL)
            expect_state(q, sc->state_where, sc->state);
    }
    expect_no_reply_pending(c);
    json_t *s = tclient_request(q, "{\"cmd\":\"stats\"}", "STATS", NULL);
    assert_int_equal(json_int_member(s, "commands"), sizeof sim_cases / sizeof sim_cases[0]);
    json_decref(s);
    daemon_stop(state);
}

/* Two clients write a burst of commands each at the same moment: each gets
 * exactly its own ACKs, in its own order; the seqs are 1..2N, each once. */
static void test_two_clients(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_SIM);
    struct tclient *w = watcher_connect(d, "[\"AK\"]");
    struct tclient *cl[2] = {tclient_connect(d), tclient_connect(d)};
    sim_start(d, (const char *const[]){"--name", "rob1", "--rate", "10", NULL});
    wait_link_up(w, "rob1", 5000);

    static const char *const tag[2] = {"a", "b"};
    static const char *const type[2] = {"PING", "SETREG"};
    static const char *const fields[2] = {NULL, "{\"index\":1,\"value\":2}"};
    char burst[2][PIPELINED * 160];
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        for (int i = 0; i < PIPELINED; i++)
            n += (size_t)snprintf(burst[k] + n, sizeof burst[k] - n,
                                  "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"%s\"%s%s,"
                                  "\"id\":\"%s%d\"}\n",
                                  type[k], fields[k] ? ",\"fields\":" : "",
                                  fields[k] ? fields[k] : "", tag[k], i);
        assert_true(n < sizeof burst[k]);
    }
    tclient_send_raw(cl[0], burst[0], strlen(burst[0]));
    tclient_send_raw(cl[1], burst[1], strlen(burst[1]));

    bool seen[2 * PIPELINED + 1] = {false};
    for (int k = 0; k < 2; k++) {
        long long last = 0;
        for (int i = 0; i < PIPELINED; i++) {
            json_t *a = command_reply(cl[k], REPLY_MS);
            char id[16];
            snprintf(id, sizeof id, "\"%s%d\"", tag[k], i);
            long long seq = json_int_member(a, "seq");
            check_ack(d, a, id, "rob1", type[k], seq, AK_OK);
            json_decref(a);
            assert_true(seq > last && seq <= 2 * PIPELINED);
            assert_false(seen[seq]);
            seen[seq] = true;
            last = seq;
        }
    }
    for (int k = 0; k < 2; k++)
        expect_no_reply_pending(cl[k]);
    daemon_stop(state);
}

/* --- ack timeouts ----------------------------------------------------------------- */

static void test_timeout_dropped_acks(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_SIM_TIMEOUT);
    struct tclient *w = watcher_connect(d, "[\"AK\",\"IO\"]");
    struct tclient *c = tclient_connect(d);
    sim_start(d, (const char *const[]){"--name", "rob1", "--rate", "10", "--drop-acks", NULL});
    wait_link_up(w, "rob1", 5000);

    send_command(c, "rob1", "SETDO", "{\"name\":\"doGrip\",\"value\":1}", "\"t1\"");
    expect_command_error(c, "\"t1\"", "timeout", NULL);
    /* the robot did act on it: only the AK was lost */
    json_t *io = tclient_wait_class(w, "FRAME", HARNESS_RECV_MS, NULL);
    while (!has_members(io, "{\"type\":\"IO\",\"name\":\"doGrip\",\"value\":1.0}")) {
        json_decref(io);
        io = tclient_wait_class(w, "FRAME", HARNESS_RECV_MS, NULL);
    }
    json_decref(io);
    /* the robot is free for the next command, which times out too */
    send_command(c, "rob1", "PING", NULL, "2");
    expect_command_error(c, "2", "timeout", NULL);
    expect_no_reply_pending(c);
    daemon_stop(state);
}

/* The AK comes, but after the ack timeout: ERROR timeout, and the late AK is
 * only published, never turned into an ACK. */
static void test_timeout_late_ack(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_SIM_TIMEOUT);
    struct tclient *w = watcher_connect(d, "[\"AK\"]");
    struct tclient *c = tclient_connect(d);
    sim_start(d, (const char *const[]){"--name", "rob1", "--rate", "10", "--ack-delay", "800", NULL});
    wait_link_up(w, "rob1", 5000);

    send_command(c, "rob1", "PING", NULL, "\"late\"");
    expect_command_error(c, "\"late\"", "timeout", NULL);
    json_t *ak = wait_ak_frame(w, 1, HARNESS_RECV_MS, NULL);
    check_ak_frame(ak, "rob1", 1, AK_OK);
    json_decref(ak);
    expect_no_reply_pending(c);
    daemon_stop(state);
}

/* --- the exact bytes a robot receives ------------------------------------------- */

struct wire_case {
    const char *name;
    const char *type;
    const char *fields;
    const char *tail;       /* the frame after "TYPE,SEQ" (without *HH and LF) */
    const char *answer;     /* the robot's AK after "AK,n,SEQ," */
    const char *result;     /* the ACK members from "status" on */
};

#define ID32 "a234567890123456789012345678901_"

static const struct wire_case wire_cases[] = {
    {"PING", "PING", NULL, "", "OK", AK_OK},
    {"SETDO 1", "SETDO", "{\"name\":\"doGrip\",\"value\":1}", ",doGrip,1", "OK", AK_OK},
    {"SETDO 0 given as 0.0", "SETDO", "{\"value\":0.0,\"name\":\"doVacuum\"}", ",doVacuum,0", "OK",
     AK_OK},
    {"SETREG, AK with a code only", "SETREG", "{\"index\":5,\"value\":12.35}", ",5,12.35", "ERR,5",
     "\"status\":\"ERR\",\"code\":5"},
    {"SETREG 100 negative", "SETREG", "{\"index\":100,\"value\":-0.5}", ",100,-0.5", "OK", AK_OK},
    {"SETREG with exponent", "SETREG", "{\"index\":1,\"value\":1234567891}", ",1,1.23456789E+09",
     "OK", AK_OK},
    {"SPEED", "SPEED", "{\"percent\":100}", ",100", "OK", AK_OK},
    {"CALL, AK text with a comma", "CALL", "{\"proc\":\"PickPart\"}", ",PickPart",
     "ERR,41,no such proc, sorry", "\"status\":\"ERR\",\"code\":41,\"text\":\"no such proc, sorry\""},
    {"CALL, 32-character proc", "CALL", "{\"proc\":\"" ID32 "\"}", "," ID32, "OK", AK_OK},
    {"STOP", "STOP", NULL, "", "OK", AK_OK},
};

static void test_wire_bytes(void **state)
{
    static const struct {
        const char *robot;
        bool checksum;
    } robots[] = {{"rob1", false}, {"rob2", true}};
    struct daemon *d = daemon_start(state, CONFIG_RAW);
    struct tclient *w = watcher_connect(d, "[\"AK\"]");
    struct tclient *c = tclient_connect(d);
    for (size_t r = 0; r < 2; r++) {
        int fd = raw_robot(d, w, robots[r].robot);
        for (size_t i = 0; i < sizeof wire_cases / sizeof wire_cases[0]; i++) {
            const struct wire_case *wc = &wire_cases[i];
            long long seq = (long long)i + 1;
            print_message("case: %s to %s\n", wc->name, robots[r].robot);
            char id[16], body[FRAME_BUF], want[FRAME_BUF + 8];
            snprintf(id, sizeof id, "%zu", i);
            send_command(c, robots[r].robot, wc->type, wc->fields, id);
            snprintf(body, sizeof body, "%s,%lld%s", wc->type, seq, wc->tail);
            if (robots[r].checksum)
                frame_with_checksum(body, false, want, sizeof want);
            else
                snprintf(want, sizeof want, "%s\n", body);
            trobot_expect_line(d, fd, want, HARNESS_RECV_MS);
            /* AK with a checksum from the robot that asks for them */
            snprintf(body, sizeof body, "AK,%lld,%lld,%s", 100 + seq, seq, wc->answer);
            if (robots[r].checksum)
                frame_with_checksum(body, true, want, sizeof want);
            else
                snprintf(want, sizeof want, "%s\n", body);
            trobot_send(d, fd, want);
            expect_ack(c, id, robots[r].robot, wc->type, seq, wc->result);
            json_t *ak = wait_ak_frame(w, seq, HARNESS_RECV_MS, NULL);
            check_ak_frame(ak, robots[r].robot, seq, wc->result);
            json_decref(ak);
        }
    }
    daemon_stop(state);
}

/* --- links lost with commands pending ---------------------------------------------- */

/* Two ERRORs robot_offline, one per id (in any order), naming the reason. */
static void expect_two_offline(struct tclient *c, const char *id1, const char *id2, const char *why)
{
    bool got1 = false, got2 = false;
    for (int i = 0; i < 2; i++) {
        json_t *e = command_reply(c, HARNESS_RECV_MS);
        char *idt = json_text(json_object_get(e, "id"));
        bool is1 = strcmp(idt, id1) == 0 && !got1;
        free(idt);
        assert_error(e, is1 ? id1 : id2, "robot_offline", why);
        json_decref(e);
        if (is1)
            got1 = true;
        else
            got2 = true;
    }
    assert_true(got1 && got2);
}

static void test_link_dropped(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_RAW);
    struct tclient *w = watcher_connect(d, "[\"AK\"]");
    struct tclient *c = tclient_connect(d);
    int fd = raw_robot(d, w, "rob1");
    send_command(c, "rob1", "SETDO", "{\"name\":\"doGrip\",\"value\":1}", "\"inflight\"");
    trobot_expect_line(d, fd, "SETDO,1,doGrip,1\n", HARNESS_RECV_MS);
    send_command(c, "rob1", "PING", NULL, "\"queued\"");
    assert_true(trobot_expect_nothing(d, fd));
    trobot_close(d, fd);
    expect_two_offline(c, "\"inflight\"", "\"queued\"", "closed by robot");
    /* and while it is down, at once */
    send_command(c, "rob1", "PING", NULL, "3");
    expect_command_error(c, "3", "robot_offline", NULL);
    expect_no_reply_pending(c);
    daemon_stop(state);
}

static void test_link_replaced(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_RAW);
    struct tclient *w = watcher_connect(d, "[\"AK\"]");
    struct tclient *c = tclient_connect(d);
    int old = raw_robot(d, w, "rob1");
    send_command(c, "rob1", "PING", NULL, "1");
    trobot_expect_line(d, old, "PING,1\n", HARNESS_RECV_MS);
    send_command(c, "rob1", "SPEED", "{\"percent\":20}", "2");
    assert_true(trobot_expect_nothing(d, old));
    int fresh = trobot_hello(d, "rob1");
    expect_two_offline(c, "1", "2", "replaced by a new link");
    assert_true(fd_wait_closed(d, old, HARNESS_RECV_MS));
    /* the new link carries the next command; seqs go on */
    send_command(c, "rob1", "PING", NULL, "3");
    trobot_expect_line(d, fresh, "PING,3\n", HARNESS_RECV_MS);
    trobot_send(d, fresh, "AK,2,3,OK\n");
    expect_ack(c, "3", "rob1", "PING", 3, AK_OK);
    expect_no_reply_pending(c);
    daemon_stop(state);
}

/* --- the command queue ---------------------------------------------------------------- */

/* command_queue 1 and a robot that does not answer: one in flight, one
 * waiting, the third is busy (and takes no seq). STOP does not queue (see
 * bridge/robot.h): it goes out at once beside the command in flight. */
static void test_queue_full(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_QUEUE1);
    struct tclient *w = watcher_connect(d, "[\"AK\"]");
    struct tclient *c = tclient_connect(d);
    int fd = raw_robot(d, w, "rob1");

    send_command(c, "rob1", "PING", NULL, "\"A\"");
    trobot_expect_line(d, fd, "PING,1\n", HARNESS_RECV_MS);
    send_command(c, "rob1", "SETDO", "{\"name\":\"doGrip\",\"value\":1}", "\"B\"");
    assert_true(trobot_expect_nothing(d, fd));
    send_command(c, "rob1", "PING", NULL, "\"C\"");
    expect_command_error(c, "\"C\"", "busy", NULL);
    assert_true(trobot_expect_nothing(d, fd));

    send_command(c, "rob1", "STOP", NULL, "\"S\"");
    trobot_expect_line(d, fd, "STOP,3\n", HARNESS_RECV_MS);
    trobot_send(d, fd, "AK,1,3,OK\n");
    expect_ack(c, "\"S\"", "rob1", "STOP", 3, AK_OK);

    trobot_send(d, fd, "AK,2,1,OK\n");
    expect_ack(c, "\"A\"", "rob1", "PING", 1, AK_OK);
    trobot_expect_line(d, fd, "SETDO,2,doGrip,1\n", HARNESS_RECV_MS);
    trobot_send(d, fd, "AK,3,2,OK\n");
    expect_ack(c, "\"B\"", "rob1", "SETDO", 2, AK_OK);

    /* the queue is free again; busy used no seq */
    send_command(c, "rob1", "PING", NULL, "\"D\"");
    trobot_expect_line(d, fd, "PING,4\n", HARNESS_RECV_MS);
    trobot_send(d, fd, "AK,4,4,OK\n");
    expect_ack(c, "\"D\"", "rob1", "PING", 4, AK_OK);
    expect_no_reply_pending(c);
    daemon_stop(state);
}

/* --- a client that leaves with a command in flight ----------------------------------- */

struct clients_wait {
    struct tclient *q;
    long long want;
};

static bool clients_are(void *ctx)
{
    struct clients_wait *cw = ctx;
    json_t *s = tclient_request(cw->q, "{\"cmd\":\"stats\"}", "STATS", NULL);
    bool ok = json_int_member(s, "clients") == cw->want;
    json_decref(s);
    return ok;
}

/* A closed socket (FIN) looks like a half-closed one, which is still owed
 * its ACK (e2e_stream: "echo request | nc"), so the daemon may keep it until
 * the AK; a reset one is gone at once. Either way the AK must not crash the
 * daemon, must reach the watchers, and must free the robot for the next
 * command, whose ACK goes to its own asker only. */
static const struct {
    const char *name;
    bool reset;
} leave_cases[] = {{"closed (FIN)", false}, {"reset (RST)", true}};

static void test_client_leaves(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_RAW);
    struct tclient *w = watcher_connect(d, "[\"AK\"]");
    struct tclient *q = tclient_connect(d);
    int fd = raw_robot(d, w, "rob1");
    long long seq = 1;
    for (size_t i = 0; i < sizeof leave_cases / sizeof leave_cases[0]; i++, seq += 2) {
        print_message("case: %s\n", leave_cases[i].name);
        struct tclient *c = tclient_connect(d);
        char want[FRAME_BUF], ak_line[FRAME_BUF];
        send_command(c, "rob1", "PING", NULL, "1");
        snprintf(want, sizeof want, "PING,%lld\n", seq);
        trobot_expect_line(d, fd, want, HARNESS_RECV_MS);
        if (leave_cases[i].reset) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
        }
        tclient_close(c);
        struct clients_wait cw = {q, 2};
        if (leave_cases[i].reset)
            assert_true(wait_until(d, clients_are, &cw, HARNESS_RECV_MS));
        else
            daemon_sleep(d, HARNESS_QUIET_MS); /* the daemon has read the FIN */

        snprintf(ak_line, sizeof ak_line, "AK,%lld,%lld,OK\n", seq, seq);
        trobot_send(d, fd, ak_line);
        json_t *ak = wait_ak_frame(w, seq, HARNESS_RECV_MS, NULL);
        check_ak_frame(ak, "rob1", seq, AK_OK);
        json_decref(ak);
        assert_true(wait_until(d, clients_are, &cw, HARNESS_RECV_MS));

        send_command(q, "rob1", "PING", NULL, "2");
        snprintf(want, sizeof want, "PING,%lld\n", seq + 1);
        trobot_expect_line(d, fd, want, HARNESS_RECV_MS);
        snprintf(ak_line, sizeof ak_line, "AK,%lld,%lld,OK\n", seq + 1, seq + 1);
        trobot_send(d, fd, ak_line);
        expect_ack(q, "2", "rob1", "PING", seq + 1, AK_OK);
        expect_no_reply_pending(q);
    }
    daemon_stop(state);
}

/* --- refused before anything reaches the robot ---------------------------------------- */

struct refuse_case {
    const char *name;
    const char *members;    /* the request between {"cmd":"send", and ,"id":N} */
    const char *code;
};

#define SETDO_NAME(n) "\"robot\":\"rob1\",\"type\":\"SETDO\",\"fields\":{\"name\":" n ",\"value\":1}"
#define SETDO_VALUE(v) \
    "\"robot\":\"rob1\",\"type\":\"SETDO\",\"fields\":{\"name\":\"doGrip\",\"value\":" v "}"
#define CALL_PROC(p) "\"robot\":\"rob1\",\"type\":\"CALL\",\"fields\":{\"proc\":" p "}"

static const struct refuse_case refuse_cases[] = {
    {"name with a comma", SETDO_NAME("\"do,Grip\""), "bad_field"},
    {"name with a star", SETDO_NAME("\"doGrip*7F\""), "bad_field"},
    {"name with CR", SETDO_NAME("\"doGrip\\r\""), "bad_field"},
    {"name with LF and a second frame", SETDO_NAME("\"doGrip\\nSTOP,9\""), "bad_field"},
    {"name with CR LF", SETDO_NAME("\"doGrip,1\\r\\nSTOP,9\""), "bad_field"},
    {"name non-ASCII (UTF-8)", SETDO_NAME("\"doGrip\xc3\xa9\""), "bad_field"},
    {"name non-ASCII (escaped)", SETDO_NAME("\"do\\u00e9\""), "bad_field"},
    {"name with a control byte", SETDO_NAME("\"do\\u0001Grip\""), "bad_field"},
    {"name with DEL", SETDO_NAME("\"doGrip\\u007f\""), "bad_field"},
    {"name with a space", SETDO_NAME("\"do Grip\""), "bad_field"},
    {"name of 33 characters", SETDO_NAME("\"a" ID32 "\""), "bad_field"},
    {"name starting with a digit", SETDO_NAME("\"1doGrip\""), "bad_field"},
    {"name empty", SETDO_NAME("\"\""), "bad_field"},
    {"name a number", SETDO_NAME("5"), "bad_field"},
    {"name null", SETDO_NAME("null"), "bad_field"},
    {"proc with a comma", CALL_PROC("\"Home,PickPart\""), "bad_field"},
    {"proc with LF", CALL_PROC("\"Home\\n\""), "bad_field"},
    {"value 2", SETDO_VALUE("2"), "bad_field"},
    {"value -1", SETDO_VALUE("-1"), "bad_field"},
    {"value 0.5", SETDO_VALUE("0.5"), "bad_field"},
    {"value a string", SETDO_VALUE("\"1\""), "bad_field"},
    {"value true", SETDO_VALUE("true"), "bad_field"},
    {"value an array", SETDO_VALUE("[1]"), "bad_field"},
    {"SPEED 0", "\"robot\":\"rob1\",\"type\":\"SPEED\",\"fields\":{\"percent\":0}", "bad_field"},
    {"SPEED 101", "\"robot\":\"rob1\",\"type\":\"SPEED\",\"fields\":{\"percent\":101}", "bad_field"},
    {"SETREG index 0", "\"robot\":\"rob1\",\"type\":\"SETREG\",\"fields\":{\"index\":0,\"value\":1}",
     "bad_field"},
    {"SETREG index 101",
     "\"robot\":\"rob1\",\"type\":\"SETREG\",\"fields\":{\"index\":101,\"value\":1}", "bad_field"},
    {"SETREG value over the RAPID num range",
     "\"robot\":\"rob1\",\"type\":\"SETREG\",\"fields\":{\"index\":1,\"value\":1e39}", "bad_field"},
    {"SETREG value a string",
     "\"robot\":\"rob1\",\"type\":\"SETREG\",\"fields\":{\"index\":1,\"value\":\"1\"}", "bad_field"},
    {"missing field", "\"robot\":\"rob1\",\"type\":\"SETDO\",\"fields\":{\"name\":\"doGrip\"}",
     "bad_field"},
    {"no fields at all", "\"robot\":\"rob1\",\"type\":\"SETDO\"", "bad_field"},
    {"unknown field", "\"robot\":\"rob1\",\"type\":\"SETDO\",\"fields\":{\"name\":\"doGrip\","
     "\"value\":1,\"force\":1}", "bad_field"},
    {"PING with a field", "\"robot\":\"rob1\",\"type\":\"PING\",\"fields\":{\"x\":1}", "bad_field"},
    {"fields an array", "\"robot\":\"rob1\",\"type\":\"SETDO\",\"fields\":[\"doGrip\",1]",
     "bad_request"},
    {"fields a string", "\"robot\":\"rob1\",\"type\":\"PING\",\"fields\":\"x\"", "bad_request"},
    {"no type", "\"robot\":\"rob1\"", "bad_request"},
    {"type not a string", "\"robot\":\"rob1\",\"type\":5", "bad_request"},
    {"unknown type", "\"robot\":\"rob1\",\"type\":\"NOPE\"", "unknown_type"},
    {"type in lower case", "\"robot\":\"rob1\",\"type\":\"ping\"", "unknown_type"},
    {"frame from the robot JT", "\"robot\":\"rob1\",\"type\":\"JT\",\"fields\":{\"joints\":[0,0,0,"
     "0,0,0]}", "unknown_type"},
    {"frame from the robot AK", "\"robot\":\"rob1\",\"type\":\"AK\"", "unknown_type"},
    {"type with a comma", "\"robot\":\"rob1\",\"type\":\"PING,1\\nSTOP\"", "unknown_type"},
    {"STOP not in rob1's commands", "\"robot\":\"rob1\",\"type\":\"STOP\"", "forbidden"},
    {"forbidden before bad_field", "\"robot\":\"rob1\",\"type\":\"STOP\",\"fields\":{\"x\":1}",
     "forbidden"},
    {"unknown robot", "\"robot\":\"rob9\",\"type\":\"PING\"", "unknown_robot"},
    {"rob2 not linked", "\"robot\":\"rob2\",\"type\":\"PING\"", "robot_offline"},
    {"bad_field before robot_offline",
     "\"robot\":\"rob2\",\"type\":\"SETDO\",\"fields\":{\"name\":\"do,Grip\",\"value\":1}",
     "bad_field"},
};

static void test_refused(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_REFUSE);
    struct tclient *w = watcher_connect(d, "[\"AK\"]");
    struct tclient *c = tclient_connect(d);
    int fd = raw_robot(d, w, "rob1");
    for (size_t i = 0; i < sizeof refuse_cases / sizeof refuse_cases[0]; i++) {
        const struct refuse_case *rc = &refuse_cases[i];
        print_message("case: %s\n", rc->name);
        char req[REQ_MAX], id[16];
        snprintf(req, sizeof req, "{\"cmd\":\"send\",%s,\"id\":%zu}", rc->members, i);
        snprintf(id, sizeof id, "%zu", i);
        tclient_send(c, req);
        expect_command_error(c, id, rc->code, NULL);
    }
    assert_true(trobot_expect_nothing(d, fd));
    /* the first command that passes is the first the robot sees: seq 1 */
    send_command(c, "rob1", "CALL", "{\"proc\":\"" ID32 "\"}", "\"ok\"");
    trobot_expect_line(d, fd, "CALL,1," ID32 "\n", HARNESS_RECV_MS);
    trobot_send(d, fd, "AK,1,1,OK\n");
    expect_ack(c, "\"ok\"", "rob1", "CALL", 1, AK_OK);
    expect_no_reply_pending(c);
    daemon_stop(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sim_round_trip, daemon_teardown),
        cmocka_unit_test_teardown(test_two_clients, daemon_teardown),
        cmocka_unit_test_teardown(test_timeout_dropped_acks, daemon_teardown),
        cmocka_unit_test_teardown(test_timeout_late_ack, daemon_teardown),
        cmocka_unit_test_teardown(test_wire_bytes, daemon_teardown),
        cmocka_unit_test_teardown(test_link_dropped, daemon_teardown),
        cmocka_unit_test_teardown(test_link_replaced, daemon_teardown),
        cmocka_unit_test_teardown(test_queue_full, daemon_teardown),
        cmocka_unit_test_teardown(test_client_leaves, daemon_teardown),
        cmocka_unit_test_teardown(test_refused, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
