/* harness.c - see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define LOG_TAIL_BYTES 6000
#define ARGS_MAX 48
#define WRITE_MS 10000          /* one trobot_write / tclient_send until all is written */
#define POLL_SLICE_MS 20        /* how often wait_until looks again */
#define TEXT_MAX 1024           /* a request or expected object built from test text */

/* Print the daemon's recent log, then fail the running test. */
#define HFAIL(d, ...)                                                                              \
    do {                                                                                           \
        daemon_print_log_tail(d);                                                                  \
        fail_msg(__VA_ARGS__);                                                                     \
    } while (0)

long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int remaining_ms(long long deadline)
{
    long long r = deadline - mono_ms();
    return r < 0 ? 0 : (int)r;
}

/* --- daemon log -------------------------------------------------------- */

static void log_append(struct daemon *d, const char *p, size_t n)
{
    if (d->log_len + n > HARNESS_LOG_MAX)
        n = HARNESS_LOG_MAX - d->log_len;
    if (n == 0)
        return;
    if (d->log_len + n + 1 > d->log_cap) {
        size_t cap = d->log_cap ? d->log_cap : 8192;
        while (cap < d->log_len + n + 1)
            cap *= 2;
        char *nb = realloc(d->log, cap);
        assert_non_null(nb);
        d->log = nb;
        d->log_cap = cap;
    }
    memcpy(d->log + d->log_len, p, n);
    d->log_len += n;
    d->log[d->log_len] = '\0';
}

void daemon_pump(struct daemon *d)
{
    if (d == NULL || d->err_fd < 0 || d->err_eof)
        return;
    char chunk[8192];
    for (;;) {
        ssize_t r = read(d->err_fd, chunk, sizeof chunk);
        if (r > 0) {
            log_append(d, chunk, (size_t)r);
            continue;
        }
        if (r == 0)
            d->err_eof = true;
        else if (errno == EINTR)
            continue;
        else if (errno != EAGAIN)
            d->err_eof = true;
        return;
    }
}

void daemon_print_log_tail(const struct daemon *d)
{
    if (d == NULL || d->log == NULL)
        return;
    size_t from = d->log_len > LOG_TAIL_BYTES ? d->log_len - LOG_TAIL_BYTES : 0;
    print_error("---- daemon log (last %zu bytes) ----\n%s\n---- end of daemon log ----\n",
                d->log_len - from, d->log + from);
}

bool daemon_log_has(struct daemon *d, const char *needle)
{
    daemon_pump(d);
    return d->log != NULL && strstr(d->log, needle) != NULL;
}

/* Wait up to ms for fd to have events (fd may be -1), draining the log
 * meanwhile. Returns the fd's revents (0 on timeout). */
static short wait_fd(struct daemon *d, int fd, short events, int ms)
{
    long long deadline = mono_ms() + ms;
    for (;;) {
        struct pollfd p[2];
        int n = 0;
        if (fd >= 0)
            p[n++] = (struct pollfd){.fd = fd, .events = events};
        int err_i = -1;
        if (d != NULL && d->err_fd >= 0 && !d->err_eof) {
            err_i = n;
            p[n++] = (struct pollfd){.fd = d->err_fd, .events = POLLIN};
        }
        int r = poll(p, (nfds_t)n, remaining_ms(deadline)); /* n == 0: a plain sleep */
        if (r < 0 && errno != EINTR)
            HFAIL(d, "poll: %s", strerror(errno));
        if (err_i >= 0 && r > 0 && p[err_i].revents)
            daemon_pump(d);
        if (fd >= 0 && r > 0 && p[0].revents)
            return p[0].revents;
        if (remaining_ms(deadline) == 0)
            return 0;
    }
}

void daemon_sleep(struct daemon *d, int ms)
{
    wait_fd(d, -1, 0, ms);
}

bool wait_until(struct daemon *d, bool (*pred)(void *ctx), void *ctx, int ms)
{
    long long deadline = mono_ms() + ms;
    for (;;) {
        daemon_pump(d);
        if (pred(ctx))
            return true;
        if (remaining_ms(deadline) == 0)
            return false;
        int slice = remaining_ms(deadline);
        wait_fd(d, -1, 0, slice < POLL_SLICE_MS ? slice : POLL_SLICE_MS);
    }
}

struct log_wait {
    struct daemon *d;
    const char *needle;
};

static bool log_pred(void *ctx)
{
    struct log_wait *w = ctx;
    return w->d->log != NULL && strstr(w->d->log, w->needle) != NULL;
}

bool daemon_wait_log(struct daemon *d, const char *needle, int ms)
{
    struct log_wait w = {d, needle};
    return wait_until(d, log_pred, &w, ms);
}

/* --- daemon process ------------------------------------------------------ */

static const char *env_path(struct daemon *d, const char *name)
{
    const char *p = getenv(name);
    if (p == NULL || *p != '/')
        HFAIL(d, "%s must be set to the absolute path of the program", name);
    return p;
}

/* Child side of fork: die with the test, default SIGPIPE, exec. */
static void exec_child(const char *const argv[], int out_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_DFL);
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0)
        dup2(null_fd, 0);
    int o = out_fd >= 0 ? out_fd : null_fd;
    if (o >= 0) {
        dup2(o, 1);
        dup2(o, 2);
    }
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

/* Port of the logged line "<prefix>HOST:PORT". */
static bool find_port(const char *log, const char *prefix, uint16_t *port)
{
    const char *p = log ? strstr(log, prefix) : NULL;
    if (p == NULL)
        return false;
    p += strlen(prefix);
    const char *eol = strchr(p, '\n');
    if (eol == NULL)
        return false;
    const char *colon = NULL;
    for (const char *q = p; q < eol; q++)
        if (*q == ':')
            colon = q;
    if (colon == NULL)
        return false;
    char *end;
    unsigned long v = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || v == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

static void daemon_kill(struct daemon **dp);

struct daemon *daemon_start(void **state, const char *config_text)
{
    return daemon_start_args(state, config_text, NULL);
}

struct daemon *daemon_start_args(void **state, const char *config_text,
                                 const char *const *extra)
{
    signal(SIGPIPE, SIG_IGN); /* a closed socket must show as EPIPE in tests */
    const char *bin = env_path(NULL, "RB_BIN");
    struct daemon *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->err_fd = -1;
    for (size_t i = 0; i < HARNESS_FDS_MAX; i++)
        d->robot_fds[i] = -1;

    char path[] = "/tmp/rb-e2e-XXXXXX.json";
    int cfd = mkstemps(path, 5);
    assert_true(cfd >= 0);
    size_t len = strlen(config_text);
    assert_int_equal(write(cfd, config_text, len), (ssize_t)len);
    close(cfd);

    const char *argv[ARGS_MAX];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--robot-listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--json-listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "-c";
    argv[n++] = path;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        assert_true(n < ARGS_MAX - 1);
        argv[n++] = extra[i];
    }
    argv[n] = NULL;

    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        exec_child(argv, pfd[1]);
    close(pfd[1]);
    d->pid = pid;
    d->err_fd = pfd[0];
    fcntl(d->err_fd, F_SETFL, O_NONBLOCK);

    long long deadline = mono_ms() + HARNESS_START_MS;
    bool have_robot = false, have_client = false;
    while (!(have_robot && have_client)) {
        if (d->err_eof || remaining_ms(deadline) == 0)
            break;
        wait_fd(d, d->err_fd, POLLIN, remaining_ms(deadline));
        daemon_pump(d);
        have_robot = find_port(d->log, "listening for robots on ", &d->robot_port);
        have_client = find_port(d->log, "listening for clients on ", &d->client_port);
    }
    unlink(path); /* the daemon has read it by the time it listens */
    if (!(have_robot && have_client)) {
        int status = 0;
        pid_t w = waitpid(pid, &status, WNOHANG);
        daemon_print_log_tail(d);
        struct daemon *dd = d;
        daemon_kill(&dd);
        fail_msg("daemon did not log both listening lines within %d ms (%s)", HARNESS_START_MS,
                 w == pid ? "it exited" : "still running");
    }
    *state = d;
    return d;
}

void daemon_term(struct daemon *d)
{
    if (d->pid > 0 && !d->termed)
        kill(d->pid, SIGTERM);
    d->termed = true;
}

static void close_owned(struct daemon *d)
{
    for (size_t i = 0; i < HARNESS_CLIENTS_MAX; i++)
        if (d->clients[i] != NULL)
            tclient_close(d->clients[i]);
    for (size_t i = 0; i < HARNESS_FDS_MAX; i++)
        if (d->robot_fds[i] >= 0) {
            close(d->robot_fds[i]);
            d->robot_fds[i] = -1;
        }
    for (size_t i = 0; i < HARNESS_SIMS_MAX; i++)
        if (d->sims[i] > 0) {
            kill(d->sims[i], SIGKILL);
            waitpid(d->sims[i], NULL, 0);
            d->sims[i] = 0;
        }
}

static void daemon_free(struct daemon *d)
{
    if (d->err_fd >= 0)
        close(d->err_fd);
    free(d->log);
    free(d);
}

static void daemon_kill(struct daemon **dp)
{
    struct daemon *d = *dp;
    *dp = NULL;
    if (d == NULL)
        return;
    close_owned(d);
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
    }
    daemon_free(d);
}

int daemon_teardown(void **state)
{
    daemon_kill((struct daemon **)state);
    return 0;
}

void daemon_stop(void **state)
{
    struct daemon *d = *state;
    *state = NULL;
    assert_non_null(d);
    close_owned(d);
    daemon_term(d);
    long long deadline = mono_ms() + HARNESS_STOP_MS;
    int status = 0;
    pid_t w = 0;
    while ((w = waitpid(d->pid, &status, WNOHANG)) == 0 && remaining_ms(deadline) > 0)
        wait_fd(d, -1, 0, POLL_SLICE_MS);
    /* The log up to the exit, for the checks below and for failure output. */
    while (w == d->pid && !d->err_eof && remaining_ms(deadline) > 0) {
        wait_fd(d, d->err_fd, POLLIN, remaining_ms(deadline));
        daemon_pump(d);
    }
    if (w != d->pid) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        daemon_print_log_tail(d);
        daemon_free(d);
        fail_msg("daemon did not exit within %d ms of SIGTERM", HARNESS_STOP_MS);
    }
    bool sanitizer = d->log != NULL &&
                     (strstr(d->log, "Sanitizer") != NULL || strstr(d->log, "runtime error:") != NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || sanitizer) {
        daemon_print_log_tail(d);
        char why[64];
        if (WIFEXITED(status))
            snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(status));
        else
            snprintf(why, sizeof why, "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
        daemon_free(d);
        fail_msg("daemon stopped badly after SIGTERM: %s%s", why,
                 sanitizer ? ", sanitizer report in log" : "");
    }
    daemon_free(d);
}

/* --- sockets ------------------------------------------------------------- */

static int tcp_connect(struct daemon *d, uint16_t port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        HFAIL(d, "socket: %s", strerror(errno));
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        HFAIL(d, "connect to 127.0.0.1:%u: %s", port, strerror(e));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void fd_local_addr(int fd, char *out, size_t n)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    snprintf(out, n, "%s:%u", host, ntohs(sa.sin_port));
}

/* Write all of buf within WRITE_MS. Returns 0, or the errno that stopped it
 * (EPIPE, ECONNRESET: the peer closed). */
static int write_all(struct daemon *d, int fd, const char *buf, size_t n)
{
    long long deadline = mono_ms() + WRITE_MS;
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return errno;
        if (remaining_ms(deadline) == 0)
            HFAIL(d, "write of %zu bytes blocked for %d ms", n, WRITE_MS);
        wait_fd(d, fd, POLLOUT, remaining_ms(deadline));
    }
    return 0;
}

int trobot_connect(struct daemon *d)
{
    int fd = tcp_connect(d, d->robot_port, 0);
    for (size_t i = 0; i < HARNESS_FDS_MAX; i++)
        if (d->robot_fds[i] < 0) {
            d->robot_fds[i] = fd;
            return fd;
        }
    close(fd);
    HFAIL(d, "more than %d robot sockets", HARNESS_FDS_MAX);
    return -1;
}

void trobot_write(struct daemon *d, int fd, const char *bytes, size_t n)
{
    int e = write_all(d, fd, bytes, n);
    if (e != 0)
        HFAIL(d, "robot write: %s", strerror(e));
}

void trobot_send(struct daemon *d, int fd, const char *text)
{
    trobot_write(d, fd, text, strlen(text));
}

int trobot_hello(struct daemon *d, const char *name)
{
    int fd = trobot_connect(d);
    char hi[128];
    snprintf(hi, sizeof hi, "HI,1,%s,1,e2e\n", name);
    trobot_send(d, fd, hi);
    return fd;
}

void trobot_close(struct daemon *d, int fd)
{
    for (size_t i = 0; i < HARNESS_FDS_MAX; i++)
        if (d->robot_fds[i] == fd)
            d->robot_fds[i] = -1;
    close(fd);
}

bool trobot_read_line(struct daemon *d, int fd, char *out, size_t size, int ms)
{
    long long deadline = mono_ms() + ms;
    size_t len = 0;
    out[0] = '\0';
    while (len + 1 < size) {
        char ch;
        ssize_t r = recv(fd, &ch, 1, MSG_DONTWAIT);
        if (r == 1) {
            if (ch == '\n')
                return true;
            out[len++] = ch;
            out[len] = '\0';
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR))
            return false;
        if (remaining_ms(deadline) == 0)
            return false;
        wait_fd(d, fd, POLLIN, remaining_ms(deadline));
    }
    return false;
}

void trobot_expect_line(struct daemon *d, int fd, const char *want, int ms)
{
    char got[HARNESS_FRAME_MAX + 1];
    if (!trobot_read_line(d, fd, got, HARNESS_FRAME_MAX, ms))
        HFAIL(d, "the robot got no whole frame within %d ms (got \"%s\", wanted \"%s\")", ms,
              got, want);
    strcat(got, "\n");
    assert_string_equal(got, want);
}

bool trobot_expect_nothing(struct daemon *d, int fd)
{
    daemon_sleep(d, HARNESS_QUIET_MS);
    char got[HARNESS_FRAME_MAX];
    ssize_t r = recv(fd, got, sizeof got - 1, MSG_DONTWAIT);
    if (r > 0) {
        got[r] = '\0';
        HFAIL(d, "the robot received \"%s\", expected nothing", got);
    }
    return r != 0;
}

bool fd_wait_closed(struct daemon *d, int fd, int ms)
{
    long long deadline = mono_ms() + ms;
    char scratch[65536];
    for (;;) {
        ssize_t r = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
        if (r == 0)
            return true;
        if (r < 0 && (errno == ECONNRESET || errno == EPIPE))
            return true;
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            HFAIL(d, "recv: %s", strerror(errno));
        if (r > 0)
            continue;
        if (remaining_ms(deadline) == 0)
            return false;
        wait_fd(d, fd, POLLIN, remaining_ms(deadline));
    }
}

pid_t sim_start(struct daemon *d, const char *const *args)
{
    const char *bin = env_path(d, "RB_SIM");
    char target[32];
    snprintf(target, sizeof target, "127.0.0.1:%u", d->robot_port);
    const char *argv[ARGS_MAX];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--connect";
    argv[n++] = target;
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        assert_true(n < ARGS_MAX - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    size_t slot = 0;
    while (slot < HARNESS_SIMS_MAX && d->sims[slot] > 0)
        slot++;
    assert_true(slot < HARNESS_SIMS_MAX);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        exec_child(argv, getenv("RB_E2E_VERBOSE") ? 2 : -1);
    d->sims[slot] = pid;
    return pid;
}

int sim_wait(struct daemon *d, pid_t pid, int ms)
{
    size_t slot = 0;
    while (slot < HARNESS_SIMS_MAX && d->sims[slot] != pid)
        slot++;
    if (pid <= 0 || slot == HARNESS_SIMS_MAX)
        HFAIL(d, "sim_wait: %d is not a simulator of this daemon", (int)pid);
    long long deadline = mono_ms() + ms;
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && remaining_ms(deadline) > 0)
        wait_fd(d, -1, 0, POLL_SLICE_MS);
    if (w != pid)
        HFAIL(d, "the simulator (pid %d) did not exit within %d ms", (int)pid, ms);
    d->sims[slot] = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- programs run to completion ------------------------------------------ */

int prog_run(struct daemon *d, const char *bin, const char *const *args, const char *token,
             bool err_too, char *out, size_t size)
{
    const char *argv[ARGS_MAX + 1] = {bin};
    size_t k = 1;
    for (; args[k - 1] != NULL; k++) {
        if (k == ARGS_MAX)
            HFAIL(d, "%s: more than %d arguments", bin, ARGS_MAX - 1);
        argv[k] = args[k - 1];
    }
    argv[k] = NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        HFAIL(d, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        HFAIL(d, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_DFL);
        dup2(p[1], 1);
        if (err_too)
            dup2(p[1], 2);
        if (token != NULL)
            setenv("RAPIDBRIDGE_TOKEN", token, 1);
        else
            unsetenv("RAPIDBRIDGE_TOKEN");
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    long long deadline = mono_ms() + HARNESS_PROG_MS;
    size_t len = 0;
    for (;;) {
        if (wait_fd(d, p[0], POLLIN, remaining_ms(deadline)) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            close(p[0]);
            out[len] = '\0';
            HFAIL(d, "%s did not finish within %d ms; its output:\n%s", bin, HARNESS_PROG_MS, out);
        }
        char scratch[4096]; /* output beyond out is read and dropped */
        bool room = len + 1 < size;
        ssize_t r = read(p[0], room ? out + len : scratch, room ? size - 1 - len : sizeof scratch);
        if (r > 0 && room)
            len += (size_t)r;
        else if (r == 0 || (r < 0 && errno != EINTR))
            break;
    }
    out[len] = '\0';
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            HFAIL(d, "waitpid: %s", strerror(errno));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int cli_run(struct daemon *d, const char *const *args, const char *token, bool err_too,
            char *out, size_t size)
{
    const char *bin = getenv("RB_CLI");
    if (bin == NULL || bin[0] != '/')
        HFAIL(d, "RB_CLI must be set to the absolute path of rapidbridge-cli");
    return prog_run(d, bin, args, token, err_too, out, size);
}

/* --- clients ------------------------------------------------------------- */

static struct tclient *tclient_new(struct daemon *d, int rcvbuf)
{
    size_t slot = 0;
    while (slot < HARNESS_CLIENTS_MAX && d->clients[slot] != NULL)
        slot++;
    if (slot == HARNESS_CLIENTS_MAX)
        HFAIL(d, "more than %d clients", HARNESS_CLIENTS_MAX);
    struct tclient *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->d = d;
    c->fd = tcp_connect(d, d->client_port, rcvbuf);
    d->clients[slot] = c;
    return c;
}

struct tclient *tclient_connect_raw(struct daemon *d)
{
    return tclient_new(d, 0);
}

static struct tclient *with_banner(struct tclient *c)
{
    json_t *v = tclient_expect_class(c, "VERSION", HARNESS_RECV_MS);
    assert_json_eq(v, "{\"class\":\"VERSION\",\"proto_major\":1,\"proto_minor\":0}",
                   (const char *const[]){"release", NULL});
    const char *rel = json_str(v, "release");
    if (rel == NULL || *rel == '\0')
        HFAIL(c->d, "VERSION banner without a release string");
    json_decref(v);
    return c;
}

struct tclient *tclient_connect(struct daemon *d)
{
    return with_banner(tclient_new(d, 0));
}

struct tclient *tclient_connect_rcvbuf(struct daemon *d, int rcvbuf)
{
    return with_banner(tclient_new(d, rcvbuf));
}

void tclient_close(struct tclient *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < HARNESS_CLIENTS_MAX; i++)
        if (c->d->clients[i] == c)
            c->d->clients[i] = NULL;
    close(c->fd);
    free(c->buf);
    free(c);
}

void tclient_send_raw(struct tclient *c, const char *bytes, size_t n)
{
    int e = write_all(c->d, c->fd, bytes, n);
    if (e == EPIPE || e == ECONNRESET)
        return; /* the daemon closed; the test sees it when reading */
    if (e != 0)
        HFAIL(c->d, "client write: %s", strerror(e));
}

void tclient_send(struct tclient *c, const char *line)
{
    size_t n = strlen(line);
    tclient_send_raw(c, line, n);
    if (n == 0 || line[n - 1] != '\n')
        tclient_send_raw(c, "\n", 1);
}

/* null only as an array element (EJ's absent axes), never as a member. */
static bool no_null_members(const json_t *j, bool in_array)
{
    if (json_is_null(j))
        return in_array;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) if (!no_null_members(v, false)) return false;
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (!no_null_members(v, true)) return false;
    }
    return true;
}

/* Take one complete line from the buffer, if there is one, and check it. */
static json_t *take_line(struct tclient *c)
{
    char *lf = c->len ? memchr(c->buf, '\n', c->len) : NULL;
    if (lf == NULL)
        return NULL;
    size_t n = (size_t)(lf - c->buf);
    json_error_t err;
    json_t *j = json_loadb(c->buf, n, 0, &err);
    if (j == NULL || !json_is_object(j) || !json_is_string(json_object_get(j, "class")) ||
        !no_null_members(j, false)) {
        int show = n > 300 ? 300 : (int)n;
        HFAIL(c->d, "daemon sent a line that is not a valid message (%s): %.*s%s",
              j == NULL ? err.text : "object with a class and no null member expected", show,
              c->buf, n > 300 ? "..." : "");
    }
    memmove(c->buf, lf + 1, c->len - n - 1);
    c->len -= n + 1;
    return j;
}

json_t *tclient_try_recv(struct tclient *c, int ms)
{
    long long deadline = mono_ms() + ms;
    for (;;) {
        json_t *j = take_line(c);
        if (j != NULL)
            return j;
        if (c->eof) {
            if (c->len > 0)
                HFAIL(c->d, "connection closed after a partial line of %zu bytes", c->len);
            return NULL;
        }
        if (c->cap - c->len < 65536) {
            if (c->cap >= HARNESS_LINE_MAX)
                HFAIL(c->d, "a line longer than %u bytes", HARNESS_LINE_MAX);
            size_t cap = c->cap ? c->cap * 2 : 131072;
            char *nb = realloc(c->buf, cap);
            assert_non_null(nb);
            c->buf = nb;
            c->cap = cap;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (r > 0) {
            c->len += (size_t)r;
            continue;
        }
        if (r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE))) {
            c->eof = true;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            HFAIL(c->d, "client recv: %s", strerror(errno));
        if (remaining_ms(deadline) == 0)
            return NULL;
        wait_fd(c->d, c->fd, POLLIN, remaining_ms(deadline));
    }
}

json_t *tclient_recv_json(struct tclient *c, int ms)
{
    json_t *j = tclient_try_recv(c, ms);
    if (j == NULL)
        HFAIL(c->d, "no message from the daemon within %d ms (%s)", ms,
              c->eof ? "connection closed" : "timeout");
    return j;
}

json_t *tclient_expect_class(struct tclient *c, const char *cls, int ms)
{
    json_t *j = tclient_recv_json(c, ms);
    if (strcmp(json_str(j, "class"), cls) != 0) {
        char *t = json_text(j);
        daemon_print_log_tail(c->d);
        print_error("expected class %s, got %s\n", cls, t);
        free(t);
        json_decref(j);
        fail_msg("unexpected message class (wanted %s)", cls);
    }
    return j;
}

json_t *tclient_wait_class(struct tclient *c, const char *cls, int ms, json_t *skipped)
{
    long long deadline = mono_ms() + ms;
    for (;;) {
        json_t *j = tclient_try_recv(c, remaining_ms(deadline));
        if (j == NULL)
            HFAIL(c->d, "no %s message within %d ms (%s)", cls, ms,
                  c->eof ? "connection closed" : "timeout");
        if (strcmp(json_str(j, "class"), cls) == 0)
            return j;
        if (skipped != NULL)
            json_array_append(skipped, j);
        json_decref(j);
    }
}

bool is_stream_class(const char *cls)
{
    return strcmp(cls, "FRAME") == 0 || strcmp(cls, "LINK") == 0 || strcmp(cls, "DROPPED") == 0;
}

json_t *tclient_request(struct tclient *c, const char *req, const char *cls, json_t *skipped)
{
    tclient_send(c, req);
    long long deadline = mono_ms() + HARNESS_RECV_MS;
    for (;;) {
        json_t *j = tclient_try_recv(c, remaining_ms(deadline));
        if (j == NULL)
            HFAIL(c->d, "no reply to %s within %d ms (%s)", req, HARNESS_RECV_MS,
                  c->eof ? "connection closed" : "timeout");
        const char *got = json_str(j, "class");
        if (strcmp(got, cls) == 0)
            return j;
        if (!is_stream_class(got)) {
            char *t = json_text(j);
            daemon_print_log_tail(c->d);
            print_error("request %s: expected %s, got %s\n", req, cls, t);
            free(t);
            json_decref(j);
            fail_msg("unexpected reply class (wanted %s)", cls);
        }
        if (skipped != NULL)
            json_array_append(skipped, j);
        json_decref(j);
    }
}

bool tclient_wait_closed(struct tclient *c, int ms)
{
    long long deadline = mono_ms() + ms;
    for (;;) {
        json_t *j = tclient_try_recv(c, remaining_ms(deadline));
        if (j == NULL)
            return c->eof;
        json_decref(j);
    }
}

json_t *tclient_wait_frame(struct tclient *c, const char *type, long long seq, int ms,
                           json_t *skipped)
{
    long long deadline = mono_ms() + ms;
    for (;;) {
        json_t *j = tclient_try_recv(c, remaining_ms(deadline));
        if (j == NULL)
            HFAIL(c->d, "no %s FRAME with seq %lld within %d ms (%s)", type, seq, ms,
                  c->eof ? "connection closed" : "timeout");
        const char *t = json_str(j, "type");
        json_t *s = json_object_get(j, "seq");
        if (strcmp(json_str(j, "class"), "FRAME") == 0 && t != NULL && strcmp(t, type) == 0 &&
            json_is_integer(s) && json_integer_value(s) == seq)
            return j;
        if (skipped != NULL)
            json_array_append(skipped, j);
        json_decref(j);
    }
}

struct tclient *watcher_connect(struct daemon *d, const char *types)
{
    char req[TEXT_MAX], echo[TEXT_MAX];
    int nr = snprintf(req, sizeof req, "{\"cmd\":\"watch\"%s%s}", types ? ",\"types\":" : "",
                      types ? types : "");
    int ne = snprintf(echo, sizeof echo, "{\"class\":\"WATCH\",\"enable\":true%s%s}",
                      types ? ",\"types\":" : "", types ? types : "");
    if (nr < 0 || (size_t)nr >= sizeof req || ne < 0 || (size_t)ne >= sizeof echo)
        fail_msg("watch types too long for the test: %s", types);
    struct tclient *c = tclient_connect(d);
    json_t *w = tclient_request(c, req, "WATCH", NULL);
    assert_json_eq(w, echo, NULL);
    json_decref(w);
    return c;
}

void tclient_request_error(struct tclient *c, const char *req, const char *id, const char *code,
                           const char *about)
{
    json_t *e = tclient_request(c, req, "ERROR", NULL);
    assert_error(e, id, code, about);
    json_decref(e);
}

void frame_with_checksum(const char *body, bool lower, char *out, size_t n)
{
    unsigned x = 0;
    for (const char *p = body; *p; p++)
        x ^= (unsigned char)*p;
    snprintf(out, n, lower ? "%s*%02x\n" : "%s*%02X\n", body, x);
}

/* --- JSON checks ---------------------------------------------------------- */

json_t *json_must(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (j == NULL)
        fail_msg("bad JSON in the test itself: %s: %s", err.text, text);
    return j;
}

char *json_text(const json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    assert_non_null(t);
    return t;
}

static void fail_json_pair(const json_t *got, const json_t *want, const char *what)
{
    char *g = json_text(got), *w = json_text(want);
    print_error("%s\n  expected: %s\n  got:      %s\n", what, w, g);
    free(g);
    free(w);
    fail_msg("%s", what);
}

void assert_json_eq(const json_t *got, const char *expected, const char *const *ignore)
{
    assert_non_null(got);
    json_t *want = json_must(expected);
    json_t *copy = json_deep_copy(got);
    for (size_t i = 0; ignore != NULL && ignore[i] != NULL; i++)
        json_object_del(copy, ignore[i]);
    bool eq = json_equal(copy, want);
    if (!eq)
        fail_json_pair(copy, want, "JSON differs");
    json_decref(copy);
    json_decref(want);
}

void assert_json_has(const json_t *got, const char *expected)
{
    assert_non_null(got);
    json_t *want = json_must(expected);
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v)
    {
        json_t *g = json_object_get(got, k);
        if (g == NULL || !json_equal(g, v))
            fail_json_pair(got, want, "JSON lacks an expected member value");
    }
    json_decref(want);
}

void assert_error(const json_t *e, const char *id, const char *code, const char *about)
{
    char want[TEXT_MAX];
    int n = snprintf(want, sizeof want, "{\"class\":\"ERROR\"%s%s,\"code\":\"%s\"}",
                     id ? ",\"id\":" : "", id ? id : "", code);
    if (n < 0 || (size_t)n >= sizeof want)
        fail_msg("expected ERROR too long for the test: code %s", code);
    assert_json_eq(e, want, (const char *const[]){"message", NULL});
    const char *msg = json_str(e, "message");
    assert_non_null(msg);
    assert_true(*msg != '\0');
    if (about != NULL && strstr(msg, about) == NULL)
        fail_msg("ERROR %s message \"%s\" does not say \"%s\"", code, msg, about);
}

const char *json_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

long long json_int_member(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) {
        char *t = json_text(o);
        print_error("member %s is not an integer in %s\n", key, t);
        free(t);
        fail_msg("member %s is not an integer", key);
    }
    return json_integer_value(v);
}
