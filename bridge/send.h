/* send.h - a command request, from any origin -> the robot's command queue.
 *
 * req is the request object of the contract's `send` ({"robot","type",
 * "fields","id"}); the same checks apply whether it came from a JSON client
 * (any transport) or an MQTT command topic, in this order, the first
 * failure answering (interface 1.1 B): robot (bad_request / unknown_robot),
 * type (bad_request / unknown_type), the principal's grant for the type
 * (unauthorized), the robot's allowlist (forbidden), fields (bad_field),
 * the control lease (not_in_control; with "access" only, never for STOP:
 * a connection must hold the robot's lease, and MQTT is refused while any
 * connection holds it), link (robot_offline) and queue (busy), then the
 * audit trail's `command` record (audit_failed), which reaches the file
 * before the frame goes to the robot. Errors and the later ACK go to `to`;
 * a refusal is also an audit `refused` record.
 */
#ifndef RB_SEND_H
#define RB_SEND_H

#include "bridge.h"
#include "principal.h"
#include "reply.h"

#include <jansson.h>

/* Who asks: the principal, its peer text (NULL for MQTT) and the
 * connection that may hold a lease (NULL for MQTT). */
struct send_origin {
    const struct principal *who;
    const char *peer;
    const struct client *conn;
};

void send_submit(struct bridge *b, const struct send_origin *from, const json_t *req,
                 struct reply_to to);

#endif
