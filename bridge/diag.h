/* diag.h - what the bridge keeps so that a robot that does not link can be
 * explained (interface 1.1, section G), and the replies that show it.
 *
 * - A refused robot connection (refusal.h): the connection gets a NO frame
 *   with the code and a short text, then the caller closes it. The refusal
 *   is counted by reason; when its HI named a configured robot, it becomes
 *   that robot's last_refused {time, peer, reason, code, hint}; when it named
 *   a robot that is not configured, it joins the last DIAG_UNKNOWN_MAX
 *   unknown_hellos {time, peer, name} (the oldest goes).
 * - Connections accepted on the robot port, and the port's bound address.
 * - Requests from JSON clients, and their ERROR replies by code
 *   (DIAG_CODES_MAX codes; a code beyond them is counted as "other").
 *
 * Texts are cut to their buffers. Times are the loop's Unix time. Nothing
 * here allocates; struct diag lives in struct bridge, a robot's
 * struct diag_refused in struct robot (it moves with the robot on reloads).
 */
#ifndef RB_DIAG_H
#define RB_DIAG_H

#include "net.h"
#include "refusal.h"
#include "schema.h"

#include <jansson.h>
#include <stdint.h>

#define DIAG_UNKNOWN_MAX 8     /* unknown_hellos kept */
#define DIAG_HINT_MAX 200      /* bytes of a hint, NUL included */
#define DIAG_CODES_MAX 32      /* distinct ERROR codes counted */
#define DIAG_CODE_LEN 24       /* bytes of an ERROR code, NUL included */

struct bridge;
struct robot;

struct diag_refused {
    double time;               /* 0: never refused */
    enum refusal code;
    char peer[ADDR_TEXT_MAX];
    char hint[DIAG_HINT_MAX];
};

struct diag_unknown {
    double time;
    char peer[ADDR_TEXT_MAX];
    char name[IDENT_MAX + 1];
};

struct diag_count {
    char code[DIAG_CODE_LEN];
    uint64_t n;
};

struct diag {
    char robot_port[ADDR_TEXT_MAX]; /* bound address of the robot listener */
    uint64_t connections;      /* accepted on the robot port */
    uint64_t refused[REFUSAL_COUNT];
    struct diag_unknown unknown[DIAG_UNKNOWN_MAX];
    unsigned unknown_next, unknown_n;
    uint64_t requests;         /* request lines from JSON clients */
    struct diag_count errors[DIAG_CODES_MAX];
    unsigned nerrors;
};

/* One refused robot connection. */
struct refused_link {
    int fd;                    /* the connection, still open; the caller closes it */
    const char *peer;          /* "addr:port" as ROBOTS spells it */
    enum refusal code;
    const char *name;          /* the name its HI gave, or NULL */
    const char *detail;        /* by code: PEER the allowed address, PROTO the version
                                * sent, BAD_HELLO the frame error, NOT_HELLO the type
                                * sent, HELLO_TIMEOUT the seconds; else NULL */
};

/* Send the NO frame (best effort, never blocking), count and remember the
 * refusal. The caller logs it and closes the connection. */
void diag_refuse(struct bridge *b, const struct refused_link *rl);

/* Request bookkeeping, for STATS requests. */
void diag_count_request(struct bridge *b);
void diag_count_error(struct bridge *b, const char *code);

/* Reply members: last_refused into one ROBOTS entry, unknown_hellos into the
 * ROBOTS reply, robot_port and requests into STATS. Absent when empty. */
void diag_robot_entry(const struct robot *r, json_t *entry);
void diag_robots_reply(const struct bridge *b, json_t *reply);
void diag_stats(const struct bridge *b, json_t *reply);

#endif
