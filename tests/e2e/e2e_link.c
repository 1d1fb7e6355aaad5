/* e2e_link.c - the robot link of the real daemon: hello, refusal, hello
 * timeout, replacement, idle timeout, bad frames (interface v1 section 1). */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define CLOSE_MS 2000      /* a refused link must be closed well before any timeout */

/* rob2 may only link from 127.0.0.2; the tests connect from 127.0.0.1. */
static const char CONFIG[] =
    "{\"robots\":[{\"name\":\"rob1\",\"peer\":\"127.0.0.1\",\"commands\":[\"PING\"]},"
    "{\"name\":\"rob2\",\"peer\":\"127.0.0.2\"}]}";
static const char CONFIG_HELLO_SHORT[] =
    "{\"robots\":[{\"name\":\"rob1\"}],\"limits\":{\"hello_timeout\":0.3}}";
static const char CONFIG_IDLE_SHORT[] =
    "{\"robots\":[{\"name\":\"rob1\"}],\"limits\":{\"idle_timeout\":0.3}}";

static const char JT_ZERO[] = "JT,1,0,0,0,0,0,0\n";

/* The entry of a robot in the robots reply (new reference). */
static json_t *robot_entry(struct tclient *c, const char *name)
{
    json_t *r = tclient_request(c, "{\"cmd\":\"robots\"}", "ROBOTS", NULL);
    json_t *list = json_object_get(r, "robots");
    assert_true(json_is_array(list));
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *n = json_str(e, "name");
        if (n != NULL && strcmp(n, name) == 0) {
            json_incref(e);
            json_decref(r);
            return e;
        }
    }
    fail_msg("robot %s missing from the robots reply", name);
    return NULL;
}

static json_t *stats_errors(struct tclient *c)
{
    json_t *s = tclient_request(c, "{\"cmd\":\"stats\"}", "STATS", NULL);
    json_t *e = json_object_get(s, "errors");
    assert_true(json_is_object(e));
    json_incref(e);
    json_decref(s);
    return e;
}

/* The next LINK object from a watcher (FRAMEs skipped). */
static json_t *next_link(struct tclient *c)
{
    return tclient_wait_class(c, "LINK", HARNESS_RECV_MS, NULL);
}

static void expect_link_up(struct tclient *w, const char *robot, int fd)
{
    char peer[64], want[160];
    fd_local_addr(fd, peer, sizeof peer);
    snprintf(want, sizeof want,
             "{\"class\":\"LINK\",\"robot\":\"%s\",\"state\":\"up\",\"peer\":\"%s\"}", robot, peer);
    json_t *l = next_link(w);
    assert_json_eq(l, want, NULL);
    json_decref(l);
}

static void expect_link_down(struct tclient *w, const char *robot, const char *reason)
{
    char want[160];
    snprintf(want, sizeof want,
             "{\"class\":\"LINK\",\"robot\":\"%s\",\"state\":\"down\",\"reason\":\"%s\"}", robot,
             reason);
    json_t *l = next_link(w);
    assert_json_eq(l, want, NULL);
    json_decref(l);
}

/* --- accepted hellos ------------------------------------------------------- */

struct hello_case {
    const char *name;
    const char *hi;         /* the first bytes the robot sends */
};

static void test_hello_accepted(void **state)
{
    char with_sum[64];
    frame_with_checksum("HI,4,rob1,1,RW 6.15", false, with_sum, sizeof with_sum);
    const struct hello_case cases[] = {
        {"plain, sw given", "HI,1,rob1,1,e2e\n"},
        {"sw absent", "HI,2,rob1,1\n"},
        {"sw text with commas", "HI,3,rob1,1,RobotWare 6.15, IRB 1200, cell 2\n"},
        {"checksum", with_sum},
        {"CR LF", "HI,5,rob1,1,e2e\r\n"},
    };
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        int fd = trobot_connect(d);
        trobot_send(d, fd, cases[i].hi);
        expect_link_up(w, "rob1", fd);

        char peer[64];
        fd_local_addr(fd, peer, sizeof peer);
        json_t *e = robot_entry(w, "rob1");
        json_t *peer_j = json_pack("{s:s, s:b, s:s, s:i}", "name", "rob1", "connected", 1, "peer",
                                   peer, "errors", 0);
        char *want = json_text(peer_j);
        assert_json_has(e, want);
        free(want);
        json_decref(peer_j);
        double since = json_number_value(json_object_get(e, "since"));
        assert_true(json_is_number(json_object_get(e, "since")));
        assert_true(since > now_unix() - 60 && since < now_unix() + 60);
        json_int_member(e, "frames_in");
        json_decref(e);

        /* frames flow on the new link */
        trobot_send(d, fd, "JT,77,1,2,3,4,5,6\n");
        json_decref(tclient_wait_frame(w, "JT", 77, HARNESS_RECV_MS, NULL));

        trobot_close(d, fd);
        expect_link_down(w, "rob1", "closed by robot");
        e = robot_entry(w, "rob1");
        assert_json_has(e, "{\"connected\":false}");
        json_decref(e);
    }
    /* a robot that never linked has no peer and no since */
    json_t *e = robot_entry(w, "rob2");
    assert_json_eq(e, "{\"name\":\"rob2\",\"connected\":false,\"frames_in\":0,\"errors\":0}", NULL);
    json_decref(e);
    daemon_stop(state);
}

/* --- refused hellos ---------------------------------------------------------- */

struct refuse_case {
    const char *name;
    const char *bytes;
    int before_hello;       /* counted as before_hello */
    const char *log;        /* the log must mention this */
};

static const struct refuse_case refuse_cases[] = {
    {"unknown robot name", "HI,1,nobody,1\n", 0, "nobody"},
    {"wrong peer address", "HI,1,rob2,1\n", 0, "rob2"},
    {"JT before HI", "JT,1,0,0,0,0,0,0\n", 1, NULL},
    {"HB before HI", "HB,1\n", 1, NULL},
    {"ST then HI in one write", "ST,1,RUNNING,AUTO,ON,100\nHI,2,rob1,1\n", 1, NULL},
};

static void test_hello_refused(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    int before_hello = 0;
    for (size_t i = 0; i < sizeof refuse_cases / sizeof refuse_cases[0]; i++) {
        const struct refuse_case *rc = &refuse_cases[i];
        print_message("case: %s\n", rc->name);
        int fd = trobot_connect(d);
        trobot_send(d, fd, rc->bytes);
        assert_true(fd_wait_closed(d, fd, CLOSE_MS));
        trobot_close(d, fd);
        if (rc->log != NULL)
            assert_true(daemon_wait_log(d, rc->log, HARNESS_RECV_MS));

        /* nothing was published: the stats reply comes before any stream object */
        json_t *skipped = json_array();
        json_t *s = tclient_request(w, "{\"cmd\":\"stats\"}", "STATS", skipped);
        assert_int_equal(json_array_size(skipped), 0);
        before_hello += rc->before_hello;
        assert_int_equal(json_int_member(json_object_get(s, "errors"), "before_hello"),
                         before_hello);
        assert_int_equal(json_int_member(s, "robots_connected"), 0);
        assert_int_equal(json_int_member(s, "frames_in"), 0);
        json_decref(s);
        json_decref(skipped);
    }
    json_t *e = robot_entry(w, "rob1");
    assert_json_has(e, "{\"connected\":false}");
    json_decref(e);
    daemon_stop(state);
}

/* --- hello timeout ----------------------------------------------------------- */

static void test_hello_timeout(void **state)
{
    static const char *const silent[] = {"", "HI,1,ro"}; /* nothing / a partial HI */
    struct daemon *d = daemon_start(state, CONFIG_HELLO_SHORT);
    struct tclient *w = watcher_connect(d, NULL);
    for (size_t i = 0; i < sizeof silent / sizeof silent[0]; i++) {
        print_message("case: sends \"%s\"\n", silent[i]);
        int fd = trobot_connect(d);
        trobot_send(d, fd, silent[i]);
        assert_true(fd_wait_closed(d, fd, 3000));
        trobot_close(d, fd);
    }
    json_t *skipped = json_array();
    json_t *s = tclient_request(w, "{\"cmd\":\"stats\"}", "STATS", skipped);
    assert_int_equal(json_array_size(skipped), 0);
    assert_int_equal(json_int_member(s, "robots_connected"), 0);
    json_decref(s);
    json_decref(skipped);
    /* a robot that says HI in time is still accepted */
    int fd = trobot_hello(d, "rob1");
    expect_link_up(w, "rob1", fd);
    daemon_stop(state);
}

/* --- replacement ---------------------------------------------------------------- */

static void test_link_replaced(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    int old_fd = trobot_hello(d, "rob1");
    expect_link_up(w, "rob1", old_fd);

    int new_fd = trobot_hello(d, "rob1");
    assert_true(fd_wait_closed(d, old_fd, CLOSE_MS));
    expect_link_down(w, "rob1", "replaced by a new link");
    expect_link_up(w, "rob1", new_fd);

    trobot_send(d, new_fd, "JT,9,1,2,3,4,5,6\n");
    json_decref(tclient_wait_frame(w, "JT", 9, HARNESS_RECV_MS, NULL));
    char peer[64];
    fd_local_addr(new_fd, peer, sizeof peer);
    json_t *e = robot_entry(w, "rob1");
    assert_true(json_is_true(json_object_get(e, "connected")));
    assert_string_equal(json_str(e, "peer"), peer);
    json_decref(e);
    json_t *s = tclient_request(w, "{\"cmd\":\"stats\"}", "STATS", NULL);
    assert_int_equal(json_int_member(s, "robots_connected"), 1);
    json_decref(s);
    daemon_stop(state);
}

/* --- idle timeout ----------------------------------------------------------------- */

static void test_idle_timeout(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_IDLE_SHORT);
    struct tclient *w = watcher_connect(d, NULL);
    int fd = trobot_hello(d, "rob1");
    expect_link_up(w, "rob1", fd);

    /* HB every 50 ms for a second keeps a 0.3 s idle timeout from firing */
    for (int i = 0; i < 20; i++) {
        char hb[32];
        snprintf(hb, sizeof hb, "HB,%d\n", i + 2);
        trobot_send(d, fd, hb);
        daemon_sleep(d, 50);
    }
    json_t *skipped = json_array();
    json_t *s = tclient_request(w, "{\"cmd\":\"stats\"}", "STATS", skipped);
    size_t i;
    json_t *m;
    json_array_foreach(skipped, i, m) assert_string_not_equal(json_str(m, "class"), "LINK");
    assert_int_equal(json_int_member(s, "robots_connected"), 1);
    json_decref(s);
    json_decref(skipped);

    /* then silence */
    expect_link_down(w, "rob1", "idle timeout");
    assert_true(fd_wait_closed(d, fd, CLOSE_MS));
    json_t *e = robot_entry(w, "rob1");
    assert_json_has(e, "{\"connected\":false}");
    json_decref(e);
    daemon_stop(state);
}

/* --- bad frames ---------------------------------------------------------------------- */

struct bad_case {
    const char *name;
    const char *bytes;      /* NULL: built by the test (too long) */
    const char *cause;      /* key in stats errors */
};

static const struct bad_case bad_cases[] = {
    {"line of 1100 bytes", NULL, "too_long"},
    {"control byte", "JT,2,0,0,0,0,0,\001\n", "non_printable"},
    {"UTF-8 byte", "EV,3,I,1,caf\303\251\n", "non_printable"},
    {"CR inside the line", "JT,4,0\r,0,0,0,0,0\n", "non_printable"},
    {"wrong checksum", "HB,5*00\n", "bad_checksum"},
    {"unknown type", "ZZ,6,2\n", "unknown_type"},
    {"command type from the robot", "PING,7\n", "unknown_type"},
    {"too few JT fields", "JT,8,1,2,3\n", "field_count"},
    {"too many JT fields", "JT,9,1,2,3,4,5,6,7\n", "field_count"},
    {"HB with a field", "HB,10,1\n", "field_count"},
    {"speed above 100", "ST,11,RUNNING,AUTO,ON,101\n", "bad_value"},
    {"enum value unknown", "ST,12,WALKING,AUTO,ON,50\n", "bad_value"},
    {"joint not a number", "JT,13,a,0,0,0,0,0\n", "bad_value"},
    {"hex number", "JT,14,0x10,0,0,0,0,0\n", "bad_value"},
    {"inf", "JT,15,inf,0,0,0,0,0\n", "bad_value"},
    {"IO name not an identifier", "IO,16,1abc,1\n", "bad_value"},
    {"int field with a fraction", "CF,17,0,0,0,0.5,tool0,wobj0\n", "bad_value"},
    {"seq of six digits", "JT,123456,0,0,0,0,0,0\n", "bad_value"},
    {"empty required field", "JT,18,,0,0,0,0,0\n", "bad_value"},
};

static const char *const causes[] = {"too_long",  "non_printable", "bad_checksum", "unknown_type",
                                     "field_count", "bad_value",   "before_hello"};

static void test_bad_frames(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, NULL);
    int fd = trobot_hello(d, "rob1");
    expect_link_up(w, "rob1", fd);
    trobot_send(d, fd, JT_ZERO);
    json_decref(tclient_wait_frame(w, "JT", 1, HARNESS_RECV_MS, NULL));

    char too_long[1200];
    memset(too_long, '1', sizeof too_long);
    memcpy(too_long, "JT,1,", 5);
    too_long[1100] = '\n';
    too_long[1101] = '\0';

    json_t *want = json_object();
    for (size_t k = 0; k < sizeof causes / sizeof causes[0]; k++)
        json_object_set_new(want, causes[k], json_integer(0));
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *bc = &bad_cases[i];
        print_message("case: %s\n", bc->name);
        trobot_send(d, fd, bc->bytes ? bc->bytes : too_long);
        /* the next good frame is the next thing published */
        char good[64];
        long long seq = 1000 + (long long)i;
        snprintf(good, sizeof good, "JT,%lld,1,2,3,4,5,6\n", seq);
        trobot_send(d, fd, good);
        json_t *skipped = json_array();
        json_decref(tclient_wait_frame(w, "JT", seq, HARNESS_RECV_MS, skipped));
        assert_int_equal(json_array_size(skipped), 0);
        json_decref(skipped);

        json_object_set_new(want, bc->cause,
                            json_integer(json_integer_value(json_object_get(want, bc->cause)) + 1));
        json_t *errs = stats_errors(w);
        char *want_text = json_text(want);
        assert_json_eq(errs, want_text, NULL);
        free(want_text);
        json_decref(errs);
        json_t *e = robot_entry(w, "rob1");
        assert_json_has(e, "{\"connected\":true}");
        assert_int_equal(json_int_member(e, "errors"), (long long)i + 1);
        json_decref(e);
    }
    json_decref(want);
    daemon_stop(state);
}

/* Bad frames are logged at most about once per second per robot. */
static size_t count_in_log(struct daemon *d, const char *needle)
{
    daemon_pump(d);
    size_t n = 0;
    for (const char *p = d->log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_bad_frame_log_rate(void **state)
{
    /* -v: debug logging on, so its paths run too */
    struct daemon *d = daemon_start_args(state, CONFIG, (const char *const[]){"-v", NULL});
    struct tclient *w = watcher_connect(d, NULL);
    int fd = trobot_hello(d, "rob1");
    expect_link_up(w, "rob1", fd);
    char burst[100 * 32];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(burst + n, "ST,%d,RUNNING,AUTO,ON,101\n", i);
    trobot_write(d, fd, burst, n);
    trobot_send(d, fd, "JT,500,0,0,0,0,0,0\n");
    json_decref(tclient_wait_frame(w, "JT", 500, HARNESS_RECV_MS, NULL));
    json_t *errs = stats_errors(w);
    assert_int_equal(json_int_member(errs, "bad_value"), 100);
    json_decref(errs);
    size_t lines = count_in_log(d, "rob1: dropped a bad frame");
    assert_true(lines >= 1 && lines <= 2);

    /* a second later the next bad frame is reported again */
    daemon_sleep(d, 1200);
    trobot_send(d, fd, "ST,600,RUNNING,AUTO,ON,101\n");
    trobot_send(d, fd, "JT,601,0,0,0,0,0,0\n");
    json_decref(tclient_wait_frame(w, "JT", 601, HARNESS_RECV_MS, NULL));
    daemon_sleep(d, 100);
    assert_int_equal(count_in_log(d, "rob1: dropped a bad frame"), lines + 1);
    daemon_stop(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_hello_accepted, daemon_teardown),
        cmocka_unit_test_teardown(test_hello_refused, daemon_teardown),
        cmocka_unit_test_teardown(test_hello_timeout, daemon_teardown),
        cmocka_unit_test_teardown(test_link_replaced, daemon_teardown),
        cmocka_unit_test_teardown(test_idle_timeout, daemon_teardown),
        cmocka_unit_test_teardown(test_bad_frames, daemon_teardown),
        cmocka_unit_test_teardown(test_bad_frame_log_rate, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
