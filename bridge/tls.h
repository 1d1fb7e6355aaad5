/* tls.h - TLS for the JSON listener (json_tls), with OpenSSL on the libev loop.
 *
 * A tls_server is one SSL_CTX built from a struct tls_cfg: TLS 1.2 at least,
 * OpenSSL's default cipher list, no compression, no renegotiation, no session
 * resumption (no tickets, no cache). With a ca, clients are asked for a
 * certificate and one they send is verified against it (a bad one fails the
 * handshake); require_client_cert also refuses a client that sends none.
 *
 * tls_accept() takes an accepted socket: the client is counted at once, its
 * handshake runs on the client's own watchers, and only when it completes
 * does the client start (VERSION banner, requests). A handshake that fails
 * (a plain-text client: OpenSSL sends nothing back to bytes that are not
 * TLS) or is not done within limits.hello_timeout closes the connection with
 * one warning. A verified client certificate's subject CN goes to
 * c->tls_cn and client_tls_verified() is called; a certificate without
 * exactly one CN of at most TLS_CN_MAX - 1 bytes, free of control
 * characters, leaves tls_cn empty.
 *
 * Reads and writes then go through the client transport (client.h): SSL_read
 * one chunk per readable event (plaintext OpenSSL already holds is handed
 * over by feeding the read watcher again), SSL_write of the queue gathered
 * into records of at most TLS_WRITE_CHUNK bytes. A write OpenSSL could not
 * finish is retried with the same bytes, since the queue keeps them.
 *
 * Reload: tls_reload() builds a new context from b->cfg.json_tls; on failure
 * the running one stays. Each connection holds a reference to the context
 * it began with (OpenSSL counts them), so reloading never disturbs it.
 *
 * Errors: "json_tls.cert FILE: reason" (and .key, .ca) in err.
 */
#ifndef RB_TLS_H
#define RB_TLS_H

#include "bridge.h"
#include "client.h"
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#define TLS_ERR_MAX (2 * TLS_PATH_MAX + 160) /* a message naming two files */
#define TLS_WRITE_CHUNK 16384 /* plaintext bytes of one TLS record at most */

struct tls_server;

/* Build a server context; what names the configuration object in messages
 * ("json_tls"). NULL with err set on failure. */
struct tls_server *tls_server_new(const struct tls_cfg *cfg, const char *what,
                                  char err[TLS_ERR_MAX]);
/* Drop the bridge's reference; connections keep theirs. NULL is fine. */
void tls_server_free(struct tls_server *s);

/* Start a TLS client on an accepted, non-blocking socket (it is owned from
 * here on, closed on failure). */
/* The new client, or NULL when it could not be set up (then fd is closed). */
struct client *tls_accept(struct tls_server *s, struct bridge *b, int fd, const char *peer);

/* The CN of the peer certificate of ssl (an OpenSSL SSL, also one that
 * libwebsockets runs for http_tls) into cn, when that certificate was
 * verified and its subject has exactly one printable CN of at most
 * TLS_CN_MAX - 1 bytes; false otherwise (cn untouched). */
struct ssl_st;
bool tls_verified_cn(struct ssl_st *ssl, char cn[TLS_CN_MAX]);

/* SIGHUP: read json_tls's files again. Returns 0 (also when TLS is off) or
 * -1 when the running context stays (logged). */
int tls_reload(struct bridge *b);

#endif
