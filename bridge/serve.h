/* serve.h - requests from the robot, answered by a serving client
 * (interface 1.1 H, PROTOCOL.md 5.9).
 *
 * A request frame (ROLE_REQUEST) is published as a FRAME like any other and
 * also delivered, as {"class":"REQUEST",...}, to the one client that serves
 * its type for that robot. REQUEST is a reply in admission terms: never
 * dropped for a slow client (one that does not read at all is cut off like
 * any client, and its requests get RX at once). The handler answers with
 * `reply`; the bridge writes the reply frame to the robot with the request's
 * seq, or RX,SEQ,CODE,TEXT (rx.h) when nobody serves the type (1), no reply
 * came within limits.robot_request_timeout (2), the reply was an error (3)
 * or invalid (4), or the robot already has SERVE_WAITING_MAX requests waiting
 * or one with the same seq (5).
 *
 * A request waits in its robot's list with its own timer until it is
 * answered. Its handler leaving (closing, or no longer serving the type)
 * answers each of its requests with RX 1 at once; the robot's link going
 * down drops them silently (the robot that asked is gone, and a new link
 * starts a new count), so a reply arriving later gets ERROR bad_request like
 * a second reply to the same seq.
 *
 * Ownership: waiting requests belong to their robot (robot.h) and are freed
 * when answered or dropped; a robot holds plain pointers to its handlers,
 * cleared by serve_client_gone() before a client is freed.
 */
#ifndef RB_SERVE_H
#define RB_SERVE_H

#include "bridge.h"
#include "decode.h"

#include <ev.h>
#include <jansson.h>
#include <stdint.h>

#define SERVE_WAITING_MAX 16 /* requests per robot waiting for a reply; more get RX 5 */

/* How a request ended, for STATS "robot_requests" (serve_stats). */
enum serve_outcome {
    SERVE_ANSWERED,   /* the reply frame was written to the robot */
    SERVE_NO_HANDLER, /* RX 1: nobody served the type, or the handler left */
    SERVE_TIMEOUT,    /* RX 2 */
    SERVE_ERROR,      /* RX 3 */
    SERVE_INVALID,    /* RX 4 */
    SERVE_BUSY,       /* RX 5 */
    SERVE_DROPPED,    /* the robot's link went down first; nothing written */
    SERVE_OUTCOMES
};

struct client;
struct robot;

/* One request waiting for its reply. */
struct robot_request {
    struct robot_request *next;
    struct robot *robot;      /* back-pointer, kept by serve_robot_moved() */
    struct client *handler;
    uint32_t seq;
    unsigned type_index;      /* schema index of the request's definition */
    ev_timer timer;           /* limits.robot_request_timeout */
};

/* A request frame came from the robot (robot.c dispatches on ROLE_REQUEST). */
void serve_on_request(struct robot *r, const struct frame_values *fv, double now);

/* {"cmd":"serve","robot","types"}: r NULL = every robot. The connection then
 * serves exactly these types for r (or every robot); [] stops. Errors:
 * bad_request, unknown_type (not a request type), busy (served by another
 * connection). The grant is checked by the caller (request.c). */
void serve_set(struct client *c, struct robot *r, const json_t *req, const json_t *id);

/* {"cmd":"reply","robot","seq","fields"|"error"}: see the header comment. */
void serve_reply(struct client *c, const json_t *req, const json_t *id);

/* A client is going away: it serves nothing more; its requests get RX 1. */
void serve_client_gone(struct bridge *b, struct client *c);

/* The robot's link went down: its waiting requests are dropped. */
void serve_link_down(struct robot *r);

/* r was moved by a reload (robot_move): its requests follow it. */
void serve_robot_moved(struct robot *r);

/* STATS: "robot_requests": {"answered":N,"no_handler":N,...}. */
void serve_stats(const struct bridge *b, json_t *reply);

#endif
