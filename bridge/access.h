/* access.h - grants and token authentication (interface 1.1 A, B).
 *
 * Grants: a principal's grants are the union of every "access" rule whose
 * "who" matches it (anonymous; token:, user:, cert: by name; group: for a
 * user in that group; mqtt; "*": any principal but anonymous), each for
 * the rule's robots (default every robot). `what` is "watch", "control",
 * "takeover", "serve" or a command type name. Without "access" every
 * principal may do everything (v1: the robot's "commands" allowlist still
 * applies, and there is no lease). A grant never widens the allowlist.
 * Grants are checked in one place, the request path (request.c, send.c),
 * for every transport.
 *
 * Tokens: access_authenticate hashes the offered text with SHA-256 and
 * compares the digest with every entry of the tokens file in constant time
 * (CRYPTO_memcmp, no early exit). Failed attempts are counted per address
 * (TCP: the peer address without port; Unix socket: the peer uid): after
 * AUTH_FAILS_BEFORE_BLOCK in a row the address is blocked for
 * AUTH_BLOCK_FIRST s; an auth while blocked fails unchecked and does not
 * extend the block; each failure after a block doubles the next block, up
 * to AUTH_BLOCK_MAX s; a success resets the address. The table holds at
 * most AUTH_TABLE_MAX addresses; a new one evicts the least recently seen.
 * The token text is never logged, stored, audited or echoed.
 */
#ifndef RB_ACCESS_H
#define RB_ACCESS_H

#include "net.h"
#include "principal.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define AUTH_FAILS_BEFORE_BLOCK 5
#define AUTH_BLOCK_FIRST 1.0        /* s */
#define AUTH_BLOCK_MAX 60.0         /* s */
#define AUTH_TABLE_MAX 256          /* addresses with failures remembered */
#define AUTH_TOKEN_MAX 1024         /* longer offered tokens fail unchecked */

struct bridge;
struct client;

struct auth_failures {
    char key[ADDR_TEXT_MAX];        /* "" = unused */
    unsigned fails;                 /* consecutive failures before the first block */
    double block;                   /* length of the last block, 0 = never blocked */
    double blocked_until;           /* ev_now time */
    double seen;                    /* last attempt, for eviction */
};

struct auth_table {
    struct auth_failures entry[AUTH_TABLE_MAX];
};

/* May who do `what` on robot robot_index (-1: on at least one robot)? */
bool access_may(const struct bridge *b, const struct principal *who, int robot_index,
                const char *what);

/* Check a token for connection c: on success c->who becomes token:NAME.
 * Applies the back-off and writes the auth / auth_failed audit record.
 * The caller replies (AUTH or ERROR unauthorized) and wipes its copies. */
bool access_authenticate(struct bridge *b, struct client *c, const char *token, size_t len);
/* The same for a principal that is not a JSON connection (an HTTP request's
 * Authorization: Bearer): who becomes token:NAME; peer is "ADDR:PORT". */
bool access_authenticate_peer(struct bridge *b, struct principal *who, const char *peer,
                              const char *token, size_t len);

/* {ROBOT: ["watch", "control", ..., command types the allowlist has], ...}:
 * what who may do, robot by robot (robots with nothing left out). */
json_t *access_grants(const struct bridge *b, const struct principal *who);

/* The back-off decision alone, for tests: is key blocked at now? Record a
 * failure or a success at now. */
bool auth_blocked(const struct auth_table *t, const char *key, double now);
void auth_failed(struct auth_table *t, const char *key, double now);
void auth_succeeded(struct auth_table *t, const char *key);

/* Does one "who" entry of a rule name this principal? */
bool access_who_matches(const char *who_entry, const struct principal *p);

#endif
