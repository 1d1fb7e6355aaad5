/* e2e_notify.c - systemd's side of sd_notify, played by the test: an
 * AF_UNIX datagram socket named by NOTIFY_SOCKET, the real daemon started
 * with it, and every message it sends checked: READY=1 with a STATUS= line
 * once listening, STATUS= on link and client changes (at most once a
 * second), RELOADING=1 then READY=1 around each SIGHUP (also a refused one,
 * which STATUS= then reports), WATCHDOG=1 at about WATCHDOG_USEC/2, and
 * STOPPING=1 on SIGTERM; every message comes from the daemon's own pid
 * (NotifyAccess=main). Without WATCHDOG_USEC, or with WATCHDOG_PID naming
 * another process, no WATCHDOG=1 is sent.
 *
 * A thread drains the socket into a list the test reads: a blocking
 * sd_notify in the daemon must never wait on the test. */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS 3000            /* an expected message, sanitizers included */
#define NOTE_TEXT_MAX 2048      /* one datagram; the daemon's are far shorter */
#define NOTES_MAX 2048          /* kept per test; 10 s of a 100 ms watchdog is 100 */
#define WATCHDOG_USEC "200000"  /* keep-alive expected every 100 ms */
#define WATCHDOG_WINDOW_MS 2000 /* counted over this long: ~20 expected */
#define WATCHDOG_MIN 8          /* bounds that only a broken timer misses */
#define WATCHDOG_MAX 40
#define NOT_FOUND SIZE_MAX

struct note {
    double t;                   /* CLOCK_MONOTONIC seconds at receipt */
    pid_t pid;                  /* sender, from SCM_CREDENTIALS; 0 if none */
    char text[NOTE_TEXT_MAX];
};

struct listener {
    int fd;
    char dir[32];
    char path[64];
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    size_t n;
    struct note notes[NOTES_MAX];
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *drain(void *arg)
{
    struct listener *l = arg;
    while (!atomic_load(&l->stop)) {
        struct pollfd p = {l->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        struct note nt = {0};
        char ctl[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = {nt.text, sizeof nt.text - 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                            .msg_controllen = sizeof ctl};
        ssize_t len = recvmsg(l->fd, &mh, MSG_DONTWAIT);
        if (len < 0)
            continue;
        nt.text[len] = '\0';
        nt.t = mono();
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cr;
                memcpy(&cr, CMSG_DATA(c), sizeof cr);
                nt.pid = cr.pid;
            }
        pthread_mutex_lock(&l->mu);
        if (l->n < NOTES_MAX)
            l->notes[l->n++] = nt;
        pthread_mutex_unlock(&l->mu);
    }
    return NULL;
}

static struct listener *listener_open(void)
{
    struct listener *l = calloc(1, sizeof *l);
    assert_non_null(l);
    strcpy(l->dir, "/tmp/rb-notify-XXXXXX");
    assert_non_null(mkdtemp(l->dir));
    snprintf(l->path, sizeof l->path, "%s/notify", l->dir);
    l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(l->fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", l->path);
    assert_int_equal(bind(l->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int on = 1;
    assert_int_equal(setsockopt(l->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
    pthread_mutex_init(&l->mu, NULL);
    assert_int_equal(pthread_create(&l->thread, NULL, drain, l), 0);
    return l;
}

static void listener_close(struct listener *l)
{
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->mu);
    close(l->fd);
    unlink(l->path);
    rmdir(l->dir);
    free(l);
}

/* A copy of note i, or false when there is none (yet). */
static bool note_at(struct listener *l, size_t i, struct note *out)
{
    pthread_mutex_lock(&l->mu);
    bool ok = i < l->n;
    if (ok)
        *out = l->notes[i];
    pthread_mutex_unlock(&l->mu);
    return ok;
}

static size_t note_count(struct listener *l)
{
    pthread_mutex_lock(&l->mu);
    size_t n = l->n;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* Does text hold this line exactly? */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return true;
    }
    return false;
}

static void print_notes(struct listener *l)
{
    struct note nt;
    for (size_t i = 0; note_at(l, i, &nt); i++)
        if (!has_line(nt.text, "WATCHDOG=1"))
            print_message("  note %zu (pid %d): %s\n", i, (int)nt.pid, nt.text);
}

/* The index of the first note from index `from` on that holds line, waiting
 * up to ms; fails the test when none comes. */
static size_t expect_note(struct listener *l, struct daemon *d, size_t from, const char *line,
                          int ms)
{
    double deadline = mono() + ms / 1000.0;
    for (;;) {
        struct note nt;
        for (size_t i = from; note_at(l, i, &nt); i++)
            if (has_line(nt.text, line)) {
                if (nt.pid != d->pid)
                    fail_msg("\"%s\" came from pid %d, not the daemon's %d", line, (int)nt.pid,
                             (int)d->pid);
                return i;
            }
        if (mono() > deadline)
            break;
        daemon_sleep(d, 10);
    }
    print_notes(l);
    daemon_print_log_tail(d);
    fail_msg("no \"%s\" from note %zu on within %d ms", line, from, ms);
    return NOT_FOUND;
}

/* WATCHDOG=1 notes received from index from on. */
static unsigned count_watchdog(struct listener *l, size_t from)
{
    unsigned n = 0;
    struct note nt;
    for (size_t i = from; note_at(l, i, &nt); i++)
        n += has_line(nt.text, "WATCHDOG=1");
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The daemon started with the notify environment; the test's own
 * environment is left as it was (simulators must not inherit it). */
static struct daemon *start_notified(void **state, struct listener *l, const char *config,
                                     const char *config_path, const char *watchdog_usec,
                                     const char *watchdog_pid)
{
    setenv("NOTIFY_SOCKET", l->path, 1);
    if (watchdog_usec)
        setenv("WATCHDOG_USEC", watchdog_usec, 1);
    if (watchdog_pid)
        setenv("WATCHDOG_PID", watchdog_pid, 1);
    const char *extra[] = {"-c", config_path, NULL};
    struct daemon *d = daemon_start_args(state, config, config_path ? extra : NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return d;
}

/* Links stay up while the test waits in silence. */
#define LIMITS "\"limits\":{\"idle_timeout\":3600}"
#define CONFIG2 "{\"robots\":[{\"name\":\"rob1\"},{\"name\":\"rob2\"}]," LIMITS "}"
#define CONFIG3 \
    "{\"robots\":[{\"name\":\"rob1\"},{\"name\":\"rob2\"},{\"name\":\"rob3\"}]," LIMITS "}"

static void test_lifecycle(void **state)
{
    struct listener *l = listener_open();
    char path[] = "/tmp/rb-notify-XXXXXX.json";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, CONFIG2);
    struct daemon *d = start_notified(state, l, CONFIG2, path, WATCHDOG_USEC, NULL);

    /* READY=1 with the first STATUS=, in one message. */
    size_t i = expect_note(l, d, 0, "READY=1", WAIT_MS);
    struct note nt;
    assert_true(note_at(l, i, &nt));
    if (!has_line(nt.text, "STATUS=0/2 robots linked; 0 clients"))
        fail_msg("READY=1 without the expected STATUS=: %s", nt.text);
    assert_true(daemon_log_has(d, "listening for clients on"));

    /* A link and a client show in STATUS= within the one-second period. */
    trobot_hello(d, "rob1");
    tclient_connect(d);
    i = expect_note(l, d, i + 1, "STATUS=1/2 robots linked: rob1; 1 client", WAIT_MS);

    /* Ten link changes in about a quarter of a second, rob2 up at the end:
     * at most one STATUS= a second, so at most one more than the whole
     * seconds this part takes (however slow the machine). */
    size_t flap_from = note_count(l);
    double flap_start = mono();
    for (int k = 0; k < 5; k++) {
        int fd2 = trobot_hello(d, "rob2");
        daemon_sleep(d, 25);
        trobot_close(d, fd2);
        daemon_sleep(d, 25);
    }
    trobot_hello(d, "rob2");
    i = expect_note(l, d, flap_from, "STATUS=2/2 robots linked: rob1, rob2; 1 client", WAIT_MS);
    daemon_sleep(d, 1200);
    unsigned statuses = 0, allowed = (unsigned)(mono() - flap_start) + 1;
    for (size_t k = flap_from; note_at(l, k, &nt); k++)
        statuses += strstr(nt.text, "STATUS=") != NULL;
    if (statuses > allowed) {
        print_notes(l);
        fail_msg("%u STATUS= messages in %.1f s of link changes (at most one a second)",
                 statuses, mono() - flap_start);
    }

    /* WATCHDOG=1 at about every 100 ms. */
    size_t wd_from = note_count(l);
    daemon_sleep(d, WATCHDOG_WINDOW_MS);
    unsigned wd = count_watchdog(l, wd_from);
    if (wd < WATCHDOG_MIN || wd > WATCHDOG_MAX)
        fail_msg("%u WATCHDOG=1 in %d ms with WATCHDOG_USEC=%s (want %d..%d)", wd,
                 WATCHDOG_WINDOW_MS, WATCHDOG_USEC, WATCHDOG_MIN, WATCHDOG_MAX);

    /* A good reload: RELOADING=1, then READY=1 with the new robot count. */
    write_file(path, CONFIG3);
    size_t before = note_count(l);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    size_t r = expect_note(l, d, before, "RELOADING=1", WAIT_MS);
    size_t ready = expect_note(l, d, r + 1, "READY=1", WAIT_MS);
    assert_true(note_at(l, ready, &nt));
    if (!has_line(nt.text, "STATUS=2/3 robots linked: rob1, rob2; 1 client"))
        fail_msg("READY=1 after the reload: %s", nt.text);
    assert_true(note_at(l, r, &nt));
    if (!strstr(nt.text, "MONOTONIC_USEC="))
        fail_msg("RELOADING=1 without MONOTONIC_USEC=: %s", nt.text);

    /* A refused reload: RELOADING=1, READY=1, and STATUS= says so. */
    write_file(path, "{\"robots\":[{\"name\":\"rob1\",}]}");
    before = note_count(l);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    r = expect_note(l, d, before, "RELOADING=1", WAIT_MS);
    ready = expect_note(l, d, r + 1, "READY=1", WAIT_MS);
    assert_true(note_at(l, ready, &nt));
    if (!has_line(nt.text, "STATUS=reload refused, old configuration in force; 2/3 robots "
                           "linked: rob1, rob2; 1 client"))
        fail_msg("READY=1 after a refused reload: %s", nt.text);
    assert_true(daemon_wait_log(d, "reload refused, the running configuration stays", WAIT_MS));

    /* The next good reload clears the note. */
    write_file(path, CONFIG3);
    before = note_count(l);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    r = expect_note(l, d, before, "RELOADING=1", WAIT_MS);
    ready = expect_note(l, d, r + 1, "READY=1", WAIT_MS);
    assert_true(note_at(l, ready, &nt));
    if (!has_line(nt.text, "STATUS=2/3 robots linked: rob1, rob2; 1 client"))
        fail_msg("READY=1 after the good reload: %s", nt.text);

    /* SIGTERM: STOPPING=1, then a clean exit. */
    before = note_count(l);
    daemon_term(d);
    expect_note(l, d, before, "STOPPING=1", WAIT_MS);
    daemon_stop(state);
    unlink(path);
    listener_close(l);
}

/* READY=1 arrives, but no keep-alive that nobody asked for. */
static void no_watchdog_case(void **state, const char *usec, const char *pid)
{
    struct listener *l = listener_open();
    struct daemon *d = start_notified(state, l, CONFIG2, NULL, usec, pid);
    size_t i = expect_note(l, d, 0, "READY=1", WAIT_MS);
    daemon_sleep(d, 600);
    unsigned wd = count_watchdog(l, i);
    if (wd)
        fail_msg("%u WATCHDOG=1 with WATCHDOG_USEC %s and WATCHDOG_PID %s", wd,
                 usec ? usec : "unset", pid ? pid : "unset");
    assert_false(daemon_log_has(d, "systemd watchdog"));
    daemon_stop(state);
    listener_close(l);
}

static void test_no_watchdog_without_usec(void **state)
{
    no_watchdog_case(state, NULL, NULL);
}

/* WATCHDOG_PID names another process (this test): not ours to feed. */
static void test_no_watchdog_for_other_pid(void **state)
{
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    no_watchdog_case(state, WATCHDOG_USEC, pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_lifecycle, daemon_teardown),
        cmocka_unit_test_teardown(test_no_watchdog_without_usec, daemon_teardown),
        cmocka_unit_test_teardown(test_no_watchdog_for_other_pid, daemon_teardown),
    };
    return cmocka_run_group_tests_name("e2e_notify", tests, NULL, NULL);
}
