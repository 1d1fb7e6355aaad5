/* serve.c - rapidbridge-cli serve (see serve.h). */
#include "serve.h"

#include <openssl/crypto.h>

#include "conn.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "rapidbridge-cli"
#define ENV_NAME_MAX 64

static const char *str_member(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static bool is_class(const json_t *o, const char *cls)
{
    return strcmp(str_member(o, "class"), cls) == 0;
}

/* --- one run of the command -------------------------------------------------- */

struct capture {
    char *data;
    size_t len;
    bool over;          /* more than SERVE_OUTPUT_MAX bytes came */
};

/* Read what fd has into cap; false at EOF or error. */
static bool capture_some(int fd, struct capture *cap)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    size_t take = (size_t)n;
    if (cap->len + take > SERVE_OUTPUT_MAX) {
        take = SERVE_OUTPUT_MAX - cap->len;
        cap->over = true;
    }
    memcpy(cap->data + cap->len, buf, take);
    cap->len += take;
    return true;
}

/* In the child: RB_ROBOT, RB_TYPE, RB_SEQ, RB_FIELD_<NAME>. */
static void child_env(const json_t *q)
{
    char seq[32];
    snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(json_object_get(q, "seq")));
    setenv("RB_ROBOT", str_member(q, "robot"), 1);
    setenv("RB_TYPE", str_member(q, "type"), 1);
    setenv("RB_SEQ", seq, 1);
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)json_object_get(q, "fields"), key, v) {
        char name[ENV_NAME_MAX];
        int n = snprintf(name, sizeof name, "RB_FIELD_%s", key);
        if (n < 0 || (size_t)n >= sizeof name)
            continue;
        for (char *p = name; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        setenv(name, json_is_string(v) ? json_string_value(v) : text ? text : "", 1);
        free(text);
    }
}

/* Run the command for request q; fills *fields (a new reference) or err. */
static int run_command(const struct cli_args *a, const json_t *q, int stop_fd, json_t **fields,
                       char *err, size_t errlen, bool *stopped)
{
    int in[2], out[2], errp[2];
    *fields = NULL;
    if (pipe2(in, O_CLOEXEC) != 0)
        goto no_pipe;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        goto no_pipe;
    }
    if (pipe2(errp, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        goto no_pipe;
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* its own group: a time-out kills what the shell started too */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        child_env(q);
        execl("/bin/sh", "sh", "-c", a->exec, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        close(errp[0]);
        snprintf(err, errlen, "cannot start the command: %s", strerror(errno));
        return -1;
    }
    setpgid(pid, pid);
    /* The fields are far below a pipe's buffer: written whole, then EOF. */
    char *text = json_dumps(json_object_get(q, "fields"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text) {
        size_t n = strlen(text);
        signal(SIGPIPE, SIG_IGN);
        if (write(in[1], text, n) != (ssize_t)n || write(in[1], "\n", 1) != 1) {
            /* a command that does not read its input is fine */
        }
        free(text);
    }
    close(in[1]);

    struct capture cout = {.data = malloc(SERVE_OUTPUT_MAX)}, cerr = {.data = malloc(SERVE_OUTPUT_MAX)};
    int64_t deadline = conn_now_ms() + (int64_t)((a->timeout_s > 0 ? a->timeout_s
                                                                    : SERVE_EXEC_TIMEOUT_S) * 1000);
    bool out_open = true, err_open = true, late = false;
    while ((out_open || err_open) && cout.data && cerr.data) {
        int64_t left = deadline - conn_now_ms();
        if (left <= 0) {
            late = true;
            break;
        }
        struct pollfd p[3] = {
            {.fd = out_open ? out[0] : -1, .events = POLLIN},
            {.fd = err_open ? errp[0] : -1, .events = POLLIN},
            {.fd = stop_fd, .events = POLLIN},
        };
        int n = poll(p, 3, (int)left);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p[2].revents) {
            *stopped = true;
            break;
        }
        if (p[0].revents && !capture_some(out[0], &cout))
            out_open = false;
        if (p[1].revents && !capture_some(errp[0], &cerr))
            err_open = false;
    }
    if (late || *stopped || out_open || err_open)
        kill(-pid, SIGKILL);
    close(out[0]);
    close(errp[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int rc = -1;
    if (!cout.data || !cerr.data) {
        snprintf(err, errlen, "out of memory");
    } else if (late) {
        snprintf(err, errlen, "no answer within %g s", a->timeout_s > 0 ? a->timeout_s
                                                                       : SERVE_EXEC_TIMEOUT_S);
    } else if (*stopped) {
        snprintf(err, errlen, "stopped");
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* its message: the first line of its stderr, else how it ended */
        size_t n = 0;
        while (n < cerr.len && cerr.data[n] != '\n')
            n++;
        if (n > 0)
            snprintf(err, errlen, "%.*s", (int)n, cerr.data);
        else if (WIFEXITED(status))
            snprintf(err, errlen, "the command exited with status %d", WEXITSTATUS(status));
        else
            snprintf(err, errlen, "the command was killed by signal %d", WTERMSIG(status));
    } else if (cout.over) {
        snprintf(err, errlen, "the command printed more than %d bytes", SERVE_OUTPUT_MAX);
    } else {
        json_error_t jerr;
        *fields = json_loadb(cout.data, cout.len, 0, &jerr);
        if (*fields && json_is_object(*fields))
            rc = 0;
        else
            snprintf(err, errlen, "the command's output is not a JSON object");
        if (rc != 0) {
            json_decref(*fields);
            *fields = NULL;
        }
    }
    free(cout.data);
    free(cerr.data);
    return rc;
no_pipe:
    snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
    return -1;
}

/* --- the session ---------------------------------------------------------------- */

enum served { SERVED_GO_ON, SERVED_LOST, SERVED_STOPPED, SERVED_REFUSED };

static enum served answer(struct conn *c, const struct cli_args *a, const json_t *q, int stop_fd)
{
    json_t *fields;
    char err[512];
    bool stopped = false;
    int rc = run_command(a, q, stop_fd, &fields, err, sizeof err, &stopped);
    if (stopped)
        return SERVED_STOPPED;
    json_t *reply = json_pack("{s:s, s:O, s:O}", "cmd", "reply", "robot",
                              json_object_get(q, "robot"), "seq", json_object_get(q, "seq"));
    if (!reply) {
        json_decref(fields);
        return SERVED_LOST;
    }
    char *shown = NULL;
    if (rc == 0) {
        shown = json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_object_set_new(reply, "fields", fields);
    } else {
        json_object_set_new(reply, "error", json_string(err));
    }
    cli_warn("%s %s seq %lld: %s%s", str_member(q, "robot"), str_member(q, "type"),
        (long long)json_integer_value(json_object_get(q, "seq")), rc == 0 ? "reply " : "error: ",
        rc == 0 ? (shown ? shown : "") : err);
    free(shown);
    enum conn_status st = conn_send_json(c, reply, conn_now_ms() + SERVE_CONNECT_TIMEOUT_S * 1000);
    json_decref(reply);
    return st == CONN_INTERRUPTED ? SERVED_STOPPED : st == CONN_OK ? SERVED_GO_ON : SERVED_LOST;
}

/* One connection: banner, serve, then requests until it ends. */
/* {"cmd":"auth"} ahead of the serve request; jansson's copy of the token is
 * wiped before it is freed. */
static enum conn_status send_auth(struct conn *c, const char *token, int64_t deadline)
{
    json_t *auth = json_pack("{s:s, s:s}", "cmd", "auth", "token", token);
    if (!auth)
        return CONN_ERROR;
    enum conn_status st = conn_send_json(c, auth, deadline);
    json_t *t = json_object_get(auth, "token");
    OPENSSL_cleanse((char *)json_string_value(t), json_string_length(t));
    json_decref(auth);
    return st;
}

static enum served session(struct conn *c, const struct cli_args *a, const json_t *req,
                           const char *token, int stop_fd, bool *served)
{
    char err[512];
    int64_t deadline = conn_now_ms() + (int64_t)(SERVE_CONNECT_TIMEOUT_S * 1000);
    const struct conn_tls t = cli_args_tls(a);
    enum conn_status st = conn_open(c, a->unix_path, a->connect, a->tls ? &t : NULL, deadline, err,
                                    sizeof err);
    if (st == CONN_INTERRUPTED)
        return SERVED_STOPPED;
    if (st != CONN_OK) {
        cli_warn("%s", err);
        return SERVED_LOST;
    }
    if (token[0])
        st = send_auth(c, token, deadline);
    if (st == CONN_OK)
        st = conn_send_json(c, req, deadline);
    for (bool serving = false; st == CONN_OK;) {
        const char *line;
        size_t len;
        st = conn_read_line(c, serving ? CONN_FOREVER : deadline, &line, &len);
        if (st != CONN_OK)
            break;
        json_t *msg = json_loadb(line, len, 0, NULL);
        if (!json_is_object(msg)) {
            json_decref(msg);
            continue;
        }
        enum served end = SERVED_GO_ON;
        if (is_class(msg, "SERVE")) {
            serving = *served = true;
            cli_warn("serving %s for %s; Ctrl-C stops",
                json_string_value(json_array_get(json_object_get(req, "types"), 0)),
                strcmp(a->robot, "*") == 0 ? "every robot" : a->robot);
        } else if (is_class(msg, "REQUEST")) {
            end = answer(c, a, msg, stop_fd);
        } else if (is_class(msg, "ERROR") && !serving) {
            cli_warn("the bridge refused to let this serve %s: %s: %s", a->type, str_member(msg, "code"),
                str_member(msg, "message"));
            end = SERVED_REFUSED;
        } else if (is_class(msg, "ERROR")) {
            cli_warn("the bridge refused a reply: %s: %s", str_member(msg, "code"),
                str_member(msg, "message"));
        } else if (is_class(msg, "BYE")) {
            cli_warn("the bridge is going away: %s", str_member(msg, "reason"));
        }
        json_decref(msg);
        if (end != SERVED_GO_ON)
            return end;
    }
    if (st == CONN_INTERRUPTED)
        return SERVED_STOPPED;
    cli_warn("connection to %s lost: %s", a->unix_path ? a->unix_path : a->connect, conn_status_text(c, st));
    return SERVED_LOST;
}

int serve_run(const struct cli_args *a, const json_t *req, const char *token, int stop_fd)
{
    unsigned backoff = 1;
    for (;;) {
        struct conn c;
        if (conn_init(&c, stop_fd) != 0) {
            cli_warn("out of memory");
            return 2;
        }
        bool served = false;
        enum served end = session(&c, a, req, token, stop_fd, &served);
        conn_close(&c);
        if (end == SERVED_STOPPED)
            return 0;
        if (end == SERVED_REFUSED)
            return 1;
        if (served)
            backoff = 1;
        cli_warn("connecting again in %u s", backoff);
        struct pollfd p = {.fd = stop_fd, .events = POLLIN};
        if (poll(&p, 1, (int)backoff * 1000) > 0)
            return 0;
        backoff = backoff * 2 > SERVE_BACKOFF_MAX_S ? SERVE_BACKOFF_MAX_S : backoff * 2;
    }
}
