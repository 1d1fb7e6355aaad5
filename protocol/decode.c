/* decode.c - split a checked line at commas and validate each value against
 * the schema (see decode.h). Numbers: number.c. */
#include "decode.h"

#include <math.h>
#include <string.h>

#define SEQ_DIGITS_MAX 5 /* seq = 1*5DIGIT */
#define ABSENT_9E9 9e9   /* RAPID's "axis not present" (written 9E+09) */

static int fail(struct decode_error *err, enum frame_err e, unsigned field)
{
    err->err = e;
    err->field = field;
    return -1;
}

/* The next wire field after the separator at *pos. Returns false when there
 * is none (the line ended). A text field takes the rest of the line. */
static bool next_token(const char **pos, const char *end, bool rest, const char **tok,
                       size_t *len)
{
    const char *p = *pos;
    if (p >= end)
        return false;
    p++; /* the comma */
    const char *stop = rest ? NULL : memchr(p, ',', (size_t)(end - p));
    if (!stop)
        stop = end;
    *tok = p;
    *len = (size_t)(stop - p);
    *pos = stop;
    return true;
}

static bool parse_seq(const char *s, size_t len, uint32_t *out)
{
    uint32_t v = 0;
    if (len == 0 || len > SEQ_DIGITS_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static bool enum_match(const struct field_def *fd, const char *s, size_t len)
{
    if (len > IDENT_MAX)
        return false;
    for (unsigned i = 0; i < fd->nvalues; i++)
        if (fd->values[i][len] == '\0' && memcmp(fd->values[i], s, len) == 0)
            return true;
    return false;
}

/* Check one present, non-empty (except text) element. */
static bool value_ok(const struct field_def *fd, struct field_value *v)
{
    switch (fd->kind) {
    case FIELD_INT:
    case FIELD_REAL:
        if (rapid_number_parse(v->str, v->len, &v->num) != 0)
            return false;
        if (fd->absent_9e9 && v->num >= ABSENT_9E9) {
            v->num = NAN;
            return true;
        }
        if (fd->kind == FIELD_INT && floor(v->num) != v->num)
            return false;
        return v->num >= fd->min && v->num <= fd->max;
    case FIELD_IDENT:
        return ident_valid(v->str, v->len);
    case FIELD_ENUM:
        return enum_match(fd, v->str, v->len);
    case FIELD_TEXT:
        return true;
    }
    return false;
}

int frame_decode(const struct schema *s, enum frame_dir dir, const char *line, size_t len,
                 struct frame_values *out, struct decode_error *err)
{
    const char *end = line + len;
    const char *comma = memchr(line, ',', len);
    const char *pos = comma ? comma : end; /* separator before the next field */
    size_t tlen = (size_t)(pos - line);
    const struct frame_def *d;

    err->err = FRAME_ERR_UNKNOWN_TYPE;
    err->field = 0;
    if (!type_code_valid(line, tlen) || !(d = schema_find(s, dir, line, tlen)))
        return fail(err, FRAME_ERR_UNKNOWN_TYPE, 0);

    const char *tok;
    size_t toklen;
    if (!next_token(&pos, end, false, &tok, &toklen))
        return fail(err, FRAME_ERR_FIELD_COUNT, 0);
    if (!parse_seq(tok, toklen, &out->seq))
        return fail(err, FRAME_ERR_BAD_VALUE, 0);
    out->def = d;

    unsigned k = 0; /* wire index of the next value */
    for (unsigned f = 0; f < d->nfields; f++) {
        const struct field_def *fd = &d->fields[f];
        struct field_value *v = &out->v[k];
        unsigned have = 0, filled = 0;

        for (unsigned j = 0; j < fd->count; j++) {
            v[j].str = NULL;
            v[j].len = 0;
            v[j].num = 0;
            if (next_token(&pos, end, fd->kind == FIELD_TEXT, &v[j].str, &v[j].len)) {
                have++;
                filled += v[j].len > 0;
            }
        }
        if (fd->optional && filled == 0) {
            /* Missing or empty: absent. */
            for (unsigned j = 0; j < fd->count; j++)
                v[j].present = false;
        } else {
            if (have < fd->count)
                return fail(err, FRAME_ERR_FIELD_COUNT, k + have + 1);
            for (unsigned j = 0; j < fd->count; j++) {
                v[j].present = true;
                if ((v[j].len == 0 && fd->kind != FIELD_TEXT) || !value_ok(fd, &v[j]))
                    return fail(err, FRAME_ERR_BAD_VALUE, k + j + 1);
            }
        }
        k += fd->count;
    }
    if (pos < end)
        return fail(err, FRAME_ERR_FIELD_COUNT, k + 1);
    out->nvalues = k;
    return 0;
}
