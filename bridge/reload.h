/* reload.h - SIGHUP: read the configuration file again and apply it live.
 *
 * A robot whose entry is unchanged keeps its link, state and pending
 * commands; a changed allowlist, checksum or limit applies at once. A robot
 * whose peer changed loses its link unless it already comes from the new
 * peer; a removed robot loses link and state; an added one can connect now.
 * Listener addresses, frame definitions and the mqtt section need a restart:
 * the running ones are kept and the log says so. A file that does not load
 * changes nothing, and neither does running out of memory while the robots
 * are set up (everything is allocated before anything changes). Every
 * change is logged. Robots move to their new indexes through the hub
 * (hub_remap), so outputs need nothing from here.
 */
#ifndef RB_RELOAD_H
#define RB_RELOAD_H

#include "bridge.h"

/* Returns 0 when the new configuration is in force, -1 when it was refused. */
int bridge_reload(struct bridge *b);

#endif
