/* conn.h - one TCP connection to the bridge's client port, read as lines.
 *
 * The socket is non-blocking and every wait is a poll() bounded by an
 * absolute deadline on CLOCK_MONOTONIC (conn_now_ms() + milliseconds, or
 * CONN_FOREVER). poll() also watches stop_fd (a signalfd for SIGINT and
 * SIGTERM, or -1): once it is readable every call returns CONN_INTERRUPTED.
 *
 * Lines are reassembled across reads in one buffer of CONN_LINE_MAX + 1
 * bytes, allocated by conn_init. A line longer than CONN_LINE_MAX bytes
 * (without its LF) is CONN_TOO_LONG; the connection is not usable after that.
 * Bytes of a last line without LF when the bridge closes are dropped.
 *
 * TLS (json_tls): after conn_connect, conn_start_tls makes every later read
 * and write go through OpenSSL, on the same non-blocking socket and
 * deadlines. The bridge's certificate is always verified, against the CAs in
 * a given file or the system's, and must carry the name connected to (or
 * the given one).
 */
#ifndef RB_CLI_CONN_H
#define RB_CLI_CONN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CONN_LINE_MAX (1024 * 1024) /* bytes of one line from the bridge, without LF */
#define CONN_FOREVER (-1)           /* deadline: wait without a bound */

enum conn_status {
    CONN_OK,
    CONN_TIMEOUT,      /* the deadline passed */
    CONN_CLOSED,       /* the bridge closed the connection */
    CONN_ERROR,        /* a system call failed: errno in conn.err */
    CONN_TOO_LONG,     /* a line over CONN_LINE_MAX */
    CONN_INTERRUPTED,  /* stop_fd became readable */
};

struct conn {
    int fd;            /* -1 when not connected */
    int stop_fd;
    int err;           /* errno of the last CONN_ERROR */
    size_t off;        /* start of the first unread line in buf */
    size_t len;        /* bytes held in buf */
    size_t scan;       /* bytes before this offset hold no LF */
    char *buf;         /* CONN_LINE_MAX + 1 bytes */
    void *ssl_ctx;     /* SSL_CTX, SSL: NULL without TLS */
    void *ssl;
    const char *tls_why; /* OpenSSL's reason for the last TLS CONN_ERROR, or NULL */
};

struct conn_tls {
    const char *ca;          /* PEM CA file to verify the bridge; NULL: the system's CAs */
    const char *cert, *key;  /* client certificate and key (PEM), or NULL */
    const char *name;        /* name the bridge's certificate must carry; NULL: the host */
};

/* Returns 0, or -1 when out of memory. */
int conn_init(struct conn *c, int stop_fd);
void conn_close(struct conn *c);   /* closes the socket, frees the buffer */

int64_t conn_now_ms(void);         /* CLOCK_MONOTONIC in milliseconds */

/* Connect to "HOST:PORT" or "[IPV6]:PORT", trying each address the name
 * resolves to. On failure (not CONN_OK) err holds a sentence naming the
 * address. Name resolution itself is not bounded by the deadline. */
enum conn_status conn_connect(struct conn *c, const char *hostport, int64_t deadline,
                              char *err, size_t errlen);

/* Connect to the bridge's Unix socket at path (json_unix). */
enum conn_status conn_connect_unix(struct conn *c, const char *path, char *err, size_t errlen);

/* Handshake on the connected socket; hostport as given to conn_connect.
 * On failure err says why (a file, the verification, the bridge's alert). */
enum conn_status conn_start_tls(struct conn *c, const struct conn_tls *t, const char *hostport,
                                int64_t deadline, char *err, size_t errlen);

/* Connect as the options say: the Unix socket at unix_path, else hostport
 * over TCP; then the TLS handshake when tls is not NULL. */
enum conn_status conn_open(struct conn *c, const char *unix_path, const char *hostport,
                           const struct conn_tls *tls, int64_t deadline, char *err, size_t errlen);

/* The next line, without its LF (a CR before it is kept: the caller sees the
 * line exactly as received). *line is valid until the next call. */
enum conn_status conn_read_line(struct conn *c, int64_t deadline, const char **line, size_t *len);

/* Send one JSON value as a compact line ending with LF. */
enum conn_status conn_send_json(struct conn *c, const json_t *msg, int64_t deadline);

/* A short phrase for a status that is not CONN_OK ("timed out", the errno
 * text for CONN_ERROR, ...). */
const char *conn_status_text(const struct conn *c, enum conn_status st);

#endif
