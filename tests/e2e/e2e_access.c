/* e2e_access.c - who a client is and what it may do (interface 1.1 A-C),
 * against the real daemon: token auth (right, wrong, the failed-auth
 * back-off), grants (watch only, a type not granted, a type granted but not
 * in the robot's allowlist, the order of send's checks), the control lease
 * (take, refused with the holder named, takeover with the notice to
 * watchers and the old holder, release, the holder disconnecting, STOP from
 * a non-holder), the Unix socket under two uids with their groups, and the
 * start-up rules (non-loopback without access, the tokens file's mode).
 * All on loopback or a Unix socket in /tmp, every wait bounded.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define TEXT_MAX 4096
#define BLOCK_MS 1000           /* the first failed-auth block */

static const char TOKEN_HMI[] = "hmi-secret-0123456789abcdef";
static const char TOKEN_SUPER[] = "super-secret-fedcba9876543210";

/* --- files ------------------------------------------------------------------ */

static void sha256_hex(const char *text, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_true(EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL));
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* A tokens file with hmi1 and super, mode 0600 (or mode). */
static void tokens_file(char path[64], mode_t mode)
{
    strcpy(path, "/tmp/rb-tokens-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char h1[65], h2[65], text[512];
    sha256_hex(TOKEN_HMI, h1);
    sha256_hex(TOKEN_SUPER, h2);
    snprintf(text, sizeof text, "# test tokens\n\nhmi1 %s\nsuper  %s\n", h1, h2);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* rob1 allows SETDO, SPEED, STOP (not CALL); rob2 is never linked. */
static void access_config(char *out, size_t n, const char *tokens, const char *extra)
{
    snprintf(out, n,
             "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"SETDO\",\"SPEED\",\"STOP\"]},"
             "{\"name\":\"rob2\",\"commands\":[\"SETDO\"]}],"
             "\"limits\":{\"idle_timeout\":30},"
             "\"tokens_file\":\"%s\"%s,"
             "\"access\":["
             "{\"who\":[\"token:hmi1\"],\"robots\":[\"rob1\"],"
             "\"may\":[\"watch\",\"control\",\"SETDO\",\"STOP\",\"CALL\"]},"
             "{\"who\":[\"token:super\"],\"may\":[\"watch\",\"control\",\"takeover\",\"SETDO\","
             "\"STOP\"]},"
             "{\"who\":[\"anonymous\"],\"may\":[\"watch\"]},"
             "{\"who\":[\"user:root\"],\"may\":[\"watch\",\"control\",\"SETDO\"]},"
             "{\"who\":[\"group:nogroup\"],\"robots\":[\"rob2\"],\"may\":[\"watch\"]}]}",
             tokens, extra ? extra : "");
}

/* A fresh tokens file (its path in tokens, for the test to unlink) and the
 * daemon on access_config with it. */
static struct daemon *access_start(void **state, char tokens[64])
{
    char cfg[TEXT_MAX];
    tokens_file(tokens, 0600);
    access_config(cfg, sizeof cfg, tokens, NULL);
    return daemon_start(state, cfg);
}

static void auth(struct tclient *c, const char *token)
{
    char req[TEXT_MAX];
    snprintf(req, sizeof req, "{\"cmd\":\"auth\",\"token\":\"%s\",\"id\":1}", token);
    json_t *j = tclient_request(c, req, "AUTH", NULL);
    json_decref(j);
}

static void auth_refused(struct tclient *c, const char *token)
{
    char req[TEXT_MAX];
    snprintf(req, sizeof req, "{\"cmd\":\"auth\",\"token\":\"%s\"}", token);
    tclient_request_error(c, req, NULL, "unauthorized", "authentication failed");
}

static json_t *request_error(struct tclient *c, const char *req, const char *code)
{
    tclient_send(c, req);
    json_t *e = tclient_wait_class(c, "ERROR", HARNESS_RECV_MS, NULL);
    if (strcmp(json_str(e, "code"), code) != 0) {
        char *t = json_text(e);
        daemon_print_log_tail(c->d);
        fail_msg("%s: wanted ERROR %s, got %s", req, code, t);
    }
    return e;
}

/* --- tokens ------------------------------------------------------------------ */

static void test_tokens(void **state)
{
    char tokens[64];
    struct daemon *d = access_start(state, tokens);
    struct tclient *c = tclient_connect(d);

    /* Anonymous may watch, nothing else. */
    json_decref(tclient_request(c, "{\"cmd\":\"stats\"}", "STATS", NULL));
    json_t *e = request_error(c, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
                              "\"fields\":{\"name\":\"a\",\"value\":1}}", "unauthorized");
    assert_non_null(strstr(json_str(e, "message"), "SETDO"));
    assert_non_null(strstr(json_str(e, "message"), "anonymous"));
    json_decref(e);
    e = request_error(c, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "unauthorized");
    assert_non_null(strstr(json_str(e, "message"), "control"));
    json_decref(e);

    /* A wrong token, an unknown one, a missing one: the same answer. */
    auth_refused(c, "hmi-secret-wrong");
    auth_refused(c, "");
    tclient_request_error(c, "{\"cmd\":\"auth\"}", NULL, "unauthorized", "authentication failed");

    /* A broken auth line: the error quotes nothing of it. */
    tclient_send(c, "{\"cmd\":\"auth\",\"token\":\"hmi-secret\\q0123\"}"); /* a bad escape */
    e = tclient_expect_class(c, "ERROR", HARNESS_RECV_MS);
    assert_string_equal(json_str(e, "code"), "bad_json");
    assert_null(strstr(json_str(e, "message"), "secret"));
    json_decref(e);

    /* The right one: the principal and its grants, robot by robot, command
     * types only where the allowlist has them (CALL is granted, not allowed);
     * hmi1's rule names rob1 only, and anonymous's rule is not hmi1's. */
    tclient_send(c, "{\"cmd\":\"auth\",\"token\":\"hmi-secret-0123456789abcdef\",\"id\":5}");
    json_t *a = tclient_expect_class(c, "AUTH", HARNESS_RECV_MS);
    assert_json_eq(a, "{\"class\":\"AUTH\",\"id\":5,\"principal\":\"token:hmi1\","
                   "\"grants\":{\"rob1\":[\"watch\",\"control\",\"SETDO\",\"STOP\"]}}", NULL);
    json_decref(a);
    /* hmi1 has no SETDO on rob2 (its rule names rob1 only). */
    e = request_error(c, "{\"cmd\":\"send\",\"robot\":\"rob2\",\"type\":\"SETDO\","
                      "\"fields\":{\"name\":\"a\",\"value\":1}}", "unauthorized");
    json_decref(e);

    /* The token text is nowhere in the log. */
    daemon_pump(d);
    assert_false(daemon_log_has(d, TOKEN_HMI));
    assert_false(daemon_log_has(d, "hmi-secret"));
    daemon_stop(state);
    unlink(tokens);
}

/* 5 failures block the address 1 s; a try while blocked fails unchecked and
 * does not extend the block; the next failure after a block doubles it; a
 * success resets it. */
static void test_backoff(void **state)
{
    char tokens[64];
    struct daemon *d = access_start(state, tokens);
    struct tclient *c = tclient_connect(d);
    for (int i = 0; i < 4; i++)
        auth_refused(c, "nope");
    auth(c, TOKEN_HMI);             /* 4 failures then a success: reset */
    for (int i = 0; i < 5; i++)
        auth_refused(c, "nope");
    long long blocked_at = mono_ms();
    /* Blocked: the right token fails, from another connection too. */
    auth_refused(c, TOKEN_HMI);
    struct tclient *c2 = tclient_connect(d);
    daemon_sleep(d, BLOCK_MS / 2);
    auth_refused(c2, TOKEN_HMI);    /* does not extend the block */
    daemon_sleep(d, (int)(blocked_at + BLOCK_MS + 150 - mono_ms()));
    auth(c2, TOKEN_SUPER);          /* 1 s after the block began: free, and reset */

    /* Again to a block, then one failure after it: 2 s. */
    for (int i = 0; i < 5; i++)
        auth_refused(c, "nope");
    daemon_sleep(d, BLOCK_MS + 150);
    auth_refused(c, "nope");        /* checked, failed: the next block is 2 s */
    long long second = mono_ms();
    daemon_sleep(d, BLOCK_MS + 150);
    auth_refused(c, TOKEN_HMI);     /* still blocked after 1 s */
    daemon_sleep(d, (int)(second + 2 * BLOCK_MS + 150 - mono_ms()));
    auth(c, TOKEN_HMI);
    assert_true(daemon_log_has(d, "blocked for 1 s"));
    daemon_stop(state);
    unlink(tokens);
}

/* --- grants and send's order ------------------------------------------------ */

static void test_grants(void **state)
{
    char tokens[64];
    struct daemon *d = access_start(state, tokens);
    struct tclient *c = tclient_connect(d);
    auth(c, TOKEN_HMI);
    static const struct {
        const char *name, *req, *code, *about;
    } cases[] = {
        {"unknown robot first", "{\"cmd\":\"send\",\"robot\":\"robX\",\"type\":\"PING\"}",
         "unknown_robot", "robX"},
        {"unknown type before the grant", "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"NOPE\"}",
         "unknown_type", "NOPE"},
        {"a type not granted", "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SPEED\","
         "\"fields\":{\"percent\":50}}", "unauthorized", "SPEED"},
        {"granted, not in the allowlist", "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"CALL\","
         "\"fields\":{\"proc\":\"Home\"}}", "forbidden", "CALL"},
        {"bad field before the lease", "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
         "\"fields\":{\"name\":\"a,b\",\"value\":1}}", "bad_field", NULL},
        {"no lease", "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
         "\"fields\":{\"name\":\"a\",\"value\":1}}", "not_in_control", "nobody"},
        {"release without the lease", "{\"cmd\":\"release\",\"robot\":\"rob1\"}",
         "not_in_control", "nobody"},
        {"no takeover grant", "{\"cmd\":\"control\",\"robot\":\"rob2\",\"takeover\":true}",
         "unauthorized", "control"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        tclient_request_error(c, cases[i].req, NULL, cases[i].code, cases[i].about);
    }
    /* With the lease: the link is what is missing now. */
    json_decref(tclient_request(c, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "CONTROL", NULL));
    tclient_request_error(c, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
                          "\"fields\":{\"name\":\"a\",\"value\":1}}", NULL, "robot_offline", NULL);
    daemon_stop(state);
    unlink(tokens);
}

/* --- the lease --------------------------------------------------------------- */

static void expect_control(struct tclient *c, const char *expected)
{
    json_t *j = tclient_wait_class(c, "CONTROL", HARNESS_RECV_MS, NULL);
    assert_json_eq(j, expected, NULL);
    json_decref(j);
}

static void test_lease(void **state)
{
    char tokens[64];
    struct daemon *d = access_start(state, tokens);
    int robot = trobot_hello(d, "rob1");
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *a = tclient_connect(d), *b = tclient_connect(d);
    auth(a, TOKEN_HMI);
    auth(b, TOKEN_SUPER);

    tclient_send(a, "{\"cmd\":\"control\",\"robot\":\"rob1\",\"id\":\"a1\"}");
    expect_control(a, "{\"class\":\"CONTROL\",\"id\":\"a1\",\"robot\":\"rob1\",\"state\":\"taken\","
                   "\"holder\":\"token:hmi1\"}");
    expect_control(w, "{\"class\":\"CONTROL\",\"robot\":\"rob1\",\"state\":\"taken\","
                   "\"holder\":\"token:hmi1\"}");

    /* Held: a second taker is told who holds it, and so is its send. */
    json_t *e = request_error(b, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "not_in_control");
    assert_string_equal(json_str(e, "holder"), "token:hmi1");
    json_decref(e);
    e = request_error(b, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
                      "\"fields\":{\"name\":\"a\",\"value\":1}}", "not_in_control");
    assert_string_equal(json_str(e, "holder"), "token:hmi1");
    json_decref(e);

    /* The holder's command reaches the robot. */
    tclient_send(a, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
                 "\"fields\":{\"name\":\"doA\",\"value\":1}}");
    char frame[128];
    assert_true(trobot_read_line(d, robot, frame, sizeof frame, HARNESS_RECV_MS));
    assert_non_null(strstr(frame, "SETDO,"));
    assert_non_null(strstr(frame, ",doA,1"));
    char ak[64];
    snprintf(ak, sizeof ak, "AK,1,%ld,OK\n", strtol(frame + 6, NULL, 10));
    trobot_send(d, robot, ak);
    json_decref(tclient_wait_class(a, "ACK", HARNESS_RECV_MS, NULL));

    /* STOP from a non-holder goes through at once. */
    tclient_send(b, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"STOP\"}");
    assert_true(trobot_read_line(d, robot, frame, sizeof frame, HARNESS_RECV_MS));
    assert_memory_equal(frame, "STOP,", 5);
    snprintf(ak, sizeof ak, "AK,2,%ld,OK\n", strtol(frame + 5, NULL, 10));
    trobot_send(d, robot, ak);
    json_decref(tclient_wait_class(b, "ACK", HARNESS_RECV_MS, NULL));

    /* Takeover: the taker, the watchers and the old holder hear of it. */
    tclient_send(b, "{\"cmd\":\"control\",\"robot\":\"rob1\",\"takeover\":true}");
    const char *taken = "{\"class\":\"CONTROL\",\"robot\":\"rob1\",\"state\":\"taken\","
                        "\"holder\":\"token:super\",\"previous\":\"token:hmi1\"}";
    expect_control(b, taken);
    expect_control(w, taken);
    expect_control(a, taken);
    e = request_error(a, "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"SETDO\","
                      "\"fields\":{\"name\":\"a\",\"value\":1}}", "not_in_control");
    assert_string_equal(json_str(e, "holder"), "token:super");
    json_decref(e);
    e = request_error(a, "{\"cmd\":\"release\",\"robot\":\"rob1\"}", "not_in_control");
    assert_string_equal(json_str(e, "holder"), "token:super");
    json_decref(e);

    /* Release, then take again and disconnect. */
    tclient_send(b, "{\"cmd\":\"release\",\"robot\":\"rob1\"}");
    const char *released = "{\"class\":\"CONTROL\",\"robot\":\"rob1\",\"state\":\"released\","
                           "\"holder\":\"token:super\",\"reason\":\"release\"}";
    expect_control(b, released);
    expect_control(w, released);
    json_decref(tclient_request(a, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "CONTROL", NULL));
    expect_control(w, "{\"class\":\"CONTROL\",\"robot\":\"rob1\",\"state\":\"taken\","
                   "\"holder\":\"token:hmi1\"}");
    tclient_close(a);
    expect_control(w, "{\"class\":\"CONTROL\",\"robot\":\"rob1\",\"state\":\"released\","
                   "\"holder\":\"token:hmi1\",\"reason\":\"disconnect\"}");
    json_decref(tclient_request(b, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "CONTROL", NULL));
    daemon_stop(state);
    unlink(tokens);
}

/* --- the Unix socket ----------------------------------------------------------- */

/* A client of the Unix socket at path, connected with the effective uid and
 * gid given (SO_PEERCRED records them) and no supplementary groups. */
static struct tclient *unix_client(struct daemon *d, const char *path, uid_t uid, gid_t gid,
                                   int *err)
{
    gid_t saved[64];
    int nsaved = getgroups(64, saved);
    assert_true(nsaved >= 0);
    assert_int_equal(setgroups(0, NULL), 0);
    assert_int_equal(setegid(gid), 0);
    assert_int_equal(seteuid(uid), 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    *err = rc < 0 ? errno : 0;
    assert_int_equal(seteuid(0), 0);
    assert_int_equal(setegid(0), 0);
    assert_int_equal(setgroups((size_t)nsaved, saved), 0);
    if (rc < 0) {
        close(fd);
        return NULL;
    }
    size_t slot = 0;
    while (slot < HARNESS_CLIENTS_MAX && d->clients[slot])
        slot++;
    assert_true(slot < HARNESS_CLIENTS_MAX);
    struct tclient *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->d = d;
    c->fd = fd;
    d->clients[slot] = c;
    json_decref(tclient_expect_class(c, "VERSION", HARNESS_RECV_MS));
    return c;
}

static void test_unix_two_uids(void **state)
{
    char tokens[64], cfg[TEXT_MAX], sock[64], extra[256];
    tokens_file(tokens, 0600);
    snprintf(sock, sizeof sock, "/tmp/rb-e2e-%d.sock", (int)getpid());
    /* A stale socket file from a bridge that is gone is removed at start. */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof sa), 0);
    close(stale);
    snprintf(extra, sizeof extra, ",\"json_unix\":{\"path\":\"%s\",\"mode\":\"0666\"}", sock);
    access_config(cfg, sizeof cfg, tokens, extra);
    struct daemon *d = daemon_start(state, cfg);
    /* The Unix listener opens after the TCP ones the harness waits for. */
    assert_true(daemon_wait_log(d, "listening for clients on unix:", HARNESS_RECV_MS));
    struct stat st;
    assert_int_equal(stat(sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666);

    int err;
    struct tclient *root = unix_client(d, sock, 0, 0, &err);
    assert_non_null(root);
    struct tclient *nobody = unix_client(d, sock, 65534, 65534, &err);
    assert_non_null(nobody);
    /* user:root may take rob1's lease; nobody (group nogroup) may only watch rob2. */
    json_t *j = tclient_request(root, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "CONTROL", NULL);
    assert_string_equal(json_str(j, "holder"), "user:root");
    json_decref(j);
    tclient_request_error(nobody, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", NULL,
                          "unauthorized", "user:nobody");
    tclient_request_error(nobody, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", NULL, "unauthorized",
                          "watch");
    json_decref(tclient_request(nobody, "{\"cmd\":\"state\",\"robot\":\"rob2\"}", "STATE", NULL));
    /* A token on the Unix socket replaces the user. */
    auth(nobody, TOKEN_SUPER);
    json_decref(tclient_request(nobody, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", "STATE", NULL));
    daemon_stop(state);
    /* The socket file goes with the daemon. */
    assert_int_equal(stat(sock, &st), -1);
    unlink(tokens);
}

/* Mode 0660 keeps out a uid that is neither the owner nor in the group. */
static void test_unix_mode(void **state)
{
    char tokens[64], cfg[TEXT_MAX], sock[64], extra[256];
    tokens_file(tokens, 0600);
    snprintf(sock, sizeof sock, "/tmp/rb-e2e-m%d.sock", (int)getpid());
    snprintf(extra, sizeof extra, ",\"json_unix\":\"%s\"", sock);
    access_config(cfg, sizeof cfg, tokens, extra);
    struct daemon *d = daemon_start(state, cfg);
    /* The Unix listener opens after the TCP ones the harness waits for. */
    assert_true(daemon_wait_log(d, "listening for clients on unix:", HARNESS_RECV_MS));
    struct stat st;
    assert_int_equal(stat(sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    int err = 0;
    assert_null(unix_client(d, sock, 65534, 65534, &err));
    assert_int_equal(err, EACCES);
    daemon_stop(state);
    unlink(tokens);
}

/* --- start-up rules -------------------------------------------------------------- */

/* $RB_BIN with args; its exit status, stderr into err. */
static int run_bin(const char *const *args, char *err, size_t n)
{
    const char *bin = getenv("RB_BIN");
    assert_non_null(bin);
    const char *argv[16] = {bin};
    size_t k = 1;
    for (; args[k - 1]; k++)
        argv[k] = args[k - 1];
    argv[k] = NULL;
    int e[2];
    assert_int_equal(pipe(e), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(e[1], 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(e[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < n && (r = read(e[0], err + len, n - 1 - len)) > 0)
        len += (size_t)r;
    err[len] = '\0';
    close(e[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void write_config(char path[64], const char *text)
{
    strcpy(path, "/tmp/rb-access-XXXXXX.json");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_startup_rules(void **state)
{
    (void)state;
    char path[64], err[4096], text[TEXT_MAX], tokens[64];
    /* A non-loopback client listener without access: refused, saying what to add. */
    write_config(path, "{\"json_listen\":\"0.0.0.0:0\",\"robot_listen\":\"127.0.0.1:0\"}");
    assert_int_equal(run_bin((const char *const[]){"-c", path, NULL}, err, sizeof err), 1);
    assert_non_null(strstr(err, "add an \"access\" section"));
    assert_int_equal(run_bin((const char *const[]){"--check-config", "-c", path, NULL}, err,
                             sizeof err), 1);
    assert_non_null(strstr(err, "json_listen"));
    unlink(path);
    /* The same from the command line. */
    write_config(path, "{\"robot_listen\":\"127.0.0.1:0\"}");
    assert_int_equal(run_bin((const char *const[]){"-c", path, "--json-listen", "0.0.0.0:0",
                                                   NULL}, err, sizeof err), 1);
    assert_non_null(strstr(err, "access"));
    unlink(path);
    /* The tokens file: readable by others, missing, malformed. */
    tokens_file(tokens, 0644);
    snprintf(text, sizeof text, "{\"tokens_file\":\"%s\"}", tokens);
    write_config(path, text);
    assert_int_equal(run_bin((const char *const[]){"--check-config", "-c", path, NULL}, err,
                             sizeof err), 1);
    assert_non_null(strstr(err, "open to others"));
    unlink(tokens);
    assert_int_equal(run_bin((const char *const[]){"--check-config", "-c", path, NULL}, err,
                             sizeof err), 1);
    assert_non_null(strstr(err, "No such file"));
    int fd = open(tokens, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    const char dup[] = "# two of a name\na " "0000000000000000000000000000000000000000000000000000000000000000\n"
                       "a 1111111111111111111111111111111111111111111111111111111111111111\n";
    assert_int_equal(write(fd, dup, sizeof dup - 1), (ssize_t)(sizeof dup - 1));
    close(fd);
    assert_int_equal(run_bin((const char *const[]){"--check-config", "-c", path, NULL}, err,
                             sizeof err), 1);
    char where[128];
    snprintf(where, sizeof where, "%s:3:", tokens);
    assert_non_null(strstr(err, where));
    unlink(tokens);
    unlink(path);
}

/* --- the CLI ------------------------------------------------------------------------ */

/* $RB_CLI with args and an optional RAPIDBRIDGE_TOKEN; exit status, stdout
 * and stderr together in out. */
static int run_cli(const char *const *args, const char *env_token, char *out, size_t n)
{
    return cli_run(NULL, args, env_token, true, out, n);
}

/* token new makes a token and its line; the CLI authenticates from a file,
 * from the environment, over the Unix socket, and send --control takes
 * the lease for its command. */
static void test_cli(void **state)
{
    char out[8192];
    assert_int_equal(run_cli((const char *const[]){"token", "new", "cli1", NULL}, NULL, out,
                             sizeof out), 0);
    char token[128] = "", line[256] = "";
    /* The token is the line after the first; the tokens line is the last. */
    char *p = strchr(out, '\n');
    assert_non_null(p);
    assert_int_equal(sscanf(p + 1, "%127s", token), 1);
    assert_int_equal(strlen(token), 64);               /* 256 random bits in hex */
    char *last = out + strlen(out) - 1;
    while (last > out && last[-1] != '\n')
        last--;
    assert_true(strlen(last) < sizeof line);
    memcpy(line, last, strlen(last) + 1);
    char h[65];
    sha256_hex(token, h);
    char want[128];
    snprintf(want, sizeof want, "cli1 %s\n", h);
    assert_string_equal(line, want);
    assert_int_equal(run_cli((const char *const[]){"token", "new", "bad/name", NULL}, NULL, out,
                             sizeof out), 2);

    char tokens[64], tokfile[64], cfg[TEXT_MAX], sock[64], extra[256];
    strcpy(tokens, "/tmp/rb-clitok-XXXXXX");
    int fd = mkstemp(tokens);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    close(fd);
    strcpy(tokfile, "/tmp/rb-clikey-XXXXXX");
    fd = mkstemp(tokfile);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, token, strlen(token)), (ssize_t)strlen(token));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    snprintf(sock, sizeof sock, "/tmp/rb-e2e-c%d.sock", (int)getpid());
    snprintf(extra, sizeof extra, ",\"json_unix\":{\"path\":\"%s\",\"mode\":\"0600\"}", sock);
    snprintf(cfg, sizeof cfg,
             "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"SETDO\"]}],"
             "\"limits\":{\"idle_timeout\":30,\"ack_timeout\":0.3},\"tokens_file\":\"%s\"%s,"
             "\"access\":[{\"who\":[\"token:cli1\"],\"may\":[\"watch\",\"control\",\"SETDO\"]},"
             "{\"who\":[\"user:root\"],\"may\":[\"watch\"]}]}", tokens, extra);
    struct daemon *d = daemon_start(state, cfg);
    assert_true(daemon_wait_log(d, "listening for clients on unix:", HARNESS_RECV_MS));
    char connect[64];
    snprintf(connect, sizeof connect, "127.0.0.1:%u", d->client_port);

    /* Anonymous has no grant at all here. */
    assert_int_equal(run_cli((const char *const[]){"--connect", connect, "stats", NULL}, NULL, out,
                             sizeof out), 1);
    assert_non_null(strstr(out, "unauthorized"));
    assert_int_equal(run_cli((const char *const[]){"--connect", connect, "--token-file", tokfile,
                                                   "stats", NULL}, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"STATS\""));
    assert_int_equal(run_cli((const char *const[]){"--connect", connect, "stats", NULL}, token, out,
                             sizeof out), 0);
    assert_int_equal(run_cli((const char *const[]){"--connect", connect, "stats", NULL}, "wrong",
                             out, sizeof out), 1);
    assert_non_null(strstr(out, "unauthorized"));
    assert_int_equal(run_cli((const char *const[]){"--connect", connect, "--token", token,
                                                   "version", NULL}, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "visible"));            /* the ps warning */
    /* The Unix socket: user:root may watch. */
    assert_int_equal(run_cli((const char *const[]){"--unix", sock, "robots", NULL}, NULL, out,
                             sizeof out), 0);
    /* send needs the lease; --control takes it for the command. */
    int robot = trobot_hello(d, "rob1");
    (void)robot;
    assert_int_equal(run_cli((const char *const[]){"--connect", connect, "--token-file", tokfile,
                                                   "--timeout", "1", "send", "rob1", "SETDO",
                                                   "name=doA", "value=1", NULL}, NULL, out,
                             sizeof out), 1);
    assert_non_null(strstr(out, "not_in_control"));
    run_cli((const char *const[]){"--connect", connect, "--token-file", tokfile, "--timeout", "3",
                                  "--control", "send", "rob1", "SETDO", "name=doA", "value=1",
                                  NULL}, NULL, out, sizeof out);
    assert_non_null(strstr(out, "\"timeout\""));       /* it reached the robot, which is silent */
    daemon_stop(state);
    unlink(tokens);
    unlink(tokfile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tokens, daemon_teardown),
        cmocka_unit_test_teardown(test_backoff, daemon_teardown),
        cmocka_unit_test_teardown(test_grants, daemon_teardown),
        cmocka_unit_test_teardown(test_lease, daemon_teardown),
        cmocka_unit_test_teardown(test_unix_two_uids, daemon_teardown),
        cmocka_unit_test_teardown(test_unix_mode, daemon_teardown),
        cmocka_unit_test(test_startup_rules),
        cmocka_unit_test_teardown(test_cli, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
