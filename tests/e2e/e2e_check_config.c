/* e2e_check_config.c - `rapidbridge --check-config`: a good file exits 0
 * without binding or creating anything; each bad file exits 1 with the one
 * "FILE:LINE:COL: message" line, and a normal start refuses the same file
 * (so ExecStartPre= and ExecReload= in the unit never pass a file the daemon
 * would refuse). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define RUN_MS 10000       /* one run of the binary, sanitizers included */
#define OUT_MAX 8192       /* bytes of stdout or stderr kept per run */
#define ARGS_MAX 16

struct run {
    int status;            /* exit status, or -1 when killed at RUN_MS */
    char out[OUT_MAX], err[OUT_MAX];
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void keep(char *buf, size_t *len, int fd, bool *open)
{
    char chunk[1024];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            *open = false;
        return;
    }
    size_t room = OUT_MAX - 1 - *len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(buf + *len, chunk, take);
    *len += take;
    buf[*len] = '\0';
}

/* Run $RB_BIN with args (NULL-terminated) to its end, or kill it at RUN_MS. */
static void run_bin(struct run *r, const char *const *args)
{
    const char *bin = getenv("RB_BIN");
    assert_non_null(bin);
    const char *argv[ARGS_MAX];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args[i]; i++) {
        assert_true(n < ARGS_MAX - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    int o[2], e[2];
    assert_int_equal(pipe2(o, O_CLOEXEC), 0);
    assert_int_equal(pipe2(e, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o[1], 1);
        dup2(e[1], 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    size_t olen = 0, elen = 0;
    r->out[0] = r->err[0] = '\0';
    bool oopen = true, eopen = true;
    long long deadline = mono_ms() + RUN_MS;
    while ((oopen || eopen) && mono_ms() < deadline) {
        struct pollfd p[2] = {{oopen ? o[0] : -1, POLLIN, 0}, {eopen ? e[0] : -1, POLLIN, 0}};
        if (poll(p, 2, (int)(deadline - mono_ms())) <= 0)
            continue;
        if (p[0].revents)
            keep(r->out, &olen, o[0], &oopen);
        if (p[1].revents)
            keep(r->err, &elen, e[0], &eopen);
    }
    close(o[0]);
    close(e[0]);
    int st = 0;
    if (oopen || eopen) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        r->status = -1;
        return;
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A fresh temporary configuration file holding text. */
static void temp_config(char path[32], const char *text)
{
    strcpy(path, "/tmp/rb-check-XXXXXX.json");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, text);
}

struct bad_case {
    const char *name;
    const char *text;      /* NULL: the file does not exist */
    const char *record;    /* --record argument, or NULL */
    const char *message;   /* stderr after "FILE" (the -c path), exactly */
};

static const struct bad_case bad_cases[] = {
    {"JSON syntax", "{\"robots\":[{\"name\":\"rob1\",}]}", NULL,
     ":1:27: string or '}' expected near '}'\n"},
    {"unknown member", "{\n  \"robots\": [{\"name\": \"rob1\"}],\n  \"limts\": {}\n}", NULL,
     ":3:12: unknown member \"limts\"\n"},
    {"value out of range", "{\n  \"robots\": [{\"name\": \"rob1\"}],\n  \"limits\": {\"idle_timeout\": -1}\n}",
     NULL, ":3:30: limits.idle_timeout must be more than 0 and at most 3600 seconds\n"},
    {"bad robot name", "{\n  \"robots\": [{\"name\": \"1rob\"}]\n}", NULL,
     ":2:23: robots[0].name \"1rob\" is not an identifier (a letter, then letters, digits or _, "
     "at most 32 characters)\n"},
    {"record file in a missing directory",
     "{\n  \"robots\": [{\"name\": \"rob1\"}],\n  \"record\": \"/nonexistent-rb/frames.log\"\n}", NULL,
     ":3:13: record file /nonexistent-rb/frames.log cannot be written: No such file or directory\n"},
    {"audit file in a missing directory",
     "{\n  \"robots\": [{\"name\": \"rob1\"}],\n  \"audit_file\": \"/nonexistent-rb/audit.log\"\n}",
     NULL, ":3:17: audit file /nonexistent-rb/audit.log cannot be written: No such file or "
     "directory\n"},
    {"mqtt ca missing",
     "{\n  \"robots\": [{\"name\": \"rob1\"}],\n  \"mqtt\": {\n    \"host\": \"127.0.0.1\",\n"
     "    \"ca\": \"/nonexistent-rb/ca.pem\"\n  }\n}",
     NULL, ":5:11: mqtt.ca /nonexistent-rb/ca.pem cannot be read: No such file or directory\n"},
    {"no such file", NULL, NULL, ": No such file or directory\n"},
};

/* Each bad file: --check-config exits 1 with exactly the located message,
 * and a start (without --check-config) refuses it too. */
static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *t = &bad_cases[i];
        char path[32];
        temp_config(path, t->text ? t->text : "");
        if (!t->text)
            unlink(path);
        struct run r;
        run_bin(&r, (const char *const[]){"--check-config", "-c", path, NULL});
        char want[1024];
        snprintf(want, sizeof want, "%s%s", path, t->message);
        if (r.status != 1 || strcmp(r.err, want) != 0 || r.out[0])
            fail_msg("%s: --check-config exit %d, stderr \"%s\" (want exit 1, \"%s\"), stdout \"%s\"",
                     t->name, r.status, r.err, want, r.out);
        run_bin(&r, (const char *const[]){"--robot-listen", "127.0.0.1:0", "--json-listen",
                                          "127.0.0.1:0", "-c", path, NULL});
        if (r.status != 1)
            fail_msg("%s: a start exited %d (want 1); log:\n%s", t->name, r.status, r.err);
        unlink(path);
    }
}

static void test_record_from_command_line(void **state)
{
    (void)state;
    char path[32];
    temp_config(path, "{\"robots\":[{\"name\":\"rob1\"}]}");
    struct run r;
    run_bin(&r, (const char *const[]){"--check-config", "-c", path, "--record",
                                      "/nonexistent-rb/x.log", NULL});
    unlink(path);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "--record: record file /nonexistent-rb/x.log cannot be written: "
                               "No such file or directory\n");
}

/* Both listen ports are taken by this test: a start would fail, the check
 * binds nothing and passes; the record file it names is not created. */
static void test_good_file_starts_nothing(void **state)
{
    (void)state;
    int held = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(held >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(held, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(held, 1), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(held, (struct sockaddr *)&sa, &sl), 0);
    unsigned port = ntohs(sa.sin_port);

    char dir[] = "/tmp/rb-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char record[64], text[512], path[32];
    snprintf(record, sizeof record, "%s/frames.log", dir);
    snprintf(text, sizeof text,
             "{\"robot_listen\":\"127.0.0.1:%u\",\"json_listen\":\"127.0.0.1:%u\","
             "\"robots\":[{\"name\":\"rob1\"},{\"name\":\"rob2\"}],\"record\":\"%s\"}",
             port, port, record);
    temp_config(path, text);

    struct run r;
    run_bin(&r, (const char *const[]){"--check-config", "-c", path, NULL});
    char want[128];
    snprintf(want, sizeof want, "%s: configuration valid, 2 robot(s)\n", path);
    if (r.status != 0 || strcmp(r.out, want) != 0 || r.err[0])
        fail_msg("exit %d, stdout \"%s\" (want \"%s\"), stderr \"%s\"", r.status, r.out, want,
                 r.err);
    struct stat st;
    assert_int_equal(stat(record, &st), -1);

    /* The same file does not start: the port is taken (so the check above
     * really did not bind). */
    run_bin(&r, (const char *const[]){"-c", path, NULL});
    if (r.status != 1 || !strstr(r.err, "Address already in use"))
        fail_msg("a start with taken ports: exit %d, log:\n%s", r.status, r.err);

    unlink(record);
    rmdir(dir);
    unlink(path);
    close(held);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_record_from_command_line),
        cmocka_unit_test(test_good_file_starts_nothing),
    };
    return cmocka_run_group_tests_name("e2e_check_config", tests, NULL, NULL);
}
