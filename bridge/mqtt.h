/* mqtt.h - publish robot state to the plant's MQTT broker.
 *
 * Enabled by the configuration's "mqtt" section (config.h). libmosquitto runs
 * on the bridge's own libev loop (mqtt_session.h: its socket and its periodic
 * `misc` call as watchers), never in a thread of its own, and never blocks
 * the loop. The robot links and JSON clients never wait for the broker.
 *
 * Topics (every message with the configured QoS):
 *  <prefix>/<robot>/<TYPE>    the FRAME JSON a watcher gets, byte for byte
 *                             (no LF); retained; types in mqtt.types only
 *  <prefix>/<robot>/link      "up" / "down", retained; every configured robot
 *  <prefix>/bridge/status     "online", retained; "offline" at shutdown and as
 *                             the last will (retained) when the bridge dies
 *  <prefix>/<robot>/cmd       commands in (see below)
 *  <prefix>/<robot>/ack       their ACK / ERROR JSON, not retained
 *
 * Rate cap (mqtt.rate, Hz per type): per robot and type at most one message
 * per 1/rate s. A frame that comes sooner is kept (the newest replaces the
 * one kept) and published when the interval ends, so the last state always
 * goes out.
 *
 * Broker slow or down: at most MQTT_WINDOW messages are inside libmosquitto;
 * behind them a queue of mqtt.queue_messages, whose oldest message is dropped
 * (counted) when a new one does not fit. While not connected nothing is
 * queued: each topic's present state is kept, the queue is dropped
 * (counted) when the connection goes, and after every (re)connect the
 * bridge publishes status, every link and every latest frame again, then
 * what comes next. Reconnects back off from 0.5 s to 30 s.
 *
 * Commands: only when at least one robot has "mqtt_commands": true does the
 * bridge subscribe to <prefix>/+/cmd (otherwise nothing is subscribed and
 * nothing answered). The payload is the JSON client's `send` request
 * ({"type","fields","id"}; "cmd" is not needed; "robot" may be left out and
 * must otherwise name the topic's robot); the checks are the same
 * (send.h), preceded by: an empty payload is ignored (it clears a retained
 * message), a retained command delivered at subscribe time is refused
 * (bad_request: it would run again at every reconnect), a payload over
 * 64 KiB is bad_request, bad JSON is bad_json, an unknown robot is
 * unknown_robot, a robot without mqtt_commands is forbidden. A message in
 * a packet over MQTT_PACKET_MAX never arrives: with MQTT 5 the broker drops
 * it unsent (mqtt_session.h), so it is neither read nor answered.
 *
 * Client id: mqtt.client_id, by default "rapidbridge-<host name>-<robot
 * port>-<JSON port>" with the ports the listeners are bound to, unique per
 * instance on a host.
 *
 * Stats: mqtt_stats adds {"connected", "published" (written to the socket,
 * or acknowledged for QoS 1/2), "dropped" (pushed out of the full queue,
 * queued or inside the library when a connection was lost, answers to
 * commands while not connected), "queued" (in the queue or the library)}.
 *
 * The section is copied at mqtt_open: a reload does not change a running
 * session. Robots are followed by name, so reloads that add, move or remove
 * robots need nothing here; mqtt_commands is read at each command.
 *
 * Frames and link changes come from the hub (hub.h): mqtt_open registers
 * the session as an output for every robot and the types in mqtt.types;
 * mqtt_close unregisters it.
 *
 * Ownership: b->mqtt is created by mqtt_open and freed by mqtt_close, which
 * publishes "offline" and flushes for at most MQTT_FLUSH_SECONDS (when that
 * is not enough the connection is dropped and the will says "offline").
 * Every hook is a no-op when MQTT is not configured.
 */
#ifndef RB_MQTT_H
#define RB_MQTT_H

#include "bridge.h"
#include "msg.h"
#include "schema.h"

#include <jansson.h>
#include <stdbool.h>

/* A command payload larger than this is refused (bad_request); one too
 * large for MQTT_PACKET_MAX is not delivered at all (MQTT 5). */
#define MQTT_CMD_MAX (64 * 1024)
/* At shutdown: time allowed to hand over the queue and "offline". */
#define MQTT_FLUSH_SECONDS 0.5

/* Returns -1 with a message only for a configuration that cannot work
 * (e.g. unreadable TLS files); an unreachable broker is retried forever. */
int mqtt_open(struct bridge *b, char err[NET_ERR_MAX]);
void mqtt_close(struct bridge *b);

/* Adds an "mqtt" member with counters to a STATS reply. */
void mqtt_stats(struct bridge *b, json_t *stats);
/* Is the bridge connected to the broker now (false without MQTT)? */
bool mqtt_connected(const struct bridge *b);

#endif
