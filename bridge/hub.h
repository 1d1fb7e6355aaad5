/* hub.h - fan-out of stream messages to the clients that watch them.
 *
 * A message is rendered once by the caller and shared: every watching
 * client whose filter matches gets a reference in its queue (client_push
 * decides, per client, whether it is behind and drops it). The robot side
 * never waits here; the writes happen later, when the loop is about to sleep.
 */
#ifndef RB_HUB_H
#define RB_HUB_H

#include "bridge.h"
#include "msg.h"

/* A FRAME of robot robot_index, frame type number type_index (schema_at). */
void hub_publish_frame(struct bridge *b, unsigned robot_index, unsigned type_index, struct msg *m);
/* A LINK notice: goes to watchers of that robot, whatever their type filter. */
void hub_publish_link(struct bridge *b, unsigned robot_index, struct msg *m);
/* A notice to every connected client (BYE at shutdown). */
void hub_broadcast(struct bridge *b, struct msg *m);

#endif
