/* e2e_faults.c - the real daemon under faults from robots and clients, all
 * on loopback and bounded: robots that vanish mid-frame or go silent, a
 * thousand reconnects, ten thousand client connections, garbage and endless
 * request lines, clients that leave with replies queued, SIGTERM under load.
 *
 * Every fault case runs in the same frame: a probe client, a reference robot
 * (rob2) sending a known JT sequence, and a watcher of that sequence which
 * keeps up (it is drained while the fault goes on). After the fault the
 * daemon must answer the probe, be back to its baseline of open fds, have
 * grown its RSS by at most RSS_SLACK_KB, and the reference watcher must have
 * seen every JT in order, nothing lost, nothing else. (Under AddressSanitizer
 * the RSS bound is not applied: see proc_has_asan.)
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#define RSS_SLACK_KB (4 * 1024)   /* RSS growth allowed over a fault */
#define SETTLE_MS 3000            /* fds back to the baseline after a fault */
#define TICK_EVERY 50             /* fault steps between two reference frames */
#define RECONNECTS 1000
#define CONNECTS 10000
#define CONNECT_BATCH 100         /* below the listen backlog, max_clients and
                                   * CONFIG_CHURN's max_clients_per_address */
#define GARBAGE_CLIENTS 8
#define GARBAGE_LINES 200
#define GARBAGE_LINE_MAX 300
#define ENDLESS_MAX (8u << 20)    /* the daemon must close before this much */
#define ENDLESS_CHUNK 65536
#define QUEUED_CLIENTS 6
#define QUEUED_REQUESTS 2000
#define LOAD_WATCHERS 20
#define LOAD_FRAMES 500           /* JT seen by the keeping-up watcher before SIGTERM */
#define LOAD_LOG_FRAMES 10000     /* the log rob2 replays in a loop */
#define EXIT_MS 5000              /* SIGTERM under load until the daemon has exited */
#define LINE_BUF 512
#define FDS_MAX 1024              /* daemon fds listed */
#define FD_TARGET_MAX 64
#define FDS_TEXT_MAX 8192

/* rob1 takes the faults, rob2 is the reference. */
#define ROBOTS "\"robots\":[{\"name\":\"rob1\",\"commands\":[\"PING\"]},{\"name\":\"rob2\"}]"
static const char CONFIG[] = "{" ROBOTS "}";
static const char CONFIG_IDLE[] = "{" ROBOTS ",\"limits\":{\"idle_timeout\":0.8}}";
/* The churn test opens CONNECT_BATCH clients at once, all from 127.0.0.1. */
static const char CONFIG_CHURN[] =
    "{" ROBOTS ",\"limits\":{\"max_clients_per_address\":256}}";
static const char CONFIG_LOAD[] = "{" ROBOTS ",\"limits\":{\"client_queue_bytes\":65536}}";

struct fx {
    struct daemon *d;
    struct tclient *probe;
    struct tclient *ref;         /* watches rob2 JT */
    int ref_fd;                 /* rob2's link */
    long long ref_sent;         /* next seq rob2 sends */
    long long ref_seen;         /* next seq the watcher must get */
    char fds0[FDS_TEXT_MAX];    /* baseline of the daemon's open fds (proc_fds) */
    long rss0_kb;               /* baseline VmRSS */
};

/* --- /proc of the daemon ---------------------------------------------------- */

struct fd_entry {
    int fd;
    char target[FD_TARGET_MAX];  /* "socket:[12345]", "/dev/null" ... */
};

static int fd_entry_cmp(const void *a, const void *b)
{
    return ((const struct fd_entry *)a)->fd - ((const struct fd_entry *)b)->fd;
}

/* The daemon's open fds, one "FD TARGET" line each, in fd order: equal
 * snapshots mean the very same files and sockets are open, not just as many. */
static void proc_fds(pid_t pid, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        fail_msg("%s: %s", path, strerror(errno));
    struct fd_entry *e = calloc(FDS_MAX, sizeof *e);
    assert_non_null(e);
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (count == FDS_MAX)
            fail_msg("the daemon has more than %d fds open", FDS_MAX);
        char link[400];
        snprintf(link, sizeof link, "%s/%s", path, de->d_name);
        ssize_t len = readlink(link, e[count].target, FD_TARGET_MAX - 1);
        e[count].target[len > 0 ? len : 0] = '\0'; /* closed meanwhile: "" */
        e[count++].fd = atoi(de->d_name);
    }
    closedir(dir);
    qsort(e, count, sizeof *e, fd_entry_cmp);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && len < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%d %s\n", e[i].fd, e[i].target);
    free(e);
    if (len >= n)
        fail_msg("fd list longer than %zu bytes", n);
}

static long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("%s: %s", path, strerror(errno));
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    if (kb < 0)
        fail_msg("no VmRSS in %s", path);
    return kb;
}

/* A daemon built with AddressSanitizer keeps freed memory in quarantine, so
 * its RSS says nothing about leaks; LeakSanitizer reports them at exit
 * instead, which daemon_stop turns into a failure. Such a binary names
 * __asan_init whatever the compiler: gcc imports it from libasan.so, clang
 * links the runtime in (so /proc/PID/maps shows no libasan) and exports it. */
static bool proc_has_asan(pid_t pid)
{
    static const char needle[] = "__asan_init";
    char path[64], buf[65536 + sizeof needle];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("%s: %s", path, strerror(errno));
    bool asan = false;
    size_t keep = 0, n;
    /* The last bytes of each block are kept, so a name across two blocks is seen. */
    while (!asan && (n = fread(buf + keep, 1, sizeof buf - keep, f)) > 0) {
        n += keep;
        asan = memmem(buf, n, needle, sizeof needle - 1) != NULL;
        keep = n < sizeof needle - 1 ? n : sizeof needle - 1;
        memmove(buf, buf + n - keep, keep);
    }
    fclose(f);
    return asan;
}

/* Exited (a zombie until daemon_stop reaps it) or gone. */
static bool proc_exited(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return paren == NULL || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X';
}

/* --- raw sockets, for connections the harness should not track --------------- */

static int raw_connect(struct daemon *d, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    /* connect() gives up after this instead of the kernel's two minutes */
    struct timeval tv = {.tv_sec = HARNESS_RECV_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        daemon_print_log_tail(d);
        fail_msg("connect to 127.0.0.1:%u: %s", port, strerror(e));
    }
    return fd;
}

/* Make close() send a reset instead of a FIN. */
static void set_reset_on_close(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* Read one LF-terminated line into buf within ms (bytes after it are
 * dropped: only used where nothing follows). */
static void raw_read_line(struct daemon *d, int fd, char *buf, size_t n, int ms)
{
    size_t len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        int left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            daemon_print_log_tail(d);
            fail_msg("no line within %d ms (have %zu bytes)", ms, len);
        }
        ssize_t r = recv(fd, buf + len, n - 1 - len, 0);
        if (r <= 0) {
            daemon_print_log_tail(d);
            fail_msg("connection closed before a whole line (%zu bytes)", len);
        }
        len += (size_t)r;
        buf[len] = '\0';
        char *lf = memchr(buf, '\n', len);
        if (lf != NULL) {
            *lf = '\0';
            return;
        }
        if (len == n - 1)
            fail_msg("line longer than %zu bytes", n);
    }
}

/* --- the frame around every fault --------------------------------------------- */

/* Take what the reference watcher has: only rob2 JT, in order. */
static void ref_drain(struct fx *f)
{
    json_t *m;
    while ((m = tclient_try_recv(f->ref, 0)) != NULL) {
        const char *cls = json_str(m, "class");
        const char *type = json_str(m, "type");
        if (strcmp(cls, "FRAME") != 0 || type == NULL || strcmp(type, "JT") != 0 ||
            json_int_member(m, "seq") != f->ref_seen) {
            char *t = json_text(m);
            daemon_print_log_tail(f->d);
            print_error("reference watcher: expected JT seq %lld, got %s\n", f->ref_seen, t);
            free(t);
            fail_msg("reference stream lost, reordered or interrupted");
        }
        f->ref_seen++;
        json_decref(m);
    }
}

/* The next reference frame out, and the watcher drained. */
static void ref_tick(struct fx *f)
{
    char line[96];
    snprintf(line, sizeof line, "JT,%lld,%lld,0,0,0,0,0\n", f->ref_sent, f->ref_sent % 360);
    trobot_send(f->d, f->ref_fd, line);
    f->ref_sent++;
    daemon_pump(f->d);
    ref_drain(f);
}

static bool ref_caught_up(void *ctx)
{
    struct fx *f = ctx;
    ref_drain(f);
    return f->ref_seen == f->ref_sent;
}

static void fx_setup(struct fx *f, void **state, const char *config)
{
    memset(f, 0, sizeof *f);
    f->d = daemon_start(state, config);
    f->probe = tclient_connect(f->d);
    f->ref = tclient_connect(f->d);
    json_decref(tclient_request(f->ref, "{\"cmd\":\"watch\",\"robots\":[\"rob2\"],\"types\":[\"JT\"]}",
                                "WATCH", NULL));
    f->ref_fd = trobot_hello(f->d, "rob2");
    json_t *up = tclient_expect_class(f->ref, "LINK", HARNESS_RECV_MS);
    assert_json_has(up, "{\"robot\":\"rob2\",\"state\":\"up\"}");
    json_decref(up);
    f->ref_sent = f->ref_seen = 1;
    ref_tick(f);
    assert_true(wait_until(f->d, ref_caught_up, f, HARNESS_RECV_MS));
    proc_fds(f->d->pid, f->fds0, sizeof f->fds0);
    f->rss0_kb = proc_rss_kb(f->d->pid);
}

struct fd_wait {
    struct fx *f;
    char now[FDS_TEXT_MAX];
};

static bool fds_at_baseline(void *ctx)
{
    struct fd_wait *w = ctx;
    proc_fds(w->f->d->pid, w->now, sizeof w->now);
    return strcmp(w->now, w->f->fds0) == 0;
}

/* The checks after every fault (see the top of the file); the reference
 * stream last, so a link that dropped meanwhile shows there. */
static void fx_check(struct fx *f)
{
    json_decref(tclient_request(f->probe, "{\"cmd\":\"version\",\"id\":1}", "VERSION", NULL));
    struct fd_wait w = {.f = f};
    if (!wait_until(f->d, fds_at_baseline, &w, SETTLE_MS)) {
        daemon_print_log_tail(f->d);
        print_error("daemon fds before the fault:\n%s\nand now:\n%s", f->fds0, w.now);
        fail_msg("the daemon's open fds differ from before the fault");
    }
    json_t *s = tclient_request(f->probe, "{\"cmd\":\"stats\"}", "STATS", NULL);
    assert_int_equal(json_int_member(s, "clients"), 2);
    json_decref(s);
    long rss = proc_rss_kb(f->d->pid);
    bool asan = proc_has_asan(f->d->pid);
    ref_tick(f);
    if (!wait_until(f->d, ref_caught_up, f, HARNESS_RECV_MS))
        fail_msg("reference watcher got %lld of %lld frames", f->ref_seen - 1, f->ref_sent - 1);
    print_message("fds as before, RSS %ld kB (%+ld kB%s), %lld reference frames in order\n", rss,
                  rss - f->rss0_kb, asan ? ", not bounded under ASan" : "", f->ref_sent - 1);
    if (rss > f->rss0_kb + RSS_SLACK_KB && !asan)
        fail_msg("daemon RSS grew from %ld kB to %ld kB (more than %d kB)", f->rss0_kb, rss,
                 RSS_SLACK_KB);
}

/* --- helpers of the cases ------------------------------------------------------- */

static struct tclient *watch_rob1(struct fx *f)
{
    struct tclient *c = tclient_connect(f->d);
    json_decref(tclient_request(c, "{\"cmd\":\"watch\",\"robots\":[\"rob1\"]}", "WATCH", NULL));
    return c;
}

/* The next object from w, which must be a LINK of rob1 in this state. */
static void expect_link(struct tclient *w, const char *st, const char *reason)
{
    json_t *l = tclient_expect_class(w, "LINK", HARNESS_RECV_MS);
    assert_string_equal(json_str(l, "robot"), "rob1");
    assert_string_equal(json_str(l, "state"), st);
    if (reason != NULL)
        assert_string_equal(json_str(l, "reason"), reason);
    json_decref(l);
}

static void expect_frame(struct tclient *w, const char *type, long long seq)
{
    json_t *m = tclient_expect_class(w, "FRAME", HARNESS_RECV_MS);
    assert_string_equal(json_str(m, "type"), type);
    assert_int_equal(json_int_member(m, "seq"), seq);
    json_decref(m);
}

/* --- the faults ---------------------------------------------------------------------- */

/* A partial frame, then the link goes: LINK down, the partial frame is never
 * published, and it does not glue onto the next link's first bytes (",4,5,6"
 * would complete it to a valid JT 2). */
static void fault_mid_frame(struct fx *f)
{
    static const struct {
        const char *name;
        bool reset;
        const char *reason;
    } ways[] = {
        {"FIN", false, "closed by robot"},
        {"reset", true, "read error: Connection reset by peer"},
    };
    struct tclient *w = watch_rob1(f);
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        print_message("case: closed with %s\n", ways[i].name);
        int fd = trobot_hello(f->d, "rob1");
        expect_link(w, "up", NULL);
        expect_frame(w, "HI", 1);
        trobot_send(f->d, fd, "JT,1,1,2,3,4,5,6\n");
        expect_frame(w, "JT", 1);
        trobot_send(f->d, fd, "JT,2,1,2,3");
        daemon_sleep(f->d, 50); /* the daemon has read the partial frame */
        if (ways[i].reset)
            set_reset_on_close(fd);
        trobot_close(f->d, fd);
        expect_link(w, "down", ways[i].reason);
        ref_tick(f);

        fd = trobot_hello(f->d, "rob1");
        expect_link(w, "up", NULL);
        expect_frame(w, "HI", 1);
        trobot_send(f->d, fd, ",4,5,6\nJT,3,0,0,0,0,0,0\n");
        expect_frame(w, "JT", 3);
        trobot_close(f->d, fd);
        expect_link(w, "down", "closed by robot");
    }
    json_t *st = tclient_request(f->probe, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", "STATE", NULL);
    json_t *jt = json_object_get(json_object_get(st, "frames"), "JT");
    assert_int_equal(json_int_member(jt, "seq"), 3);
    json_decref(st);
    assert_null(tclient_try_recv(w, HARNESS_QUIET_MS));
    tclient_close(w);
}

/* Silent, socket open: the idle timeout takes the link down and closes it. */
static void fault_silent(struct fx *f)
{
    struct tclient *w = watch_rob1(f);
    int fd = trobot_hello(f->d, "rob1");
    expect_link(w, "up", NULL);
    expect_frame(w, "HI", 1);
    trobot_send(f->d, fd, "JT,1,0,0,0,0,0,0\n");
    expect_frame(w, "JT", 1);
    json_t *l = NULL;
    for (int i = 0; l == NULL && i < HARNESS_RECV_MS / 100; i++) {
        ref_tick(f); /* rob2 must stay up meanwhile */
        l = tclient_try_recv(w, 100);
    }
    if (l == NULL)
        fail_msg("no LINK down within %d ms of silence", HARNESS_RECV_MS);
    assert_json_eq(l, "{\"class\":\"LINK\",\"robot\":\"rob1\",\"state\":\"down\","
                      "\"reason\":\"idle timeout\"}", NULL);
    json_decref(l);
    assert_true(fd_wait_closed(f->d, fd, HARNESS_RECV_MS));
    trobot_close(f->d, fd);
    tclient_close(w);
}

struct link_counts {
    struct tclient *w;
    int up, down, hi;
    int replaced;               /* LINK down "replaced by a new link" */
    bool linked;
};

/* One object from the rob1 watcher; LINK states must alternate up/down. */
static void count_one(struct link_counts *lc, json_t *m)
{
    const char *cls = json_str(m, "class");
    if (strcmp(cls, "LINK") == 0) {
        bool up = strcmp(json_str(m, "state"), "up") == 0;
        if (up == lc->linked)
            fail_msg("LINK %s twice in a row (after %d up, %d down)", up ? "up" : "down", lc->up,
                     lc->down);
        lc->linked = up;
        up ? lc->up++ : lc->down++;
        const char *why = json_str(m, "reason");
        lc->replaced += why != NULL && strcmp(why, "replaced by a new link") == 0;
    } else if (strcmp(cls, "FRAME") == 0 && strcmp(json_str(m, "type"), "HI") == 0) {
        lc->hi++;
    } else {
        char *t = json_text(m);
        print_error("unexpected %s\n", t);
        free(t);
        fail_msg("only LINK and HI expected from rob1");
    }
    json_decref(m);
}

static bool links_all_seen(void *ctx)
{
    struct link_counts *lc = ctx;
    json_t *m;
    while ((m = tclient_try_recv(lc->w, 0)) != NULL)
        count_one(lc, m);
    return lc->up == RECONNECTS && lc->down == RECONNECTS && lc->hi == RECONNECTS;
}

/* Each link is up before the next connects (a burst of connections beyond
 * ROBOT_PENDING_MAX waiting for HI is refused by design). Every other link
 * is closed by the robot, the others left open and replaced by the next HI,
 * as after a controller's warm start. */
static void fault_reconnects(struct fx *f)
{
    struct link_counts lc = {.w = watch_rob1(f)};
    static const char hi[] = "HI,1,rob1,1,e2e\n";
    int open_fd = -1;
    for (int i = 0; i < RECONNECTS; i++) {
        int fd = raw_connect(f->d, f->d->robot_port);
        if (send(fd, hi, sizeof hi - 1, MSG_NOSIGNAL) != (ssize_t)sizeof hi - 1)
            fail_msg("HI %d: %s", i, strerror(errno));
        while (lc.up <= i) {
            json_t *m = tclient_try_recv(lc.w, HARNESS_RECV_MS);
            if (m == NULL) {
                daemon_print_log_tail(f->d);
                fail_msg("link %d: no LINK up (%d up, %d down so far)", i + 1, lc.up, lc.down);
            }
            count_one(&lc, m);
        }
        if (open_fd >= 0)
            close(open_fd);  /* the daemon has closed its end already */
        open_fd = -1;
        if (i % 2)
            close(fd);
        else
            open_fd = fd;
        if (i % TICK_EVERY == 0)
            ref_tick(f); /* and the log drained: two lines a link */
    }
    if (open_fd >= 0)
        close(open_fd);
    if (!wait_until(f->d, links_all_seen, &lc, HARNESS_RECV_MS)) {
        daemon_print_log_tail(f->d);
        fail_msg("after %d links: %d LINK up, %d LINK down, %d HI", RECONNECTS, lc.up, lc.down,
                 lc.hi);
    }
    assert_int_equal(lc.replaced, RECONNECTS / 2);
    json_t *r = tclient_request(f->probe, "{\"cmd\":\"robots\"}", "ROBOTS", NULL);
    json_t *rob1 = json_array_get(json_object_get(r, "robots"), 0);
    assert_json_has(rob1, "{\"name\":\"rob1\",\"connected\":false,\"frames_in\":1000,\"errors\":0}");
    json_decref(r);
    tclient_close(lc.w);
}

struct clients_wait {
    struct fx *f;
    long long n;
};

static bool clients_at_two(void *ctx)
{
    struct clients_wait *w = ctx;
    json_t *s = tclient_request(w->f->probe, "{\"cmd\":\"stats\"}", "STATS", NULL);
    w->n = json_int_member(s, "clients");
    json_decref(s);
    return w->n == 2;
}

/* Connections that leave in every way: at once, with a reset, with a request
 * unread, after the banner; the last of a batch reads its banner, which
 * means the daemon has accepted the whole batch. */
static void fault_client_churn(struct fx *f)
{
    int fds[CONNECT_BATCH];
    for (int done = 0; done < CONNECTS; done += CONNECT_BATCH) {
        for (int i = 0; i < CONNECT_BATCH; i++)
            fds[i] = raw_connect(f->d, f->d->client_port);
        char line[LINE_BUF];
        raw_read_line(f->d, fds[CONNECT_BATCH - 1], line, sizeof line, HARNESS_RECV_MS);
        if (strstr(line, "\"class\":\"VERSION\"") == NULL)
            fail_msg("banner expected, got %s", line);
        for (int i = 0; i < CONNECT_BATCH; i++) {
            switch (i % 4) {
            case 0: close(fds[i]); break;
            case 1:
                set_reset_on_close(fds[i]);
                close(fds[i]);
                break;
            case 2:
                (void)!send(fds[i], "{\"cmd\":\"stats\"}\n", 16, MSG_NOSIGNAL);
                close(fds[i]);
                break;
            default:
                shutdown(fds[i], SHUT_WR);
                close(fds[i]);
                break;
            }
        }
        ref_tick(f);
        struct clients_wait w = {f, 0};
        if (!wait_until(f->d, clients_at_two, &w, HARNESS_RECV_MS))
            fail_msg("after %d connections the daemon still counts %lld clients",
                     done + CONNECT_BATCH, w.n);
    }
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Random bytes with NUL, invalid UTF-8 and controls, never LF; the first
 * byte is neither whitespace nor '{', so no line can be ignored as blank or
 * be a JSON object: each one must get exactly one ERROR bad_json. */
static size_t garbage_line(uint32_t *seed, char *out, size_t max)
{
    static const unsigned char nasty[] = {0x00, 0xC0, 0xC1, 0xF5, 0xFF, 0x80, 0xBF, 0xED,
                                          0xA0, 0x80, 0xF4, 0x90, '"', '\\', '\r', '}'};
    size_t n = 1 + xorshift(seed) % (max - 2);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = xorshift(seed);
        out[i] = (char)(r % 3 == 0 ? nasty[(r >> 8) % sizeof nasty] : (r >> 8) & 0xFF);
        if (out[i] == '\n')
            out[i] = (char)0xFE;
    }
    if (out[0] == ' ' || out[0] == '\t' || out[0] == '\r' || out[0] == '{')
        out[0] = (char)0xFF;
    out[n] = '\n';
    return n + 1;
}

static void fault_garbage(struct fx *f)
{
    struct tclient *c[GARBAGE_CLIENTS];
    uint32_t seed = 0x5eed1234u;
    char *buf = malloc((size_t)GARBAGE_LINES * GARBAGE_LINE_MAX);
    assert_non_null(buf);
    for (int k = 0; k < GARBAGE_CLIENTS; k++) {
        c[k] = tclient_connect(f->d);
        size_t len = 0;
        for (int i = 0; i < GARBAGE_LINES; i++)
            len += garbage_line(&seed, buf + len, GARBAGE_LINE_MAX);
        tclient_send_raw(c[k], buf, len);
        ref_tick(f);
    }
    free(buf);
    for (int k = 0; k < GARBAGE_CLIENTS; k++) {
        for (int i = 0; i < GARBAGE_LINES; i++) {
            json_t *e = tclient_expect_class(c[k], "ERROR", HARNESS_RECV_MS);
            assert_string_equal(json_str(e, "code"), "bad_json");
            json_decref(e);
        }
        /* the connection is still served */
        json_t *v = tclient_request(c[k], "{\"cmd\":\"version\",\"id\":\"after\"}", "VERSION", NULL);
        assert_string_equal(json_str(v, "id"), "after");
        json_decref(v);
        ref_tick(f);
    }
    /* garbage without LF, then gone */
    static const char tail[] = "\xff\x00\xc0{\"cmd\":";
    for (int k = 0; k < GARBAGE_CLIENTS; k++) {
        tclient_send_raw(c[k], tail, sizeof tail - 1);
        tclient_close(c[k]);
    }
}

/* One line just over the limit, then one that never ends: ERROR
 * line_too_long and the connection closed, without the daemon reading on. */
static void fault_long_lines(struct fx *f)
{
    char *chunk = malloc(ENDLESS_CHUNK);
    assert_non_null(chunk);
    memset(chunk, 'x', ENDLESS_CHUNK);

    print_message("case: 65537 bytes without LF\n");
    struct tclient *c = tclient_connect(f->d);
    tclient_send_raw(c, chunk, ENDLESS_CHUNK);
    tclient_send_raw(c, "x", 1); /* 65537 bytes, no LF */
    json_t *e = tclient_expect_class(c, "ERROR", HARNESS_RECV_MS);
    assert_string_equal(json_str(e, "code"), "line_too_long");
    json_decref(e);
    assert_true(tclient_wait_closed(c, HARNESS_RECV_MS));
    tclient_close(c);

    print_message("case: a line that never ends\n");
    c = tclient_connect(f->d);
    size_t sent = 0;
    int err = 0;
    while (sent < ENDLESS_MAX && err == 0) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        if (poll(&p, 1, HARNESS_RECV_MS) <= 0)
            fail_msg("the daemon stopped reading without closing (%zu bytes sent)", sent);
        ssize_t w = send(c->fd, chunk, ENDLESS_CHUNK, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0)
            sent += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            err = errno;
        if (sent / ENDLESS_CHUNK % 16 == 0)
            ref_tick(f);
    }
    if (err == 0)
        fail_msg("the daemon read %u bytes of one line without closing", ENDLESS_MAX);
    assert_true(err == EPIPE || err == ECONNRESET);
    /* What arrived before the close (a reset may discard it) must be the
     * error, and nothing else. */
    json_t *m;
    while ((m = tclient_try_recv(c, HARNESS_QUIET_MS)) != NULL) {
        assert_string_equal(json_str(m, "class"), "ERROR");
        assert_string_equal(json_str(m, "code"), "line_too_long");
        json_decref(m);
    }
    assert_true(c->eof);
    tclient_close(c);
    free(chunk);
}

/* Clients that go away while replies wait for them: many unread replies
 * (FIN or reset), and a command whose ACK arrives after its asker left. */
static void fault_queued_replies(struct fx *f)
{
    size_t len = 0;
    static const char req[] = "{\"cmd\":\"state\",\"robot\":\"rob2\"}\n";
    char *buf = malloc(QUEUED_REQUESTS * (sizeof req - 1));
    assert_non_null(buf);
    for (int i = 0; i < QUEUED_REQUESTS; i++, len += sizeof req - 1)
        memcpy(buf + len, req, sizeof req - 1);
    for (int k = 0; k < QUEUED_CLIENTS; k++) {
        struct tclient *c = tclient_connect_rcvbuf(f->d, 4096);
        tclient_send_raw(c, buf, len);
        daemon_sleep(f->d, 50);
        ref_tick(f);
        if (k % 2)
            set_reset_on_close(c->fd);
        tclient_close(c);
    }
    free(buf);

    print_message("case: the asker of a command leaves before its AK\n");
    int fd = trobot_hello(f->d, "rob1");
    char line[LINE_BUF];
    for (int k = 0; k < 2; k++) {
        struct tclient *c = tclient_connect(f->d);
        tclient_send(c, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"PING\",\"id\":7}");
        raw_read_line(f->d, fd, line, sizeof line, HARNESS_RECV_MS);
        unsigned seq;
        if (sscanf(line, "PING,%u", &seq) != 1)
            fail_msg("PING expected on the robot link, got %s", line);
        if (k == 0) {
            tclient_close(c);  /* gone: the ACK has no one to go to */
            daemon_sleep(f->d, 50);
        }
        char ak[64];
        snprintf(ak, sizeof ak, "AK,%d,%u,OK\n", 10 + k, seq);
        trobot_send(f->d, fd, ak);
        if (k == 1) {         /* the command slot is free again */
            json_t *a = tclient_wait_class(c, "ACK", HARNESS_RECV_MS, NULL);
            assert_json_eq(a, "{\"class\":\"ACK\",\"id\":7,\"robot\":\"rob1\",\"type\":\"PING\","
                              "\"status\":\"OK\"}", (const char *const[]){"seq", NULL});
            assert_int_equal(json_int_member(a, "seq"), seq);
            json_decref(a);
            tclient_close(c);
        }
        ref_tick(f);
    }
    trobot_close(f->d, fd);
}

struct fault_case {
    const char *name;
    const char *config;
    void (*run)(struct fx *f);
};

static const struct fault_case cases[] = {
    {"robot closes mid-frame", CONFIG, fault_mid_frame},
    {"robot goes silent", CONFIG_IDLE, fault_silent},
    {"1000 reconnects of one robot", CONFIG, fault_reconnects},
    {"10000 client connects", CONFIG_CHURN, fault_client_churn},
    {"clients send garbage", CONFIG, fault_garbage},
    {"over-long and endless request lines", CONFIG, fault_long_lines},
    {"clients leave with replies queued", CONFIG, fault_queued_replies},
};

struct case_state {
    const struct fault_case *c;
    struct daemon *d;           /* the harness's state while the case runs */
};

static void test_fault(void **state)
{
    struct case_state *cs = *state;
    struct fx f;
    fx_setup(&f, (void **)&cs->d, cs->c->config);
    cs->c->run(&f);
    fx_check(&f);
    daemon_stop((void **)&cs->d);
}

static int fault_teardown(void **state)
{
    struct case_state *cs = *state;
    return daemon_teardown((void **)&cs->d);
}

/* --- SIGTERM under load --------------------------------------------------------------- */

/* A log of LOAD_LOG_FRAMES JT frames for rob2 to replay with --speed 0,
 * i.e. as fast as the daemon reads. Returns the path (mkstemps template). */
static void write_load_log(char *path)
{
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "1.0 rob2 HI,1,rob2,1,load\n");
    for (int i = 0; i < LOAD_LOG_FRAMES; i++)
        fprintf(f, "1.0 rob2 JT,%d,%d.5,-20,30.25,0,90,-180\n", i + 2, i % 360);
    assert_int_equal(fclose(f), 0);
}

/* rob1's simulator streams JT at its top rate (seq 2, 3, ... after its
 * HI) while rob2 replays a log in a loop as fast as the daemon reads; one
 * watcher keeps up with rob1's JT, the others watch everything and never
 * read. SIGTERM: BYE, exit 0 soon, and the keeping-up watcher got every
 * rob1 JT in order before it. */
static void test_sigterm_under_load(void **state)
{
    char load_log[] = "/tmp/rb-e2e-load-XXXXXX.log";
    write_load_log(load_log);
    struct daemon *d = daemon_start(state, CONFIG_LOAD);
    struct tclient *probe = tclient_connect(d);
    struct tclient *keep = tclient_connect(d);
    json_decref(tclient_request(keep, "{\"cmd\":\"watch\",\"robots\":[\"rob1\"],\"types\":[\"JT\"]}",
                                "WATCH", NULL));
    for (int i = 1; i < LOAD_WATCHERS; i++) {
        struct tclient *c = tclient_connect_rcvbuf(d, 4096);
        tclient_send(c, "{\"cmd\":\"watch\"}");
    }
    sim_start(d, (const char *const[]){"--name", "rob2", "--replay", load_log, "--speed", "0",
                                       "--loop", "--once", NULL});
    sim_start(d, (const char *const[]){"--name", "rob1", "--rate", "1000", "--stream", "JT",
                                       "--once", NULL});
    long long next = 2;
    bool bye = false, down = false;
    bool termed = false;
    while (!bye) {
        json_t *m = tclient_try_recv(keep, HARNESS_RECV_MS);
        if (m == NULL)
            fail_msg("keeping-up watcher: %s after JT %lld", keep->eof ? "closed" : "silent",
                     next - 1);
        const char *cls = json_str(m, "class");
        if (strcmp(cls, "FRAME") == 0) {
            assert_false(down);
            long long seq = json_int_member(m, "seq");
            if (seq != next)
                fail_msg("JT seq %lld after %lld: lost or reordered", seq, next - 1);
            next++;
        } else if (strcmp(cls, "LINK") == 0) {
            down = strcmp(json_str(m, "state"), "down") == 0;
            if (down)
                assert_string_equal(json_str(m, "reason"), "shutdown");
        } else {
            assert_string_equal(cls, "BYE");
            assert_true(termed);
            bye = true;
        }
        json_decref(m);
        /* SIGTERM once the load is real: the stalled watchers are dropping.
         * How soon that happens depends on the machine, so look again
         * every 100 frames rather than at one fixed point. */
        if (!termed && next - 2 >= LOAD_FRAMES && (next - 2) % 100 == 0) {
            json_t *st = tclient_request(probe, "{\"cmd\":\"stats\"}", "STATS", NULL);
            long long drops = json_int_member(st, "drops");
            json_decref(st);
            if (drops > 0) {
                print_message("before SIGTERM: %lld JT seen, drops %lld\n", next - 2, drops);
                daemon_term(d);
                termed = true;
            } else if (next - 2 >= LOAD_FRAMES * 40) {
                fail_msg("no drops after %lld JT: the stalled watchers never filled", next - 2);
            }
        }
    }
    print_message("%lld JT frames before BYE\n", next - 2);
    assert_true(tclient_wait_closed(keep, HARNESS_RECV_MS));
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int waited = 0;
    while (!proc_exited(d->pid) && waited < EXIT_MS) {
        daemon_sleep(d, 10);
        clock_gettime(CLOCK_MONOTONIC, &t);
        waited = (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
    }
    if (!proc_exited(d->pid))
        fail_msg("daemon still running %d ms after BYE", EXIT_MS);
    daemon_stop(state); /* exit status 0, no sanitizer report */
    unlink(load_log);
}

int main(void)
{
    enum { NCASES = sizeof cases / sizeof cases[0] };
    struct case_state states[NCASES];
    struct CMUnitTest tests[NCASES + 1];
    for (size_t i = 0; i < NCASES; i++) {
        states[i] = (struct case_state){&cases[i], NULL};
        tests[i] = (struct CMUnitTest){.name = cases[i].name,
                                       .test_func = test_fault,
                                       .teardown_func = fault_teardown,
                                       .initial_state = &states[i]};
    }
    tests[NCASES] = (struct CMUnitTest)cmocka_unit_test_teardown(test_sigterm_under_load,
                                                                 daemon_teardown);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
