/* lease.h - one commander per robot: the control lease (interface 1.1 C).
 *
 * With "access" configured, a command other than STOP needs its robot's
 * lease; STOP needs only its grant. A connection takes a free lease
 * (grant control), takes a held one over (grant takeover), releases it, or
 * loses it when it closes. Each change is one CONTROL message
 *   {"class":"CONTROL","robot","state":"taken"|"released","holder",
 *    "previous" (takeover only),"reason":"release"|"disconnect" (released)}
 * sent to every watcher of that robot through the hub (hub_publish_notice),
 * to the previous holder on a takeover, and written to the audit trail
 * (control, takeover, release). The requester gets its reply from
 * request.c, built by lease_control_json.
 *
 * Leases are kept by robot name, at most one per configured robot
 * (ROBOTS_MAX); a holder is a connection (struct client), never a name, so
 * two connections of one principal do not share a lease. Grants are
 * checked by the caller (request.c), not here.
 */
#ifndef RB_LEASE_H
#define RB_LEASE_H

#include "config.h"
#include "principal.h"

#include <jansson.h>
#include <stdbool.h>

struct bridge;
struct client;
struct robot;

struct lease {
    char robot[IDENT_MAX + 1];        /* "" = slot unused */
    const struct client *holder;
    char holder_text[PRINCIPAL_TEXT_MAX];
};

struct lease_table {
    struct lease slot[ROBOTS_MAX];
};

enum lease_take {
    LEASE_TAKEN,       /* it was free, or taken over: CONTROL sent */
    LEASE_YOURS,       /* the requester already holds it: nothing changed */
    LEASE_HELD,        /* another connection holds it and takeover was not asked */
};

/* The principal text of the holder of robot's lease, or NULL when free. */
const char *lease_holder(const struct bridge *b, const char *robot);
bool lease_held_by(const struct bridge *b, const char *robot, const struct client *c);

/* Take r's lease for c (takeover: even when another holds it; the caller
 * checked the grant). *previous gets the old holder's text on a takeover
 * ("" otherwise). */
enum lease_take lease_take(struct bridge *b, struct robot *r, struct client *c, bool takeover,
                           char previous[PRINCIPAL_TEXT_MAX]);
/* Release r's lease held by c: false when c does not hold it. */
bool lease_release(struct bridge *b, struct robot *r, struct client *c);
/* c is closing: every lease it holds is released (reason disconnect). */
void lease_client_gone(struct bridge *b, struct client *c);
/* After a reload: leases of robots no longer configured are dropped. */
void lease_prune(struct bridge *b);

/* A CONTROL object (previous, reason: NULL to leave out); NULL on no memory. */
json_t *lease_control_json(const char *robot, const char *state, const char *holder,
                           const char *previous, const char *reason);

#endif
