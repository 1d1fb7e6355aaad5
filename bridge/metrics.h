/* metrics.h - the counters behind /metrics, and their Prometheus text.
 *
 * Counting costs an array increment on the hot path: frames by type and
 * command outcomes by type live in struct robot (robot.h), indexed by schema
 * index; the ack round-trip histogram (send -> AK, per robot) has fixed
 * buckets. metrics_render writes the Prometheus text format 0.0.4 with
 * every family of interface 1.1 F, present even when zero; label values are
 * escaped (\\ \" \n). Counters only grow: a reload carries a robot's
 * counters along (robot_move copies them); a removed robot's are gone with
 * its series.
 *
 * Ownership: metrics_render returns a malloc'd text the caller frees, or
 * NULL when out of memory.
 */
#ifndef RB_METRICS_H
#define RB_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct bridge;

/* How a command to a robot ended; the names are the audit outcomes in lower
 * case (rapidbridge_commands_total{outcome}). */
enum cmd_outcome {
    OUTCOME_OK, OUTCOME_ERR, OUTCOME_TIMEOUT, OUTCOME_OFFLINE, OUTCOME_BUSY, OUTCOMES
};

/* Upper bounds (seconds) of the ack histogram's buckets, +Inf excluded:
 * from a fast robot on the cell network (~1 ms) to the default ack timeout
 * (5 s). */
#define ACK_BUCKETS 12
#define ACK_BUCKET_BOUNDS {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0}

struct ack_hist {
    uint64_t bucket[ACK_BUCKETS]; /* observations <= bound i (not cumulative) */
    uint64_t count;
    double sum;
};

void ack_hist_observe(struct ack_hist *h, double seconds);
const char *cmd_outcome_name(enum cmd_outcome o);

char *metrics_render(struct bridge *b, size_t *len);

#endif
