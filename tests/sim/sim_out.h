/* sim_out.h - the simulator's bounded output queue and its socket writer.
 *
 * Frames are queued whole and written when the socket takes them, so no
 * write ever happens inside a read callback. A frame that does not fit in
 * OUT_CAP is refused (the caller counts and logs it): a robot stuck behind a
 * bridge that does not read would block in SocketSend, the simulator drops.
 * In split mode every write() carries 1..OUT_PIECE_MAX bytes, never crossing
 * the end of a frame, so the bridge sees frames cut at random points.
 */
#ifndef SIM_OUT_H
#define SIM_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUT_CAP (256 * 1024)    /* bytes queued at most */
#define OUT_HIGH (32 * 1024)    /* replay waits while more than this is queued */
#define OUT_PIECE_MAX 7         /* --split: bytes per write() */

struct sim_out {
    size_t off, len;            /* queued bytes are buf[off .. off+len) */
    char buf[OUT_CAP];
};

/* xorshift64*: the simulator's only randomness, seeded per run. */
static inline uint32_t sim_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

void out_clear(struct sim_out *o);
/* Queue n bytes; false (nothing queued) when they do not fit. */
bool out_push(struct sim_out *o, const char *data, size_t n);

/* Write what the socket takes now. Returns 0 (o->len says what is left) or
 * -1 with errno set on a socket error other than EAGAIN. */
int out_write(struct sim_out *o, int fd, bool split, uint64_t *rng);

#endif
