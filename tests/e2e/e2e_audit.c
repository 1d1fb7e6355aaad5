/* e2e_audit.c - the audit trail (interface 1.1 D) against the real daemon:
 * every command with its principal and outcome, refusals, lease changes
 * and auth in one chained file that `rapidbridge-cli audit verify` accepts;
 * an edited, deleted or moved line makes verify fail at the first line
 * whose prev no longer matches; a restart and a rotation (rename + SIGHUP)
 * keep the chain; an audit file that cannot be written refuses commands
 * with audit_failed and counts audit.failures in STATS.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <signal.h>
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

#define TEXT_MAX 4096
#define LINES_MAX 256
#define READ_SLICE_MS 5

static const char TOKEN[] = "audit-test-token-0123456789";

static void sha256_hex(const char *text, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_true(EVP_Digest(text, len, md, &n, EVP_sha256(), NULL));
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

struct files {
    char tokens[64];
    char audit[64];
};

static void make_files(struct files *f)
{
    strcpy(f->tokens, "/tmp/rb-atok-XXXXXX");
    int fd = mkstemp(f->tokens);
    assert_true(fd >= 0);
    char h[65], line[128];
    sha256_hex(TOKEN, strlen(TOKEN), h);
    snprintf(line, sizeof line, "op1 %s\n", h);
    assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    close(fd);
    strcpy(f->audit, "/tmp/rb-audit-XXXXXX");
    fd = mkstemp(f->audit);
    assert_true(fd >= 0);
    close(fd);
    unlink(f->audit);   /* the daemon creates it */
}

static void config(char *out, size_t n, const struct files *f, const char *audit)
{
    snprintf(out, n,
             "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"SETDO\",\"SPEED\",\"STOP\"]}],"
             "\"limits\":{\"idle_timeout\":30,\"ack_timeout\":0.3},"
             "\"tokens_file\":\"%s\",\"audit_file\":\"%s\","
             "\"access\":[{\"who\":[\"token:op1\"],\"may\":[\"watch\",\"control\",\"SETDO\","
             "\"SPEED\",\"STOP\",\"CALL\"]},{\"who\":[\"anonymous\"],\"may\":[\"watch\"]}]}",
             f->tokens, audit ? audit : f->audit);
}

static struct tclient *operator(struct daemon *d)
{
    struct tclient *c = tclient_connect(d);
    char req[256];
    snprintf(req, sizeof req, "{\"cmd\":\"auth\",\"token\":\"%s\"}", TOKEN);
    json_decref(tclient_request(c, req, "AUTH", NULL));
    json_decref(tclient_request(c, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "CONTROL", NULL));
    return c;
}

static long robot_read_seq(struct daemon *d, int fd, const char *type)
{
    char frame[128];
    size_t len = 0;
    for (int waited = 0; waited < HARNESS_RECV_MS;) {
        char ch;
        ssize_t r = recv(fd, &ch, 1, MSG_DONTWAIT);
        if (r == 1) {
            assert_true(len + 1 < sizeof frame);
            frame[len++] = ch;
            frame[len] = '\0';
            if (ch == '\n') {
                assert_memory_equal(frame, type, strlen(type));
                return strtol(frame + strlen(type) + 1, NULL, 10);
            }
            continue;
        }
        daemon_sleep(d, READ_SLICE_MS);
        waited += READ_SLICE_MS;
    }
    daemon_print_log_tail(d);
    fail_msg("no %s frame reached the robot", type);
    return -1;
}

/* The file's lines (without LF), parsed; returns the count. */
static size_t read_records(const char *path, json_t *recs[LINES_MAX], char *lines[LINES_MAX])
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, f)) > 0) {
        assert_true(n < LINES_MAX);
        assert_int_equal(line[got - 1], '\n');
        line[got - 1] = '\0';
        recs[n] = json_loads(line, 0, NULL);
        assert_non_null(recs[n]);
        if (lines)
            lines[n] = strdup(line);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

static void free_records(json_t *recs[], char *lines[], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(recs[i]);
        if (lines)
            free(lines[i]);
    }
}

/* The first record with event and, when not NULL, this type or outcome. */
static json_t *find(json_t *recs[], size_t n, const char *event, const char *key, const char *value)
{
    for (size_t i = 0; i < n; i++) {
        const char *e = json_str(recs[i], "event");
        if (e && strcmp(e, event) == 0
            && (!key || (json_str(recs[i], key) && strcmp(json_str(recs[i], key), value) == 0)))
            return recs[i];
    }
    fail_msg("no %s record%s%s%s", event, key ? " with " : "", key ? key : "", key ? value : "");
    return NULL;
}

/* rapidbridge-cli audit verify FILE: exit status, stdout in out. */
static int verify(const char *path, char *out, size_t n)
{
    return cli_run(NULL, (const char *const[]){"audit", "verify", path, NULL}, NULL, false, out, n);
}

static void write_lines(const char *path, char *lines[], size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[i]);
    fclose(f);
}

static void expect_verify_fails_at(const char *path, size_t line)
{
    char out[512], want[128];
    assert_int_equal(verify(path, out, sizeof out), 1);
    snprintf(want, sizeof want, "%s:%zu:", path, line);
    if (!strstr(out, want))
        fail_msg("verify said \"%s\", wanted it to name %s", out, want);
}

static void test_trail(void **state)
{
    struct files f;
    make_files(&f);
    char cfg[TEXT_MAX];
    config(cfg, sizeof cfg, &f, NULL);
    struct daemon *d = daemon_start(state, cfg);
    int robot = trobot_hello(d, "rob1");
    struct tclient *c = operator(d);

    /* OK, ERR with a code, a timeout, a STOP, and refusals. */
    tclient_send(c, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
                 "\"fields\":{\"name\":\"doGrip\",\"value\":1}}");
    long s1 = robot_read_seq(d, robot, "SETDO");
    char ak[64];
    snprintf(ak, sizeof ak, "AK,1,%ld,OK\n", s1);
    trobot_send(d, robot, ak);
    json_decref(tclient_wait_class(c, "ACK", HARNESS_RECV_MS, NULL));
    tclient_send(c, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SPEED\","
                 "\"fields\":{\"percent\":50}}");
    long s2 = robot_read_seq(d, robot, "SPEED");
    snprintf(ak, sizeof ak, "AK,2,%ld,ERR,7,no\n", s2);
    trobot_send(d, robot, ak);
    json_decref(tclient_wait_class(c, "ACK", HARNESS_RECV_MS, NULL));
    tclient_send(c, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SPEED\","
                 "\"fields\":{\"percent\":60}}");
    robot_read_seq(d, robot, "SPEED");
    json_decref(tclient_wait_class(c, "ERROR", HARNESS_RECV_MS, NULL)); /* timeout */
    tclient_request_error(c, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"CALL\","
                          "\"fields\":{\"proc\":\"Home\"}}", NULL, "forbidden", NULL);
    struct tclient *anon = tclient_connect(d);
    tclient_request_error(anon, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"STOP\"}", NULL,
                          "unauthorized", "STOP");
    tclient_request_error(anon, "{\"cmd\":\"auth\",\"token\":\"wrong\"}", NULL, "unauthorized",
                          NULL);
    daemon_stop(state);

    json_t *recs[LINES_MAX];
    char *lines[LINES_MAX];
    size_t n = read_records(f.audit, recs, lines);
    assert_true(n >= 10);
    assert_string_equal(json_str(recs[0], "event"), "start");
    assert_string_equal(json_str(recs[0], "prev"),
                        "0000000000000000000000000000000000000000000000000000000000000000");
    assert_string_equal(json_str(recs[n - 1], "event"), "stop");
    for (size_t i = 0; i < n; i++) {
        assert_true(json_is_number(json_object_get(recs[i], "time")));
        if (i > 0) {
            char h[65];
            sha256_hex(lines[i - 1], strlen(lines[i - 1]), h);
            assert_string_equal(json_str(recs[i], "prev"), h);
        }
        assert_null(strstr(lines[i], TOKEN));
        assert_null(strstr(lines[i], "wrong\""));
    }
    json_t *r = find(recs, n, "auth", NULL, NULL);
    assert_string_equal(json_str(r, "principal"), "token:op1");
    assert_non_null(json_str(r, "peer"));
    r = find(recs, n, "control", NULL, NULL);
    assert_json_has(r, "{\"principal\":\"token:op1\",\"robot\":\"rob1\"}");
    r = find(recs, n, "command", "type", "SETDO");
    char want[TEXT_MAX];
    snprintf(want, sizeof want, "{\"principal\":\"token:op1\",\"robot\":\"rob1\",\"seq\":%ld,"
             "\"fields\":{\"name\":\"doGrip\",\"value\":1}}", s1);
    assert_json_has(r, want);
    assert_non_null(json_str(r, "peer"));
    r = find(recs, n, "result", "outcome", "OK");
    snprintf(want, sizeof want, "{\"robot\":\"rob1\",\"seq\":%ld,\"principal\":\"token:op1\"}", s1);
    assert_json_has(r, want);
    r = find(recs, n, "result", "outcome", "ERR");
    snprintf(want, sizeof want, "{\"robot\":\"rob1\",\"seq\":%ld,\"code\":7}", s2);
    assert_json_has(r, want);
    find(recs, n, "result", "outcome", "timeout");
    r = find(recs, n, "refused", "code", "forbidden");
    assert_json_has(r, "{\"principal\":\"token:op1\",\"robot\":\"rob1\",\"type\":\"CALL\"}");
    r = find(recs, n, "refused", "code", "unauthorized");
    assert_json_has(r, "{\"principal\":\"anonymous\",\"type\":\"STOP\"}");
    find(recs, n, "auth_failed", "principal", "anonymous");
    r = find(recs, n, "release", NULL, NULL);
    assert_json_has(r, "{\"robot\":\"rob1\",\"reason\":\"disconnect\"}");

    /* The chain holds; each change breaks it at the first line that no longer matches. */
    char out[512], count[64];
    assert_int_equal(verify(f.audit, out, sizeof out), 0);
    snprintf(count, sizeof count, "%zu records", n);
    assert_non_null(strstr(out, count));
    char *edited = strdup(lines[3]);
    char *at = strstr(lines[3], "\"event\":\"");
    assert_non_null(at);
    at[9] = at[9] == 'x' ? 'y' : 'x';          /* one byte of line 4 */
    write_lines(f.audit, lines, n);
    expect_verify_fails_at(f.audit, 5);         /* its successor names it */
    free(lines[3]);
    lines[3] = edited;
    write_lines(f.audit, lines, n);
    assert_int_equal(verify(f.audit, out, sizeof out), 0);
    char *moved[LINES_MAX];
    memcpy(moved, lines, n * sizeof *lines);
    moved[3] = lines[4];
    moved[4] = lines[3];                        /* lines 4 and 5 swapped */
    write_lines(f.audit, moved, n);
    expect_verify_fails_at(f.audit, 4);
    memmove(moved + 3, lines + 4, (n - 4) * sizeof *lines); /* line 4 deleted */
    write_lines(f.audit, moved, n - 1);
    expect_verify_fails_at(f.audit, 4);
    write_lines(f.audit, (char *[]){lines[0], "not json", lines[1]}, 3);
    expect_verify_fails_at(f.audit, 2);
    free_records(recs, lines, n);
    unlink(f.audit);
    unlink(f.tokens);
}

/* A restart chains to the file's last line; a rotation (rename, SIGHUP)
 * chains the new file's first line to the old file's last. */
static void test_restart_and_rotation(void **state)
{
    struct files f;
    make_files(&f);
    char cfg[TEXT_MAX], old[96], out[512];
    config(cfg, sizeof cfg, &f, NULL);
    struct daemon *d = daemon_start(state, cfg);
    tclient_close(operator(d));
    daemon_stop(state);
    d = daemon_start(state, cfg);               /* a restart appends */
    struct tclient *c = operator(d);
    snprintf(old, sizeof old, "%s.1", f.audit);
    assert_int_equal(rename(f.audit, old), 0);
    kill(d->pid, SIGHUP);
    char reopened[160];
    snprintf(reopened, sizeof reopened, "audit file %s reopened", f.audit);
    assert_true(daemon_wait_log(d, reopened, HARNESS_RECV_MS));
    json_decref(tclient_request(c, "{\"cmd\":\"release\",\"robot\":\"rob1\"}", "CONTROL", NULL));
    daemon_stop(state);

    assert_int_equal(verify(old, out, sizeof out), 0);
    assert_int_equal(verify(f.audit, out, sizeof out), 0);
    json_t *a[LINES_MAX], *b[LINES_MAX];
    char *la[LINES_MAX];
    size_t na = read_records(old, a, la), nb = read_records(f.audit, b, NULL);
    char h[65];
    sha256_hex(la[na - 1], strlen(la[na - 1]), h);
    assert_string_equal(json_str(b[0], "prev"), h);
    assert_string_equal(json_str(b[0], "event"), "reload");
    size_t starts = 0;
    for (size_t i = 0; i < na; i++)
        starts += strcmp(json_str(a[i], "event"), "start") == 0;
    assert_int_equal(starts, 2);
    /* The two files end to end are one chain. */
    char both[160], cmd[400];
    snprintf(both, sizeof both, "%s.both", f.audit);
    snprintf(cmd, sizeof cmd, "cat %s %s > %s", old, f.audit, both);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(verify(both, out, sizeof out), 0);
    free_records(a, la, na);
    free_records(b, NULL, nb);
    unlink(both);
    unlink(old);
    unlink(f.audit);
    unlink(f.tokens);
}

static void send_setdo(struct tclient *c)
{
    tclient_send(c, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
                 "\"fields\":{\"name\":\"doGrip\",\"value\":1}}");
}

/* /dev/full takes the open but no write: commands are refused. A file that
 * cannot be reopened after SIGHUP refuses them until a reopen works. */
static void test_unwritable(void **state)
{
    struct files f;
    make_files(&f);
    char cfg[TEXT_MAX];
    config(cfg, sizeof cfg, &f, "/dev/full");
    struct daemon *d = daemon_start(state, cfg);
    trobot_hello(d, "rob1");
    struct tclient *c = operator(d);
    send_setdo(c);
    json_t *e = tclient_wait_class(c, "ERROR", HARNESS_RECV_MS, NULL);
    assert_string_equal(json_str(e, "code"), "audit_failed");
    json_decref(e);
    json_t *s = tclient_request(c, "{\"cmd\":\"stats\"}", "STATS", NULL);
    json_t *audit = json_object_get(s, "audit");
    assert_true(json_integer_value(json_object_get(audit, "failures")) >= 1);
    json_decref(s);
    assert_true(daemon_log_has(d, "cannot be written"));
    daemon_stop(state);

    config(cfg, sizeof cfg, &f, NULL);
    d = daemon_start(state, cfg);
    int robot = trobot_hello(d, "rob1");
    c = operator(d);
    char moved[96];
    snprintf(moved, sizeof moved, "%s.1", f.audit);
    assert_int_equal(rename(f.audit, moved), 0);
    assert_int_equal(mkdir(f.audit, 0700), 0);   /* the name cannot be opened for writing */
    kill(d->pid, SIGHUP);
    assert_true(daemon_wait_log(d, "cannot be reopened", HARNESS_RECV_MS));
    send_setdo(c);
    e = tclient_wait_class(c, "ERROR", HARNESS_RECV_MS, NULL);
    assert_string_equal(json_str(e, "code"), "audit_failed");
    json_decref(e);
    assert_int_equal(rmdir(f.audit), 0);
    kill(d->pid, SIGHUP);
    char reopened[160];
    snprintf(reopened, sizeof reopened, "audit file %s reopened", f.audit);
    assert_true(daemon_wait_log(d, reopened, HARNESS_RECV_MS));
    send_setdo(c);
    long seq = robot_read_seq(d, robot, "SETDO");
    assert_true(seq >= 0);
    daemon_stop(state);
    unlink(moved);
    unlink(f.audit);
    unlink(f.tokens);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_trail, daemon_teardown),
        cmocka_unit_test_teardown(test_restart_and_rotation, daemon_teardown),
        cmocka_unit_test_teardown(test_unwritable, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
