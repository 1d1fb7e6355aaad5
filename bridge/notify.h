/* notify.h - tell systemd how the daemon is doing (sd_notify, libsystemd).
 *
 * Only under a service manager: when NOTIFY_SOCKET is not set at start,
 * notify_open() does nothing and no watcher runs, so the daemon behaves as
 * it always did. Under systemd (Type=notify, NotifyAccess=main):
 *
 *   READY=1 + STATUS=     once the listeners are bound (notify_open)
 *   RELOADING=1           when a SIGHUP reload starts (notify_reloading) ...
 *   READY=1 + STATUS=     ... and when it is over, applied or refused
 *                         (notify_reloaded); a refused reload keeps "reload
 *                         refused" in STATUS until a reload succeeds
 *   STOPPING=1            at shutdown (notify_stopping)
 *   STATUS=               "2/3 robots linked: rob1, rob2; 4 clients", sent
 *                         when the text changed, checked every
 *                         NOTIFY_STATUS_PERIOD seconds (so at most once a
 *                         second)
 *   WATCHDOG=1            every WATCHDOG_USEC/2 from an event-loop timer,
 *                         when the manager asks for it (sd_watchdog_enabled:
 *                         WATCHDOG_USEC set and WATCHDOG_PID unset or ours);
 *                         a stalled loop stops the keep-alives and the
 *                         manager acts on it (WatchdogSec= in the unit)
 *
 * A failed sd_notify is logged once at debug level and otherwise ignored:
 * the bridge keeps serving robots whether or not the manager listens.
 *
 * Ownership: the state lives in struct bridge (b->notify); notify_close()
 * stops the watchers notify_open() started.
 */
#ifndef RB_NOTIFY_H
#define RB_NOTIFY_H

#include <ev.h>
#include <stdbool.h>

#define NOTIFY_STATUS_PERIOD 1.0 /* seconds between STATUS= checks */
#define NOTIFY_STATUS_MAX 1280   /* 32 robot names of 32 characters, counts and words */

struct bridge;

struct notify {
    bool enabled;                /* NOTIFY_SOCKET was set at notify_open */
    bool send_failed;            /* one debug line, not one per message */
    bool reload_refused;         /* the last reload left the old configuration */
    ev_timer status_timer;
    ev_timer watchdog_timer;     /* running only when the watchdog is on */
    char status[NOTIFY_STATUS_MAX]; /* the STATUS= text last sent */
};

void notify_open(struct bridge *b);
void notify_reloading(struct bridge *b);
void notify_reloaded(struct bridge *b, bool applied);
void notify_stopping(struct bridge *b);
void notify_close(struct bridge *b);

#endif
