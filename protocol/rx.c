/* rx.c - RX codes and the RX frame (see rx.h). Encoded by command_encode()
 * from the RX row of the frame table, like NO (refusal.c). */
#include "rx.h"

#include "refusal.h"

#include <stdio.h>

#define CHECKSUM_LEN 3 /* "*HH" */

static const char *const names[RX_COUNT] = {
    [RX_NO_HANDLER] = "no_handler", [RX_TIMEOUT] = "timeout", [RX_ERROR] = "error",
    [RX_INVALID] = "invalid",       [RX_BUSY] = "busy",
};

const char *rx_name(enum rx_code code)
{
    if ((unsigned)code >= RX_COUNT || !names[code])
        return "?";
    return names[code];
}

int rx_encode(const struct schema *s, uint32_t seq, enum rx_code code, const char *text,
              bool checksum, char out[COMMAND_MAX + 1])
{
    if ((unsigned)code >= RX_COUNT || !names[code] || seq > SEQ_MAX)
        return -1;
    char head[32];
    int hl = snprintf(head, sizeof head, "RX,%u,%d,", (unsigned)seq, (int)code);
    /* head + text [+ *HH] + LF <= COMMAND_MAX */
    size_t fixed = (size_t)hl + 1 + (checksum ? CHECKSUM_LEN : 0);
    char fitted[COMMAND_MAX + 1];
    frame_text_fit(text, COMMAND_MAX - fixed, fitted, sizeof fitted);
    json_t *fields = json_pack("{s:i, s:s}", "code", (int)code, "text", fitted);
    if (!fields)
        return -1;
    struct command_error err;
    int n = command_encode(s, "RX", fields, seq, checksum, out, &err);
    json_decref(fields);
    return n;
}
