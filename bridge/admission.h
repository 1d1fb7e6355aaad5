/* admission.h - the queue-or-drop decisions, one small function each.
 *
 * Each takes plain numbers about one queue and says what to do with one more
 * message or command; the caller then does it and counts it. Pure: no I/O,
 * no allocation, no bridge state, so every edge is unit-tested by table
 * (tests/unit/test_admission.c). The bounds themselves are configuration
 * (limits.client_queue_bytes, limits.command_queue, mqtt.queue_messages) and
 * CLIENT_HARD_FACTOR here; PROTOCOL.md 5.6 and 8.8/8.9 describe them to users.
 */
#ifndef RB_ADMISSION_H
#define RB_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A client queue past this many times its soft limit is cut off. */
#define CLIENT_HARD_FACTOR 2

enum admit {
    ADMIT_QUEUE,        /* append it */
    ADMIT_DROP,         /* do not queue it; count it as dropped */
    ADMIT_DROP_OLDEST,  /* drop (and count) the oldest queued one, then append it */
    ADMIT_CUT_OFF,      /* do not queue it; close the connection, counted as a disconnect */
};

/* One message for a client whose queue holds `queued` unwritten
 * bytes, soft limit `soft`:
 *  ADMIT_DROP     a stream message (FRAME, LINK) while queued >= soft;
 *                 replies are never dropped;
 *  ADMIT_CUT_OFF  any other message while the queue already holds more than
 *                 CLIENT_HARD_FACTOR x soft (a client that sends requests and
 *                 does not read the replies); only what is queued counts, so
 *                 one reply larger than the limit (a big STATE) still reaches
 *                 a client that reads, and a queue holds at most the hard
 *                 limit plus one message;
 *  ADMIT_QUEUE    otherwise. */
enum admit client_admit(size_t queued, bool stream, size_t soft);

/* Is a DROPPED notice due to a client? True when it lost stream messages
 * (dropped > 0) and its queue has drained below half the soft limit; the
 * half keeps the notice from going out while the client is still behind. */
bool client_drops_due(uint64_t dropped, size_t queued, size_t soft);

/* A robot's command slots as a new command finds them. */
struct command_slots {
    bool linked;          /* the robot has a link */
    bool normal_busy;     /* a command is in flight */
    bool urgent_busy;     /* an urgent command (STOP) is in flight beside it */
    unsigned queued;      /* commands waiting behind the one in flight */
    unsigned queue_max;   /* limits.command_queue */
};

enum command_admit {
    COMMAND_OFFLINE,      /* refuse: robot_offline */
    COMMAND_BUSY,         /* refuse: busy, the queue is full */
    COMMAND_QUEUE,        /* append to the queue (written at once when nothing is in flight) */
    COMMAND_URGENT,       /* write now in the urgent slot, beside the one in flight */
};

/* One more command, `urgent` from its frame definition (STOP). An urgent
 * command overtakes only a command in flight, and only one at a time: with
 * nothing in flight it is queued like any other (and so written at once),
 * and a second one while the first is unanswered waits in the queue. */
enum command_admit command_admit(const struct command_slots *s, bool urgent);

/* One more message for the MQTT broker queue holding `queued` of `cap`:
 *  ADMIT_DROP         not connected (the state is republished on connect);
 *  ADMIT_DROP_OLDEST  the queue is full: the oldest goes, the newest stays;
 *  ADMIT_QUEUE        otherwise. */
enum admit mqtt_admit(bool connected, size_t queued, size_t cap);

#endif
