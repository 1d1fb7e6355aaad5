/* harness.h - run the real daemon for end-to-end tests (cmocka).
 *
 * daemon_start() writes the configuration text to a temporary file, starts
 * $RB_BIN with "--robot-listen 127.0.0.1:0 --json-listen 127.0.0.1:0 -c FILE"
 * (plus any extra arguments), and reads its stderr until both "listening for
 * ... on 127.0.0.1:PORT" lines appear, which gives the ports. From then on the
 * harness drains the daemon's stderr into d->log whenever a helper waits, so
 * the daemon never blocks on logging and tests can assert on log text.
 *
 * daemon_stop() closes every socket the test opened through the harness,
 * sends SIGTERM and requires exit status 0 within HARNESS_STOP_MS: under the
 * sanitizer build a leak or a sanitizer report makes the daemon exit non-zero,
 * which fails the test.
 *
 * Failure: every helper fails the running test (cmocka fail_msg) when its
 * bound passes, printing the tail of the daemon's log first. All sockets are
 * on 127.0.0.1; every wait is bounded.
 *
 * Names: the test plays both peers of the daemon, so its two sides are named
 * apart from the daemon's own struct client and robot_*(): a struct tclient
 * is a JSON client the test drives (tclient_*), and trobot_*() drive a raw
 * socket on the robot port as a controller would.
 *
 * Ownership: a struct daemon owns the clients, robot sockets and simulators
 * opened through it. The daemon lives in the cmocka test state: daemon_start
 * stores it in *state, daemon_stop takes it out, and daemon_teardown (the
 * test's teardown) kills whatever a failed test left there.
 */
#ifndef RB_E2E_HARNESS_H
#define RB_E2E_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HARNESS_START_MS 5000       /* daemon start until both ports are logged */
#define HARNESS_STOP_MS 10000       /* SIGTERM until exit (sanitizers are slow) */
#define HARNESS_RECV_MS 3000        /* default wait for one expected message */
#define HARNESS_QUIET_MS 200        /* how long "nothing more arrives" is watched */
#define HARNESS_LOG_MAX (16u << 20) /* log bytes kept; more are read and discarded */
#define HARNESS_LINE_MAX (4u << 20) /* longest JSON line a test client accepts */
#define HARNESS_FDS_MAX 64          /* robot sockets per daemon */
#define HARNESS_CLIENTS_MAX 64
#define HARNESS_SIMS_MAX 8
#define HARNESS_PROG_MS 20000       /* prog_run until the program exits */
#define HARNESS_FRAME_MAX 256       /* a frame trobot_expect_line reads (the bridge sends <= 80) */

struct tclient;

struct daemon {
    pid_t pid;
    bool termed;                /* SIGTERM sent */
    int err_fd;                 /* read end of the daemon's stderr, non-blocking */
    bool err_eof;
    uint16_t robot_port, client_port;
    char *log;                  /* everything read from stderr, NUL-terminated */
    size_t log_len, log_cap;
    int robot_fds[HARNESS_FDS_MAX];
    struct tclient *clients[HARNESS_CLIENTS_MAX];
    pid_t sims[HARNESS_SIMS_MAX];
};

struct tclient {
    struct daemon *d;
    int fd;
    bool eof;                   /* read returned 0 or a reset */
    char *buf;                  /* bytes received and not yet returned as a line */
    size_t len, cap;
};

/* --- daemon ----------------------------------------------------------- */

/* Start; the daemon is also stored in *state (the cmocka state). */
struct daemon *daemon_start(void **state, const char *config_text);
/* extra: NULL-terminated arguments added after the standard ones, or NULL. */
struct daemon *daemon_start_args(void **state, const char *config_text,
                                 const char *const *extra);
/* SIGTERM only, so a test can watch the shutdown; daemon_stop then waits
 * without signalling again (a second SIGTERM may mean "die now"). */
void daemon_term(struct daemon *d);
/* Stop the daemon in *state, require exit status 0, free it. *state is NULL
 * afterwards, even on failure. */
void daemon_stop(void **state);
/* cmocka teardown: kills the daemon left in *state, without checks. */
int daemon_teardown(void **state);

/* Read what the daemon has logged so far, without waiting. */
void daemon_pump(struct daemon *d);
bool daemon_log_has(struct daemon *d, const char *needle);
bool daemon_wait_log(struct daemon *d, const char *needle, int ms);
/* Print the last bytes of the log (called before every harness failure). */
void daemon_print_log_tail(const struct daemon *d);

/* Poll pred(ctx) every few ms, draining the log, until true or ms passed. */
bool wait_until(struct daemon *d, bool (*pred)(void *ctx), void *ctx, int ms);
/* Sleep ms while draining the log. */
void daemon_sleep(struct daemon *d, int ms);

/* --- robot side --------------------------------------------------------- */

/* A blocking TCP socket to the robot port (TCP_NODELAY); owned by d. */
int trobot_connect(struct daemon *d);
/* Write all bytes (bounded); fails the test on error. */
void trobot_write(struct daemon *d, int fd, const char *bytes, size_t n);
void trobot_send(struct daemon *d, int fd, const char *text);
/* trobot_connect + "HI,1,<name>,1,e2e\n". */
int trobot_hello(struct daemon *d, const char *name);
/* Read and discard until the peer closes (read 0 or reset): true, or false
 * when ms passed first. */
bool fd_wait_closed(struct daemon *d, int fd, int ms);
/* The next line the daemon wrote to fd, without its LF, into out (size >= 1
 * bytes, always NUL-terminated). True when a whole line arrived; false when
 * the peer closed, ms passed or size - 1 bytes came without LF, with what did
 * arrive in out. Reads byte by byte: bytes after the line stay in the socket. */
bool trobot_read_line(struct daemon *d, int fd, char *out, size_t size, int ms);
/* The next frame on fd must be exactly want, LF included (as trobot_send
 * takes it), within ms; anything else fails the test. */
void trobot_expect_line(struct daemon *d, int fd, const char *want, int ms);
/* Nothing reaches fd for HARNESS_QUIET_MS: any byte fails the test. Returns
 * false when the peer has closed (read 0), true otherwise. */
bool trobot_expect_nothing(struct daemon *d, int fd);
/* Close a socket opened by trobot_connect and forget it. */
void trobot_close(struct daemon *d, int fd);
/* "127.0.0.1:PORT" of our end of fd. */
void fd_local_addr(int fd, char *out, size_t n);

/* $RB_SIM --connect 127.0.0.1:PORT args...; output to /dev/null. */
pid_t sim_start(struct daemon *d, const char *const *args);
/* Wait up to ms for a simulator from sim_start to exit and forget it.
 * Returns its exit status, or 128 + the signal that killed it; a timeout
 * fails the test (the simulator is killed with the daemon). */
int sim_wait(struct daemon *d, pid_t pid, int ms);

/* --- programs run to completion ----------------------------------------- */

/* Run bin with args (NULL-terminated, after argv[0]) and wait for it, draining
 * d's log meanwhile (d may be NULL). Its stdout, and its stderr when err_too
 * (else stderr stays the test's), go into out (size >= 1 bytes, always
 * NUL-terminated; more is read and dropped). RAPIDBRIDGE_TOKEN is token in its
 * environment, or absent when token is NULL. Returns the exit status, or 128 +
 * the signal that killed it; running longer than HARNESS_PROG_MS kills it and
 * fails the test. */
int prog_run(struct daemon *d, const char *bin, const char *const *args, const char *token,
             bool err_too, char *out, size_t size);
/* prog_run of $RB_CLI, which must be an absolute path. */
int cli_run(struct daemon *d, const char *const *args, const char *token, bool err_too,
            char *out, size_t size);

/* --- JSON client side --------------------------------------------------- */

/* Connect and require the VERSION banner as the first object. */
struct tclient *tclient_connect(struct daemon *d);
/* Same, with SO_RCVBUF set before connecting (a client that reads slowly). */
struct tclient *tclient_connect_rcvbuf(struct daemon *d, int rcvbuf);
/* Connect without reading anything. */
struct tclient *tclient_connect_raw(struct daemon *d);
void tclient_close(struct tclient *c);
/* Send a line; LF is added when missing. */
void tclient_send(struct tclient *c, const char *line);
void tclient_send_raw(struct tclient *c, const char *bytes, size_t n);

/* The next object, or NULL after ms or at EOF (c->eof tells which). Every
 * line must be a JSON object with a string "class" and no null member value
 * (the contract: null only inside arrays); anything else fails the test, as
 * does EOF after a partial line. */
json_t *tclient_try_recv(struct tclient *c, int ms);
/* Like tclient_try_recv, but a timeout or EOF fails the test. */
json_t *tclient_recv_json(struct tclient *c, int ms);
/* The next object must have this class. */
json_t *tclient_expect_class(struct tclient *c, const char *cls, int ms);
/* Skip objects until one of this class arrives; skipped ones are appended to
 * skipped when it is not NULL. */
json_t *tclient_wait_class(struct tclient *c, const char *cls, int ms, json_t *skipped);
/* Send a request and return its reply, which must have class cls. Stream
 * objects (FRAME, LINK, DROPPED) before it are skipped, appended to skipped
 * when given; any other class fails the test. */
json_t *tclient_request(struct tclient *c, const char *req, const char *cls, json_t *skipped);
/* True when the peer closes within ms (objects received meanwhile are dropped). */
bool tclient_wait_closed(struct tclient *c, int ms);

/* A FRAME with this seq from the stream, skipping others into skipped. */
json_t *tclient_wait_frame(struct tclient *c, const char *type, long long seq, int ms,
                           json_t *skipped);

/* A new client that watches: sends {"cmd":"watch"}, with "types": types when
 * types (a JSON array as text) is not NULL, and requires the reply to be
 * exactly {"class":"WATCH","enable":true} with the same "types". */
struct tclient *watcher_connect(struct daemon *d, const char *types);
/* Send a request whose reply must be an ERROR (stream objects before it are
 * skipped), checked as assert_error does. */
void tclient_request_error(struct tclient *c, const char *req, const char *id, const char *code,
                           const char *about);
/* Is this class a stream object (FRAME, LINK, DROPPED) rather than a reply? */
bool is_stream_class(const char *cls);

/* --- JSON checks -------------------------------------------------------- */

/* Parse test text, failing the test when it is not valid JSON. */
json_t *json_must(const char *text);
/* got must equal the expected text exactly, except the members named in
 * ignore (NULL-terminated, may be NULL). Fails with both texts shown. */
void assert_json_eq(const json_t *got, const char *expected, const char *const *ignore);
/* Every member of expected is in got and equal (others ignored). */
void assert_json_has(const json_t *got, const char *expected);
/* e is exactly {"class":"ERROR","id":id,"code":code,"message":M}: id is JSON
 * text, or NULL for no "id" member; M is not empty and, when about is not
 * NULL, contains it. */
void assert_error(const json_t *e, const char *id, const char *code, const char *about);
const char *json_str(const json_t *o, const char *key);     /* NULL if absent */
long long json_int_member(const json_t *o, const char *key); /* fails if not an int */
/* A compact dump for messages; caller frees. */
char *json_text(const json_t *j);

/* "body*HH\n" with the XOR checksum of body, hex in upper or lower case. */
void frame_with_checksum(const char *body, bool lower, char *out, size_t n);

/* Wall clock, Unix seconds. */
double now_unix(void);
/* Monotonic clock, milliseconds: for deadlines. */
long long mono_ms(void);

#endif
