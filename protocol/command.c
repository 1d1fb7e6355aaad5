/* command.c - validate a JSON command against its OUT frame definition and
 * encode it (see command.h).
 *
 * Text fields of commands accept printable ASCII except "," and "*": the
 * robot-side RAPID parser splits a command at every comma (it cannot know
 * which field is text without the schema), and "*" starts the checksum.
 * Identifiers and enum values can never contain them anyway.
 *
 * An absent optional field is sent empty ("T,1,a,,c"); absent optional
 * fields at the end are left out with their commas ("T,1,a"). A JSON null,
 * or an empty string for optional text, counts as absent.
 */
#include "command.h"
#include "framer.h"
#include "number.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CHECKSUM_LEN 3 /* "*HH" */
#define ECHO_MAX 32    /* longest client string quoted back in a message */
#define ENUM_LIST_MAX 96

/* Appends to the caller's buffer while it fits, but counts every byte so the
 * error can say how long the frame would have been. */
struct out {
    char *buf;
    size_t cap; /* bytes usable in buf, not counting the NUL */
    size_t len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n <= o->cap)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}

__attribute__((format(printf, 4, 5)))
static int fail(struct command_error *err, enum command_err e, const char *field,
                const char *fmt, ...)
{
    va_list ap;

    err->err = e;
    err->field[0] = '\0';
    if (field && strlen(field) <= FIELD_NAME_MAX)
        memcpy(err->field, field, strlen(field) + 1);
    va_start(ap, fmt);
    if (vsnprintf(err->message, sizeof err->message, fmt, ap) >= (int)sizeof err->message)
        err->message[sizeof err->message - 1] = '\0';
    va_end(ap);
    return -1;
}

static bool text_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E || s[i] == ',' || s[i] == '*')
            return false;
    return true;
}

/* "must be ..." for a field, one sentence per kind. */
static void describe(const struct field_def *fd, char *buf, size_t size)
{
    char lo[NUMBER_TEXT_MAX], hi[NUMBER_TEXT_MAX];
    bool whole = fd->kind == FIELD_INT;

    switch (fd->kind) {
    case FIELD_INT:
    case FIELD_REAL:
        rapid_number_format(fd->min, whole, lo);
        rapid_number_format(fd->max, whole, hi);
        snprintf(buf, size, "%s from %s to %s", whole ? "an integer" : "a number", lo, hi);
        return;
    case FIELD_IDENT:
        snprintf(buf, size, "a RAPID identifier (a letter, then letters, digits or _, at "
                 "most %d characters)", IDENT_MAX);
        return;
    case FIELD_ENUM: {
        size_t n = (size_t)snprintf(buf, size, "one of ");
        for (unsigned i = 0; i < fd->nvalues && n < size; i++) {
            size_t w = strlen(fd->values[i]) + (i ? 2 : 0);
            if (n + w + 4 >= size || n + w > ENUM_LIST_MAX) {
                snprintf(buf + n, size - n, ", ...");
                return;
            }
            n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", fd->values[i]);
        }
        return;
    }
    case FIELD_TEXT:
        snprintf(buf, size, "a string of printable ASCII without \",\" or \"*\"");
        return;
    }
    buf[0] = '\0';
}

static int bad_value(const struct field_def *fd, int index, struct command_error *err)
{
    char what[128];
    describe(fd, what, sizeof what);
    if (index < 0)
        return fail(err, COMMAND_ERR_BAD_FIELD, fd->name, "field \"%s\" must be %s", fd->name,
                    what);
    return fail(err, COMMAND_ERR_BAD_FIELD, fd->name, "field \"%s\"[%d] must be %s", fd->name,
                index, what);
}

/* Validate one element and append its wire text. */
static int put_value(struct out *o, const struct field_def *fd, const json_t *v, int index,
                     struct command_error *err)
{
    switch (fd->kind) {
    case FIELD_INT:
    case FIELD_REAL: {
        if (!json_is_number(v))
            return bad_value(fd, index, err);
        double x = json_number_value(v);
        if (!isfinite(x) || x < fd->min || x > fd->max ||
            (fd->kind == FIELD_INT && floor(x) != x))
            return bad_value(fd, index, err);
        char num[NUMBER_TEXT_MAX];
        put(o, num, rapid_number_format(x, fd->kind == FIELD_INT, num));
        return 0;
    }
    case FIELD_IDENT:
    case FIELD_ENUM:
    case FIELD_TEXT: {
        if (!json_is_string(v))
            return bad_value(fd, index, err);
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        bool ok = fd->kind == FIELD_IDENT ? ident_valid(s, n) : text_ok(s, n);
        if (ok && fd->kind == FIELD_ENUM) {
            ok = false;
            for (unsigned i = 0; i < fd->nvalues && !ok; i++)
                ok = strlen(fd->values[i]) == n && memcmp(fd->values[i], s, n) == 0;
        }
        if (!ok)
            return bad_value(fd, index, err);
        put(o, s, n);
        return 0;
    }
    }
    return bad_value(fd, index, err);
}

static int put_field(struct out *o, const struct field_def *fd, const json_t *v,
                     struct command_error *err)
{
    if (fd->count == 1) {
        put(o, ",", 1);
        return put_value(o, fd, v, -1, err);
    }
    if (!json_is_array(v) || json_array_size(v) != fd->count) {
        char what[128];
        describe(fd, what, sizeof what);
        return fail(err, COMMAND_ERR_BAD_FIELD, fd->name,
                    "field \"%s\" must be an array of %u values, each %s", fd->name, fd->count,
                    what);
    }
    for (unsigned j = 0; j < fd->count; j++) {
        put(o, ",", 1);
        if (put_value(o, fd, json_array_get(v, j), (int)j, err))
            return -1;
    }
    return 0;
}

static bool is_field(const struct frame_def *d, const char *name)
{
    for (unsigned i = 0; i < d->nfields; i++)
        if (strcmp(d->fields[i].name, name) == 0)
            return true;
    return false;
}

static const struct frame_def *find_type(const struct schema *s, const char *type,
                                         struct command_error *err)
{
    size_t n = type ? strlen(type) : 0;
    const struct frame_def *d = type_code_valid(type, n) ? schema_find(s, DIR_OUT, type, n) : NULL;
    if (d)
        return d;
    if (type_code_valid(type, n) && schema_find(s, DIR_IN, type, n))
        fail(err, COMMAND_ERR_UNKNOWN_TYPE, NULL, "\"%s\" is a frame from the robot, not a "
             "command", type);
    else if (text_quotable(type, n, ECHO_MAX))
        fail(err, COMMAND_ERR_UNKNOWN_TYPE, NULL, "unknown command type \"%s\"", type);
    else
        fail(err, COMMAND_ERR_UNKNOWN_TYPE, NULL, "unknown command type");
    return NULL;
}

int command_encode(const struct schema *s, const char *type, const json_t *fields, uint32_t seq,
                   bool checksum, char out[COMMAND_MAX + 1], struct command_error *err)
{
    struct out o = {.buf = out, .cap = COMMAND_MAX, .len = 0};
    const struct frame_def *d;

    out[0] = '\0';
    memset(err, 0, sizeof *err);
    if (!(d = find_type(s, type, err)))
        return -1;
    if (seq > SEQ_MAX)
        return fail(err, COMMAND_ERR_BAD_FIELD, NULL, "sequence number %u is over %d",
                    (unsigned)seq, SEQ_MAX);
    if (fields && !json_is_object(fields))
        return fail(err, COMMAND_ERR_BAD_FIELD, NULL, "fields must be an object");

    if (fields) {
        const char *key;
        json_t *val;
        json_object_foreach ((json_t *)fields, key, val) {
            if (is_field(d, key))
                continue;
            if (text_quotable(key, strlen(key), ECHO_MAX))
                return fail(err, COMMAND_ERR_BAD_FIELD, key, "unknown field \"%s\" for %s", key,
                            d->type);
            return fail(err, COMMAND_ERR_BAD_FIELD, NULL, "unknown field for %s", d->type);
        }
    }

    char seqtext[16];
    put(&o, d->type, strlen(d->type));
    put(&o, seqtext, (size_t)snprintf(seqtext, sizeof seqtext, ",%u", (unsigned)seq));
    size_t keep = o.len; /* end of the last present field */
    for (unsigned i = 0; i < d->nfields; i++) {
        const struct field_def *fd = &d->fields[i];
        const json_t *v = fields ? json_object_get(fields, fd->name) : NULL;
        if (!v || (json_is_null(v) && fd->optional)) {
            if (!fd->optional)
                return fail(err, COMMAND_ERR_BAD_FIELD, fd->name, "missing field \"%s\"",
                            fd->name);
            for (unsigned j = 0; j < fd->count; j++)
                put(&o, ",", 1); /* empty: absent */
            continue;
        }
        size_t before = o.len;
        if (put_field(&o, fd, v, err))
            return -1;
        if (!fd->optional || o.len - before > fd->count)
            keep = o.len; /* an empty optional text counts as absent */
    }
    o.len = keep;

    size_t total = o.len + (checksum ? CHECKSUM_LEN : 0) + 1;
    if (total > COMMAND_MAX)
        return fail(err, COMMAND_ERR_TOO_LONG, NULL,
                    "encoded frame is %zu bytes, over the %d-byte limit", total, COMMAND_MAX);
    if (checksum) {
        static const char hex[] = "0123456789ABCDEF";
        uint8_t x = frame_checksum(out, o.len);
        char sum[CHECKSUM_LEN] = {'*', hex[x >> 4], hex[x & 15]};
        put(&o, sum, sizeof sum);
    }
    put(&o, "\n", 1);
    out[o.len] = '\0';
    return (int)o.len;
}
