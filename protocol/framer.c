/* framer.c - reassemble LF-terminated lines and check them (see framer.h). */
#include "framer.h"

#include <string.h>

static const char *const err_names[FRAME_ERR_COUNT] = {
    [FRAME_ERR_TOO_LONG] = "too_long",
    [FRAME_ERR_NON_PRINTABLE] = "non_printable",
    [FRAME_ERR_BAD_CHECKSUM] = "bad_checksum",
    [FRAME_ERR_UNKNOWN_TYPE] = "unknown_type",
    [FRAME_ERR_FIELD_COUNT] = "field_count",
    [FRAME_ERR_BAD_VALUE] = "bad_value",
    [FRAME_ERR_BEFORE_HELLO] = "before_hello",
};

const char *frame_err_name(enum frame_err err)
{
    if ((unsigned)err >= FRAME_ERR_COUNT)
        return "unknown";
    return err_names[err];
}

uint8_t frame_checksum(const char *data, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= (uint8_t)data[i];
    return x;
}

void framer_init(struct framer *f, framer_line_fn *on_line,
                 framer_error_fn *on_error, void *ctx)
{
    f->on_line = on_line;
    f->on_error = on_error;
    f->ctx = ctx;
    framer_reset(f);
}

void framer_reset(struct framer *f)
{
    f->len = 0;
    f->discarding = false;
    f->buf[0] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int report(struct framer *f, enum frame_err err)
{
    return f->on_error ? f->on_error(f->ctx, err) : 0;
}

/* Check the complete line in f->buf (LF already removed) and hand it on.
 * Returns what the callback returned. */
static int finish_line(struct framer *f)
{
    size_t len = f->len;
    char *line = f->buf;

    f->len = 0;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0; /* empty lines are keep-alive noise, not errors */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c > 0x7E)
            return report(f, FRAME_ERR_NON_PRINTABLE);
    }
    const char *star = memchr(line, '*', len);
    if (star) {
        /* "*HH" must end the line; a '*' anywhere else is not allowed. */
        if (len < 3 || (size_t)(star - line) != len - 3)
            return report(f, FRAME_ERR_BAD_CHECKSUM);
        int hi = hex_value(line[len - 2]), lo = hex_value(line[len - 1]);
        if (hi < 0 || lo < 0 || frame_checksum(line, len - 3) != (uint8_t)(hi << 4 | lo))
            return report(f, FRAME_ERR_BAD_CHECKSUM);
        len -= 3;
        if (len == 0)
            return 0; /* "*00" alone: as empty as an empty line */
    }
    line[len] = '\0';
    return f->on_line ? f->on_line(f->ctx, line, len) : 0;
}

int framer_feed(struct framer *f, const char *data, size_t n)
{
    while (n > 0) {
        const char *lf = memchr(data, '\n', n);
        size_t chunk = lf ? (size_t)(lf - data) : n; /* bytes before the LF */
        size_t used = lf ? chunk + 1 : n;

        if (f->discarding) {
            /* The rest of a line already reported as too long. */
            if (lf)
                f->discarding = false;
        } else if (f->len + chunk > FRAME_MAX - 1) {
            /* Over the bound (FRAME_MAX counts the LF): drop the whole line,
             * report it now, skip to its LF. */
            f->len = 0;
            f->discarding = !lf;
            if (report(f, FRAME_ERR_TOO_LONG))
                return 1;
        } else {
            memcpy(f->buf + f->len, data, chunk);
            f->len += chunk;
            if (lf && finish_line(f))
                return 1;
        }
        data += used;
        n -= used;
    }
    return 0;
}
