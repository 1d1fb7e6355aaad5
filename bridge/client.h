/* client.h - one JSON client connection: request lines in, messages out.
 *
 * Input: bytes are reassembled into lines of at most CLIENT_LINE_MAX bytes
 * (LF excluded; one CR before it is dropped); each line goes to
 * request_handle(). A longer line gets ERROR line_too_long and the
 * connection is closed once that reply is written.
 *
 * Output: a queue of shared msg references, written with writev when the
 * socket is writable, at most CLIENT_WRITE_BUDGET bytes per turn so one fast
 * reader cannot starve the others. Bounds, per client (decided by
 * client_admit and client_drops_due, admission.h):
 *  - stream messages (FRAME, LINK) are dropped and counted while the queue
 *    holds >= the soft limit (limits.client_queue_bytes); replies never are;
 *  - once the queue drains below half the soft limit, a {"class":"DROPPED",
 *    "count":N} reply tells the client how many it lost;
 *  - a queue already above CLIENT_HARD_FACTOR x the soft limit when the
 *    next message comes (replies piling up behind a client that does not
 *    read) closes the connection; the message itself does not count, so one
 *    reply larger than the limit still reaches a client that reads.
 * A message is queued whole or not at all, so a client never sees half a line.
 *
 * Time limits: a client that has not sent one whole request within
 * limits.first_request_timeout of connecting, or whose partial request line
 * stays incomplete for limits.request_timeout, gets ERROR timeout and is
 * closed (clients_expire, from a sweep about once a second; reading only
 * notes when a partial line began).
 *
 * A client that half-closes after its requests ("echo ... | nc") is not cut
 * off: it still gets its replies, and its ACKs when the robot answers, and
 * is closed once nothing is left for it. A watcher that closes is closed
 * at once.
 *
 * WebSocket clients (web.h) are the same struct with fd -1 and `ws` set:
 * libwebsockets owns the socket, each whole text message is one request
 * (client_request_text), and web.c drains the queue one message per
 * WebSocket message (client_queue_peek/consume), so queue bounds, drops and
 * DROPPED notices are the same as for TCP clients.
 *
 * Ownership: clients belong to the bridge's list; client_close() unlinks and
 * frees one (its queue references are released).
 */
#ifndef RB_CLIENT_H
#define RB_CLIENT_H

#include "admission.h"
#include "bridge.h"
#include "msg.h"
#include "principal.h"
#include "reply.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CLIENT_LINE_MAX (64 * 1024)
#define CLIENT_READ_CHUNK (16 * 1024)
#define CLIENT_WRITE_BUDGET (256 * 1024)
#define CLIENT_IOV_MAX 64
/* Kernel send buffer per client. Loopback would otherwise grant megabytes
 * to a client that stopped reading, memory no queue limit accounts for and
 * that delays its DROPPED notice. */
#define CLIENT_SNDBUF (256 * 1024)
/* A verified TLS client certificate's subject CN, NUL included (tls.c). */
/* A CN becomes the principal cert:CN whole, never cut (principal.h). */
#define TLS_CN_MAX (PRINCIPAL_NAME_MAX + 1)

struct client;

/* How a client's bytes move: plain socket calls, or TLS (tls.h). read and
 * writev behave like read(2)/writev(2) on a non-blocking socket: -1 with
 * errno EAGAIN when nothing can move now, 0 from read at end of input.
 * shutdown ends the transport's session before the fd is closed (a TLS
 * close_notify, best effort, never blocking); it frees what the transport
 * holds. kind names it in logs and metrics: "tcp", "unix", "tls", "ws". */
struct client_transport {
    ssize_t (*read)(struct client *c, void *buf, size_t len);
    ssize_t (*writev)(struct client *c, const struct iovec *iov, int iovcnt);
    void (*shutdown)(struct client *c);
    const char *kind;
};

/* The default: read(2) and writev(2) on c->fd. */
extern const struct client_transport client_plain_transport;

struct client {
    struct bridge *b;
    const struct client_transport *tx; /* never NULL */
    void *tx_state;                /* the transport's per-connection state, or NULL */
    bool starting;                 /* transport handshake under way: no reads, output held */
    char tls_cn[TLS_CN_MAX];       /* verified client certificate's CN; "" when none */
    struct client *prev, *next;    /* bridge's list */
    struct client *dirty_next;     /* bridge's flush list */
    bool dirty;
    bool closing;                  /* close once the queue is written */
    bool doomed;                   /* close at the next flush, queue or not */
    bool input_closed;             /* the client half-closed: answer, then close */
    int fd;                        /* -1 for a WebSocket client */
    void *ws;                      /* the WebSocket session (web.c) when fd is -1 */
    bool unix_socket;              /* came through json_unix (local.c) */
    ev_io rio, wio;
    char peer[ADDR_TEXT_MAX];
    struct sockaddr_storage peer_sa; /* counted in b->peers when peer_counted */
    bool peer_counted;

    double first_deadline;         /* no whole request yet: close then; 0 = has sent one */
    double line_deadline;          /* a partial line began: close then; 0 = none */

    char *in;                      /* partial request line, NULL when none */
    size_t in_len, in_cap;

    struct msg **q;                /* ring of queued messages */
    size_t q_head, q_count, q_cap;
    size_t q_off;                  /* bytes of the head message already written */
    size_t q_bytes;                /* unwritten bytes in the queue */
    uint64_t dropped;              /* stream messages lost since the last DROPPED */

    bool watching;
    uint32_t watch_robots;         /* bit i: robot i; all bits = every robot */
    uint64_t watch_types;          /* bit i: schema_at(i); all bits = every type */

    struct principal who;          /* anonymous at accept; see principal.h */
};

/* Take a freshly accepted socket; sends the VERSION banner. NULL on no memory
 * (the fd is then closed). */
struct client *client_open(struct bridge *b, int fd, const char *peer);
/* client_open in two steps, for a transport with a handshake (tls.c):
 * client_new links and counts the client with its watchers initialised but
 * not started and nothing queued; the transport may point the watchers'
 * callbacks at its own handshake. client_start puts the client's own
 * callbacks back, starts reading and queues the VERSION banner. */
struct client *client_new(struct bridge *b, int fd, const char *peer);
void client_start(struct client *c);
/* A TLS handshake verified the client's certificate; c->tls_cn holds its
 * CN. (Where the principal cert:CN is set.) */
void client_tls_verified(struct client *c);
void client_close(struct client *c);

/* A WebSocket client (web.c): no socket of its own; ws is its session, told
 * of flushes and of the close (web_client_flush, web_client_closed). Sends
 * the VERSION banner. NULL when out of memory. */
struct client *client_open_ws(struct bridge *b, void *ws, const char *peer);
/* One whole request (no line reassembly): a WebSocket text message. */
void client_request_text(struct client *c, const char *data, size_t len);
/* The oldest queued message, or NULL; consume drops it from the queue (and
 * may queue a DROPPED notice when the queue got short enough). */
struct msg *client_queue_peek(const struct client *c);
void client_queue_consume(struct client *c);
/* "tcp" or "ws": rapidbridge_clients{kind}. */
const char *client_kind(const struct client *c);

/* Queue a message (the queue takes its own reference). A stream message is
 * dropped when the client is behind; returns false when it was dropped. */
bool client_push(struct client *c, struct msg *m);
/* Render j as a reply and queue it. Does not steal j. */
void client_reply(struct client *c, const json_t *j);
/* Where answers for this client go (commands answer later). */
struct reply_to client_reply_to(struct client *c);
/* Queue {"class":"ERROR",...}; id may be NULL. */
void client_error(struct client *c, const json_t *id, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Is c watching robot robot_index (so a notice about it reaches c)? */
bool client_follows(const struct client *c, unsigned robot_index);

/* Write what the socket takes now; called before the loop sleeps. */
void client_flush(struct client *c);

/* Register the clients with the hub as one output (b->watchers): each
 * stream message goes to every watching client whose filter matches. */
void clients_register(struct bridge *b);

/* Close, with ERROR timeout, every client past its first_deadline or
 * line_deadline. Returns the period the sweep should use: the smaller of
 * LIMITS_SWEEP_MAX and a quarter of the shortest of the two timeouts. */
double clients_expire(struct bridge *b, double now);
#define LIMITS_SWEEP_MAX 1.0
#define LIMITS_SWEEP_MIN 0.02

/* Flush every client that has output (ev_prepare callback body). */
void clients_flush_all(struct bridge *b);

#endif
