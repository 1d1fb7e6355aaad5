/* bridge.h - the one context that owns the daemon's state.
 *
 * Everything the daemon holds hangs off struct bridge: the loop, the
 * configuration, the listeners, the robots, the clients and the hub's
 * outputs. It is passed to every module, never global. bridge_open() binds
 * the listeners and starts the watchers; bridge_shutdown() tells clients,
 * closes links and stops the loop; bridge_close() frees what is left.
 */
#ifndef RB_BRIDGE_H
#define RB_BRIDGE_H

#include "access.h"
#include "audit.h"
#include "config.h"
#include "diag.h"
#include "framer.h"
#include "hub.h"
#include "lease.h"
#include "log.h"
#include "lograte.h"
#include "net.h"
#include "notify.h"
#include "peers.h"

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RB_RELEASE "0.1.0"
#define RB_PROTO_MAJOR 1
#define RB_PROTO_MINOR 0

#define ROBOT_REQUEST_OUTCOMES 8 /* room for enum serve_outcome (serve.h) */

struct client;
struct lws_context;
struct mqtt;
struct link;
struct robot;
struct tls_server;

struct bridge_stats {
    uint64_t frames_in;      /* good frames from all robots */
    uint64_t frames_out;     /* stream messages queued to clients */
    uint64_t drops;          /* stream messages dropped for slow clients */
    uint64_t disconnects;    /* clients cut off past the hard queue limit */
    uint64_t commands;       /* commands sent to robots */
    uint64_t errors[FRAME_ERR_COUNT]; /* bad frames on links not yet named by HI */
    uint64_t robot_requests[ROBOT_REQUEST_OUTCOMES]; /* by enum serve_outcome (serve.h) */
};

struct bridge {
    struct ev_loop *loop;
    struct logger log;
    struct config cfg;
    const char *config_path; /* for SIGHUP reloads; NULL = built-in defaults */
    bool listen_overridden;  /* listeners came from the command line */
    double started;

    int robot_fd, json_fd, spare_fd;
    ev_io robot_accept, json_accept;
    ev_signal sigint, sigterm, sighup;
    ev_prepare flush;        /* writes queued output before the loop sleeps */

    unsigned nrobots;
    struct robot *robots;    /* one per configured robot, in config order */
    struct link *pending;    /* connections that have not sent HI yet */
    unsigned npending;

    struct client *clients;  /* doubly linked */
    unsigned nclients;
    struct client *dirty;    /* clients with output to flush (singly linked) */

    struct hub_output *outputs; /* where stream messages leave (hub.h), in order */
    struct hub_output watchers; /* the JSON clients' output (client.c) */

    struct bridge_stats stats;
    struct diag diag;        /* refusals, unknown hellos, request errors */
    FILE *record;            /* --record log, or NULL */
    struct mqtt *mqtt;       /* NULL unless the configuration has "mqtt" */
    struct lws_context *web; /* NULL unless http_listen is set (web.h) */
    char web_bound[ADDR_TEXT_MAX]; /* where it listens, port 0 resolved */
    struct notify notify;    /* sd_notify state; idle unless under systemd */
    struct tls_server *json_tls; /* TLS on json_listen (tls.h), or NULL: plain TCP */
    struct peers peers;      /* connections per address (peers.h) */
    struct lograte lograte;  /* refusals and bad handshakes: one line per cause per second */
    ev_timer sweep;          /* about once a second: request timeouts, folded log counts */
    bool stopping;

    int unix_fd;             /* json_unix listener, -1 when none */
    ev_io unix_accept;
    struct audit audit;      /* audit_file (audit.h) */
    struct lease_table leases; /* control leases (lease.h) */
    struct auth_table auth;  /* failed-auth back-off by address (access.h) */
};

/* Bind listeners and start watchers. On error returns -1 with a message. */
int bridge_open(struct bridge *b, struct ev_loop *loop, char err[NET_ERR_MAX]);
void bridge_shutdown(struct bridge *b, const char *reason);
void bridge_close(struct bridge *b);

/* The robot of this name, or NULL if none is configured (its index is r->index). */
struct robot *bridge_robot(struct bridge *b, const char *name);

#endif
