/* hub.h - the one door out: every stream message leaves through here.
 *
 * A producer (robot.c, at shutdown bridge.c) hands a message to the hub and
 * never names a consumer. A consumer registers a struct hub_output: its ops,
 * and which robots and frame types it wants. The hub calls each output whose
 * masks match, in registration order; the output applies its own filters and
 * its own bounded-queue policy (admission.h), and must not block: the robot
 * side never waits here. Outputs now: the TCP watchers (client.c) and MQTT
 * (mqtt.c).
 *
 * A message is rendered once by the producer and shared: an output that
 * keeps it takes its own reference (msg_ref). Messages are valid only during
 * the call otherwise.
 *
 * Robots are named by index, which a configuration reload may change:
 * hub_remap tells every output how old indexes map to new ones (an output
 * that follows robots by name needs no remap op), and remaps the outputs'
 * own robot masks.
 *
 * Ownership: the output's owner keeps its struct hub_output alive from
 * hub_register until hub_unregister.
 */
#ifndef RB_HUB_H
#define RB_HUB_H

#include "config.h"
#include "msg.h"

#include <stdbool.h>
#include <stdint.h>

struct bridge;
struct hub_output;

#define HUB_ALL_ROBOTS UINT32_MAX   /* a robot mask that also takes in robots added later */
#define HUB_ALL_TYPES UINT64_MAX
#define HUB_ROBOT_GONE (-1)         /* hub_remap.to[]: the robot was removed */

/* Old robot index i is now to[i] (or HUB_ROBOT_GONE), for i < nold. */
struct hub_remap {
    unsigned nold;
    int to[ROBOTS_MAX];
};

struct hub_output_ops {
    /* A FRAME of robot robot_index, frame type schema_at(type_index). */
    void (*frame)(struct hub_output *o, unsigned robot_index, unsigned type_index, struct msg *m);
    /* A robot's link went up or down; m is its LINK notice (NULL when it
     * could not be rendered: out of memory). Not filtered by type. */
    void (*link)(struct hub_output *o, unsigned robot_index, bool up, struct msg *m);
    /* Optional: a notice for everyone connected (BYE at shutdown). */
    void (*broadcast)(struct hub_output *o, struct msg *m);
    /* Optional: robot indexes changed (reload). */
    void (*remap)(struct hub_output *o, const struct hub_remap *map);
    /* Optional: a notice about robot robot_index for everyone who follows
     * that robot (CONTROL), except the connection `except` (already
     * answered directly; NULL: none). Never dropped as a stream message. */
    void (*notice)(struct hub_output *o, unsigned robot_index, struct msg *m, const void *except);
};

struct hub_output {
    const struct hub_output_ops *ops;
    void *ctx;                  /* the owner's, for the ops */
    uint32_t robots;            /* bit i: robot i; HUB_ALL_ROBOTS: every robot */
    uint64_t types;             /* bit i: schema_at(i); HUB_ALL_TYPES: every type */
    struct hub_output *next;    /* the bridge's list */
};

void hub_register(struct bridge *b, struct hub_output *o);
void hub_unregister(struct bridge *b, struct hub_output *o);

void hub_publish_frame(struct bridge *b, unsigned robot_index, unsigned type_index, struct msg *m);
void hub_publish_link(struct bridge *b, unsigned robot_index, bool up, struct msg *m);
void hub_broadcast(struct bridge *b, struct msg *m);
void hub_publish_notice(struct bridge *b, unsigned robot_index, struct msg *m, const void *except);
void hub_remap(struct bridge *b, const struct hub_remap *map);

/* A robot mask under a remap: the bits of robots that moved follow them,
 * removed robots' bits go; HUB_ALL_ROBOTS stays so. */
uint32_t hub_remap_robots(const struct hub_remap *map, uint32_t mask);

#endif
