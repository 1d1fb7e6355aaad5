/* lograte.h - at most one log line per cause per second.
 *
 * Refused connections and bad handshakes come as fast as a hostile host can
 * open sockets; one line each would flood the journal (and hit its rate
 * limit, hiding the bridge's real messages). Each cause logs its first
 * event, then folds the events of the next LOGRATE_PERIOD seconds into a
 * count that the next line of that cause carries as
 * "(N more like this folded)"; lograte_flush() (called about once a second)
 * writes a count that no later event would carry.
 *
 * Nothing here allocates; struct lograte lives in struct bridge.
 */
#ifndef RB_LOGRATE_H
#define RB_LOGRATE_H

#include "log.h"

#include <stdbool.h>
#include <stdint.h>

#define LOGRATE_PERIOD 1.0     /* seconds between two lines of one cause */

enum lograte_cause {
    LOGRATE_ROBOT_BUSY,        /* the robot port: ROBOT_PENDING_MAX wait for HI */
    LOGRATE_ROBOT_PER_ADDRESS, /* limits.max_pending_per_address */
    LOGRATE_ROBOT_BAD_HELLO,   /* a bad first frame (a malformed HI included) */
    LOGRATE_ROBOT_NOT_HELLO,   /* a good first frame that is not HI */
    LOGRATE_ROBOT_UNKNOWN_NAME,/* HI names a robot that is not configured */
    LOGRATE_ROBOT_PEER,        /* HI from an address the robot may not use */
    LOGRATE_ROBOT_HELLO_TIMEOUT,
    LOGRATE_CLIENT_BUSY,       /* limits.max_clients */
    LOGRATE_CLIENT_PER_ADDRESS,/* limits.max_clients_per_address */
    LOGRATE_CLIENT_TIMEOUT,    /* first_request_timeout, request_timeout */
    LOGRATE_CAUSES
};

struct lograte_slot {
    double last;               /* when a line of this cause was written; 0 never */
    uint64_t folded;           /* events since then without a line */
};

struct lograte {
    struct lograte_slot slot[LOGRATE_CAUSES];
};

/* Log the line (with the folded count) when the cause's period is over,
 * else count it as folded. Returns true when a line was written. */
bool lograte_log(struct lograte *lr, const struct logger *lg, double now,
                 enum lograte_cause cause, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* For each cause with folded events whose period is over, one line with
 * the count. */
void lograte_flush(struct lograte *lr, const struct logger *lg, double now);

/* Events folded so far for a cause (for tests). */
uint64_t lograte_folded(const struct lograte *lr, enum lograte_cause cause);

#endif
