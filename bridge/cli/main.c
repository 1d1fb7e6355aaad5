/* main.c - rapidbridge-cli: a small client of the bridge's JSON API for
 * people. Usage in args.c (cli_usage); the human line format in show.h.
 *
 * One connection, one request: read the VERSION banner, send the request,
 * then either print the one reply (one-shot commands) or print the stream
 * until Ctrl-C or until the bridge ends it (watch). No reconnecting: a
 * script that wants that restarts the CLI. serve (serve.h) is the one
 * exception: it answers requests for as long as it runs, reconnecting.
 */
#include "args.h"
#include "conn.h"
#include "doctor.h"
#include "offline.h"
#include "request.h"
#include "serve.h"
#include "show.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define PROG "rapidbridge-cli"
#define PROTO_MAJOR 1                /* the wire version this client speaks */
#define CONNECT_TIMEOUT_S 10.0       /* connect, banner, watch confirmation */
#define REPLY_TIMEOUT_S 10.0         /* state, robots, stats, version */
#define SEND_TIMEOUT_S 15.0          /* the bridge's ack_timeout (5 s) plus room for queued commands */
#define PRETTY_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* Exit status, as the usage text states it. */
enum {
    EXIT_DONE = 0,         /* reply received (send: ACK OK); watch stopped by a signal */
    EXIT_REFUSED = 1,      /* ERROR, ACK not OK, or the bridge ended the watch */
    EXIT_TROUBLE = 2,      /* usage, connection, banner, timeout */
    EXIT_INTERRUPTED = 130 /* a one-shot command stopped by a signal */
};
#define GO_ON (-1)         /* a step succeeded: carry on */

#define TOKEN_TEXT_MAX 1024          /* bytes of a token the CLI reads from a file or the env */

struct session {
    const struct cli_args *a;
    char token[TOKEN_TEXT_MAX + 1]; /* "" = no auth; wiped once sent */
    struct conn conn;
    double timeout_s;      /* for the reply (one-shot) */
    char bye[128];         /* reason of a BYE received, "" before any */
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t deadline_in(double seconds)
{
    return conn_now_ms() + (int64_t)(seconds * 1000.0);
}

/* A received line as a JSON object, or NULL. */
static json_t *parse_line(const char *line, size_t len)
{
    json_t *msg = json_loadb(line, len, 0, NULL);
    if (msg && !json_is_object(msg)) {
        json_decref(msg);
        msg = NULL;
    }
    return msg;
}

static const char *str_member(const json_t *msg, const char *key)
{
    const char *s = json_string_value(json_object_get(msg, key));
    return s ? s : "";
}

static bool is_class(const json_t *msg, const char *cls)
{
    return strcmp(str_member(msg, "class"), cls) == 0;
}

static void print_raw(const char *line, size_t len)
{
    fwrite(line, 1, len, stdout);
    putchar('\n');
}

/* Say why a connection step failed; returns the exit status to use. */
static int trouble(const struct session *s, enum conn_status st, const char *doing, int status)
{
    if (st == CONN_INTERRUPTED)
        return s->a->cmd == CLI_WATCH ? EXIT_DONE : EXIT_INTERRUPTED;
    if (st == CONN_CLOSED && s->bye[0])
        cli_warn("%s: the bridge closed the connection (%s)", doing, s->bye);
    else if (st == CONN_TIMEOUT)
        cli_warn("%s: no answer within %g s", doing, s->a->cmd == CLI_WATCH ? CONNECT_TIMEOUT_S : s->timeout_s);
    else
        cli_warn("%s: %s", doing, conn_status_text(&s->conn, st));
    return status;
}

static void note_bye(struct session *s, const json_t *msg)
{
    const char *reason = str_member(msg, "reason");
    snprintf(s->bye, sizeof s->bye, "%s", *reason ? reason : "no reason given");
}

/* The first line must be VERSION; ERROR (busy) means we were turned away. */
static int read_banner(struct session *s)
{
    const char *line;
    size_t len;
    enum conn_status st = conn_read_line(&s->conn, deadline_in(CONNECT_TIMEOUT_S), &line, &len);
    if (st != CONN_OK)
        return trouble(s, st, "waiting for the bridge's banner", EXIT_TROUBLE);
    bool watch = s->a->cmd == CLI_WATCH;
    if (watch && s->a->json)
        print_raw(line, len);
    json_t *msg = parse_line(line, len);
    int status = GO_ON;
    if (msg && is_class(msg, "ERROR")) {
        cli_warn("the bridge turned the connection away: %s: %s", str_member(msg, "code"), str_member(msg, "message"));
        status = EXIT_TROUBLE;
    } else if (!msg || !is_class(msg, "VERSION")) {
        cli_warn("%s does not look like rapidbridge: its first line is not a VERSION banner", s->a->connect);
        status = EXIT_TROUBLE;
    } else {
        const json_t *major = json_object_get(msg, "proto_major");
        const json_t *minor = json_object_get(msg, "proto_minor");
        if (!json_is_integer(major) || json_integer_value(major) != PROTO_MAJOR)
            cli_warn("warning: the bridge speaks protocol %lld, this client protocol %d; carrying on",
                 (long long)json_integer_value(major), PROTO_MAJOR);
        if (watch && !s->a->json)
            fprintf(stderr, PROG ": connected to rapidbridge %s (protocol %lld.%lld) at %s\n",
                    str_member(msg, "release"), (long long)json_integer_value(major),
                    (long long)json_integer_value(minor), s->a->connect);
    }
    json_decref(msg);
    return status;
}

/* "robots rob1 rob2, types JT ST" from the WATCH reply's echo. */
static void show_watching(const json_t *msg)
{
    static const char *const lists[] = { "robots", "types" };
    fputs(PROG ": watching", stderr);
    for (size_t i = 0; i < 2; i++) {
        const json_t *arr = json_object_get(msg, lists[i]);
        fprintf(stderr, "%s %s", i ? "," : "", json_is_array(arr) ? lists[i] : "all");
        if (!json_is_array(arr)) {
            fprintf(stderr, " %s", lists[i]);
            continue;
        }
        size_t k;
        const json_t *v;
        json_array_foreach(arr, k, v) {
            fputc(' ', stderr);
            show_text(stderr, json_is_string(v) ? json_string_value(v) : "?");
        }
    }
    fputs("; Ctrl-C stops\n", stderr);
}

static int run_watch(struct session *s, const json_t *req)
{
    int64_t deadline = deadline_in(CONNECT_TIMEOUT_S);
    enum conn_status st = conn_send_json(&s->conn, req, deadline);
    if (st != CONN_OK)
        return trouble(s, st, "sending the watch request", EXIT_TROUBLE);
    bool confirmed = false;
    for (;;) {
        const char *line;
        size_t len;
        st = conn_read_line(&s->conn, confirmed ? CONN_FOREVER : deadline, &line, &len);
        if (st != CONN_OK)
            return trouble(s, st, confirmed ? "watch ended" : "waiting for the watch reply",
                           st == CONN_TIMEOUT ? EXIT_TROUBLE : EXIT_REFUSED);
        if (s->a->json)
            print_raw(line, len);
        json_t *msg = parse_line(line, len);
        if (!msg) {
            if (!s->a->json && len > 0)
                cli_warn("not a JSON object from the bridge: %.*s%s", len > 200 ? 200 : (int)len, line,
                     len > 200 ? "..." : "");
            continue;
        }
        int status = GO_ON;
        if (!confirmed && is_class(msg, "WATCH")) {
            confirmed = true;
            if (!s->a->json)
                show_watching(msg);
        } else {
            if (is_class(msg, "BYE"))
                note_bye(s, msg);
            if (!confirmed && is_class(msg, "ERROR"))
                status = EXIT_REFUSED;   /* the watch request was refused */
            if (!s->a->json)
                show_message(stdout, msg, wall_now());
        }
        json_decref(msg);
        if (status != GO_ON)
            return status;
    }
}

/* Is msg the reply to req? Stream messages and BYE are not replies; with an
 * id, the reply must echo it. */
static bool is_reply(const json_t *req, const json_t *msg)
{
    static const char *const not_replies[] = { "BYE", "FRAME", "LINK", "DROPPED" };
    for (size_t i = 0; i < sizeof not_replies / sizeof not_replies[0]; i++)
        if (is_class(msg, not_replies[i]))
            return false;
    const json_t *id = json_object_get(req, "id"), *echo = json_object_get(msg, "id");
    return !id || !echo || json_equal(id, echo);
}

static int run_oneshot(struct session *s, const json_t *req)
{
    int64_t deadline = deadline_in(s->timeout_s);
    enum conn_status st = conn_send_json(&s->conn, req, deadline);
    if (st != CONN_OK)
        return trouble(s, st, "sending the request", EXIT_TROUBLE);
    for (;;) {
        const char *line;
        size_t len;
        st = conn_read_line(&s->conn, deadline, &line, &len);
        if (st != CONN_OK)
            return trouble(s, st, "waiting for the reply", EXIT_TROUBLE);
        json_t *msg = parse_line(line, len);
        if (!msg) {
            cli_warn("not a JSON object from the bridge: %.*s%s", len > 200 ? 200 : (int)len, line,
                 len > 200 ? "..." : "");
            return EXIT_TROUBLE;
        }
        if (is_class(msg, "BYE"))
            note_bye(s, msg);
        if (!is_reply(req, msg)) {
            json_decref(msg);
            continue;
        }
        if (s->a->json) {
            print_raw(line, len);
        } else {
            char *text = json_dumps(msg, PRETTY_FLAGS);
            if (text)
                puts(text);
            free(text);
        }
        int status = EXIT_DONE;
        if (is_class(msg, "ERROR"))
            status = EXIT_REFUSED;
        else if (s->a->cmd == CLI_SEND)
            status = is_class(msg, "ACK") && strcmp(str_member(msg, "status"), "OK") == 0
                     ? EXIT_DONE : EXIT_REFUSED;
        json_decref(msg);
        return status;
    }
}

/* SIGINT and SIGTERM arrive on a signalfd that every poll() watches, so a
 * Ctrl-C ends any wait cleanly, without a handler or a global flag. Returns
 * -1 (default handling kept) when signalfd is not available. */
static int stop_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        sigprocmask(SIG_UNBLOCK, &set, NULL);
    return fd;
}

/* Send one request and wait for its reply; GO_ON when the reply has class
 * want (*reply, if asked for, gets it), else the exit status after saying
 * why (an ERROR is printed as the bridge sent it). */
static int exchange(struct session *s, const json_t *req, const char *want, json_t **reply)
{
    int64_t deadline = deadline_in(s->timeout_s);
    enum conn_status st = conn_send_json(&s->conn, req, deadline);
    if (st != CONN_OK)
        return trouble(s, st, "sending the request", EXIT_TROUBLE);
    for (;;) {
        const char *line;
        size_t len;
        st = conn_read_line(&s->conn, deadline, &line, &len);
        if (st != CONN_OK)
            return trouble(s, st, "waiting for the reply", EXIT_TROUBLE);
        json_t *msg = parse_line(line, len);
        if (!msg || !is_reply(req, msg)) {
            json_decref(msg);
            continue;
        }
        if (is_class(msg, want)) {
            if (reply)
                *reply = msg;
            else
                json_decref(msg);
            return GO_ON;
        }
        cli_warn("%s: %s: %s", str_member(req, "cmd"), str_member(msg, "code"),
             str_member(msg, "message"));
        json_decref(msg);
        return EXIT_REFUSED;
    }
}

/* {"cmd":"auth"} with the session's token, which is wiped afterwards. */
static int authenticate(struct session *s)
{
    json_t *req = json_pack("{s:s, s:s}", "cmd", "auth", "token", s->token);
    OPENSSL_cleanse(s->token, sizeof s->token);
    if (!req) {
        cli_warn("out of memory");
        return EXIT_TROUBLE;
    }
    json_t *reply = NULL;
    int status = exchange(s, req, "AUTH", &reply);
    /* jansson's copy of the token, too. */
    json_t *t = json_object_get(req, "token");
    OPENSSL_cleanse((char *)json_string_value(t), json_string_length(t));
    json_decref(req);
    if (status == GO_ON && !s->a->json && s->a->cmd == CLI_WATCH)
        fprintf(stderr, PROG ": authenticated as %s\n", str_member(reply, "principal"));
    json_decref(reply);
    return status;
}

/* control: hold the lease until Ctrl-C (exit 0), or until it is lost or the
 * bridge goes (exit 1), printing each CONTROL about the robot. */
static int hold_control(struct session *s, const json_t *req)
{
    json_t *reply = NULL;
    int status = exchange(s, req, "CONTROL", &reply);
    if (status != GO_ON)
        return status;
    char *text = json_dumps(reply, s->a->json ? JSON_COMPACT | JSON_PRESERVE_ORDER : PRETTY_FLAGS);
    if (text)
        puts(text);
    free(text);
    json_decref(reply);
    fflush(stdout);
    if (!s->a->json)
        fprintf(stderr, PROG ": holding the control of %s; Ctrl-C releases it\n", s->a->robot);
    for (;;) {
        const char *line;
        size_t len;
        enum conn_status st = conn_read_line(&s->conn, CONN_FOREVER, &line, &len);
        if (st == CONN_INTERRUPTED)
            return EXIT_DONE;
        if (st != CONN_OK)
            return trouble(s, st, "holding the control", EXIT_REFUSED);
        json_t *msg = parse_line(line, len);
        if (msg && is_class(msg, "BYE"))
            note_bye(s, msg);
        if (msg && is_class(msg, "CONTROL")
            && strcmp(str_member(msg, "robot"), s->a->robot) == 0) {
            print_raw(line, len);
            fflush(stdout);
            cli_warn("the control of %s went to %s", s->a->robot, str_member(msg, "holder"));
            json_decref(msg);
            return EXIT_REFUSED;
        }
        json_decref(msg);
    }
}

static int run(struct session *s, const json_t *req)
{
    char err[512];
    const struct conn_tls t = cli_args_tls(s->a);
    enum conn_status st = conn_open(&s->conn, s->a->unix_path, s->a->connect,
                                    s->a->tls ? &t : NULL, deadline_in(CONNECT_TIMEOUT_S), err,
                                    sizeof err);
    if (st == CONN_INTERRUPTED)
        return trouble(s, st, "", EXIT_TROUBLE);
    if (st != CONN_OK) {
        cli_warn("%s", err);
        return EXIT_TROUBLE;
    }
    int status = read_banner(s);
    if (status != GO_ON)
        return status;
    if (s->token[0] && (status = authenticate(s)) != GO_ON)
        return status;
    if (s->a->cmd == CLI_CONTROL)
        return hold_control(s, req);
    if (s->a->cmd == CLI_SEND && s->a->control) {
        json_t *take = json_pack("{s:s, s:s}", "cmd", "control", "robot", s->a->robot);
        status = take ? exchange(s, take, "CONTROL", NULL) : EXIT_TROUBLE;
        json_decref(take);
        if (status != GO_ON)
            return status;
    }
    if (s->a->cmd == CLI_DOCTOR)
        return doctor_run(&s->conn, s->a->robot, s->a->config, s->timeout_s);
    return s->a->cmd == CLI_WATCH ? run_watch(s, req) : run_oneshot(s, req);
}

/* The token, from --token-file (its first line), --token or the
 * RAPIDBRIDGE_TOKEN environment variable, in that order; "" when none. */
static int load_token(const struct cli_args *a, char token[TOKEN_TEXT_MAX + 1])
{
    token[0] = '\0';
    const char *text = a->token ? a->token : a->token_file ? NULL : getenv("RAPIDBRIDGE_TOKEN");
    if (a->token)
        cli_warn("warning: --token is visible to every user in ps; prefer --token-file or "
             "RAPIDBRIDGE_TOKEN");
    if (a->token_file) {
        FILE *f = fopen(a->token_file, "r");
        if (!f) {
            cli_warn("--token-file %s: %s", a->token_file, strerror(errno));
            return -1;
        }
        char buf[TOKEN_TEXT_MAX + 2];
        bool got = fgets(buf, sizeof buf, f) != NULL;
        fclose(f);
        size_t n = got ? strcspn(buf, "\r\n") : 0;
        if (n == 0 || n > TOKEN_TEXT_MAX) {
            cli_warn("--token-file %s: the first line must hold the token (1 to %d bytes)",
                 a->token_file, TOKEN_TEXT_MAX);
            OPENSSL_cleanse(buf, sizeof buf);
            return -1;
        }
        memcpy(token, buf, n);
        token[n] = '\0';
        OPENSSL_cleanse(buf, sizeof buf);
        return 0;
    }
    if (text && *text) {
        if (strlen(text) > TOKEN_TEXT_MAX) {
            cli_warn("the token is longer than %d bytes", TOKEN_TEXT_MAX);
            return -1;
        }
        snprintf(token, TOKEN_TEXT_MAX + 1, "%s", text);
        /* Shorten the window in which ps shows it: blank argv's copy. */
        if (a->token)
            OPENSSL_cleanse((char *)a->token, strlen(a->token));
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli_args a;
    char err[512];
    if (cli_args_parse(argc, argv, &a, err, sizeof err) != 0) {
        cli_warn("%s", err);
        fputs("Try '" PROG " --help'.\n", stderr);
        return EXIT_TROUBLE;
    }
    if (a.help) {
        fputs(cli_usage, stdout);
        return EXIT_DONE;
    }
    if (a.cmd == CLI_TOKEN_NEW)
        return offline_token_new(a.name);
    if (a.cmd == CLI_AUDIT_VERIFY)
        return offline_audit_verify(a.file);
    json_t *req = request_build(&a, err, sizeof err);
    if (!req) {
        cli_warn("%s", err);
        return EXIT_TROUBLE;
    }
    static struct session s;
    s.a = &a;
    if (load_token(&a, s.token) != 0) {
        json_decref(req);
        return EXIT_TROUBLE;
    }
    s.timeout_s = a.timeout_s > 0 ? a.timeout_s : a.cmd == CLI_SEND ? SEND_TIMEOUT_S : REPLY_TIMEOUT_S;
    if (a.cmd == CLI_WATCH)
        setvbuf(stdout, NULL, _IOLBF, 0);   /* each line as it comes, also into a pipe */

    int stop_fd = stop_signals();
    int status;
    if (conn_init(&s.conn, stop_fd) != 0) {
        cli_warn("out of memory");
        status = EXIT_TROUBLE;
    } else if (a.cmd == CLI_SERVE) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        status = serve_run(&a, req, s.token, stop_fd);
    } else {
        status = run(&s, req);
    }
    conn_close(&s.conn);
    if (stop_fd >= 0)
        close(stop_fd);
    json_decref(req);
    OPENSSL_cleanse(s.token, sizeof s.token);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_warn("cannot write the output");
        status = EXIT_TROUBLE;
    }
    return status;
}
