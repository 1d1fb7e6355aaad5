/* e2e_diag.c - diagnostics of the real daemon (interface 1.1, section G):
 * every refusal of a robot connection sends NO and shows in ROBOTS or STATS
 * and in `rapidbridge-cli doctor`; STATE age and stale; STATS request errors;
 * a large STATE reply to a client that reads; a reloaded idle_timeout on a
 * live link; SIGHUP reopens the --record file. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS 3000
#define CLI_OUT_MAX 16384
#define PENDING_MAX 64         /* ROBOT_PENDING_MAX of the daemon */

/* rob1 may only link from 127.0.0.2; the tests connect from 127.0.0.1. */
static const char CONFIG[] =
    "{\"robots\":[{\"name\":\"rob1\",\"peer\":\"127.0.0.2\"},{\"name\":\"rob2\"}],"
    "\"limits\":{\"hello_timeout\":0.5}}";

/* --- helpers ----------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* A temporary file name "/tmp/rb-diag-XXXXXX<suffix>", created empty. */
static void temp_path(char *path, size_t size, const char *suffix)
{
    snprintf(path, size, "/tmp/rb-diag-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    close(fd);
}

/* Start on a configuration file of our own (doctor reads it with -c). */
static struct daemon *start_with_file(void **state, const char *text, char *path, size_t size,
                                      const char *const *more)
{
    temp_path(path, size, ".json");
    write_file(path, text);
    const char *extra[8] = {"-c", path};
    size_t n = 2;
    for (size_t i = 0; more && more[i] && n < 7; i++)
        extra[n++] = more[i];
    extra[n] = NULL;
    return daemon_start_args(state, text, extra);
}

/* A robot's entry in ROBOTS (new reference), or the whole reply for NULL. */
static json_t *robots_entry(struct tclient *c, const char *name)
{
    json_t *r = tclient_request(c, "{\"cmd\":\"robots\"}", "ROBOTS", NULL);
    if (!name)
        return r;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "robots"), i, e)
    {
        if (strcmp(json_str(e, "name"), name) == 0) {
            json_incref(e);
            json_decref(r);
            return e;
        }
    }
    fail_msg("robot %s missing from ROBOTS", name);
    return NULL;
}

static json_t *stats_member(struct tclient *c, const char *a, const char *b)
{
    json_t *s = tclient_request(c, "{\"cmd\":\"stats\"}", "STATS", NULL);
    json_t *m = json_object_get(json_object_get(s, a), b);
    if (!m)
        fail_msg("STATS has no %s.%s", a, b);
    json_incref(m);
    json_decref(s);
    return m;
}

/* Run $RB_CLI --connect (d's client port) with args; its stdout and stderr
 * together in out. Returns the exit status. */
static int run_cli(struct daemon *d, const char *const *args, char *out, size_t size)
{
    char connect[32];
    snprintf(connect, sizeof connect, "127.0.0.1:%u", d->client_port);
    const char *argv[16] = {"--connect", connect};
    size_t n = 2;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return cli_run(d, argv, NULL, true, out, size);
}

static void expect_in(const char *text, const char *needle, const char *what)
{
    if (!strstr(text, needle))
        fail_msg("%s: \"%s\" missing from:\n%s", what, needle, text);
}

/* --- refusals ------------------------------------------------------------------- */

struct refusal_case {
    const char *name;
    const char *send;        /* first bytes; NULL: send nothing (hello timeout) */
    const char *no;          /* the NO line the robot must read */
    const char *reason;      /* the STATS robot_port.refused member that counts it */
    const char *robot;       /* whose last_refused shows it, or NULL */
    const char *unknown;     /* a name that must join unknown_hellos, or NULL */
    const char *doctor;      /* doctor ROBOT ... */
    const char *doctor_says; /* ... must say this (and exit 1) */
};

static const struct refusal_case refusal_cases[] = {
    {"unknown name", "HI,1,rob9,1,e2e\n",
     "NO,0,1,rapidbridge: robot name 'rob9' is not configured", "unknown_name", NULL, "rob9",
     "rob2", "said HI as 'rob9'"},
    {"peer not allowed", "HI,1,rob1,1,e2e\n",
     "NO,0,2,rapidbridge: rob1 may only connect from 127.0.0.2", "peer", "rob1", NULL, "rob1",
     "rob1 may only connect from 127.0.0.2: connect from there, or change robots[0].peer "
     "(robots[0].peer at "},
    {"protocol version", "HI,1,rob2,2,e2e\n",
     "NO,0,3,rapidbridge: protocol 2 is not supported; HI must say 1", "proto", "rob2", NULL,
     "rob2", "HI asked for protocol 2; this bridge speaks 1"},
    {"malformed HI", "HI,1,rob2\n",
     "NO,0,4,rapidbridge: the first frame is not a valid HI (field_count in field 2)",
     "bad_hello", "rob2", NULL, "rob2", "the first frame was not a valid HI"},
    {"bad checksum on HI", "HI,1,rob2,1*00\n",
     "NO,0,4,rapidbridge: the first frame is not a valid HI (bad_checksum)", "bad_hello", NULL,
     NULL, "rob1", "none said HI as rob1"},
    {"frame before HI", "JT,1,1,2,3,4,5,6\n",
     "NO,0,5,rapidbridge: the first frame must be HI (got JT)", "not_hello", NULL, NULL, "rob1",
     "frame before HI 1"},
    {"no HI in time", NULL, "NO,0,6,rapidbridge: no HI within 0.5 s", "hello_timeout", NULL,
     NULL, "rob1", "no HI in time 1"},
};

static void run_refusal(void **state, const struct refusal_case *t)
{
    char path[64];
    struct daemon *d = start_with_file(state, CONFIG, path, sizeof path, NULL);
    struct tclient *q = tclient_connect(d);

    int fd = trobot_connect(d);
    char peer[64];
    fd_local_addr(fd, peer, sizeof peer);
    if (t->send)
        trobot_send(d, fd, t->send);
    char line[128];
    trobot_read_line(d, fd, line, sizeof line, WAIT_MS);
    if (strcmp(line, t->no) != 0)
        fail_msg("%s: the robot read \"%s\", want \"%s\"", t->name, line, t->no);
    assert_true(strlen(line) + 1 <= 80);
    assert_true(fd_wait_closed(d, fd, WAIT_MS));

    json_t *n = stats_member(q, "robot_port", "refused");
    assert_int_equal(json_int_member(n, t->reason), 1);
    json_decref(n);
    n = stats_member(q, "robot_port", "connections");
    assert_int_equal(json_integer_value(n), 1);
    json_decref(n);

    json_t *robots = robots_entry(q, NULL);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(robots, "robots"), i, e)
    {
        json_t *lr = json_object_get(e, "last_refused");
        bool want = t->robot && strcmp(json_str(e, "name"), t->robot) == 0;
        if (!want) {
            if (lr)
                fail_msg("%s: %s has last_refused %s", t->name, json_str(e, "name"),
                         json_text(lr));
            continue;
        }
        if (!lr)
            fail_msg("%s: %s has no last_refused", t->name, t->robot);
        char want_lr[160];
        snprintf(want_lr, sizeof want_lr, "{\"peer\":\"%s\",\"reason\":\"%s\"}", peer, t->reason);
        assert_json_has(lr, want_lr);
        double at = json_number_value(json_object_get(lr, "time"));
        assert_true(at > now_unix() - 60 && at <= now_unix() + 1);
        assert_non_null(json_str(lr, "hint"));
        assert_true(json_is_integer(json_object_get(lr, "code")));
    }
    json_t *unknown = json_object_get(robots, "unknown_hellos");
    if (t->unknown) {
        assert_int_equal(json_array_size(unknown), 1);
        char want_u[160];
        snprintf(want_u, sizeof want_u, "{\"peer\":\"%s\",\"name\":\"%s\"}", peer, t->unknown);
        assert_json_has(json_array_get(unknown, 0), want_u);
        assert_true(json_is_number(json_object_get(json_array_get(unknown, 0), "time")));
    } else if (unknown) {
        fail_msg("%s: unknown_hellos %s", t->name, json_text(unknown));
    }
    json_decref(robots);

    char out[CLI_OUT_MAX];
    int rc = run_cli(d, (const char *const[]){"doctor", t->doctor, "-c", path, NULL}, out,
                     sizeof out);
    if (rc != 1)
        fail_msg("%s: doctor exited %d, want 1; it said:\n%s", t->name, rc, out);
    char head[64];
    snprintf(head, sizeof head, "%s: NOT LINKED", t->doctor);
    expect_in(out, head, t->name);
    expect_in(out, t->doctor_says, t->name);
    daemon_stop(state);
    unlink(path);
}

static void test_refusals(void **state)
{
    for (size_t i = 0; i < sizeof refusal_cases / sizeof refusal_cases[0]; i++) {
        print_message("case: %s\n", refusal_cases[i].name);
        run_refusal(state, &refusal_cases[i]);
    }
}

/* Past 64 connections waiting for HI, the next one gets NO 7 at once. */
static void test_refusal_busy(void **state)
{
    /* The 64 must still be waiting when the 65th comes: a long hello_timeout;
     * all come from 127.0.0.1, so its address may hold all 64 (e2e_lockout
     * tests the per-address limit). */
    struct daemon *d = daemon_start(state, "{\"robots\":[{\"name\":\"rob2\"}],"
                                           "\"limits\":{\"hello_timeout\":30,"
                                           "\"max_pending_per_address\":64}}");
    struct tclient *q = tclient_connect(d);
    int fds[PENDING_MAX + 1];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(d->robot_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i <= PENDING_MAX; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof sa), 0);
        if (i < PENDING_MAX)
            continue;
        char line[128];
        trobot_read_line(d, fds[i], line, sizeof line, WAIT_MS);
        assert_string_equal(line,
                            "NO,0,7,rapidbridge: too many connections wait for HI; retrying helps");
    }
    json_t *n = stats_member(q, "robot_port", "refused");
    assert_int_equal(json_int_member(n, "busy"), 1);
    json_decref(n);
    for (int i = 0; i <= PENDING_MAX; i++)
        close(fds[i]);
    daemon_stop(state);
}

/* The last 8 unknown hellos, oldest first; the ninth pushes the first out. */
static void test_unknown_hellos_bounded(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *q = tclient_connect(d);
    for (int i = 1; i <= 9; i++) {
        char name[24];
        snprintf(name, sizeof name, "ghost%d", i);
        int fd = trobot_hello(d, name);
        assert_true(fd_wait_closed(d, fd, WAIT_MS));
        trobot_close(d, fd);
    }
    json_t *r = robots_entry(q, NULL);
    json_t *u = json_object_get(r, "unknown_hellos");
    assert_int_equal(json_array_size(u), 8);
    assert_string_equal(json_str(json_array_get(u, 0), "name"), "ghost2");
    assert_string_equal(json_str(json_array_get(u, 7), "name"), "ghost9");
    json_decref(r);
    daemon_stop(state);
}

/* robot-sim prints the NO it gets (stderr) and ends as on any close (--once). */
static void test_sim_prints_no(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    const char *bin = getenv("RB_SIM");
    if (!bin || *bin != '/')
        fail_msg("RB_SIM must be set to the absolute path of robot-sim");
    char cmd[512], out[CLI_OUT_MAX];
    snprintf(cmd, sizeof cmd, "timeout 10 '%s' --connect 127.0.0.1:%u --name rob9 --once 2>&1",
             bin, d->robot_port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_in(out, "refused by the bridge: NO 1: rapidbridge: robot name 'rob9' is not configured",
              "robot-sim");
    expect_in(out, "disconnected: closed by the bridge", "robot-sim");
    daemon_stop(state);
}

/* --- doctor ----------------------------------------------------------------- */

static void test_doctor(void **state)
{
    char path[64], out[CLI_OUT_MAX];
    struct daemon *d = start_with_file(state, CONFIG, path, sizeof path, NULL);
    char port[16];
    snprintf(port, sizeof port, "port %u", d->robot_port);

    /* nothing has connected */
    int rc = run_cli(d, (const char *const[]){"doctor", "-c", path, NULL}, out, sizeof out);
    assert_int_equal(rc, 1);
    expect_in(out, "rob1: NOT LINKED", "nothing connected");
    expect_in(out, "rob2: NOT LINKED", "nothing connected");
    expect_in(out, "nothing has connected to", "nothing connected");
    expect_in(out, port, "nothing connected");
    expect_in(out, "rbBridgeIp", "nothing connected");
    expect_in(out, "616-1 PC Interface", "nothing connected");
    expect_in(out, "this PC only: set robot_listen", "nothing connected"); /* 127.0.0.1 here */

    /* rob2 linked: doctor rob2 is fine, doctor (all) is not, rob1 never linked */
    int fd = trobot_hello(d, "rob2");
    struct tclient *q = tclient_connect(d);
    for (int i = 0; i < 100; i++) {
        json_t *e = robots_entry(q, "rob2");
        bool up = json_is_true(json_object_get(e, "connected"));
        json_decref(e);
        if (up)
            break;
        daemon_sleep(d, 20);
    }
    rc = run_cli(d, (const char *const[]){"doctor", "rob2", NULL}, out, sizeof out);
    if (rc != 0)
        fail_msg("doctor rob2 exited %d:\n%s", rc, out);
    expect_in(out, "rob2: ok, linked from 127.0.0.1:", "rob2 linked");
    rc = run_cli(d, (const char *const[]){"doctor", "-c", path, NULL}, out, sizeof out);
    assert_int_equal(rc, 1);
    expect_in(out, "rob2: ok", "all");
    expect_in(out, "rob1: NOT LINKED", "all");

    /* rob2's link goes away: doctor says it was linked */
    trobot_close(d, fd);
    daemon_wait_log(d, "robot rob2: link down", WAIT_MS);
    rc = run_cli(d, (const char *const[]){"doctor", "rob2", NULL}, out, sizeof out);
    assert_int_equal(rc, 1);
    expect_in(out, "it was linked from 127.0.0.1 until", "rob2 down");

    /* a robot the running bridge does not have */
    rc = run_cli(d, (const char *const[]){"doctor", "rob7", NULL}, out, sizeof out);
    assert_int_equal(rc, 1);
    expect_in(out, "rob7: NOT CONFIGURED in the running bridge (it has: rob1 rob2)", "rob7");

    /* a configuration file that names a robot the bridge does not run */
    write_file(path, "{\"robots\":[{\"name\":\"rob1\"},{\"name\":\"rob2\"},{\"name\":\"rob3\"}]}");
    rc = run_cli(d, (const char *const[]){"doctor", "-c", path, NULL}, out, sizeof out);
    expect_in(out, "names robot rob3, which the running bridge does not have", "drift");

    /* the bridge is gone: 2 */
    daemon_stop(state);
    *state = NULL;
    unlink(path);
}

static void test_doctor_unreachable(void **state)
{
    (void)state;
    /* A port bound but not listening: nobody else can take it meanwhile,
     * and a connect to it is refused. */
    int hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal(bind(hold, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(hold, (struct sockaddr *)&sa, &len), 0);
    char connect[32], out[CLI_OUT_MAX];
    snprintf(connect, sizeof connect, "127.0.0.1:%u", ntohs(sa.sin_port));
    int rc = cli_run(NULL, (const char *const[]){"doctor", "--connect", connect, NULL}, NULL, true,
                     out, sizeof out);
    close(hold);
    if (rc != 2)
        fail_msg("doctor exited %d, want 2:\n%s", rc, out);
    expect_in(out, "cannot connect", "unreachable");
}

/* --- STATE age and stale ------------------------------------------------------ */

static void test_state_age_and_stale(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *w = tclient_connect(d);
    json_decref(tclient_request(w, "{\"cmd\":\"watch\",\"types\":[\"JT\"]}", "WATCH", NULL));
    int fd = trobot_hello(d, "rob2");
    trobot_send(d, fd, "JT,7,1,2,3,4,5,6\n");
    json_decref(tclient_wait_frame(w, "JT", 7, WAIT_MS, NULL));
    daemon_sleep(d, 300);
    trobot_send(d, fd, "HB,8\n");

    json_t *s = tclient_request(w, "{\"cmd\":\"state\",\"robot\":\"rob2\"}", "STATE", NULL);
    assert_json_has(s, "{\"connected\":true,\"stale\":false}");
    json_t *jt = json_object_get(json_object_get(s, "frames"), "JT");
    double age = json_real_value(json_object_get(jt, "age"));
    if (!(age >= 0.25 && age < 10))
        fail_msg("JT age %g, want about 0.3", age);
    assert_int_equal(json_int_member(jt, "seq"), 7);
    json_decref(s);

    trobot_close(d, fd);
    json_t *down = tclient_wait_class(w, "LINK", WAIT_MS, NULL); /* up was skipped above */
    assert_string_equal(json_str(down, "state"), "down");
    json_decref(down);
    s = tclient_request(w, "{\"cmd\":\"state\",\"robot\":\"rob2\"}", "STATE", NULL);
    assert_json_has(s, "{\"connected\":false,\"stale\":true}");
    jt = json_object_get(json_object_get(s, "frames"), "JT");
    assert_non_null(jt);
    assert_int_equal(json_int_member(jt, "seq"), 7);
    assert_true(json_real_value(json_object_get(jt, "age")) >= age);
    json_decref(s);
    daemon_stop(state);
}

/* --- STATS requests.errors ------------------------------------------------------ */

static void test_stats_request_errors(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *q = tclient_connect(d);
    json_t *e = stats_member(q, "requests", "errors");
    assert_json_eq(e, "{}", NULL);
    json_decref(e);

    tclient_send(q, "{nope");
    json_decref(tclient_expect_class(q, "ERROR", WAIT_MS));
    tclient_send(q, "{\"cmd\":\"fly\"}");
    json_decref(tclient_expect_class(q, "ERROR", WAIT_MS));
    for (int i = 0; i < 2; i++) {
        tclient_send(q, "{\"cmd\":\"state\",\"robot\":\"rob9\"}");
        json_decref(tclient_expect_class(q, "ERROR", WAIT_MS));
    }
    tclient_send(q, "{\"cmd\":\"send\",\"robot\":\"rob2\",\"type\":\"NO\",\"fields\":{}}");
    json_t *no = tclient_expect_class(q, "ERROR", WAIT_MS);
    assert_string_equal(json_str(no, "code"), "unknown_type");
    json_decref(no);
    tclient_send(q, "{\"cmd\":\"send\",\"robot\":\"rob2\",\"type\":\"PING\"}");
    json_decref(tclient_expect_class(q, "ERROR", WAIT_MS)); /* forbidden */

    /* 8: two stats (this one included), six that failed */
    json_t *s = tclient_request(q, "{\"cmd\":\"stats\"}", "STATS", NULL);
    json_t *req = json_object_get(s, "requests");
    assert_json_eq(req,
                   "{\"total\":8,\"errors\":{\"bad_json\":1,\"unknown_cmd\":1,\"unknown_robot\":2,"
                   "\"unknown_type\":1,\"forbidden\":1}}",
                   NULL);
    json_decref(s);
    daemon_stop(state);
}

/* --- a STATE reply larger than the hard limit ----------------------------------- */

/* The hard limit (2 x client_queue_bytes) is for replies piling up behind a
 * client that does not read; one large reply to a client that reads must
 * arrive (PROTOCOL.md 5.6). 4096 is the smallest client_queue_bytes. */
static void test_large_state_reply(void **state)
{
    struct daemon *d = daemon_start(state, "{\"robots\":[{\"name\":\"rob2\"}],"
                                           "\"limits\":{\"client_queue_bytes\":4096}}");
    int fd = trobot_hello(d, "rob2");
    char *burst = malloc(300 * 64);
    assert_non_null(burst);
    size_t n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(burst + n, "IO,%d,signal_with_a_long_name_%05d,1\n", i + 2, i);
    trobot_write(d, fd, burst, n);
    free(burst);
    trobot_send(d, fd, "IO,999,last,1\n");
    struct tclient *q = tclient_connect(d);
    json_t *s = NULL;
    for (int i = 0; i < 100; i++) {
        s = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob2\"}", "STATE", NULL);
        if (json_object_get(json_object_get(s, "io"), "last"))
            break;
        json_decref(s);
        s = NULL;
        daemon_sleep(d, 20);
    }
    assert_non_null(s);
    char *text = json_text(s);
    assert_true(strlen(text) > 2 * 4096);
    free(text);
    assert_int_equal(json_object_size(json_object_get(s, "io")), 301);
    json_decref(s);
    json_t *st = tclient_request(q, "{\"cmd\":\"stats\"}", "STATS", NULL);
    assert_int_equal(json_int_member(st, "disconnects"), 0);
    json_decref(st);
    daemon_stop(state);
}

/* --- reload: idle_timeout reaches live links ------------------------------------- */

static void test_reload_idle_timeout_live(void **state)
{
    char path[64];
    struct daemon *d = start_with_file(
        state, "{\"robots\":[{\"name\":\"rob2\"}],\"limits\":{\"idle_timeout\":60}}", path,
        sizeof path, NULL);
    struct tclient *w = tclient_connect(d);
    json_decref(tclient_request(w, "{\"cmd\":\"watch\",\"types\":[]}", "WATCH", NULL));
    int fd = trobot_hello(d, "rob2");
    json_t *up = tclient_wait_class(w, "LINK", WAIT_MS, NULL);
    assert_string_equal(json_str(up, "state"), "up");
    json_decref(up);

    write_file(path, "{\"robots\":[{\"name\":\"rob2\"}],\"limits\":{\"idle_timeout\":0.3}}");
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(daemon_wait_log(d, "in force", WAIT_MS));
    long long t0 = mono_ms();
    json_t *down = tclient_wait_class(w, "LINK", WAIT_MS, NULL);
    assert_json_eq(down, "{\"class\":\"LINK\",\"robot\":\"rob2\",\"state\":\"down\","
                         "\"reason\":\"idle timeout\"}", NULL);
    json_decref(down);
    assert_true(mono_ms() - t0 < 2000);
    assert_true(fd_wait_closed(d, fd, WAIT_MS));
    daemon_stop(state);
    unlink(path);
}

/* --- SIGHUP reopens the record file -------------------------------------------------- */

static void test_record_reopened(void **state)
{
    char path[64], cfg[64], rotated[80];
    temp_path(path, sizeof path, ".log");
    snprintf(rotated, sizeof rotated, "%s.1", path);
    const char *more[] = {"--record", path, NULL};
    struct daemon *d =
        start_with_file(state, "{\"robots\":[{\"name\":\"rob2\"}]}", cfg, sizeof cfg, more);
    struct tclient *w = tclient_connect(d);
    json_decref(tclient_request(w, "{\"cmd\":\"watch\",\"types\":[\"JT\"]}", "WATCH", NULL));
    int fd = trobot_hello(d, "rob2");
    trobot_send(d, fd, "JT,2,1,1,1,1,1,1\n");
    json_decref(tclient_wait_frame(w, "JT", 2, WAIT_MS, NULL));

    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(daemon_wait_log(d, "record file", WAIT_MS));
    trobot_send(d, fd, "JT,3,2,2,2,2,2,2\n");
    json_decref(tclient_wait_frame(w, "JT", 3, WAIT_MS, NULL));

    char *old = read_file(rotated);
    assert_non_null(old);
    expect_in(old, " rob2 JT,2,1,1,1,1,1,1\n", "rotated file");
    assert_null(strstr(old, "JT,3"));
    char *fresh = read_file(path);
    if (!fresh)
        fail_msg("no new record file %s after SIGHUP", path);
    expect_in(fresh, " rob2 JT,3,2,2,2,2,2,2\n", "new file");
    assert_null(strstr(fresh, "JT,2"));
    daemon_stop(state);
    unlink(path);
    unlink(rotated);
    unlink(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_refusals, daemon_teardown),
        cmocka_unit_test_teardown(test_refusal_busy, daemon_teardown),
        cmocka_unit_test_teardown(test_unknown_hellos_bounded, daemon_teardown),
        cmocka_unit_test_teardown(test_sim_prints_no, daemon_teardown),
        cmocka_unit_test_teardown(test_doctor, daemon_teardown),
        cmocka_unit_test_teardown(test_doctor_unreachable, daemon_teardown),
        cmocka_unit_test_teardown(test_state_age_and_stale, daemon_teardown),
        cmocka_unit_test_teardown(test_stats_request_errors, daemon_teardown),
        cmocka_unit_test_teardown(test_large_state_reply, daemon_teardown),
        cmocka_unit_test_teardown(test_reload_idle_timeout_live, daemon_teardown),
        cmocka_unit_test_teardown(test_record_reopened, daemon_teardown),
    };
    return cmocka_run_group_tests_name("e2e_diag", tests, NULL, NULL);
}
