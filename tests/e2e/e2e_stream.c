/* e2e_stream.c - the JSON client API of the real daemon: FRAME output for
 * every built-in type, reassembly, watch filters, state/robots/version/stats
 * replies, request errors and the connection limits (interface v1 section 2). */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define TIME_SLACK 1.0      /* s: FRAME time vs. the test's clock around the send */
#define COALESCED 200       /* frames written in one write */

static const char CONFIG[] =
    "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"PING\",\"SETDO\"]},{\"name\":\"rob2\"}]}";
static const char CONFIG_TWO_CLIENTS[] =
    "{\"robots\":[{\"name\":\"rob1\"}],\"limits\":{\"max_clients\":2}}";

static const char *const IGNORE_TIME[] = {"time", NULL};

/* A linked robot, with the LINK up consumed from watcher w. */
static int linked_robot(struct daemon *d, struct tclient *w, const char *name)
{
    int fd = trobot_hello(d, name);
    json_t *l = tclient_wait_class(w, "LINK", HARNESS_RECV_MS, NULL);
    assert_json_has(l, "{\"state\":\"up\"}");
    assert_string_equal(json_str(l, "robot"), name);
    json_decref(l);
    return fd;
}

/* --- frames -> FRAME objects ------------------------------------------------ */

struct frame_case {
    const char *name;
    const char *line;       /* what the robot sends */
    const char *json;       /* the FRAME, without "time" */
};

#define ENV(type, seq) "{\"class\":\"FRAME\",\"robot\":\"rob1\",\"type\":\"" type "\",\"seq\":" #seq
static const struct frame_case frame_cases[] = {
    {"JT", "JT,5,10,20.5,-30,40.25,0,-180\n",
     ENV("JT", 5) ",\"joints\":[10.0,20.5,-30.0,40.25,0.0,-180.0]}"},
    {"JT in RAPID number formats", "JT,6,1E+02,.25,+3,-0.5,1e-1,12.35\n",
     ENV("JT", 6) ",\"joints\":[100.0,0.25,3.0,-0.5,0.1,12.35]}"},
    {"JT seq 0", "JT,0,0,0,0,0,0,0\n", ENV("JT", 0) ",\"joints\":[0.0,0.0,0.0,0.0,0.0,0.0]}"},
    {"JT seq 99999", "JT,99999,1,1,1,1,1,1\n",
     ENV("JT", 99999) ",\"joints\":[1.0,1.0,1.0,1.0,1.0,1.0]}"},
    {"JT with CR LF", "JT,7,1,2,3,4,5,6\r\n", ENV("JT", 7) ",\"joints\":[1.0,2.0,3.0,4.0,5.0,6.0]}"},
    {"PS", "PS,8,100.5,-200,300,1,0,0,0\n",
     ENV("PS", 8) ",\"pos\":[100.5,-200.0,300.0],\"quat\":[1.0,0.0,0.0,0.0]}"},
    {"PS rotated", "PS,9,0,0,0,0.70711,0,0.70711,0\n",
     ENV("PS", 9) ",\"pos\":[0.0,0.0,0.0],\"quat\":[0.70711,0.0,0.70711,0.0]}"},
    {"CF", "CF,10,0,-1,2,1,tool0,wobj0\n",
     ENV("CF", 10) ",\"conf\":[0,-1,2,1],\"tool\":\"tool0\",\"wobj\":\"wobj0\"}"},
    {"ST running", "ST,11,RUNNING,AUTO,ON,100\n",
     ENV("ST", 11) ",\"exec\":\"RUNNING\",\"mode\":\"AUTO\",\"motors\":\"ON\",\"speed\":100}"},
    {"ST stopped", "ST,12,STOPPED,MANR,OFF,0\n",
     ENV("ST", 12) ",\"exec\":\"STOPPED\",\"mode\":\"MANR\",\"motors\":\"OFF\",\"speed\":0}"},
    {"IO digital", "IO,13,doGrip,1\n", ENV("IO", 13) ",\"name\":\"doGrip\",\"value\":1.0}"},
    {"IO analog", "IO,14,ai_Pressure2,-2.5\n",
     ENV("IO", 14) ",\"name\":\"ai_Pressure2\",\"value\":-2.5}"},
    {"EV text with commas", "EV,15,W,10012,Door open, cell 2\n",
     ENV("EV", 15) ",\"severity\":\"W\",\"code\":10012,\"text\":\"Door open, cell 2\"}"},
    {"EV empty text", "EV,16,E,1,\n", ENV("EV", 16) ",\"severity\":\"E\",\"code\":1,\"text\":\"\"}"},
    {"EJ with absent axes", "EJ,17,9E9,100,9E+09,9000000000,-45.5,9E9\n",
     ENV("EJ", 17) ",\"extax\":[null,100.0,null,null,-45.5,null]}"},
};

static void expect_frame(struct tclient *w, const char *want, double t0, double t1)
{
    json_t *skipped = json_array();
    json_t *f = tclient_wait_class(w, "FRAME", HARNESS_RECV_MS, skipped);
    /* only LINK objects may come in between (the HI frame, if published) */
    size_t i;
    json_t *m;
    json_array_foreach(skipped, i, m) assert_string_equal(json_str(m, "class"), "LINK");
    json_decref(skipped);
    json_t *t = json_object_get(f, "time");
    assert_true(json_is_real(t));
    assert_true(json_real_value(t) >= t0 - TIME_SLACK && json_real_value(t) <= t1 + TIME_SLACK);
    assert_json_eq(f, want, IGNORE_TIME);
    json_decref(f);
}

/* Drain until the FRAME of this seq, so a table starts from a known point. */
static void sync_frame(struct tclient *w, const char *type, long long seq)
{
    json_decref(tclient_wait_frame(w, type, seq, HARNESS_RECV_MS, NULL));
}

static void test_frames_rendered(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    int fd = linked_robot(d, w, "rob1");
    trobot_send(d, fd, "JT,1,0,0,0,0,0,0\n");
    sync_frame(w, "JT", 1);
    for (size_t i = 0; i < sizeof frame_cases / sizeof frame_cases[0]; i++) {
        print_message("case: %s\n", frame_cases[i].name);
        double t0 = now_unix();
        trobot_send(d, fd, frame_cases[i].line);
        expect_frame(w, frame_cases[i].json, t0, now_unix());
    }
    /* checksums in upper and lower case hex */
    static const struct {
        const char *body;
        bool lower;
        const char *json;
    } sums[] = {
        {"JT,20,1,2,3,4,5,6", false, ENV("JT", 20) ",\"joints\":[1.0,2.0,3.0,4.0,5.0,6.0]}"},
        {"ST,21,RUNNING,AUTO,ON,55", true,
         ENV("ST", 21) ",\"exec\":\"RUNNING\",\"mode\":\"AUTO\",\"motors\":\"ON\",\"speed\":55}"},
    };
    for (size_t i = 0; i < 2; i++) {
        print_message("case: checksum %s\n", sums[i].body);
        char line[128];
        frame_with_checksum(sums[i].body, sums[i].lower, line, sizeof line);
        double t0 = now_unix();
        trobot_send(d, fd, line);
        expect_frame(w, sums[i].json, t0, now_unix());
    }
    daemon_stop(state);
}

/* --- reassembly ------------------------------------------------------------- */

static void expect_seq_run(struct tclient *w, long long from, long long to)
{
    for (long long s = from; s <= to; s++) {
        json_t *f = tclient_expect_class(w, "FRAME", HARNESS_RECV_MS);
        assert_int_equal(json_int_member(f, "seq"), s);
        json_decref(f);
    }
}

static void test_split_and_coalesced(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    int fd = trobot_hello(d, "rob1");
    struct tclient *w = watcher_connect(d, NULL);
    trobot_send(d, fd, "JT,1,0,0,0,0,0,0\n");
    sync_frame(w, "JT", 1);

    /* one byte per write */
    const char *slow = "JT,2,1,2,3,4,5,6\r\nST,3,RUNNING,AUTO,ON,100\n";
    for (const char *p = slow; *p; p++) {
        trobot_write(d, fd, p, 1);
        daemon_sleep(d, 2);
    }
    expect_seq_run(w, 2, 3);

    /* many frames in one write */
    char *buf = malloc(COALESCED * 64);
    assert_non_null(buf);
    size_t n = 0;
    for (int i = 0; i < COALESCED; i++)
        n += (size_t)sprintf(buf + n, "JT,%d,%d,0,0,0,0,0\n", 100 + i, i);
    trobot_write(d, fd, buf, n);
    expect_seq_run(w, 100, 100 + COALESCED - 1);

    /* frames cut at odd places across writes */
    n = 0;
    for (int i = 0; i < 10; i++)
        n += (size_t)sprintf(buf + n, "JT,%d,1.5,2.5,3.5,4.5,5.5,6.5\n", 500 + i);
    for (size_t off = 0, step = 7; off < n; off += step, step = step * 3 % 41 + 1) {
        size_t len = off + step > n ? n - off : step;
        trobot_write(d, fd, buf + off, len);
        daemon_sleep(d, 1);
    }
    expect_seq_run(w, 500, 509);
    free(buf);
    daemon_stop(state);
}

/* --- watch filters -------------------------------------------------------------- */

/* "FRAME rob1 JT 1" or "LINK rob1 up", one per stream object, HI frames left
 * out (whether HI is published is not this test's concern). */
static void summarize(const json_t *msgs, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const char *cls = json_str(m, "class");
        if (strcmp(cls, "FRAME") == 0) {
            if (strcmp(json_str(m, "type"), "HI") == 0)
                continue;
            len += (size_t)snprintf(out + len, n - len, "FRAME %s %s %lld; ", json_str(m, "robot"),
                                    json_str(m, "type"), json_int_member(m, "seq"));
        } else {
            len += (size_t)snprintf(out + len, n - len, "%s %s %s; ", cls,
                                    json_str(m, "robot") ? json_str(m, "robot") : "-",
                                    json_str(m, "state") ? json_str(m, "state") : "-");
        }
        assert_true(len < n);
    }
}

struct filter_case {
    const char *name;
    const char *before;     /* a request sent before watch, or NULL */
    const char *watch;      /* NULL: never watches */
    const char *echo;       /* the WATCH reply */
    const char *stream;     /* summary of what it must receive */
};

static const struct filter_case filter_cases[] = {
    {"everything", NULL, "{\"cmd\":\"watch\"}", "{\"class\":\"WATCH\",\"enable\":true}",
     "LINK rob1 up; FRAME rob1 JT 1; FRAME rob1 ST 2; FRAME rob1 IO 4; "
     "LINK rob2 up; FRAME rob2 JT 1; FRAME rob2 ST 2; LINK rob1 down; "},
    {"robot rob1", NULL, "{\"cmd\":\"watch\",\"robots\":[\"rob1\"]}",
     "{\"class\":\"WATCH\",\"enable\":true,\"robots\":[\"rob1\"]}",
     "LINK rob1 up; FRAME rob1 JT 1; FRAME rob1 ST 2; FRAME rob1 IO 4; LINK rob1 down; "},
    {"type ST (LINK not filtered by type)", NULL,
     "{\"cmd\":\"watch\",\"enable\":true,\"types\":[\"ST\"]}",
     "{\"class\":\"WATCH\",\"enable\":true,\"types\":[\"ST\"]}",
     "LINK rob1 up; FRAME rob1 ST 2; LINK rob2 up; FRAME rob2 ST 2; LINK rob1 down; "},
    {"rob2 JT and IO", NULL, "{\"cmd\":\"watch\",\"robots\":[\"rob2\"],\"types\":[\"JT\",\"IO\"]}",
     "{\"class\":\"WATCH\",\"enable\":true,\"robots\":[\"rob2\"],\"types\":[\"JT\",\"IO\"]}",
     "LINK rob2 up; FRAME rob2 JT 1; "},
    {"both robots, type EV", NULL,
     "{\"cmd\":\"watch\",\"robots\":[\"rob1\",\"rob2\"],\"types\":[\"EV\"]}",
     "{\"class\":\"WATCH\",\"enable\":true,\"robots\":[\"rob1\",\"rob2\"],\"types\":[\"EV\"]}",
     "LINK rob1 up; LINK rob2 up; LINK rob1 down; "},
    {"a new watch replaces the filter", "{\"cmd\":\"watch\",\"robots\":[\"rob1\"]}",
     "{\"cmd\":\"watch\",\"types\":[\"IO\"]}",
     "{\"class\":\"WATCH\",\"enable\":true,\"types\":[\"IO\"]}",
     "LINK rob1 up; FRAME rob1 IO 4; LINK rob2 up; LINK rob1 down; "},
    {"watch, then enable false", "{\"cmd\":\"watch\"}", "{\"cmd\":\"watch\",\"enable\":false}",
     "{\"class\":\"WATCH\",\"enable\":false}", ""},
    {"never watches", NULL, NULL, NULL, ""},
};

#define NFILTER (sizeof filter_cases / sizeof filter_cases[0])

static void test_watch_filters(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *c[NFILTER];
    for (size_t i = 0; i < NFILTER; i++) {
        const struct filter_case *fc = &filter_cases[i];
        c[i] = tclient_connect(d);
        if (fc->before != NULL)
            json_decref(tclient_request(c[i], fc->before, "WATCH", NULL));
        if (fc->watch == NULL)
            continue;
        json_t *r = tclient_request(c[i], fc->watch, "WATCH", NULL);
        assert_json_eq(r, fc->echo, NULL);
        json_decref(r);
    }
    /* a probe watcher tells when the daemon has handled each step */
    struct tclient *probe = watcher_connect(d, NULL);
    int r1 = trobot_hello(d, "rob1");
    trobot_send(d, r1, "JT,1,0,0,0,0,0,0\nST,2,RUNNING,AUTO,ON,100\nHB,3\nIO,4,doGrip,1\n");
    json_decref(tclient_wait_frame(probe, "IO", 4, HARNESS_RECV_MS, NULL));
    int r2 = trobot_hello(d, "rob2");
    trobot_send(d, r2, "JT,1,0,0,0,0,0,0\nST,2,RUNNING,AUTO,ON,100\nHB,3\n");
    json_decref(tclient_wait_frame(probe, "ST", 2, HARNESS_RECV_MS, NULL));
    trobot_close(d, r1);
    json_t *l = tclient_wait_class(probe, "LINK", HARNESS_RECV_MS, NULL);
    assert_json_eq(l, "{\"class\":\"LINK\",\"robot\":\"rob1\",\"state\":\"down\","
                      "\"reason\":\"closed by robot\"}",
                   NULL);
    json_decref(l);

    for (size_t i = 0; i < NFILTER; i++) {
        print_message("case: %s\n", filter_cases[i].name);
        /* a reply comes after every stream object queued before the request */
        json_t *msgs = json_array();
        json_decref(tclient_request(c[i], "{\"cmd\":\"version\"}", "VERSION", msgs));
        char got[1024];
        summarize(msgs, got, sizeof got);
        json_decref(msgs);
        assert_string_equal(got, filter_cases[i].stream);
    }
    daemon_stop(state);
}

/* enable:false stops the stream; watching again restarts it. */
static void test_watch_disable(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *probe = watcher_connect(d, NULL);
    int fd = linked_robot(d, w, "rob1");
    trobot_send(d, fd, "JT,1,0,0,0,0,0,0\n");
    json_decref(tclient_wait_frame(w, "JT", 1, HARNESS_RECV_MS, NULL));

    json_t *r = tclient_request(w, "{\"cmd\":\"watch\",\"enable\":false,\"id\":1}", "WATCH", NULL);
    assert_json_eq(r, "{\"class\":\"WATCH\",\"id\":1,\"enable\":false}", NULL);
    json_decref(r);
    trobot_send(d, fd, "JT,2,0,0,0,0,0,0\n");
    json_decref(tclient_wait_frame(probe, "JT", 2, HARNESS_RECV_MS, NULL));
    json_t *msgs = json_array();
    json_decref(tclient_request(w, "{\"cmd\":\"version\"}", "VERSION", msgs));
    assert_int_equal(json_array_size(msgs), 0);
    json_decref(msgs);

    json_decref(tclient_request(w, "{\"cmd\":\"watch\",\"types\":[\"JT\"]}", "WATCH", NULL));
    trobot_send(d, fd, "ST,3,RUNNING,AUTO,ON,1\nJT,4,0,0,0,0,0,0\n");
    json_t *f = tclient_expect_class(w, "FRAME", HARNESS_RECV_MS);
    assert_int_equal(json_int_member(f, "seq"), 4);
    json_decref(f);
    daemon_stop(state);
}

/* --- state, robots, version, stats ---------------------------------------------- */

static void test_state_reply(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *q = tclient_connect(d);

    json_t *s = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob1\",\"id\":\"s0\"}", "STATE", NULL);
    assert_json_eq(s, "{\"class\":\"STATE\",\"id\":\"s0\",\"robot\":\"rob1\",\"connected\":false,"
                      "\"stale\":true,\"frames\":{},\"io\":{}}",
                   NULL);
    json_decref(s);

    int fd = linked_robot(d, w, "rob1");
    trobot_send(d, fd, "JT,1,1,2,3,4,5,6\nST,2,RUNNING,AUTO,ON,100\nIO,3,doGrip,1\n"
                      "IO,4,aiP,2.5\nJT,5,6,5,4,3,2,1\nHB,6\nIO,7,doGrip,0\n");
    json_t *jt = tclient_wait_frame(w, "JT", 5, HARNESS_RECV_MS, NULL);
    json_t *io = tclient_wait_frame(w, "IO", 7, HARNESS_RECV_MS, NULL);

    s = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob1\",\"id\":3}", "STATE", NULL);
    assert_json_has(s, "{\"class\":\"STATE\",\"id\":3,\"robot\":\"rob1\",\"connected\":true,"
                       "\"stale\":false}");
    json_t *frames = json_object_get(s, "frames");
    assert_true(json_is_object(frames));
    /* Each frame is the FRAME that was streamed, plus its age. */
    const char *k;
    json_t *v;
    json_object_foreach(frames, k, v)
    {
        json_t *age = json_object_get(v, "age");
        assert_true(json_is_real(age) && json_real_value(age) >= 0 && json_real_value(age) < 60);
        json_object_del(v, "age");
    }
    assert_true(json_equal(json_object_get(frames, "JT"), jt));
    assert_true(json_equal(json_object_get(frames, "IO"), io));
    json_t *st = json_object_get(frames, "ST");
    assert_json_eq(st, ENV("ST", 2) ",\"exec\":\"RUNNING\",\"mode\":\"AUTO\",\"motors\":\"ON\",\"speed\":100}",
                   IGNORE_TIME);
    assert_null(json_object_get(frames, "HB"));
    json_object_foreach(frames, k, v)
    {
        if (strcmp(k, "HI") != 0 && strcmp(k, "JT") != 0 && strcmp(k, "IO") != 0 && strcmp(k, "ST") != 0)
            fail_msg("unexpected type %s in state frames", k);
    }
    json_t *iom = json_object_get(s, "io");
    assert_true(json_is_object(iom));
    assert_int_equal(json_object_size(iom), 2);
    assert_true(json_is_number(json_object_get(iom, "doGrip")));
    assert_true(json_number_value(json_object_get(iom, "doGrip")) == 0.0);
    assert_true(json_number_value(json_object_get(iom, "aiP")) == 2.5);
    json_decref(s);
    json_decref(jt);
    json_decref(io);

    /* the other robot is untouched */
    s = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob2\"}", "STATE", NULL);
    assert_json_eq(s, "{\"class\":\"STATE\",\"robot\":\"rob2\",\"connected\":false,"
                      "\"stale\":true,\"frames\":{},\"io\":{}}",
                   NULL);
    json_decref(s);
    daemon_stop(state);
}

static void test_robots_version_stats(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *q = tclient_connect(d);

    json_t *v = tclient_request(q, "{\"cmd\":\"version\",\"id\":1}", "VERSION", NULL);
    assert_json_eq(v, "{\"class\":\"VERSION\",\"id\":1,\"proto_major\":1,\"proto_minor\":0}",
                   (const char *const[]){"release", NULL});
    assert_non_null(json_str(v, "release"));
    json_decref(v);

    json_t *r = tclient_request(q, "{\"cmd\":\"robots\",\"id\":[1,\"x\"]}", "ROBOTS", NULL);
    assert_json_eq(r, "{\"class\":\"ROBOTS\",\"id\":[1,\"x\"],\"robots\":["
                      "{\"name\":\"rob1\",\"connected\":false,\"frames_in\":0,\"errors\":0},"
                      "{\"name\":\"rob2\",\"connected\":false,\"frames_in\":0,\"errors\":0}]}",
                   NULL);
    json_decref(r);

    json_t *s0 = tclient_request(q, "{\"cmd\":\"stats\",\"id\":\"a\"}", "STATS", NULL);
    assert_json_has(s0, "{\"id\":\"a\",\"clients\":2,\"robots_connected\":0,\"drops\":0,"
                        "\"disconnects\":0,\"errors\":{\"too_long\":0,\"non_printable\":0,"
                        "\"bad_checksum\":0,\"unknown_type\":0,\"field_count\":0,"
                        "\"bad_value\":0,\"before_hello\":0}}");
    assert_true(json_is_number(json_object_get(s0, "uptime")));
    assert_true(json_number_value(json_object_get(s0, "uptime")) >= 0);
    json_int_member(s0, "frames_in");
    json_int_member(s0, "frames_out");

    /* LINK up is published while HI is handled, so HI is counted by now */
    int fd = linked_robot(d, w, "rob1");
    json_t *s1 = tclient_request(q, "{\"cmd\":\"stats\"}", "STATS", NULL);
    trobot_send(d, fd, "JT,2,0,0,0,0,0,0\nJT,3,0,0,0,0,0,0\nST,4,RUNNING,AUTO,ON,1\n");
    json_decref(tclient_wait_frame(w, "ST", 4, HARNESS_RECV_MS, NULL));
    json_t *s2 = tclient_request(q, "{\"cmd\":\"stats\"}", "STATS", NULL);
    assert_int_equal(json_int_member(s2, "frames_in") - json_int_member(s1, "frames_in"), 3);
    assert_true(json_int_member(s2, "frames_out") >= json_int_member(s1, "frames_out"));
    assert_int_equal(json_int_member(s2, "robots_connected"), 1);
    assert_int_equal(json_int_member(s2, "clients"), 2);

    r = tclient_request(q, "{\"cmd\":\"robots\"}", "ROBOTS", NULL);
    json_t *e = json_array_get(json_object_get(r, "robots"), 0);
    assert_json_has(e, "{\"name\":\"rob1\",\"connected\":true,\"errors\":0}");
    assert_true(json_int_member(e, "frames_in") >= 3);
    json_decref(r);
    json_decref(s0);
    json_decref(s1);
    json_decref(s2);

    struct tclient *extra = tclient_connect(d);
    json_t *s3 = tclient_request(extra, "{\"cmd\":\"stats\"}", "STATS", NULL);
    assert_int_equal(json_int_member(s3, "clients"), 3);
    json_decref(s3);
    daemon_stop(state);
}

/* --- request errors ------------------------------------------------------------ */

struct error_case {
    const char *name;
    const char *request;
    const char *code;
    const char *id;         /* the echoed id as JSON text, NULL = no id member */
};

static const struct error_case error_cases[] = {
    {"not JSON", "hello", "bad_json", NULL},
    {"JSON array", "[1,2]", "bad_json", NULL},
    {"JSON string", "\"version\"", "bad_json", NULL},
    {"truncated object", "{\"cmd\":\"version\"", "bad_json", NULL},
    {"no cmd", "{}", "bad_request", NULL},
    {"no cmd, id echoed", "{\"id\":5}", "bad_request", "5"},
    {"cmd not a string", "{\"cmd\":5,\"id\":\"a\"}", "bad_request", "\"a\""},
    {"unknown cmd, object id", "{\"cmd\":\"fly\",\"id\":{\"k\":[1,2]}}", "unknown_cmd",
     "{\"k\":[1,2]}"},
    {"unknown cmd, real id", "{\"id\":2.5,\"cmd\":\"FLY\"}", "unknown_cmd", "2.5"},
    {"state without robot", "{\"cmd\":\"state\"}", "bad_request", NULL},
    {"state robot not a string", "{\"cmd\":\"state\",\"robot\":5}", "bad_request", NULL},
    {"state unknown robot", "{\"cmd\":\"state\",\"robot\":\"nobody\",\"id\":7}", "unknown_robot", "7"},
    {"watch robots not an array", "{\"cmd\":\"watch\",\"robots\":\"rob1\"}", "bad_request", NULL},
    {"watch robot not a string", "{\"cmd\":\"watch\",\"robots\":[1]}", "bad_request", NULL},
    {"watch types not an array", "{\"cmd\":\"watch\",\"types\":\"JT\"}", "bad_request", NULL},
    {"watch enable not a bool", "{\"cmd\":\"watch\",\"enable\":\"yes\"}", "bad_request", NULL},
    {"watch unknown robot", "{\"cmd\":\"watch\",\"robots\":[\"rob1\",\"nobody\"],\"id\":8}",
     "unknown_robot", "8"},
    {"watch unknown type", "{\"cmd\":\"watch\",\"types\":[\"JT\",\"XX\"],\"id\":9}", "unknown_type", "9"},
    {"send without robot", "{\"cmd\":\"send\",\"type\":\"PING\"}", "bad_request", NULL},
    {"send unknown robot", "{\"cmd\":\"send\",\"robot\":\"nobody\",\"type\":\"PING\"}",
     "unknown_robot", NULL},
    {"send to an offline robot", "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"PING\",\"id\":3}",
     "robot_offline", "3"},
    {"send SETDO to an offline robot",
     "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\",\"fields\":{\"name\":\"doGrip\","
     "\"value\":1},\"id\":\"x\"}",
     "robot_offline", "\"x\""},
};

static void test_request_errors(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *c = tclient_connect(d);
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *ec = &error_cases[i];
        print_message("case: %s\n", ec->name);
        tclient_request_error(c, ec->request, ec->id, ec->code, NULL);
    }
    /* the connection survived every error */
    json_decref(tclient_request(c, "{\"cmd\":\"version\"}", "VERSION", NULL));
    daemon_stop(state);
}

/* Commands the daemon refuses before anything reaches the robot. */
static void test_send_refused(void **state)
{
    static const struct error_case cases[] = {
        {"type not in rob1's commands",
         "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SPEED\",\"fields\":{\"percent\":50},\"id\":4}",
         "forbidden", "4"},
        {"rob2 allows no commands", "{\"cmd\":\"send\",\"robot\":\"rob2\",\"type\":\"PING\",\"id\":5}",
         "forbidden", "5"},
        {"unknown command type", "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"NOPE\",\"id\":6}",
         "unknown_type", "6"},
    };
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    int fd1 = linked_robot(d, w, "rob1");
    int fd2 = linked_robot(d, w, "rob2");
    struct tclient *c = tclient_connect(d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        tclient_request_error(c, cases[i].request, cases[i].id, cases[i].code, NULL);
    }
    /* nothing was written to either robot */
    char buf[256];
    daemon_sleep(d, HARNESS_QUIET_MS);
    assert_int_equal(recv(fd1, buf, sizeof buf, MSG_DONTWAIT), -1);
    assert_int_equal(recv(fd2, buf, sizeof buf, MSG_DONTWAIT), -1);
    daemon_stop(state);
}

/* --- input line handling ---------------------------------------------------------- */

static void test_request_lines(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *c = tclient_connect(d);

    /* blank lines are ignored; CR LF accepted; unknown members ignored */
    tclient_send_raw(c, "\n   \n\t\r\n", 8);
    tclient_send(c, "{\"cmd\":\"version\",\"id\":1,\"colour\":\"blue\"}\r\n");
    json_t *v = tclient_expect_class(c, "VERSION", HARNESS_RECV_MS);
    assert_int_equal(json_int_member(v, "id"), 1);
    json_decref(v);

    /* a request split over writes */
    tclient_send_raw(c, "{\"cmd\":\"ver", 11);
    daemon_sleep(d, 50);
    tclient_send_raw(c, "sion\",\"id\":2}", 13);
    daemon_sleep(d, 50);
    tclient_send_raw(c, "\n", 1);
    v = tclient_expect_class(c, "VERSION", HARNESS_RECV_MS);
    assert_int_equal(json_int_member(v, "id"), 2);
    json_decref(v);

    /* two requests in one write: replies in order */
    tclient_send(c, "{\"cmd\":\"version\",\"id\":3}\n{\"cmd\":\"stats\",\"id\":4}\n");
    v = tclient_expect_class(c, "VERSION", HARNESS_RECV_MS);
    assert_int_equal(json_int_member(v, "id"), 3);
    json_decref(v);
    v = tclient_expect_class(c, "STATS", HARNESS_RECV_MS);
    assert_int_equal(json_int_member(v, "id"), 4);
    json_decref(v);
    daemon_stop(state);
}

/* A version request padded with spaces to exactly len bytes before the LF. */
static char *padded_request(size_t len)
{
    const char *head = "{\"cmd\":\"version\",\"id\":\"long\"}";
    char *s = malloc(len + 2);
    assert_non_null(s);
    memset(s, ' ', len);
    memcpy(s, head, strlen(head));
    s[len] = '\n';
    s[len + 1] = '\0';
    return s;
}

static void test_line_too_long(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *other = tclient_connect(d);

    /* 65536 bytes is the longest line accepted */
    struct tclient *c = tclient_connect(d);
    char *line = padded_request(65536);
    tclient_send(c, line);
    free(line);
    json_t *v = tclient_expect_class(c, "VERSION", HARNESS_RECV_MS);
    assert_string_equal(json_str(v, "id"), "long");
    json_decref(v);

    static const size_t too_long[] = {65537, 70000};
    for (size_t i = 0; i < 2; i++) {
        print_message("case: %zu bytes\n", too_long[i]);
        c = tclient_connect(d);
        line = padded_request(too_long[i]);
        tclient_send(c, line);
        free(line);
        json_t *e = tclient_expect_class(c, "ERROR", HARNESS_RECV_MS);
        assert_json_eq(e, "{\"class\":\"ERROR\",\"code\":\"line_too_long\"}",
                       (const char *const[]){"message", NULL});
        json_decref(e);
        assert_true(tclient_wait_closed(c, HARNESS_RECV_MS));
        tclient_close(c);
    }
    /* a line without LF that grows too long */
    c = tclient_connect(d);
    line = padded_request(70000);
    tclient_send_raw(c, line, 70000);
    free(line);
    json_t *e = tclient_expect_class(c, "ERROR", HARNESS_RECV_MS);
    assert_string_equal(json_str(e, "code"), "line_too_long");
    json_decref(e);
    assert_true(tclient_wait_closed(c, HARNESS_RECV_MS));

    json_decref(tclient_request(other, "{\"cmd\":\"version\"}", "VERSION", NULL));
    daemon_stop(state);
}

struct connect_try {
    struct daemon *d;
};

/* True when a new connection gets the VERSION banner (not busy). */
static bool can_connect(void *ctx)
{
    struct connect_try *t = ctx;
    struct tclient *c = tclient_connect_raw(t->d);
    json_t *j = tclient_recv_json(c, HARNESS_RECV_MS);
    bool ok = strcmp(json_str(j, "class"), "VERSION") == 0;
    json_decref(j);
    tclient_close(c);
    return ok;
}

static void test_busy(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_TWO_CLIENTS);
    struct tclient *c1 = tclient_connect(d);
    struct tclient *c2 = tclient_connect(d);
    for (int i = 0; i < 2; i++) {
        struct tclient *c3 = tclient_connect_raw(d);
        json_t *e = tclient_expect_class(c3, "ERROR", HARNESS_RECV_MS);
        assert_json_eq(e, "{\"class\":\"ERROR\",\"code\":\"busy\"}",
                       (const char *const[]){"message", NULL});
        json_decref(e);
        assert_true(tclient_wait_closed(c3, HARNESS_RECV_MS));
        tclient_close(c3);
    }
    /* the two stay served */
    json_decref(tclient_request(c2, "{\"cmd\":\"version\"}", "VERSION", NULL));
    json_t *s = tclient_request(c1, "{\"cmd\":\"stats\"}", "STATS", NULL);
    assert_int_equal(json_int_member(s, "clients"), 2);
    json_decref(s);
    /* a freed place is given to the next connection */
    tclient_close(c1);
    struct connect_try t = {d};
    assert_true(wait_until(d, can_connect, &t, HARNESS_RECV_MS));
    daemon_stop(state);
}

/* --- shutdown and the simulator ------------------------------------------------------ */

static void test_shutdown_bye(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *c = tclient_connect(d);
    linked_robot(d, w, "rob1");
    daemon_term(d);
    json_t *b = tclient_expect_class(c, "BYE", HARNESS_RECV_MS);
    assert_json_eq(b, "{\"class\":\"BYE\",\"reason\":\"shutdown\"}", NULL);
    json_decref(b);
    assert_true(tclient_wait_closed(c, HARNESS_RECV_MS));
    b = tclient_wait_class(w, "BYE", HARNESS_RECV_MS, NULL);
    json_decref(b);
    assert_true(tclient_wait_closed(w, HARNESS_RECV_MS));
    daemon_stop(state);
}

/* "echo request | nc": a client that half-closes after its request still
 * gets every reply, a command's ACK included, and is then closed. */
static void test_half_closed_client_gets_replies(void **state)
{
    struct daemon *d = daemon_start(state,
        "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"PING\"]}]}");
    int rob = trobot_hello(d, "rob1");
    struct tclient *c = tclient_connect(d);
    tclient_send(c, "{\"cmd\":\"version\",\"id\":1}\n{\"cmd\":\"send\",\"robot\":\"rob1\","
                   "\"type\":\"PING\",\"id\":2}");
    assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
    json_t *v = tclient_expect_class(c, "VERSION", HARNESS_RECV_MS);
    assert_int_equal(json_int_member(v, "id"), 1);
    json_decref(v);
    char got[64];
    ssize_t n = 0;
    for (int i = 0; i < 100 && n <= 0; i++) {
        n = recv(rob, got, sizeof got - 1, MSG_DONTWAIT);
        if (n <= 0)
            daemon_sleep(d, 20);
    }
    assert_true(n > 0);
    got[n] = '\0';
    assert_string_equal(got, "PING,1\n");
    daemon_sleep(d, 300); /* the client waits with its input closed */
    trobot_send(d, rob, "AK,2,1,OK\n");
    json_t *ack = tclient_expect_class(c, "ACK", HARNESS_RECV_MS);
    assert_int_equal(json_int_member(ack, "id"), 2);
    json_decref(ack);
    assert_true(tclient_wait_closed(c, HARNESS_RECV_MS));
    daemon_stop(state);
}

static void test_simulator_streams(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    sim_start(d, (const char *const[]){"--name", "rob1", "--rate", "50", NULL});
    json_t *l = tclient_wait_class(w, "LINK", 5000, NULL);
    assert_json_has(l, "{\"robot\":\"rob1\",\"state\":\"up\"}");
    json_decref(l);
    static const char *const types[] = {"JT", "PS", "CF", "ST"};
    bool seen[4] = {false};
    int left = 4;
    for (int n = 0; left > 0 && n < 1000; n++) {
        json_t *f = tclient_wait_class(w, "FRAME", 5000, NULL);
        for (int i = 0; i < 4; i++)
            if (!seen[i] && strcmp(json_str(f, "type"), types[i]) == 0) {
                seen[i] = true;
                left--;
            }
        json_decref(f);
    }
    assert_int_equal(left, 0);
    daemon_stop(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_frames_rendered, daemon_teardown),
        cmocka_unit_test_teardown(test_split_and_coalesced, daemon_teardown),
        cmocka_unit_test_teardown(test_watch_filters, daemon_teardown),
        cmocka_unit_test_teardown(test_watch_disable, daemon_teardown),
        cmocka_unit_test_teardown(test_state_reply, daemon_teardown),
        cmocka_unit_test_teardown(test_robots_version_stats, daemon_teardown),
        cmocka_unit_test_teardown(test_request_errors, daemon_teardown),
        cmocka_unit_test_teardown(test_send_refused, daemon_teardown),
        cmocka_unit_test_teardown(test_request_lines, daemon_teardown),
        cmocka_unit_test_teardown(test_line_too_long, daemon_teardown),
        cmocka_unit_test_teardown(test_busy, daemon_teardown),
        cmocka_unit_test_teardown(test_shutdown_bye, daemon_teardown),
        cmocka_unit_test_teardown(test_half_closed_client_gets_replies, daemon_teardown),
        cmocka_unit_test_teardown(test_simulator_streams, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
