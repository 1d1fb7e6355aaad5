/* e2e_lockout.c - no lock-outs (interface 1.1, section E; issue 10): what
 * one hostile host could do to the real daemon, each bounded in time and
 * count, all on loopback. Distinct hosts are distinct addresses of
 * 127.0.0.0/8: a socket bound to 127.0.0.9 before it connects to 127.0.0.1
 * is another host to the daemon.
 *  - JSON clients from one address that never send a request cannot take
 *    every slot (limits.max_clients_per_address): the one over gets ERROR
 *    busy, an HMI from another address still gets in;
 *  - a client that sends no whole request (blank lines are none) within
 *    first_request_timeout, or
 *    leaves a line incomplete (trickling a byte at a time) for
 *    request_timeout, gets ERROR timeout and is closed; one that has sent a
 *    request and only listens stays;
 *  - robot connections from one address that never send HI cannot keep a
 *    controller from another address out (limits.max_pending_per_address);
 *  - a flood of bad handshakes logs a few lines a second, with the count of
 *    those folded;
 *  - SIGHUP applies new limits to the next connection, cutting nobody off;
 *  - a peer spelled as IPv4-mapped IPv6 matches the IPv4 connection, and on
 *    a dual-stack listener both spellings match. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS 3000
#define LINE_MAX_TEST 512
#define ATTACKER "127.0.0.9"      /* the hostile host */
#define HMI "127.0.0.2"           /* the host that must still get in */
#define RAW_MAX 128               /* sockets a test opens outside the harness */
#define FLOOD_MAX 2000            /* bad handshakes at most ... */
#define FLOOD_MS 2500             /* ... or for this long */
#define FLOOD_MIN 150             /* fewer would not tell a flood from a few lines
                                   * (the bound below is a few dozen) */

/* --- raw sockets from a chosen source address ------------------------------- */

struct raw {
    int fds[RAW_MAX];
    int n;
};

static void raw_close_all(struct raw *r)
{
    for (int i = 0; i < r->n; i++)
        if (r->fds[i] >= 0)
            close(r->fds[i]);
    r->n = 0;
}

/* A blocking connection from src to 127.0.0.1:port; kept in r when r is not NULL. */
static int connect_from(struct raw *r, const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0)
        fail_msg("bind to %s: %s", src, strerror(errno));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0)
        fail_msg("connect from %s to port %u: %s", src, (unsigned)port, strerror(errno));
    if (r) {
        assert_true(r->n < RAW_MAX);
        r->fds[r->n++] = fd;
    }
    return fd;
}

static void send_all(int fd, const char *text)
{
    size_t len = strlen(text);
    assert_int_equal(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

static long long stats_int(struct tclient *q, const char *a, const char *b, const char *c)
{
    json_t *s = tclient_request(q, "{\"cmd\":\"stats\"}", "STATS", NULL);
    json_t *m = json_object_get(s, a);
    if (b)
        m = json_object_get(m, b);
    if (c)
        m = json_object_get(m, c);
    if (!json_is_integer(m))
        fail_msg("STATS has no integer %s.%s.%s", a, b ? b : "", c ? c : "");
    long long v = json_integer_value(m);
    json_decref(s);
    return v;
}

/* --- JSON clients --------------------------------------------------------------- */

/* 40 slots, 8 per address: the attacker's connections that never send a
 * request take 8; the 9th gets ERROR busy; an HMI from another address gets
 * its VERSION banner. (Before the limit, the attacker took all 40 and the
 * HMI got busy.) */
static void test_clients_per_address(void **state)
{
    struct daemon *d = daemon_start(state, "{\"limits\":{\"max_clients\":40,"
                                           "\"max_clients_per_address\":8}}");
    struct raw r = {.n = 0};
    char line[LINE_MAX_TEST];
    int refused = 0;
    for (int i = 0; i < 40; i++) {
        int fd = connect_from(&r, ATTACKER, d->client_port);
        trobot_read_line(d, fd, line, sizeof line, WAIT_MS);
        if (i < 8) {
            if (!strstr(line, "\"class\":\"VERSION\""))
                fail_msg("attacker connection %d: VERSION expected, got '%s'", i, line);
            continue;
        }
        json_t *e = json_must(line);
        assert_error(e, NULL, "busy", "address");
        json_decref(e);
        if (!fd_wait_closed(d, fd, WAIT_MS))
            fail_msg("attacker connection %d: not closed after busy", i);
        refused++;
    }
    assert_int_equal(refused, 32);
    int hmi = connect_from(&r, HMI, d->client_port);
    trobot_read_line(d, hmi, line, sizeof line, WAIT_MS);
    if (!strstr(line, "\"class\":\"VERSION\""))
        fail_msg("the HMI from another address got '%s' instead of VERSION", line);
    /* A closed slot is free again for its address. */
    close(r.fds[0]);
    r.fds[0] = -1;
    long long deadline = mono_ms() + WAIT_MS;
    bool again = false;
    while (!again && mono_ms() < deadline) {
        int fd = connect_from(NULL, ATTACKER, d->client_port);
        trobot_read_line(d, fd, line, sizeof line, WAIT_MS);
        again = strstr(line, "\"class\":\"VERSION\"") != NULL;
        close(fd);
        if (!again)
            daemon_sleep(d, 50);
    }
    assert_true(again);
    assert_true(daemon_wait_log(d, "refused: its address has 8 clients already", WAIT_MS));
    raw_close_all(&r);
    daemon_stop(state);
}

/* true once the peer has closed fd (read 0 or reset); the last bytes
 * received are kept in last (unchanged when none came). */
static bool wait_closed_raw(struct daemon *d, int fd, int ms, char *last, size_t size)
{
    long long deadline = mono_ms() + ms;
    while (mono_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) < 0)
            return false;
        daemon_pump(d);
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return true;
        if (n > 0) {
            buf[n] = '\0';
            snprintf(last, size, "%s", buf);
        }
    }
    return false;
}

/* first_request_timeout 0.5 s, request_timeout 1 s. */
static void test_request_timeouts(void **state)
{
    struct daemon *d = daemon_start(state, "{\"limits\":{\"first_request_timeout\":0.5,"
                                           "\"request_timeout\":1}}");
    struct raw r = {.n = 0};
    char line[LINE_MAX_TEST], last[LINE_MAX_TEST] = "";

    /* A listener that has asked something stays, however long it is quiet. */
    struct tclient *w = watcher_connect(d, NULL);

    /* Silent from the start: ERROR timeout, then closed. */
    long long t0 = mono_ms();
    int silent = connect_from(&r, HMI, d->client_port);
    trobot_read_line(d, silent, line, sizeof line, WAIT_MS);
    assert_non_null(strstr(line, "\"class\":\"VERSION\""));
    send_all(silent, "\n \t\r\n"); /* blank lines are not requests */
    trobot_read_line(d, silent, line, sizeof line, WAIT_MS);
    long long took = mono_ms() - t0;
    if (!*line)
        fail_msg("a client that sent nothing was not told anything within %d ms", WAIT_MS);
    json_t *e = json_must(line);
    assert_error(e, NULL, "timeout", "connecting");
    json_decref(e);
    assert_true(wait_closed_raw(d, silent, WAIT_MS, last, sizeof last));
    assert_true(took >= 400);     /* not before the limit */

    /* Half a line, never finished: closed, although bytes keep coming. */
    int slow = connect_from(&r, HMI, d->client_port);
    trobot_read_line(d, slow, line, sizeof line, WAIT_MS);
    send_all(slow, "{\"cmd\":\"stats\"}\n");
    trobot_read_line(d, slow, line, sizeof line, WAIT_MS);
    assert_non_null(strstr(line, "\"class\":\"STATS\""));
    static const char trickle[] = "{\"cmd\":\"stats\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    t0 = mono_ms();
    bool closed = false;
    for (size_t i = 0; i < sizeof trickle - 1 && !closed; i++) {
        if (send(slow, trickle + i, 1, MSG_NOSIGNAL) < 0)
            break; /* reset: closed */
        closed = wait_closed_raw(d, slow, 100, last, sizeof last);
    }
    took = mono_ms() - t0;
    if (!closed)
        fail_msg("a request line trickled for %lld ms was not closed", took);
    assert_true(took >= 900);
    assert_non_null(strstr(last, "\"code\":\"timeout\""));

    /* The watcher is still served. */
    json_decref(tclient_request(w, "{\"cmd\":\"stats\"}", "STATS", NULL));
    assert_true(daemon_log_has(d, "limits.first_request_timeout"));
    assert_true(daemon_log_has(d, "limits.request_timeout"));
    raw_close_all(&r);
    daemon_stop(state);
}

/* A reload lowers the per-address limit and the first-request timeout: the
 * clients already connected stay, the next one over the new limit gets
 * busy, and a new silent client is timed out by the new timeout. */
static void test_reload_limits(void **state)
{
    char path[] = "/tmp/rb-lockout-XXXXXX.json";
    int pfd = mkstemps(path, 5);
    assert_true(pfd >= 0);
    static const char before[] = "{\"limits\":{\"max_clients_per_address\":8}}";
    static const char after[] =
        "{\"limits\":{\"max_clients_per_address\":2,\"first_request_timeout\":0.5}}";
    assert_int_equal(write(pfd, before, sizeof before - 1), (ssize_t)(sizeof before - 1));
    close(pfd);
    const char *extra[] = {"-c", path, NULL};
    struct daemon *d = daemon_start_args(state, before, extra);
    struct raw r = {.n = 0};
    char line[LINE_MAX_TEST];
    for (int i = 0; i < 3; i++) {
        int fd = connect_from(&r, ATTACKER, d->client_port);
        trobot_read_line(d, fd, line, sizeof line, WAIT_MS);
        assert_non_null(strstr(line, "\"class\":\"VERSION\""));
        send_all(fd, "{\"cmd\":\"version\"}\n");
        trobot_read_line(d, fd, line, sizeof line, WAIT_MS);
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(after, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(daemon_wait_log(d, "in force", WAIT_MS));
    unlink(path);

    int over = connect_from(&r, ATTACKER, d->client_port);
    trobot_read_line(d, over, line, sizeof line, WAIT_MS);
    json_t *e = json_must(line);
    assert_error(e, NULL, "busy", "address");
    json_decref(e);
    for (int i = 0; i < 3; i++) { /* not cut off by the lower limit */
        send_all(r.fds[i], "{\"cmd\":\"version\"}\n");
        trobot_read_line(d, r.fds[i], line, sizeof line, WAIT_MS);
        assert_non_null(strstr(line, "\"class\":\"VERSION\""));
    }
    int silent = connect_from(&r, HMI, d->client_port);
    trobot_read_line(d, silent, line, sizeof line, WAIT_MS);
    trobot_read_line(d, silent, line, sizeof line, WAIT_MS);
    e = json_must(line);
    assert_error(e, NULL, "timeout", "0.5 s");
    json_decref(e);
    raw_close_all(&r);
    daemon_stop(state);
}

/* --- robot connections ------------------------------------------------------------ */

/* The attacker holds 64 connections without HI (the global limit); a
 * controller from another address still links. (Before the per-address
 * limit it got NO busy for as long as the attacker kept them open.) */
static void test_pending_per_address(void **state)
{
    struct daemon *d = daemon_start(state, "{\"robots\":[{\"name\":\"rob1\",\"peer\":\"" HMI "\"}],"
                                           "\"limits\":{\"hello_timeout\":30}}");
    struct tclient *w = watcher_connect(d, NULL);
    struct raw r = {.n = 0};
    for (int i = 0; i < 64; i++)
        connect_from(&r, ATTACKER, d->robot_port);
    long long deadline = mono_ms() + WAIT_MS;
    while (stats_int(w, "robot_port", "connections", NULL) < 64 && mono_ms() < deadline)
        daemon_sleep(d, 20);
    assert_int_equal(stats_int(w, "robot_port", "connections", NULL), 64);
    assert_int_equal(stats_int(w, "robot_port", "refused", "busy"), 64 - 8);
    char line[LINE_MAX_TEST];
    trobot_read_line(d, r.fds[63], line, sizeof line, WAIT_MS);
    assert_string_equal(line, "NO,0,7,rapidbridge: too many connections wait for HI; retrying helps");

    int ctl = connect_from(&r, HMI, d->robot_port);
    send_all(ctl, "HI,1,rob1,1,e2e\n");
    json_t *link = tclient_wait_class(w, "LINK", WAIT_MS, NULL);
    assert_string_equal(json_str(link, "state"), "up");
    json_decref(link);
    assert_true(daemon_log_has(d, "limits.max_pending_per_address"));
    raw_close_all(&r);
    daemon_stop(state);
}

static int count_lines(const char *log, const char *a, const char *b, long long *folded)
{
    int n = 0;
    *folded = 0;
    for (const char *p = log; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), p);
        if (strstr(buf, a) && (!b || strstr(buf, b))) {
            n++;
            const char *f = strstr(buf, " more like this folded)");
            if (f) {
                while (f > buf && f[-1] >= '0' && f[-1] <= '9')
                    f--;
                *folded += atoll(f);
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return n;
}

/* Bad handshakes as fast as one process can make them: a few log lines a
 * second, which account for every one of them with the folded counts. */
static void test_log_flood(void **state)
{
    struct daemon *d = daemon_start(state, "{\"robots\":[{\"name\":\"rob1\"}],"
                                           "\"limits\":{\"max_pending_per_address\":64}}");
    struct tclient *q = tclient_connect(d);
    long long t0 = mono_ms();
    int n = 0;
    while (n < FLOOD_MAX && mono_ms() - t0 < FLOOD_MS) {
        int fd = connect_from(NULL, "127.0.0.1", d->robot_port);
        (void)!send(fd, "garbage\n", 8, MSG_NOSIGNAL);
        close(fd);
        n++;
        if (n % 100 == 0)
            daemon_pump(d);
    }
    if (n < FLOOD_MIN)
        fail_msg("only %d connections in %d ms", n, FLOOD_MS);
    long long deadline = mono_ms() + 10000;
    while (stats_int(q, "robot_port", "connections", NULL) < n && mono_ms() < deadline)
        daemon_sleep(d, 50);
    assert_int_equal(stats_int(q, "robot_port", "connections", NULL), n);
    long long refused = stats_int(q, "robot_port", "refused", "bad_hello")
                        + stats_int(q, "robot_port", "refused", "busy")
                        + stats_int(q, "robot_port", "refused", "not_hello");
    /* The last folded counts are flushed within two seconds. */
    long long folded = 0;
    int events = 0, total = 0;
    deadline = mono_ms() + 2 * WAIT_MS;
    do {
        daemon_sleep(d, 100);
        long long unused;
        events = count_lines(d->log, "robot connection from", NULL, &unused);
        total = count_lines(d->log, "robot connection", NULL, &folded);
    } while (events + folded < refused && mono_ms() < deadline);
    double secs = (double)(mono_ms() - t0) / 1000.0;
    if (getenv("LOCKOUT_DEBUG"))
        fputs(d->log, stdout);
    printf("# %d bad handshakes in %.1f s: %d log lines (%d with an address), %lld folded\n", n,
           secs, total, events, folded);
    /* At most one line per cause per second, plus one flush per cause. */
    int bound = 2 * (int)(secs + 2) * 3;
    if (total > bound)
        fail_msg("%d log lines for %d bad handshakes in %.1f s (at most %d)", total, n, secs,
                 bound);
    assert_true(folded > 0);
    /* Every refusal is accounted for: a line of its own, or folded. */
    if (events + folded != refused)
        fail_msg("%d lines + %lld folded do not account for %lld refusals", events, folded,
                 refused);
    daemon_stop(state);
}

/* --- peer spelling ----------------------------------------------------------------- */

static void expect_link_up(struct daemon *d, struct tclient *w, const char *name)
{
    int fd = trobot_hello(d, name);
    (void)fd;
    json_t *link = tclient_wait_class(w, "LINK", WAIT_MS, NULL);
    if (!link || strcmp(json_str(link, "robot"), name) != 0
        || strcmp(json_str(link, "state"), "up") != 0) {
        char *t = link ? json_text(link) : NULL;
        fail_msg("%s: LINK up expected, got %s", name, t ? t : "nothing");
    }
    json_decref(link);
}

/* The lock-out: peer "::ffff:127.0.0.1", connection from 127.0.0.1. */
static void test_peer_mapped(void **state)
{
    struct daemon *d = daemon_start(state,
                                    "{\"robots\":[{\"name\":\"rob1\",\"peer\":\"::ffff:127.0.0.1\"},"
                                    "{\"name\":\"rob2\",\"peer\":\"::FFFF:7f00:1\"}]}");
    struct tclient *w = watcher_connect(d, NULL);
    expect_link_up(d, w, "rob1");
    expect_link_up(d, w, "rob2");
    daemon_stop(state);
}

/* On a dual-stack listener ("::"), an IPv4 controller arrives as
 * ::ffff:127.0.0.1: both spellings of its peer match. */
static void test_peer_dual_stack(void **state)
{
    int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    int v6only = 1;
    socklen_t sl = sizeof v6only;
    bool ok = probe >= 0 && bind(probe, (struct sockaddr *)&any, sizeof any) == 0
              && getsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &sl) == 0 && !v6only;
    if (probe >= 0)
        close(probe);
    if (!ok) {
        printf("# skipped: no dual-stack IPv6 socket here (%s)\n",
               probe < 0 ? strerror(errno) : "bind to [::] failed or IPV6_V6ONLY is on");
        skip();
    }
    static const char *const extra[] = {"--robot-listen", "[::]:0", NULL};
    struct daemon *d = daemon_start_args(state,
                                         "{\"robots\":[{\"name\":\"rob1\",\"peer\":\"127.0.0.1\"},"
                                         "{\"name\":\"rob2\",\"peer\":\"::ffff:127.0.0.1\"}]}",
                                         extra);
    assert_true(daemon_log_has(d, "listening for robots on [::]:"));
    struct tclient *w = watcher_connect(d, NULL);
    expect_link_up(d, w, "rob1");
    expect_link_up(d, w, "rob2");
    daemon_stop(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_clients_per_address, daemon_teardown),
        cmocka_unit_test_teardown(test_request_timeouts, daemon_teardown),
        cmocka_unit_test_teardown(test_reload_limits, daemon_teardown),
        cmocka_unit_test_teardown(test_pending_per_address, daemon_teardown),
        cmocka_unit_test_teardown(test_log_flood, daemon_teardown),
        cmocka_unit_test_teardown(test_peer_mapped, daemon_teardown),
        cmocka_unit_test_teardown(test_peer_dual_stack, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
