/* framer.h - split a robot byte stream into checked frame lines.
 *
 * Feed any chunks of bytes; every complete line comes out, in order, through
 * the line callback, already checked for length, printable bytes and (when a
 * "*HH" suffix is present) its checksum. The line handed over has its
 * checksum, CR and LF removed and is NUL-terminated; it lives in the framer's
 * own buffer and is valid only during the call.
 *
 * Bounds: a line is at most FRAME_MAX bytes including its LF. A longer line is
 * dropped whole, reported once as FRAME_ERR_TOO_LONG, and reading resumes
 * after its LF. A line with a byte outside 0x20..0x7E (other than one CR just
 * before the LF) is dropped and reported once as FRAME_ERR_NON_PRINTABLE.
 * Empty lines are skipped silently. Never allocates; one framer per link.
 */
#ifndef RB_FRAMER_H
#define RB_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 1024 /* robot -> bridge, bytes including LF */

/* Why a frame was dropped. The names (frame_err_name) are the keys of the
 * `stats` reply; FRAME_ERR_BEFORE_HELLO is raised by the link layer. */
enum frame_err {
    FRAME_ERR_TOO_LONG,
    FRAME_ERR_NON_PRINTABLE,
    FRAME_ERR_BAD_CHECKSUM,
    FRAME_ERR_UNKNOWN_TYPE,
    FRAME_ERR_FIELD_COUNT,
    FRAME_ERR_BAD_VALUE,
    FRAME_ERR_BEFORE_HELLO,
    FRAME_ERR_COUNT
};

const char *frame_err_name(enum frame_err err);

/* A callback returns 0 to go on, or non-zero to stop framer_feed at once
 * (the link was closed inside the callback and the framer may be gone). */
typedef int framer_line_fn(void *ctx, const char *line, size_t len);
typedef int framer_error_fn(void *ctx, enum frame_err err);

struct framer {
    framer_line_fn *on_line;
    framer_error_fn *on_error;
    void *ctx;
    size_t len;        /* bytes of the current line held in buf */
    bool discarding;   /* current line already too long: skip to LF */
    char buf[FRAME_MAX + 1];
};

void framer_init(struct framer *f, framer_line_fn *on_line,
                 framer_error_fn *on_error, void *ctx);

/* Drop any partial line, e.g. when the link is closed mid-frame. */
void framer_reset(struct framer *f);

/* Consume n bytes. Callbacks run synchronously, before this returns.
 * Returns 0 when all bytes were consumed, 1 when a callback stopped it (the
 * framer must then not be touched again unless the callback kept it alive). */
int framer_feed(struct framer *f, const char *data, size_t n);

/* XOR of the bytes, as the checksum of the wire format. */
uint8_t frame_checksum(const char *data, size_t n);

#endif
