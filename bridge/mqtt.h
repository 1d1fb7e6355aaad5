/* mqtt.h - publish robot state to the plant's MQTT broker.
 *
 * Enabled by the configuration's "mqtt" section. libmosquitto runs on the
 * bridge's own libev loop (its socket and its periodic `misc` call as
 * watchers), never in a thread of its own, and never blocks the loop: a
 * broker that is down or slow only fills a bounded queue whose oldest
 * messages are dropped and counted. The robot links and JSON clients never
 * wait for the broker.
 *
 * Topics: <prefix>/<robot>/<TYPE> (the FRAME JSON a watcher gets, retained,
 * rate-capped per type), <prefix>/<robot>/link ("up"/"down", retained),
 * <prefix>/bridge/status ("online", retained; last will "offline").
 * Commands: <prefix>/<robot>/cmd (the `send` request's JSON) answered on
 * <prefix>/<robot>/ack, only for robots whose configuration allows it.
 *
 * Ownership: b->mqtt is created by mqtt_open and freed by mqtt_close.
 * Every hook is a no-op when MQTT is not configured.
 */
#ifndef RB_MQTT_H
#define RB_MQTT_H

#include "bridge.h"
#include "msg.h"
#include "schema.h"

#include <jansson.h>
#include <stdbool.h>

/* Returns -1 with a message only for a configuration that cannot work
 * (e.g. unreadable TLS files); an unreachable broker is retried forever. */
int mqtt_open(struct bridge *b, char err[NET_ERR_MAX]);
void mqtt_close(struct bridge *b);

/* A published frame of robot robot_index (the same msg the hub shares). */
void mqtt_frame(struct bridge *b, unsigned robot_index, const struct frame_def *d, struct msg *m);
/* A robot's link went up or down. */
void mqtt_link(struct bridge *b, unsigned robot_index, bool up);
/* Adds an "mqtt" member with counters to a STATS reply. */
void mqtt_stats(struct bridge *b, json_t *stats);

#endif
