/* sim_out.c - bounded output queue and writer (see sim_out.h). */
#include "sim_out.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void out_clear(struct sim_out *o)
{
    o->off = o->len = 0;
}

bool out_push(struct sim_out *o, const char *data, size_t n)
{
    if (n > OUT_CAP - o->len)
        return false;
    if (o->off + o->len + n > OUT_CAP) {
        memmove(o->buf, o->buf + o->off, o->len);
        o->off = 0;
    }
    memcpy(o->buf + o->off + o->len, data, n);
    o->len += n;
    return true;
}

/* Bytes for the next write(): everything, or one random piece that ends at
 * the latest with the current frame's LF. */
static size_t next_chunk(const struct sim_out *o, bool split, uint64_t *rng)
{
    if (!split)
        return o->len;
    const char *p = o->buf + o->off;
    const char *lf = memchr(p, '\n', o->len);
    size_t to_end = lf ? (size_t)(lf - p) + 1 : o->len;
    size_t piece = 1 + sim_rand(rng) % OUT_PIECE_MAX;
    return piece < to_end ? piece : to_end;
}

int out_write(struct sim_out *o, int fd, bool split, uint64_t *rng)
{
    while (o->len > 0) {
        size_t n = next_chunk(o, split, rng);
        ssize_t w = send(fd, o->buf + o->off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        o->off += (size_t)w;
        o->len -= (size_t)w;
        if (o->len == 0)
            o->off = 0;
    }
    return 0;
}
