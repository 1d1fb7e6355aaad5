/* reload.h - SIGHUP: read the configuration file again and apply it live.
 *
 * A robot whose entry is unchanged keeps its link, state and pending
 * commands; a changed allowlist, checksum or limit applies at once. A robot
 * whose peer changed loses its link unless it already comes from the new
 * peer; a removed robot loses link and state; an added one can connect now.
 * Listener addresses, frame definitions and the mqtt section need a restart:
 * the running ones are kept and the log says so. A file that does not load
 * changes nothing. Every change is logged.
 */
#ifndef RB_RELOAD_H
#define RB_RELOAD_H

#include "bridge.h"

/* Returns 0 when the new configuration is in force, -1 when it was refused. */
int bridge_reload(struct bridge *b);

#endif
