/* refusal.c - refusal codes and the NO frame (see refusal.h). The frame is
 * encoded by command_encode() from the NO row of the frame table, like any
 * command, so its layout lives in one place. */
#include "refusal.h"

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

void refusal_text_fit(enum refusal code, const char *text, char *out, size_t out_size)
{
    char head[NO_HEAD_MAX + 1];
    int hl = snprintf(head, sizeof head, "NO,0,%d,", (int)code);
    /* The frame is head + text + LF, at most COMMAND_MAX bytes. */
    size_t room = hl > 0 && (size_t)hl < COMMAND_MAX ? COMMAND_MAX - 1 - (size_t)hl : 0;
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
