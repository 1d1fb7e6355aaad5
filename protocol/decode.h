/* decode.h - one checked frame line -> typed, validated values.
 *
 * Input is a line from the framer (no checksum, no CR LF). The type code
 * selects the frame definition in the given direction; every field is then
 * checked against its kind and range. A text field takes the rest of the line,
 * commas included. An empty or missing optional trailing field is absent; an
 * empty required field is a bad value (except text, where "" is a value).
 *
 * Numbers are read in RAPID's formats: "-0.5", "1E+06", "9E+09", ".25",
 * "+3". No hex, inf or nan. An int field takes any such number whose value is
 * a whole number. Values point into the line and live as long as it does.
 */
#ifndef RB_DECODE_H
#define RB_DECODE_H

#include "framer.h"
#include "schema.h"

#include <stdint.h>

struct field_value {
    bool present;
    double num;                 /* int, real (NAN for an absent 9E9 element) */
    const char *str;            /* ident, enum, text: not NUL-terminated */
    size_t len;
};

struct frame_values {
    const struct frame_def *def;
    uint32_t seq;
    unsigned nvalues;           /* wire fields, arrays expanded, in order */
    struct field_value v[WIRE_FIELDS_MAX];
};

/* What went wrong, for logs: which wire field (1-based, 0 = type/seq). */
struct decode_error {
    enum frame_err err;
    unsigned field;
};

/* Returns 0 and fills out, or -1 with err->err one of FRAME_ERR_UNKNOWN_TYPE,
 * FRAME_ERR_FIELD_COUNT, FRAME_ERR_BAD_VALUE. */
int frame_decode(const struct schema *s, enum frame_dir dir,
                 const char *line, size_t len,
                 struct frame_values *out, struct decode_error *err);

/* Parse a whole string as a RAPID number. Returns 0 and sets *out, or -1. */
int rapid_number_parse(const char *s, size_t len, double *out);

#endif
