/* robot.h - controller links: hello, replacement, idle timeout, commands.
 *
 * A controller connects to the robot listener and becomes a pending link.
 * Its first frame must be a valid HI within limits.hello_timeout naming a
 * configured robot (from that robot's peer address, when one is set);
 * anything else closes it. An accepted link replaces the robot's old one.
 * A link that stays silent for limits.idle_timeout is declared down.
 *
 * Frames from a linked robot are decoded, kept as the robot's latest state,
 * rendered once to JSON and handed to the hub. Bad frames are dropped and
 * counted by cause; never fatal. At most ROBOT_PENDING_MAX connections may be
 * waiting for HI at once, and at most limits.max_pending_per_address from
 * one address (peers.h); more are refused (NO busy) on accept. Refusals are
 * logged through lograte.h: one line per cause per second.
 *
 * Commands: one in flight per robot, up to limits.command_queue waiting
 * behind it (an urgent type, STOP, skips the queue: it is sent at once,
 * beside the one in flight); the robot's AK (matched by seq) is answered to the one client
 * that asked, with its id. No AK within limits.ack_timeout: ERROR timeout.
 * Link down or replaced: every pending command fails with robot_offline.
 *
 * Ownership: the bridge owns robots (array) and links; links free
 * themselves when closed.
 */
#ifndef RB_ROBOT_H
#define RB_ROBOT_H

#include "bridge.h"
#include "command.h"
#include "decode.h"
#include "framer.h"
#include "metrics.h"
#include "msg.h"
#include "principal.h"
#include "reply.h"
#include "serve.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define ROBOT_PENDING_MAX 64
#define ROBOT_READ_CHUNK 16384
#define ROBOT_IO_MAX 1024       /* distinct IO names kept per robot; more are not stored */
#define ROBOT_ERR_LOG_PERIOD 1.0 /* seconds between bad-frame log lines per robot */

enum cmd_slot { SLOT_NORMAL, SLOT_URGENT, CMD_SLOTS };

/* Who sent a command, for its audit records (audit.h). */
struct command_origin {
    const char *principal;      /* principal text, e.g. "token:hmi1" */
    const char *peer;           /* NULL when there is none (MQTT) */
};

struct command_req {
    struct command_req *next;
    bool audited;               /* write a result record when it ends */
    char principal[PRINCIPAL_TEXT_MAX];
    char peer[ADDR_TEXT_MAX];
    struct reply_to to;         /* to.fn NULL once the asker went away */
    json_t *id;                 /* the request's id, or NULL; owned */
    char type[FRAME_TYPE_MAX + 1];
    unsigned type_index;        /* schema index of type (metrics) */
    double sent_at;             /* when it was written to the robot (ack histogram) */
    uint32_t seq;
    size_t len;
    char frame[COMMAND_MAX + 1];
};

struct link {
    struct bridge *b;
    struct robot *robot;        /* NULL while pending */
    struct link *prev, *next;   /* bridge's pending list while pending */
    int fd;
    ev_io rio;
    ev_timer timer;             /* hello timeout, then idle timeout */
    struct sockaddr_storage sa;
    char peer[ADDR_TEXT_MAX];
    bool pending_counted;       /* counted in b->peers until HI or close */
    bool in_feed;               /* inside framer_feed: free after it returns */
    bool closed;
    ev_io wio;                  /* only while out holds unsent bytes */
    size_t out_len;
    char out[2 * COMMAND_MAX];  /* a command the socket did not take at once */
    struct framer framer;
};

struct robot {
    struct bridge *b;
    const struct robot_cfg *cfg;
    unsigned index;
    struct link *link;          /* NULL while down */
    bool ever_linked;
    double since;               /* last up/down change, Unix time */
    char peer[ADDR_TEXT_MAX];
    uint64_t frames_in;
    uint64_t errors[FRAME_ERR_COUNT];
    uint64_t errors_unlogged;
    uint64_t frames_by_type[FRAME_TYPES_MAX];            /* per schema index, HB too (metrics.h) */
    uint64_t cmd_outcomes[FRAME_TYPES_MAX][OUTCOMES];    /* per schema index and outcome */
    struct ack_hist ack;                                 /* send -> AK round trips */
    double last_err_log;
    struct msg **latest;        /* per schema index, the FRAME text sent; a reference each */
    double latest_at[FRAME_TYPES_MAX]; /* per schema index, when latest arrived (Unix time) */
    struct diag_refused last_refused;  /* the latest refused HI that named this robot */
    json_t *io;                 /* name -> value, owned */

    uint32_t next_seq;
    /* One normal command in flight, and one STOP beside it: a STOP must
     * never wait behind a CALL that runs for seconds. */
    struct command_req *inflight[CMD_SLOTS];
    ev_timer ack_timer[CMD_SLOTS];
    struct command_req *queue, *queue_tail;
    unsigned queued;

    /* Requests from the robot (serve.h): the client serving each request
     * type (by schema index, NULL = none), and the requests waiting. */
    struct client *serving[FRAME_TYPES_MAX];
    struct robot_request *asks;
    unsigned nasks;
};

/* One robot per configured one. Out of memory: -1 with none left set up. */
int robots_init(struct bridge *b);

/* For configuration reloads: set up one robot (out of memory: -1, and r is
 * left empty); move a robot's link, state and commands to a new place (from
 * is left empty); forget one (its link is closed with reason; an empty one
 * is left alone); close a robot's link but keep its state. */
int robot_init(struct bridge *b, struct robot *r, const struct robot_cfg *cfg, unsigned index);
void robot_move(struct robot *to, struct robot *from, const struct robot_cfg *cfg, unsigned index);
void robot_remove(struct robot *r, const char *reason);
void robot_disconnect(struct robot *r, const char *reason);
/* A new idle timeout for the robot's live link, counted from now. */
void robot_set_idle(struct robot *r, double idle_timeout);
/* Is the robot linked from this numeric address? */
bool robot_link_from(const struct robot *r, const char *peer);
void robots_free(struct bridge *b);
void robot_accept_cb(struct ev_loop *loop, ev_io *w, int revents);

/* Close every link (LINK down with reason) and pending connection. */
void robots_close_all(struct bridge *b, const char *reason);

/* Does any robot still owe this asker (reply_to.ctx) an answer? */
bool robots_owe(const struct bridge *b, const void *ctx);

/* An asker (reply_to.ctx) went away: its pending commands lose their addressee. */
void robots_forget(struct bridge *b, const void *ctx);

/* Queue a command of type def (def->urgent: beside the one in flight)
 * encoded with seq == robot_peek_seq(r); replies to `to` come later
 * (ACK/ERROR). Errors now (offline, busy) are replied at once. Takes its own
 * reference to id. The robot's seq advances only when it is queued. */
void robot_send(struct robot *r, struct reply_to to, const json_t *id, const struct frame_def *def,
                const char *frame, size_t len, uint32_t seq);

/* robot_send for an audited command: when it ends (ACK, timeout, link
 * down, refused now) a `result` record names its outcome. origin NULL: as
 * robot_send. */
void robot_send_from(struct robot *r, struct reply_to to, const json_t *id,
                     const struct frame_def *def, const char *frame, size_t len, uint32_t seq,
                     const struct command_origin *origin);

/* Would robot_send refuse a command of def now? "robot_offline", "busy",
 * or NULL when it would be taken. The caller then refuses it: a refusal is
 * counted (rapidbridge_commands_total) as robot_send would. */
const char *robot_refusal(struct robot *r, const struct frame_def *def);

/* Write a frame the bridge made (a reply, RX) to the robot's link, beside
 * the command queue; -1 when the robot is offline or its link cannot take it. */
int robot_write(struct robot *r, const char *frame, size_t len);

/* The seq the next command to this robot gets: 1, 2, ... 99999, 0, 1 ... */
uint32_t robot_peek_seq(const struct robot *r);

/* Total of an error cause over all robots and pending links. */
uint64_t robots_error_total(const struct bridge *b, enum frame_err e);

#endif
