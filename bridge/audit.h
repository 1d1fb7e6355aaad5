/* audit.h - the audit trail: append-only JSON lines, each chained to the last.
 *
 * With "audit_file" configured, every record (interface 1.1 D) is one line
 * {"time":UNIX_SECONDS,"event":...,"prev":HEX,...} written with a single
 * write() to a file opened O_APPEND. "prev" is the hex SHA-256 of the
 * previous line's bytes without its LF; the first line written after
 * start is chained to the last line already in the file (read at open), or
 * to 64 zeros for an empty file. A reopen (SIGHUP, log rotation) keeps the
 * chain: the first line of the new file names the last line of the old one.
 *
 * Failure: audit_record() returns -1 when the line could not be written
 * whole (no file open, write error, short write); the failure is counted
 * (STATS audit.failures) and logged. Callers that must not act unaudited
 * (commands: the `command` record reaches the file before the frame goes to
 * the robot) refuse with ERROR audit_failed. While the file cannot be
 * reopened, every record fails.
 *
 * Records are bounded by what goes into them (a command is at most 80 bytes
 * of fields); nothing here holds a secret: callers never pass token text.
 *
 * Ownership: audit_record steals the record; the bridge owns struct audit.
 */
#ifndef RB_AUDIT_H
#define RB_AUDIT_H

#include "principal.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define AUDIT_HASH_HEX 64          /* hex digits of a SHA-256 */
#define AUDIT_TAIL_MAX (64 * 1024) /* bytes read back to find the file's last line */
#define AUDIT_ERR_MAX 320

struct bridge;

struct audit {
    int fd;                        /* -1: none open (no audit_file, or reopen failed) */
    char prev[AUDIT_HASH_HEX + 1]; /* hash of the last line written */
    uint64_t failures;             /* records that could not be written */
    bool failing;                  /* the last record failed (logged once per run of them) */
};

/* Start: open b->cfg.audit_file (nothing to do without one) and read its
 * last line; -1 with err when it cannot be opened. Writes the start record. */
int audit_open(struct bridge *b, char err[AUDIT_ERR_MAX]);
/* SIGHUP: reopen by name, chain kept; on failure records fail until the
 * next successful reopen. */
void audit_reopen(struct bridge *b);
/* Shutdown: the stop record, then close. */
void audit_close(struct bridge *b, const char *reason);

bool audit_enabled(const struct bridge *b);

/* Add time, event's prev and write one line. Returns 0, or -1 (see above);
 * 0 without an audit file. */
int audit_record(struct bridge *b, json_t *record /* stolen */);

/* {"event":event,"principal":...,"peer":...}: a record about a connection
 * (who NULL or peer NULL: left out). NULL when out of memory. */
json_t *audit_event(const char *event, const struct principal *who, const char *peer);

/* Adds "audit": {"failures": N} to a STATS reply when auditing is on. */
void audit_stats(const struct bridge *b, json_t *reply);

/* The hex SHA-256 of len bytes (the chain's hash). */
void audit_hash(const void *data, size_t len, char hex[AUDIT_HASH_HEX + 1]);

#endif
