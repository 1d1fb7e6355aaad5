/* local.h - the Unix socket listener (json_unix): clients known by uid.
 *
 * The socket file is created at json_unix.path with json_unix.mode and,
 * when given, json_unix.group; a stale socket file left by a bridge that
 * is gone is removed first (one that still answers is in use: an error),
 * and anything else at that path is an error. The file is removed again
 * at exit. A client's principal is user:NAME from its SO_PEERCRED uid,
 * with its groups; its peer text is "unix:uid=UID,pid=PID". Unix clients
 * are exempt from per-address limits and count against limits.max_clients.
 */
#ifndef RB_LOCAL_H
#define RB_LOCAL_H

#include "bridge.h"

/* Nothing to do without json_unix. -1 with err on failure. */
int local_open(struct bridge *b, char err[NET_ERR_MAX]);
void local_close(struct bridge *b);

#endif
