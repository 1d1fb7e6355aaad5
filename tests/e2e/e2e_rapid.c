/* e2e_rapid.c - robot-sim behaving like rapid-examples/ (issue 13), through
 * the real daemon: what STOP does outside a CALL (--stop-mode cycle, the
 * default, and path), the CALL prefix, and the CALL hand-over when the motion
 * task is stopped before, inside or after it, with and without a warm start
 * (--call-stop, --warm-start; rapid-examples/README.md, "Stop, power failure
 * and warm start", has the table these tests follow).
 *
 * The effect of a CALL is RemotePickPart setting doGrip to 1: a CALL that
 * must never run late is checked by doGrip staying 0 after the motion task
 * went on. All on loopback, every wait bounded.
 */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define REQ_MAX 512
#define REPLY_MS 8000        /* a command's ACK/ERROR (a caught CALL waits up to STOP_TIME) */
#define STOP_TIME "2.6"      /* --call-stop-time: longer than the 2 s a CALL may wait */
#define STOP_TIME_MS 2600
#define TAKE_TIME_MS 2000    /* CALL_TAKE_TIME of robot-sim, RB_CALL_TAKE_TIME of RAPID */
#define SETTLE_MS 600        /* after the motion task went on: long enough for a late CALL */
#define STILL_MS 600         /* the arm is still when no JT comes for this long */

static const char CONFIG[] =
    "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"PING\",\"SETDO\",\"SETREG\",\"SPEED\","
    "\"CALL\",\"STOP\"]}]}";

/* --- clients ---------------------------------------------------------------- */

static void send_command(struct tclient *c, const char *type, const char *fields, const char *id)
{
    char req[REQ_MAX];
    int n = snprintf(req, sizeof req, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"%s\"%s%s,"
                     "\"id\":%s}", type, fields ? ",\"fields\":" : "", fields ? fields : "", id);
    assert_true(n > 0 && (size_t)n < sizeof req);
    tclient_send(c, req);
}

/* The next ACK or ERROR, stream objects skipped. */
static json_t *command_reply(struct tclient *c, int ms)
{
    for (;;) {
        json_t *j = tclient_try_recv(c, ms);
        if (j == NULL) {
            daemon_print_log_tail(c->d);
            fail_msg("no ACK or ERROR within %d ms", ms);
        }
        const char *cls = json_str(j, "class");
        if (strcmp(cls, "ACK") == 0 || strcmp(cls, "ERROR") == 0)
            return j;
        json_decref(j);
    }
}

/* The reply to a command must have the members in want (JSON text). */
static void expect_reply(struct tclient *c, const char *want)
{
    json_t *r = command_reply(c, REPLY_MS);
    assert_json_has(r, want);
    json_decref(r);
}

static void wait_link_up(struct tclient *w, int ms)
{
    for (;;) {
        json_t *l = tclient_wait_class(w, "LINK", ms, NULL);
        bool up = strcmp(json_str(l, "state"), "up") == 0;
        json_decref(l);
        if (up)
            return;
    }
}

/* A FRAME of this type with these members from the watcher, others skipped;
 * a FRAME of type forbid (unless NULL) on the way fails the test. */
static void wait_frame_no(struct tclient *w, const char *type, const char *members, int ms,
                          const char *forbid)
{
    json_t *want = json_must(members);
    for (;;) {
        json_t *f = tclient_try_recv(w, ms);
        if (f == NULL) {
            daemon_print_log_tail(w->d);
            fail_msg("no %s frame with %s within %d ms", type, members, ms);
        }
        bool frame = strcmp(json_str(f, "class"), "FRAME") == 0 && json_str(f, "type") != NULL;
        if (frame && forbid != NULL && strcmp(json_str(f, "type"), forbid) == 0) {
            char *t = json_text(f);
            print_error("unexpected: %s\n", t);
            free(t);
            fail_msg("a %s frame came while waiting for %s %s", forbid, type, members);
        }
        bool match = frame && strcmp(json_str(f, "type"), type) == 0;
        const char *k;
        json_t *v;
        json_object_foreach(want, k, v) if (match && !json_equal(json_object_get(f, k), v)) match = false;
        json_decref(f);
        if (match)
            break;
    }
    json_decref(want);
}

static void wait_frame(struct tclient *w, const char *type, const char *members, int ms)
{
    wait_frame_no(w, type, members, ms, NULL);
}

/* Frames of type the watcher gets in the next ms. */
static int count_frames(struct tclient *w, const char *type, int ms)
{
    long long end = now_unix() * 1000 + ms;
    int n = 0;
    for (;;) {
        long long left = end - (long long)(now_unix() * 1000);
        if (left <= 0)
            return n;
        json_t *f = tclient_try_recv(w, (int)left);
        if (f == NULL)
            return n;
        const char *t = json_str(f, "type");
        if (strcmp(json_str(f, "class"), "FRAME") == 0 && t != NULL && strcmp(t, type) == 0)
            n++;
        json_decref(f);
    }
}

/* rob1's latest doGrip from STATE (the IO map), -1 when not reported yet. */
static double grip(struct tclient *q)
{
    json_t *s = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", "STATE", NULL);
    json_t *v = json_object_get(json_object_get(s, "io"), "doGrip");
    double g = json_is_number(v) ? json_number_value(v) : -1;
    json_decref(s);
    return g;
}

/* robot-sim with --rate 20 and the extra arguments, linked; doGrip known. */
static void start_sim(struct daemon *d, struct tclient *w, struct tclient *q, const char *const *extra)
{
    const char *args[16] = {"--name", "rob1", "--rate", "20"};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i]; i++) {
        assert_true(n + 1 < sizeof args / sizeof args[0]);
        args[n++] = extra[i];
    }
    args[n] = NULL;
    sim_start(d, args);
    wait_link_up(w, 5000);
    wait_frame(w, "IO", "{\"name\":\"doGrip\"}", 5000);
    assert_true(grip(q) == 0.0);
}

/* --- STOP outside a CALL ---------------------------------------------------------- */

/* Default (rbStopMode "CYCLE"): the cycle ends, the arm stands still, the
 * motion task runs on; the next CALL moves it again. */
static void test_stop_ends_cycle(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, "[\"JT\",\"IO\",\"ST\"]");
    struct tclient *c = tclient_connect(d), *q = tclient_connect(d);
    start_sim(d, w, q, NULL);
    assert_true(count_frames(w, "JT", 300) > 0);

    send_command(c, "STOP", NULL, "1");
    expect_reply(c, "{\"class\":\"ACK\",\"status\":\"OK\"}");
    count_frames(w, "JT", 200); /* frames already on their way */
    assert_int_equal(count_frames(w, "JT", STILL_MS), 0);
    json_t *s = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", "STATE", NULL);
    assert_json_has(json_object_get(json_object_get(s, "frames"), "ST"), "{\"exec\":\"RUNNING\"}");
    json_decref(s);

    send_command(c, "CALL", "{\"proc\":\"RemotePickPart\"}", "2");
    expect_reply(c, "{\"class\":\"ACK\",\"status\":\"OK\"}");
    assert_true(count_frames(w, "JT", 300) > 0);
    daemon_stop(state);
}

/* --stop-mode path (rbStopMode "PATH"): the path is cleared and the program
 * goes on moving. */
static void test_stop_path_only(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, "[\"JT\",\"IO\"]");
    struct tclient *c = tclient_connect(d), *q = tclient_connect(d);
    start_sim(d, w, q, (const char *const[]){"--stop-mode", "path", NULL});

    send_command(c, "STOP", NULL, "1");
    expect_reply(c, "{\"class\":\"ACK\",\"status\":\"OK\"}");
    count_frames(w, "JT", 200);
    assert_true(count_frames(w, "JT", STILL_MS) >= 3);
    daemon_stop(state);
}

/* --- the CALL prefix ------------------------------------------------------------ */

static void test_call_prefix(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, "[\"IO\"]");
    struct tclient *c = tclient_connect(d), *q = tclient_connect(d);
    start_sim(d, w, q, NULL);

    static const struct {
        const char *proc, *text;
    } refused[] = {
        {"PickPart", "not callable: PickPart"},     /* no prefix */
        {"main", "not callable: main"},
        {"RbMotionInit", "not callable: RbMotionInit"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char fields[REQ_MAX], want[REQ_MAX];
        snprintf(fields, sizeof fields, "{\"proc\":\"%s\"}", refused[i].proc);
        snprintf(want, sizeof want, "{\"class\":\"ACK\",\"status\":\"ERR\",\"code\":46,"
                 "\"text\":\"%s\"}", refused[i].text);
        send_command(c, "CALL", fields, "1");
        expect_reply(c, want);
    }
    assert_true(grip(q) == 0.0);
    /* case does not matter, as in RAPID */
    send_command(c, "CALL", "{\"proc\":\"remotePICKPART\"}", "2");
    expect_reply(c, "{\"class\":\"ACK\",\"status\":\"OK\"}");
    assert_true(grip(q) == 1.0);
    daemon_stop(state);
}

/* Another prefix: the sim's Remote... procedures are refused. */
static void test_call_other_prefix(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = watcher_connect(d, "[\"IO\"]");
    struct tclient *c = tclient_connect(d), *q = tclient_connect(d);
    start_sim(d, w, q, (const char *const[]){"--call-prefix", "Cell", NULL});
    send_command(c, "CALL", "{\"proc\":\"RemotePickPart\"}", "1");
    expect_reply(c, "{\"class\":\"ACK\",\"status\":\"ERR\",\"code\":46,"
                    "\"text\":\"not callable: RemotePickPart\"}");
    send_command(c, "CALL", "{\"proc\":\"CellPickPart\"}", "2");
    expect_reply(c, "{\"class\":\"ACK\",\"status\":\"ERR\",\"code\":41,"
                    "\"text\":\"unknown procedure CellPickPart\"}");
    assert_true(grip(q) == 0.0);
    daemon_stop(state);
}

/* --- the hand-over with the motion task stopped ------------------------------------ */

/* A caught CALL RemotePickPart; the motion task goes on after STOP_TIME. */
static void start_caught(void **state, struct daemon **dp, struct tclient **w, struct tclient **c,
                         struct tclient **q, const char *point, bool warm)
{
    struct daemon *d = daemon_start(state, CONFIG);
    *w = watcher_connect(d, "[\"IO\",\"ST\",\"AK\"]");
    *c = tclient_connect(d);
    *q = tclient_connect(d);
    const char *extra[] = {"--call-stop", point, "--call-stop-time", STOP_TIME,
                           warm ? "--warm-start" : NULL, NULL};
    start_sim(d, *w, *q, extra);
    send_command(*c, "CALL", "{\"proc\":\"RemotePickPart\"}", "\"caught\"");
    if (warm) {
        /* the link drops at once, the ST that said STOPPED with it */
        expect_reply(*c, "{\"class\":\"ERROR\",\"id\":\"caught\",\"code\":\"robot_offline\"}");
        wait_link_up(*w, 5000);
    }
    wait_frame_no(*w, "ST", "{\"exec\":\"STOPPED\"}", HARNESS_RECV_MS, warm ? "AK" : NULL);
    *dp = d;
}

/* The motion task went on, and a late CALL had time to show; with forbid
 * "AK", no AK may come on the way (none is awaited after a warm start). */
static void wait_motion_back(struct tclient *w, const char *forbid)
{
    wait_frame_no(w, "ST", "{\"exec\":\"RUNNING\"}", STOP_TIME_MS + 3000, forbid);
    daemon_sleep(w->d, SETTLE_MS);
}

/* A new CALL is taken at once: nothing left busy. */
static void expect_call_works(struct tclient *c, struct tclient *q)
{
    send_command(c, "CALL", "{\"proc\":\"RemotePickPart\"}", "\"new\"");
    expect_reply(c, "{\"class\":\"ACK\",\"id\":\"new\",\"status\":\"OK\"}");
    assert_true(grip(q) == 1.0);
}

/* Before M3: withdrawn after 2 s with ERR 45, never run. */
static void test_stopped_before(void **state)
{
    struct daemon *d;
    struct tclient *w, *c, *q;
    double t0 = now_unix();
    start_caught(state, &d, &w, &c, &q, "before", false);
    expect_reply(c, "{\"class\":\"ACK\",\"id\":\"caught\",\"status\":\"ERR\",\"code\":45,"
                    "\"text\":\"motion task did not take the CALL\"}");
    assert_true((now_unix() - t0) * 1000 >= TAKE_TIME_MS - 100);
    wait_motion_back(w, NULL);
    assert_true(grip(q) == 0.0);
    expect_call_works(c, q);
    daemon_stop(state);
}

/* Between M3 and M4: the link task sees it taken and waits; the motion task
 * then finds it withdrawn: ERR 45 when it goes on, never run. */
static void test_stopped_inside(void **state)
{
    struct daemon *d;
    struct tclient *w, *c, *q;
    double t0 = now_unix();
    start_caught(state, &d, &w, &c, &q, "inside", false);
    expect_reply(c, "{\"class\":\"ACK\",\"id\":\"caught\",\"status\":\"ERR\",\"code\":45,"
                    "\"text\":\"withdrawn: not taken in time\"}");
    assert_true((now_unix() - t0) * 1000 >= STOP_TIME_MS - 100);
    daemon_sleep(d, SETTLE_MS);
    assert_true(grip(q) == 0.0);
    expect_call_works(c, q);
    daemon_stop(state);
}

/* After M4: the CALL was started; it goes on when the motion task does, and
 * is answered OK then. */
static void test_stopped_after(void **state)
{
    struct daemon *d;
    struct tclient *w, *c, *q;
    double t0 = now_unix();
    start_caught(state, &d, &w, &c, &q, "after", false);
    expect_reply(c, "{\"class\":\"ACK\",\"id\":\"caught\",\"status\":\"OK\"}");
    assert_true((now_unix() - t0) * 1000 >= STOP_TIME_MS - 100);
    assert_true(grip(q) == 1.0);
    daemon_stop(state);
}

static void expect_no_ak(struct tclient *w)
{
    assert_int_equal(count_frames(w, "AK", SETTLE_MS), 0);
}

/* Warm start before M3: the link task withdraws it when it starts again;
 * the motion task, going on later, never runs it, and nothing stays busy. */
static void test_warm_start_before(void **state)
{
    struct daemon *d;
    struct tclient *w, *c, *q;
    start_caught(state, &d, &w, &c, &q, "before", true);
    wait_motion_back(w, "AK");
    expect_no_ak(w);
    assert_true(grip(q) == 0.0);
    expect_call_works(c, q);
    daemon_stop(state);
}

/* Warm start once taken (inside or after): the CALL runs when the motion
 * task goes on, without an AK. */
static void warm_start_taken(void **state, const char *point)
{
    struct daemon *d;
    struct tclient *w, *c, *q;
    start_caught(state, &d, &w, &c, &q, point, true);
    wait_frame_no(w, "IO", "{\"name\":\"doGrip\",\"value\":1.0}", STOP_TIME_MS + 3000, "AK");
    expect_no_ak(w);
    assert_true(grip(q) == 1.0);
    daemon_stop(state);
}

static void test_warm_start_inside(void **state)
{
    warm_start_taken(state, "inside");
}

static void test_warm_start_after(void **state)
{
    warm_start_taken(state, "after");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stop_ends_cycle, daemon_teardown),
        cmocka_unit_test_teardown(test_stop_path_only, daemon_teardown),
        cmocka_unit_test_teardown(test_call_prefix, daemon_teardown),
        cmocka_unit_test_teardown(test_call_other_prefix, daemon_teardown),
        cmocka_unit_test_teardown(test_stopped_before, daemon_teardown),
        cmocka_unit_test_teardown(test_stopped_inside, daemon_teardown),
        cmocka_unit_test_teardown(test_stopped_after, daemon_teardown),
        cmocka_unit_test_teardown(test_warm_start_before, daemon_teardown),
        cmocka_unit_test_teardown(test_warm_start_inside, daemon_teardown),
        cmocka_unit_test_teardown(test_warm_start_after, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
