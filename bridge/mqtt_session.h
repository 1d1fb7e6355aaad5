/* mqtt_session.h - one connection to an MQTT broker, on the bridge's loop.
 *
 * libmosquitto speaks the protocol; this module drives it from the bridge's
 * libev loop, never from a thread of its own, and never waits:
 *  - the library's socket is an ev_io (read always, write while the library
 *    has output), its keepalive runs from a MQTT_TICK ev_timer;
 *  - connects are non-blocking; a broker given by name is looked up with
 *    getaddrinfo_a first (a name server that does not answer stalls nothing);
 *  - an attempt that fails, a CONNACK that does not come within
 *    MQTT_CONNECT_TIMEOUT and a connection that drops are all retried after a
 *    back-off of MQTT_RETRY_MIN doubling to MQTT_RETRY_MAX seconds, forever
 *    (session_backoff: only a connection that stayed up MQTT_STABLE seconds
 *    starts it again, so one the broker accepts and drops at once, as when
 *    another client connects with our id, backs off too).
 * Every attempt starts from a fresh library state with a clean session, so
 * nothing stale is resent; the owner republishes its state from ops.up.
 * The last will is `will_topic` = "offline", retained.
 *
 * Incoming size: with MQTT 5 (cfg->protocol, the default) the CONNECT says
 * the largest packet the bridge takes, MQTT_PACKET_MAX, and the broker drops
 * larger messages instead of sending them (MQTT 5, 3.1.2.11.4), so they never
 * reach memory here. libmosquitto 2.0 itself reads any packet whole, up to
 * the protocol's 256 MiB: with MQTT 3.1.1 only the broker's own limit
 * (mosquitto's max_packet_size) keeps large messages out.
 *
 * Flow control: at most MQTT_WINDOW publishes are inside the library at once
 * (QoS 0: until written to the socket; QoS 1 and 2: until acknowledged). The
 * owner keeps everything else in its own bounded queue and hands it over from
 * ops.pump, which is called whenever there may be room.
 *
 * Callbacks: ops.up and ops.message run inside libmosquitto's callbacks; they
 * may call session_subscribe, session_publish and session_pump (which then
 * waits for the library to return), nothing else of this module. ops.down
 * and ops.pump run outside the library.
 *
 * Ownership: the session is embedded in its owner; session_open starts it,
 * session_close (which may flush for a bounded time) stops and frees it.
 */
#ifndef RB_MQTT_SESSION_H
#define RB_MQTT_SESSION_H

#include "bridge.h"

#include <ev.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stdint.h>

#define MQTT_KEEPALIVE 30          /* s between PINGREQs on an idle connection */
#define MQTT_CONNECT_TIMEOUT 10.0  /* s from connect to CONNACK */
#define MQTT_RETRY_MIN 0.5         /* s before the first retry; doubles each failure */
#define MQTT_RETRY_MAX 30.0        /* s at most between attempts */
#define MQTT_STABLE 10.0           /* s up before a lost connection retries from MQTT_RETRY_MIN */
/* The largest packet the broker may send (MQTT 5): a command of MQTT_CMD_MAX
 * (mqtt.h) with its topic and properties fits; larger ones are dropped by
 * the broker unseen. */
#define MQTT_PACKET_MAX (128 * 1024)
#define MQTT_TICK 1.0              /* s between keepalive checks */
#define MQTT_RESOLVE_POLL 0.05     /* s between looks at a pending name lookup */
#define MQTT_WINDOW 32             /* publishes inside the library at once */
#define MQTT_ADDRS_MAX 8           /* addresses of a broker name tried in turn */
#define MQTT_WILL_TOPIC_MAX 256
#define MQTT_WILL_PAYLOAD "offline"  /* the last will, retained */
#define MQTT_DISCONNECT_SECONDS 0.2  /* s at most to write DISCONNECT at a clean close */

struct mqtt_session_ops {
    void (*up)(void *ctx);         /* CONNACK accepted: subscribe, republish state */
    void (*down)(void *ctx);       /* a connection that was up is gone */
    bool (*pump)(void *ctx);       /* room for more publishes; true: the owner still has some */
    void (*message)(void *ctx, const struct mosquitto_message *msg);
};

enum mqtt_state { MQTT_IDLE, MQTT_RESOLVING, MQTT_CONNECTING, MQTT_UP };

struct mqtt_lookup;

struct mqtt_session {
    struct bridge *b;
    const struct mqtt_cfg *cfg;    /* the owner's copy; outlives the session */
    struct mqtt_session_ops ops;
    void *ctx;
    char will_topic[MQTT_WILL_TOPIC_MAX];

    struct mosquitto *mosq;
    bool fresh;                    /* mosq configured and not yet used */
    enum mqtt_state state;
    bool in_lib;                   /* a library call (and so maybe its callbacks) runs */
    bool lost;                     /* set by the library's callbacks */
    int lost_rc, lost_errno, refused;
    double attempt_started, backoff;
    double up_since;               /* loop time of the CONNACK, while MQTT_UP */
    bool failing;                  /* the last attempt failed: log the next ones quietly */

    ev_io io;
    int io_events;
    ev_timer tick, retry, resolve;

    bool numeric;                  /* cfg->host is an address: no lookup */
    struct mqtt_lookup *lookup;    /* while MQTT_RESOLVING */
    char addrs[MQTT_ADDRS_MAX][64];
    unsigned naddrs, next_addr;

    unsigned inflight;             /* publishes handed to the library, not yet done */
    uint64_t sent;                 /* publishes done (written, or acknowledged) */
    uint64_t abandoned;            /* publishes lost inside the library with a connection */
};

/* The wait before the next attempt when one ends: `backoff` is the wait
 * before it (0 at first), `up_for` how long its connection was up (0 when it
 * never was). MQTT_RETRY_MIN, then doubling up to MQTT_RETRY_MAX; back to
 * MQTT_RETRY_MIN only after a connection that lasted MQTT_STABLE seconds. */
double session_backoff(double backoff, double up_for);

/* Set up and start connecting. -1 with a message only for settings that can
 * never work (unreadable TLS files, no memory); an unreachable broker is not
 * an error. */
int session_open(struct mqtt_session *s, struct bridge *b, const struct mqtt_cfg *cfg,
                 const char *will_topic, struct mqtt_session_ops ops, void *ctx,
                 char err[NET_ERR_MAX]);

/* Up (CONNACK accepted) with room for one more publish? */
bool session_can_publish(const struct mqtt_session *s);
bool session_up(const struct mqtt_session *s);

/* Hand one message to the library (payload copied). 0, or -1 when it was
 * not taken (not up, window full, connection just lost, bad topic). */
int session_publish(struct mqtt_session *s, const char *topic, const void *payload, size_t len,
                    bool retain);
int session_subscribe(struct mqtt_session *s, const char *pattern);
/* The owner queued something outside ops.pump: hand it over now (ops.pump)
 * and watch the socket accordingly. Does nothing inside the library's
 * callbacks; the output goes out when the library returns. */
void session_pump(struct mqtt_session *s);

/* For shutdown: call ops.pump and write until the owner has nothing more and
 * the library is done with it, or `seconds` passed. True when everything was
 * delivered (then close disconnects cleanly; otherwise the broker is left to
 * publish the will). Blocks the caller for at most `seconds`. */
bool session_flush(struct mqtt_session *s, double seconds);
/* Disconnect (cleanly when `clean`), stop every watcher, free the library. */
void session_close(struct mqtt_session *s, bool clean);

#endif
