/* e2e_ask.c - requests from the robot, answered by a serving client
 * (interface 1.1 H, PROTOCOL.md 5.9), through the real daemon: a request
 * answered, RX 1 (nobody serves, at once), RX 2 (the handler is silent past
 * limits.robot_request_timeout), RX 3 (an error reply), RX 4 (an invalid
 * reply, and the handler's ERROR), a second serve refused, the handler
 * leaving with requests waiting (RX at once), two robots to one handler, the
 * link going down with a request waiting, the bound of 16 waiting requests
 * and a reused seq (RX 5), stopping to serve (RX 1), the serve grant (when
 * the daemon has access support), robot-sim --ask, and rapidbridge-cli serve
 * --exec (a script's replies, errors, bad output and time limit, a refused
 * serve, a bridge restart).
 *
 * The robot is a raw socket of the test where the exact bytes matter, and
 * robot-sim where a simulated controller asks. Loopback only, waits bounded.
 */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define FRAME_BUF 128       /* one frame read by a raw robot (the bridge sends <= 80) */
#define REQ_MAX 1024
#define AT_ONCE_MS 1500     /* "at once": far below the configured 30 s timeout */

/* JB asks for the next job of a station; JA answers with the job. */
#define FRAMES                                                                                  \
    "\"frames\":[{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"JA\",\"fields\":["         \
    "{\"name\":\"station\",\"kind\":\"int\",\"min\":1,\"max\":9}]},"                            \
    "{\"type\":\"JA\",\"direction\":\"out\",\"fields\":[{\"name\":\"job\",\"kind\":\"identifier\"}," \
    "{\"name\":\"count\",\"kind\":\"int\",\"min\":0,\"max\":1000}]}]"

static const char CONFIG_LONG[] =
    "{" FRAMES ",\"robots\":[{\"name\":\"rob1\"},{\"name\":\"rob2\",\"checksum\":true}],"
    "\"limits\":{\"idle_timeout\":30,\"robot_request_timeout\":30}}";
static const char CONFIG_SHORT[] =
    "{" FRAMES ",\"robots\":[{\"name\":\"rob1\"}],"
    "\"limits\":{\"idle_timeout\":30,\"robot_request_timeout\":0.5}}";

/* --- the raw robot ----------------------------------------------------------- */

static void wait_link_up(struct tclient *w, const char *robot)
{
    for (;;) {
        json_t *l = tclient_wait_class(w, "LINK", HARNESS_RECV_MS, NULL);
        bool up = strcmp(json_str(l, "state"), "up") == 0 &&
                  strcmp(json_str(l, "robot"), robot) == 0;
        json_decref(l);
        if (up)
            return;
    }
}

static int raw_robot(struct daemon *d, struct tclient *w, const char *name)
{
    int fd = trobot_hello(d, name);
    wait_link_up(w, name);
    return fd;
}

/* --- the handler --------------------------------------------------------------- */

static struct tclient *handler(struct daemon *d, const char *req, const char *want)
{
    struct tclient *h = tclient_connect(d);
    json_t *r = tclient_request(h, req, "SERVE", NULL);
    assert_json_eq(r, want, NULL);
    json_decref(r);
    return h;
}

/* A handler serving JB of rob1, its SERVE reply checked. */
static struct tclient *jb_handler(struct daemon *d)
{
    return handler(d, "{\"cmd\":\"serve\",\"robot\":\"rob1\",\"types\":[\"JB\"]}",
                   "{\"class\":\"SERVE\",\"robot\":\"rob1\",\"types\":[\"JB\"]}");
}

/* The next REQUEST must be exactly this (time ignored, but present). */
static void expect_request(struct tclient *h, const char *robot, long long seq, const char *fields)
{
    json_t *q = tclient_expect_class(h, "REQUEST", HARNESS_RECV_MS);
    char want[REQ_MAX];
    snprintf(want, sizeof want,
             "{\"class\":\"REQUEST\",\"robot\":\"%s\",\"type\":\"JB\",\"seq\":%lld,\"fields\":%s}",
             robot, seq, fields);
    static const char *const ignore[] = {"time", NULL};
    assert_true(json_is_real(json_object_get(q, "time")));
    assert_json_eq(q, want, ignore);
    json_decref(q);
}

static void reply(struct tclient *h, const char *robot, long long seq, const char *rest)
{
    char req[REQ_MAX];
    snprintf(req, sizeof req, "{\"cmd\":\"reply\",\"robot\":\"%s\",\"seq\":%lld,%s}", robot, seq,
             rest);
    tclient_send(h, req);
}

static void expect_replied(struct tclient *h, const char *robot, long long seq)
{
    json_t *r = tclient_expect_class(h, "REPLIED", HARNESS_RECV_MS);
    char want[REQ_MAX];
    snprintf(want, sizeof want, "{\"class\":\"REPLIED\",\"robot\":\"%s\",\"seq\":%lld}", robot, seq);
    assert_json_eq(r, want, NULL);
    json_decref(r);
}

static void expect_error(struct tclient *h, const char *code, const char *about)
{
    json_t *e = tclient_expect_class(h, "ERROR", HARNESS_RECV_MS);
    assert_error(e, NULL, code, about);
    json_decref(e);
}

static long long stat_outcome(struct tclient *c, const char *outcome)
{
    json_t *s = tclient_request(c, "{\"cmd\":\"stats\"}", "STATS", NULL);
    json_t *o = json_object_get(json_object_get(s, "robot_requests"), outcome);
    assert_true(json_is_integer(o));
    long long n = json_integer_value(o);
    json_decref(s);
    return n;
}

/* --- tests ----------------------------------------------------------------------- */

/* Answered: REQUEST to the handler, FRAME to watchers, JA with the request's
 * seq to the robot, REPLIED to the handler; a second reply is refused. */
static void test_answered(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *h = jb_handler(d);
    int fd = raw_robot(d, w, "rob1");
    trobot_send(d, fd, "JB,7,2\n");
    expect_request(h, "rob1", 7, "{\"station\":2}");
    json_t *f = tclient_wait_frame(w, "JB", 7, HARNESS_RECV_MS, NULL);
    assert_json_has(f, "{\"robot\":\"rob1\",\"station\":2}");
    json_decref(f);
    reply(h, "rob1", 7, "\"id\":\"a\",\"fields\":{\"job\":\"P100\",\"count\":3}");
    json_t *r = tclient_expect_class(h, "REPLIED", HARNESS_RECV_MS);
    assert_json_eq(r, "{\"class\":\"REPLIED\",\"id\":\"a\",\"robot\":\"rob1\",\"seq\":7}", NULL);
    json_decref(r);
    trobot_expect_line(d, fd, "JA,7,P100,3\n", HARNESS_RECV_MS);
    /* a second reply to the same seq */
    reply(h, "rob1", 7, "\"fields\":{\"job\":\"P101\",\"count\":1}");
    expect_error(h, "bad_request", "seq 7");
    trobot_expect_nothing(d, fd);
    /* a client may not send the reply type */
    tclient_request_error(w, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"JA\","
                          "\"fields\":{\"job\":\"X\",\"count\":1}}", NULL, "unknown_type", "reply");
    assert_int_equal(stat_outcome(w, "answered"), 1);
    daemon_stop(state);
}

/* Nobody serves JB: RX code 1 at once, long before the 30 s timeout. */
static void test_no_handler(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *w = watcher_connect(d, NULL);
    int fd = raw_robot(d, w, "rob1");
    long long t0 = mono_ms();
    trobot_send(d, fd, "JB,8,1\n");
    /* RX 1: nobody serves JB now (or, if the close is seen after the
     * request, the handler disconnected with it waiting). */
    char rx[FRAME_BUF];
    assert_true(trobot_read_line(d, fd, rx, sizeof rx, AT_ONCE_MS));
    assert_memory_equal(rx, "RX,8,1,", 7);
    assert_true(mono_ms() - t0 < AT_ONCE_MS);
    /* with a checksum when the robot wants one */
    int fd2 = raw_robot(d, w, "rob2");
    char want[FRAME_BUF];
    frame_with_checksum("RX,9,1,nobody serves JB for rob2", false, want, sizeof want);
    trobot_send(d, fd2, "JB,9,1\n");
    trobot_expect_line(d, fd2, want, AT_ONCE_MS);
    assert_int_equal(stat_outcome(w, "no_handler"), 2);
    daemon_stop(state);
}

/* A handler that never replies: RX 2 after the timeout; its late reply is refused. */
static void test_timeout(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_SHORT);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *h = handler(d, "{\"cmd\":\"serve\",\"types\":[\"JB\"]}",
                                "{\"class\":\"SERVE\",\"types\":[\"JB\"]}");
    int fd = raw_robot(d, w, "rob1");
    long long t0 = mono_ms();
    trobot_send(d, fd, "JB,9,3\n");
    expect_request(h, "rob1", 9, "{\"station\":3}");
    trobot_expect_line(d, fd, "RX,9,2,no reply within 0.5 s\n", HARNESS_RECV_MS);
    long long waited = mono_ms() - t0;
    assert_true(waited >= 450);
    reply(h, "rob1", 9, "\"fields\":{\"job\":\"LATE\",\"count\":1}");
    expect_error(h, "bad_request", "timed out");
    trobot_expect_nothing(d, fd);
    assert_int_equal(stat_outcome(w, "timeout"), 1);
    daemon_stop(state);
}

/* An error reply: RX 3 with the text made fit for the robot. */
static void test_error_reply(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *h = jb_handler(d);
    int fd = raw_robot(d, w, "rob1");
    trobot_send(d, fd, "JB,10,1\n");
    expect_request(h, "rob1", 10, "{\"station\":1}");
    reply(h, "rob1", 10,
          "\"error\":\"no job, hopper *empty*\\nnow; and this text goes on far past what a "
          "RAPID string holds\"");
    expect_replied(h, "rob1", 10);
    trobot_expect_line(d, fd,
                       "RX,10,3,no job; hopper _empty_?now; and this text goes on far past what a "
                       "RAPID\n", HARNESS_RECV_MS); /* 80 bytes with the LF */
    assert_int_equal(stat_outcome(w, "error"), 1);
    daemon_stop(state);
}

/* An invalid reply: the handler gets the ERROR, the robot RX 4. */
static void test_invalid_reply(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *h = jb_handler(d);
    int fd = raw_robot(d, w, "rob1");
    trobot_send(d, fd, "JB,11,1\n");
    expect_request(h, "rob1", 11, "{\"station\":1}");
    reply(h, "rob1", 11, "\"fields\":{\"job\":\"P1\",\"count\":1001}");
    expect_error(h, "bad_field", "count");
    char got[FRAME_BUF];
    assert_true(trobot_read_line(d, fd, got, sizeof got, HARNESS_RECV_MS));
    if (strncmp(got, "RX,11,4,invalid reply: ", 23) != 0)
        fail_msg("expected RX 4, the robot got %s", got);
    assert_true(strlen(got) + 1 <= 80); /* the frame, LF included */
    /* replies that cannot name their request are plain errors */
    reply(h, "rob1", 11, "\"fields\":{\"job\":\"P1\",\"count\":1}");
    expect_error(h, "bad_request", "seq 11");
    tclient_send(h, "{\"cmd\":\"reply\",\"robot\":\"rob9\",\"seq\":1,\"fields\":{}}");
    expect_error(h, "unknown_robot", "rob9");
    tclient_send(h, "{\"cmd\":\"reply\",\"robot\":\"rob1\",\"seq\":-1,\"fields\":{}}");
    expect_error(h, "bad_request", "seq");
    trobot_expect_nothing(d, fd);
    assert_int_equal(stat_outcome(w, "invalid"), 1);
    daemon_stop(state);
}

/* One handler per robot and type: a second serve gets busy; stopping frees it. */
static void test_second_serve(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *h1 = jb_handler(d);
    struct tclient *h2 = tclient_connect(d);
    tclient_request_error(h2, "{\"cmd\":\"serve\",\"robot\":\"rob1\",\"types\":[\"JB\"],\"id\":1}",
                          "1", "busy", "JB");
    tclient_request_error(h2, "{\"cmd\":\"serve\",\"types\":[\"JB\"]}", NULL, "busy", "rob1");
    tclient_request_error(h2, "{\"cmd\":\"serve\",\"types\":[\"JT\"]}", NULL, "unknown_type", "JT");
    tclient_request_error(h2, "{\"cmd\":\"serve\",\"types\":\"JB\"}", NULL, "bad_request", "types");
    tclient_request_error(h2, "{\"cmd\":\"serve\",\"robot\":\"rob9\",\"types\":[]}", NULL,
                          "unknown_robot", "rob9");
    /* rob2 is free */
    json_decref(tclient_request(h2, "{\"cmd\":\"serve\",\"robot\":\"rob2\",\"types\":[\"JB\"]}",
                                "SERVE", NULL));
    /* the first stops; now the second may take rob1 too */
    json_t *r = tclient_request(h1, "{\"cmd\":\"serve\",\"types\":[]}", "SERVE", NULL);
    assert_json_eq(r, "{\"class\":\"SERVE\",\"types\":[]}", NULL);
    json_decref(r);
    json_decref(tclient_request(h2, "{\"cmd\":\"serve\",\"types\":[\"JB\"]}", "SERVE", NULL));
    struct tclient *w = watcher_connect(d, NULL);
    int fd = raw_robot(d, w, "rob1");
    trobot_send(d, fd, "JB,1,1\n");
    expect_request(h2, "rob1", 1, "{\"station\":1}");
    reply(h2, "rob1", 1, "\"fields\":{\"job\":\"J\",\"count\":0}");
    expect_replied(h2, "rob1", 1);
    trobot_expect_line(d, fd, "JA,1,J,0\n", HARNESS_RECV_MS);
    daemon_stop(state);
}

/* The handler leaves with two requests waiting: each gets RX 1 at once, in
 * order; a request whose link goes down is dropped. */
static void test_handler_leaves(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *h = jb_handler(d);
    int fd = raw_robot(d, w, "rob1");
    trobot_send(d, fd, "JB,21,1\nJB,22,2\n");
    expect_request(h, "rob1", 21, "{\"station\":1}");
    expect_request(h, "rob1", 22, "{\"station\":2}");
    long long t0 = mono_ms();
    tclient_close(h);
    trobot_expect_line(d, fd, "RX,21,1,the handler disconnected\n", AT_ONCE_MS);
    trobot_expect_line(d, fd, "RX,22,1,the handler disconnected\n", AT_ONCE_MS);
    assert_true(mono_ms() - t0 < AT_ONCE_MS);
    assert_int_equal(stat_outcome(w, "no_handler"), 2);

    /* link down with a request waiting: dropped, the late reply refused */
    struct tclient *h2 = jb_handler(d);
    trobot_send(d, fd, "JB,23,1\n");
    expect_request(h2, "rob1", 23, "{\"station\":1}");
    trobot_close(d, fd);
    assert_true(daemon_wait_log(d, "rob1: link down", HARNESS_RECV_MS));
    reply(h2, "rob1", 23, "\"fields\":{\"job\":\"J\",\"count\":0}");
    expect_error(h2, "bad_request", "link went down");
    assert_int_equal(stat_outcome(w, "dropped"), 1);
    daemon_stop(state);
}

/* At most 16 requests of a robot wait: the 17th gets RX 5 at once, and so
 * does one reusing a waiting seq; a handler that stops serving the type
 * answers the waiting ones RX 1 at once. */
static void test_waiting_bound(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *h = jb_handler(d);
    int fd = raw_robot(d, w, "rob1");
    char frame[64];
    for (int i = 1; i <= 16; i++) {
        snprintf(frame, sizeof frame, "JB,%d,1\n", i);
        trobot_send(d, fd, frame);
        expect_request(h, "rob1", i, "{\"station\":1}");
    }
    trobot_send(d, fd, "JB,17,1\n");
    trobot_expect_line(d, fd, "RX,17,5,16 requests already wait for replies\n", AT_ONCE_MS);
    reply(h, "rob1", 16, "\"fields\":{\"job\":\"J\",\"count\":0}");
    expect_replied(h, "rob1", 16);
    trobot_expect_line(d, fd, "JA,16,J,0\n", HARNESS_RECV_MS);
    trobot_send(d, fd, "JB,3,1\n");
    trobot_expect_line(d, fd, "RX,3,5,seq 3 already waits for a reply\n", AT_ONCE_MS);
    /* stop serving: the 15 still waiting get RX 1, in the order they came */
    json_decref(tclient_request(h, "{\"cmd\":\"serve\",\"robot\":\"rob1\",\"types\":[]}", "SERVE",
                                NULL));
    for (int i = 1; i <= 15; i++) {
        snprintf(frame, sizeof frame, "RX,%d,1,the handler stopped serving\n", i);
        trobot_expect_line(d, fd, frame, AT_ONCE_MS);
    }
    assert_int_equal(stat_outcome(w, "busy"), 2);
    assert_int_equal(stat_outcome(w, "no_handler"), 15);
    assert_int_equal(stat_outcome(w, "answered"), 1);
    daemon_stop(state);
}

/* Two robots, one handler for every robot: the same seq from each is kept
 * apart by robot; each reply goes to its own robot only. */
static void test_two_robots(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *h = handler(d, "{\"cmd\":\"serve\",\"types\":[\"JB\"]}",
                                "{\"class\":\"SERVE\",\"types\":[\"JB\"]}");
    int fd1 = raw_robot(d, w, "rob1");
    int fd2 = raw_robot(d, w, "rob2");
    trobot_send(d, fd1, "JB,5,1\n");
    expect_request(h, "rob1", 5, "{\"station\":1}");
    trobot_send(d, fd2, "JB,5,2\n");
    expect_request(h, "rob2", 5, "{\"station\":2}");
    reply(h, "rob2", 5, "\"fields\":{\"job\":\"B\",\"count\":2}");
    expect_replied(h, "rob2", 5);
    char want[FRAME_BUF];
    frame_with_checksum("JA,5,B,2", false, want, sizeof want);
    trobot_expect_line(d, fd2, want, HARNESS_RECV_MS);
    trobot_expect_nothing(d, fd1);
    reply(h, "rob1", 5, "\"fields\":{\"job\":\"A\",\"count\":1}");
    expect_replied(h, "rob1", 5);
    trobot_expect_line(d, fd1, "JA,5,A,1\n", HARNESS_RECV_MS);
    trobot_expect_nothing(d, fd2);
    daemon_stop(state);
}

/* --- robot-sim --ask ------------------------------------------------------------ */

static const char CONFIG_SIM[] =
    "{" FRAMES ",\"robots\":[{\"name\":\"rob1\"}],\"limits\":{\"robot_request_timeout\":30}}";

/* robot-sim asks twice and gets two replies: exit 0; REQUESTs come with the
 * simulator's seqs and fields, and the FRAMEs are published too. */
static void test_sim_ask(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_SIM);
    struct tclient *w = watcher_connect(d, "[\"JB\"]");
    struct tclient *h = jb_handler(d);
    static const char *const args[] = {"--name", "rob1", "--ask", "JB,3", "--ask-every", "0.1",
                                       "--ask-count", "2", NULL};
    pid_t sim = sim_start(d, args);
    for (int i = 0; i < 2; i++) {
        json_t *q = tclient_expect_class(h, "REQUEST", HARNESS_RECV_MS);
        assert_json_has(q, "{\"robot\":\"rob1\",\"type\":\"JB\",\"fields\":{\"station\":3}}");
        long long seq = json_int_member(q, "seq");
        json_t *f = tclient_wait_frame(w, "JB", seq, HARNESS_RECV_MS, NULL);
        json_decref(f);
        json_decref(q);
        reply(h, "rob1", seq, "\"fields\":{\"job\":\"P3\",\"count\":2}");
        expect_replied(h, "rob1", seq);
    }
    assert_int_equal(sim_wait(d, sim, 10000), 0);
    daemon_stop(state);
}

/* Nobody serves: robot-sim gets RX and says so (exit 3). */
static void test_sim_ask_unserved(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_SIM);
    static const char *const args[] = {"--name", "rob1", "--ask", "JB,3", "--ask-every", "0.1",
                                       "--ask-count", "1", NULL};
    pid_t sim = sim_start(d, args);
    assert_int_equal(sim_wait(d, sim, 10000), 3);
    struct tclient *c = tclient_connect(d);
    assert_int_equal(stat_outcome(c, "no_handler"), 1);
    daemon_stop(state);
}

/* --- rapidbridge-cli serve --exec ---------------------------------------------- */

static pid_t cli_pid = -1;
static char cli_dir[64];
static const char *cli_token; /* RAPIDBRIDGE_TOKEN for the CLI, or NULL */

static int cli_teardown(void **state)
{
    if (cli_pid > 0) {
        kill(cli_pid, SIGKILL);
        waitpid(cli_pid, NULL, 0);
        cli_pid = -1;
    }
    return daemon_teardown(state);
}

/* The script answers JB: job J<station>, count = the seq; station 9 is an
 * error (exit 2 with a message); it checks its stdin against its environment. */
static const char SCRIPT[] =
    "#!/bin/sh\n"
    "read -r fields\n"
    "[ \"$fields\" = \"{\\\"station\\\":$RB_FIELD_STATION}\" ] || { echo \"stdin $fields\" >&2; exit 4; }\n"
    "[ \"$RB_ROBOT $RB_TYPE\" = \"rob1 JB\" ] || { echo \"env $RB_ROBOT $RB_TYPE\" >&2; exit 4; }\n"
    "if [ \"$RB_FIELD_STATION\" = 9 ]; then echo 'station 9 is closed, try later' >&2; exit 2; fi\n"
    "if [ \"$RB_FIELD_STATION\" = 8 ]; then echo 'no JSON'; exit 0; fi\n"
    "if [ \"$RB_FIELD_STATION\" = 7 ]; then sleep 5; fi\n"
    "printf '{\"job\":\"J%s\",\"count\":%s}\\n' \"$RB_FIELD_STATION\" \"$RB_SEQ\"\n";

static void cli_start(struct daemon *d, const char *robot)
{
    snprintf(cli_dir, sizeof cli_dir, "/tmp/e2e_ask.XXXXXX");
    assert_non_null(mkdtemp(cli_dir));
    char script[128], log[128], target[32];
    snprintf(script, sizeof script, "%s/next-job.sh", cli_dir);
    snprintf(log, sizeof log, "%s/cli.log", cli_dir);
    snprintf(target, sizeof target, "127.0.0.1:%u", d->client_port);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs(SCRIPT, f);
    fclose(f);
    chmod(script, 0700);
    const char *bin = getenv("RB_CLI");
    if (!bin || bin[0] != '/')
        fail_msg("RB_CLI must be set to the absolute path of rapidbridge-cli");
    cli_pid = fork();
    assert_true(cli_pid >= 0);
    if (cli_pid == 0) {
        FILE *o = freopen(log, "w", stderr);
        (void)o;
        if (cli_token)
            setenv("RAPIDBRIDGE_TOKEN", cli_token, 1);
        execl(bin, bin, "--connect", target, "--timeout", "1", "serve", robot, "JB", "--exec",
              script, (char *)NULL);
        _exit(127);
    }
}

/* How often the CLI's stderr holds needle so far. */
static int cli_log_count(const char *needle)
{
    char path[128], buf[8192];
    snprintf(path, sizeof path, "%s/cli.log", cli_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int count = 0;
    for (const char *p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        count++;
    return count;
}

static bool cli_log_has(const char *needle)
{
    return cli_log_count(needle) > 0;
}

/* Until needle was said times times; d NULL: while no daemon runs. */
static void cli_wait_count(struct daemon *d, const char *needle, int times, int ms)
{
    for (int waited = 0; cli_log_count(needle) < times; waited += 20) {
        if (waited > ms)
            fail_msg("rapidbridge-cli serve did not say \"%s\" %d times", needle, times);
        if (d)
            daemon_sleep(d, 20);
        else
            usleep(20 * 1000);
    }
}

static void cli_wait_log(struct daemon *d, const char *needle)
{
    cli_wait_count(d, needle, 1, HARNESS_RECV_MS);
}

static void cli_stop(void)
{
    kill(cli_pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(cli_pid, &status, 0), cli_pid);
    cli_pid = -1;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cli_dir);
    assert_int_equal(system(cmd), 0);
}

static void test_cli_serve(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *w = watcher_connect(d, NULL);
    int fd = raw_robot(d, w, "rob1");
    cli_start(d, "rob1");
    cli_wait_log(d, "serving JB for rob1");
    /* a second serve for the type is refused while the CLI serves */
    struct tclient *c = tclient_connect(d);
    tclient_request_error(c, "{\"cmd\":\"serve\",\"robot\":\"rob1\",\"types\":[\"JB\"]}", NULL,
                          "busy", "JB");
    trobot_send(d, fd, "JB,41,2\n");
    trobot_expect_line(d, fd, "JA,41,J2,41\n", HARNESS_RECV_MS);
    trobot_send(d, fd, "JB,42,9\n");
    trobot_expect_line(d, fd, "RX,42,3,station 9 is closed; try later\n", HARNESS_RECV_MS);
    trobot_send(d, fd, "JB,43,8\n");
    trobot_expect_line(d, fd, "RX,43,3,the command's output is not a JSON object\n",
                       HARNESS_RECV_MS);
    trobot_send(d, fd, "JB,44,7\n");   /* the script sleeps past --timeout 1 */
    trobot_expect_line(d, fd, "RX,44,3,no answer within 1 s\n", 3000);
    trobot_send(d, fd, "JB,45,3\n");
    trobot_expect_line(d, fd, "JA,45,J3,45\n", HARNESS_RECV_MS);
    cli_wait_log(d, "rob1 JB seq 45: reply {\"job\":\"J3\",\"count\":45}");
    cli_stop();
    daemon_stop(state);
}

/* The bridge restarts on the same port: the CLI says so, connects again
 * (after 1 s) and serves the new bridge. */
static void test_cli_serve_reconnect(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    cli_start(d, "rob1");
    cli_wait_log(d, "serving JB for rob1");
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", d->client_port);
    daemon_stop(state);
    cli_wait_count(NULL, "connection to", 1, HARNESS_RECV_MS);
    /* said right after the line above: wait for it, do not race it */
    cli_wait_count(NULL, "connecting again in 1 s", 1, HARNESS_RECV_MS);
    const char *const extra[] = {"--json-listen", listen, NULL};
    d = daemon_start_args(state, CONFIG_LONG, extra);
    cli_wait_count(d, "serving JB for rob1", 2, 10000);
    struct tclient *w = watcher_connect(d, NULL);
    int fd = raw_robot(d, w, "rob1");
    trobot_send(d, fd, "JB,51,4\n");
    trobot_expect_line(d, fd, "JA,51,J4,51\n", HARNESS_RECV_MS);
    cli_stop();
    daemon_stop(state);
}

/* A serve refused by the bridge ends the CLI with status 1. */
static void test_cli_serve_refused(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_LONG);
    struct tclient *h = jb_handler(d);
    (void)h;
    cli_start(d, "rob1");
    int status = 0;
    long long deadline = mono_ms() + HARNESS_RECV_MS;
    pid_t got;
    while ((got = waitpid(cli_pid, &status, WNOHANG)) == 0 && mono_ms() < deadline)
        daemon_sleep(d, 20);
    assert_int_equal(got, cli_pid);
    cli_pid = -1;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_true(cli_log_has("busy"));
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cli_dir);
    assert_int_equal(system(cmd), 0);
    daemon_stop(state);
}

/* With access, rapidbridge-cli serve authenticates with its token
 * (RAPIDBRIDGE_TOKEN, as the other commands) before it asks to serve, and
 * answers the robot's requests as token:svc. */
static void test_cli_serve_token(void **state)
{
    static const char token[] = "ask-test-token-0123456789";
    char dir[] = "/tmp/e2e_ask_tokens.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[512], config[REQ_MAX * 2];
    snprintf(cmd, sizeof cmd,
             "printf 'svc %%s\\n' \"$(printf %%s '%s' | sha256sum | cut -d' ' -f1)\" > %s/tokens"
             " && chmod 600 %s/tokens", token, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(config, sizeof config,
             "{" FRAMES ",\"robots\":[{\"name\":\"rob1\"}],\"tokens_file\":\"%s/tokens\","
             "\"access\":[{\"who\":[\"token:svc\"],\"may\":[\"serve\"]},"
             "{\"who\":[\"anonymous\"],\"may\":[\"watch\"]}],"
             "\"limits\":{\"idle_timeout\":30,\"robot_request_timeout\":30}}", dir);
    struct daemon *d = daemon_start(state, config);
    struct tclient *w = watcher_connect(d, NULL);
    int fd = raw_robot(d, w, "rob1");
    cli_token = token;
    cli_start(d, "rob1");
    cli_token = NULL;
    cli_wait_log(d, "serving JB for rob1");
    trobot_send(d, fd, "JB,51,2\n");
    trobot_expect_line(d, fd, "JA,51,J2,51\n", HARNESS_RECV_MS);
    cli_stop();
    daemon_stop(state);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* --- the serve grant (interface 1.1 B, H) ----------------------------------------- */

/* With "access", serve needs the grant serve. */
static const char CONFIG_ACCESS_WATCH[] =
    "{" FRAMES ",\"robots\":[{\"name\":\"rob1\"}],"
    "\"access\":[{\"who\":[\"anonymous\"],\"may\":[\"watch\"]}]}";
static const char CONFIG_ACCESS_SERVE[] =
    "{" FRAMES ",\"robots\":[{\"name\":\"rob1\"}],"
    "\"access\":[{\"who\":[\"anonymous\"],\"may\":[\"watch\",\"serve\"]}]}";

static void test_serve_grant(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG_ACCESS_WATCH);
    struct tclient *c = tclient_connect(d);
    tclient_request_error(c, "{\"cmd\":\"serve\",\"robot\":\"rob1\",\"types\":[\"JB\"]}", NULL,
                          "unauthorized", "serve");
    daemon_stop(state);
    d = daemon_start(state, CONFIG_ACCESS_SERVE);
    struct tclient *h = jb_handler(d);
    (void)h;
    daemon_stop(state);
}

/* --- the audit trail (interface 1.1 D, H) ---------------------------------------- */

/* The one record of event ev and seq in the audit file's lines. */
static json_t *audit_find(json_t *lines, const char *ev, long long seq)
{
    size_t i;
    json_t *rec;
    json_array_foreach(lines, i, rec)
    {
        if (strcmp(json_str(rec, "event"), ev) == 0 &&
            json_integer_value(json_object_get(rec, "seq")) == seq)
            return rec;
    }
    fail_msg("no %s record with seq %lld in the audit file", ev, seq);
    return NULL;
}

/* With audit_file, each request gets a `request` record as it comes and a
 * `reply` record as it ends: answered (the handler's principal and fields)
 * or answered by the bridge's RX (its text); the chain still verifies. */
static void test_audit_records(void **state)
{
    char path[] = "/tmp/e2e_ask_audit.XXXXXX";
    int afd = mkstemp(path);
    assert_true(afd >= 0);
    close(afd);
    unlink(path);
    char config[REQ_MAX * 2];
    snprintf(config, sizeof config,
             "{" FRAMES ",\"robots\":[{\"name\":\"rob1\"}],\"audit_file\":\"%s\","
             "\"limits\":{\"idle_timeout\":30,\"robot_request_timeout\":30}}", path);
    struct daemon *d = daemon_start(state, config);
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *h = jb_handler(d);
    int fd = raw_robot(d, w, "rob1");
    trobot_send(d, fd, "JB,7,2\n");
    expect_request(h, "rob1", 7, "{\"station\":2}");
    reply(h, "rob1", 7, "\"fields\":{\"job\":\"P100\",\"count\":3}");
    expect_replied(h, "rob1", 7);
    trobot_expect_line(d, fd, "JA,7,P100,3\n", HARNESS_RECV_MS);
    tclient_close(h);
    trobot_send(d, fd, "JB,8,3\n");
    /* RX 1: nobody serves JB now (or, if the close is seen after the
     * request, the handler disconnected with it waiting). */
    char rx[FRAME_BUF];
    assert_true(trobot_read_line(d, fd, rx, sizeof rx, AT_ONCE_MS));
    assert_memory_equal(rx, "RX,8,1,", 7);
    daemon_stop(state);

    json_t *lines = json_array();
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        json_array_append_new(lines, j);
    }
    fclose(f);
    assert_json_has(audit_find(lines, "request", 7),
                    "{\"robot\":\"rob1\",\"type\":\"JB\",\"fields\":{\"station\":2}}");
    assert_json_has(audit_find(lines, "reply", 7),
                    "{\"robot\":\"rob1\",\"type\":\"JB\",\"outcome\":\"answered\","
                    "\"principal\":\"anonymous\",\"fields\":{\"job\":\"P100\",\"count\":3}}");
    assert_json_has(audit_find(lines, "request", 8), "{\"fields\":{\"station\":3}}");
    assert_json_has(audit_find(lines, "reply", 8),
                    "{\"outcome\":\"no_handler\"}");
    assert_non_null(json_str(audit_find(lines, "reply", 8), "rx"));
    json_decref(lines);

    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, "'%s' audit verify '%s' >/dev/null", getenv("RB_CLI"), path);
    assert_int_equal(system(cmd), 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_answered, daemon_teardown),
        cmocka_unit_test_teardown(test_no_handler, daemon_teardown),
        cmocka_unit_test_teardown(test_timeout, daemon_teardown),
        cmocka_unit_test_teardown(test_error_reply, daemon_teardown),
        cmocka_unit_test_teardown(test_invalid_reply, daemon_teardown),
        cmocka_unit_test_teardown(test_second_serve, daemon_teardown),
        cmocka_unit_test_teardown(test_handler_leaves, daemon_teardown),
        cmocka_unit_test_teardown(test_two_robots, daemon_teardown),
        cmocka_unit_test_teardown(test_waiting_bound, daemon_teardown),
        cmocka_unit_test_teardown(test_sim_ask, daemon_teardown),
        cmocka_unit_test_teardown(test_sim_ask_unserved, daemon_teardown),
        cmocka_unit_test_teardown(test_cli_serve, cli_teardown),
        cmocka_unit_test_teardown(test_cli_serve_reconnect, cli_teardown),
        cmocka_unit_test_teardown(test_cli_serve_refused, cli_teardown),
        cmocka_unit_test_teardown(test_cli_serve_token, cli_teardown),
        cmocka_unit_test_teardown(test_serve_grant, daemon_teardown),
        cmocka_unit_test_teardown(test_audit_records, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
