/* send.h - a command request, from any origin -> the robot's command queue.
 *
 * req is the request object of the contract's `send` ({"robot","type",
 * "fields","id"}); the same checks apply whether it came from a JSON client
 * or an MQTT command topic, in this order: robot (unknown_robot /
 * bad_request), type (unknown_type), the robot's allowlist (forbidden),
 * fields (bad_field), link (robot_offline), queue (busy). Errors and the
 * later ACK go to `to`.
 */
#ifndef RB_SEND_H
#define RB_SEND_H

#include "bridge.h"
#include "reply.h"

#include <jansson.h>

void send_submit(struct bridge *b, const json_t *req, struct reply_to to);

#endif
