/* refusal.c - refusal codes and the NO frame (see refusal.h). The frame is
 * encoded by command_encode() from the NO row of the frame table, like any
 * command, so its layout lives in one place. */
#include "refusal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NO_HEAD_MAX 8 /* "NO,0," + at most two code digits + "," */

static const char *const names[REFUSAL_COUNT] = {
    [REFUSE_UNKNOWN_NAME] = "unknown_name",
    [REFUSE_PEER] = "peer",
    [REFUSE_PROTO] = "proto",
    [REFUSE_BAD_HELLO] = "bad_hello",
    [REFUSE_NOT_HELLO] = "not_hello",
    [REFUSE_HELLO_TIMEOUT] = "hello_timeout",
    [REFUSE_BUSY] = "busy",
};

const char *refusal_name(enum refusal code)
{
    if ((unsigned)code >= REFUSAL_COUNT || !names[code])
        return "?";
    return names[code];
}

void frame_text_fit(const char *text, size_t room, char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    if (room > out_size - 1)
        room = out_size - 1;
    size_t n = 0;
    for (const char *p = text ? text : ""; *p && n < room; p++) {
        unsigned char c = (unsigned char)*p;
        out[n++] = c == ',' ? ';' : c == '*' ? '_' : c < 0x20 || c > 0x7E ? '?' : (char)c;
    }
    /* A required text field may be empty, but an empty reason helps nobody. */
    if (n == 0 && room > 0)
        out[n++] = '?';
    out[n] = '\0';
}

void refusal_text_fit(enum refusal code, const char *text, char *out, size_t out_size)
{
    char head[NO_HEAD_MAX + 1];
    int hl = snprintf(head, sizeof head, "NO,0,%d,", (int)code);
    /* The frame is head + text + LF, at most COMMAND_MAX bytes. */
    size_t room = hl > 0 && (size_t)hl < COMMAND_MAX ? COMMAND_MAX - 1 - (size_t)hl : 0;
    frame_text_fit(text, room, out, out_size);
}

int refusal_encode(const struct schema *s, enum refusal code, const char *text,
                   char out[COMMAND_MAX + 1])
{
    if ((unsigned)code >= REFUSAL_COUNT || !names[code])
        return -1;
    char fitted[COMMAND_MAX + 1];
    refusal_text_fit(code, text, fitted, sizeof fitted);
    json_t *fields = json_pack("{s:i, s:s}", "code", (int)code, "text", fitted);
    if (!fields)
        return -1;
    struct command_error err;
    int n = command_encode(s, "NO", fields, 0, false, out, &err);
    json_decref(fields);
    return n;
}

/* The k-th comma-separated piece of line after the type (0 = seq); false
 * when the line has fewer. */
static bool piece(const char *line, size_t len, unsigned k, const char **at, size_t *n)
{
    const char *p = line, *end = line + len;
    for (unsigned i = 0; i <= k; i++) {
        p = memchr(p, ',', (size_t)(end - p));
        if (!p)
            return false;
        p++;
    }
    const char *comma = memchr(p, ',', (size_t)(end - p));
    *at = p;
    *n = (size_t)((comma ? comma : end) - p);
    return true;
}

/* Wire fields of the HI row (schema.c): 1 name, 2 proto. */
#define HI_NAME_FIELD 1
#define HI_PROTO_FIELD 2

enum refusal refusal_of_bad_hello(const char *line, size_t len, const struct decode_error *de,
                                  char name[IDENT_MAX + 1], char *detail, size_t detail_size)
{
    name[0] = '\0';
    bool hello = len >= 3 && memcmp(line, "HI,", 3) == 0;
    const char *at;
    size_t n;
    if (hello && piece(line, len, HI_NAME_FIELD, &at, &n) && ident_valid(at, n)) {
        memcpy(name, at, n);
        name[n] = '\0';
    }
    double version;
    if (hello && de->err == FRAME_ERR_BAD_VALUE && de->field == HI_PROTO_FIELD &&
        piece(line, len, HI_PROTO_FIELD, &at, &n) && rapid_number_parse(at, n, &version) == 0) {
        snprintf(detail, detail_size, "%.*s", (int)(n < 16 ? n : 16), at);
        return REFUSE_PROTO;
    }
    snprintf(detail, detail_size, "%s in field %u", frame_err_name(de->err), de->field);
    return REFUSE_BAD_HELLO;
}
