/* rx.h - the RX frame: the bridge's answer to a robot request nobody answered.
 *
 * A request frame (ROLE_REQUEST, schema.h) is answered by its reply frame,
 * written by the client that serves the type; when that cannot happen the
 * bridge writes the built-in RX frame instead, with the request's seq:
 *
 *   RX,SEQ,CODE,TEXT\n
 *
 * CODE is one of enum rx_code; the numbers are part of the wire protocol
 * (PROTOCOL.md 5.9) and never change meaning. TEXT is made fit for the
 * robot by frame_text_fit() (refusal.h) and cut so that the whole frame, with
 * its checksum when the robot wants one, is at most COMMAND_MAX bytes.
 */
#ifndef RB_RX_H
#define RB_RX_H

#include "command.h"
#include "schema.h"

#include <stdbool.h>
#include <stdint.h>

enum rx_code {
    RX_NO_HANDLER = 1, /* no client serves the type for this robot (or its handler left) */
    RX_TIMEOUT = 2,    /* the handler did not reply within limits.robot_request_timeout */
    RX_ERROR = 3,      /* the handler replied with "error": TEXT is its text */
    RX_INVALID = 4,    /* the handler's reply did not fit the reply type */
    RX_BUSY = 5,       /* too many requests of this robot wait for replies, or its seq does */
};
#define RX_COUNT 6     /* codes are 1 .. RX_COUNT - 1 */

/* The stable name of a code ("no_handler", "timeout", "error", "invalid",
 * "busy"), or "?". */
const char *rx_name(enum rx_code code);

/* The RX frame for seq, code and text (fitted here), NUL-terminated in out.
 * Returns its length (LF included), or -1 when code is not an RX code, seq
 * is over SEQ_MAX or the schema has no RX frame. */
int rx_encode(const struct schema *s, uint32_t seq, enum rx_code code, const char *text,
              bool checksum, char out[COMMAND_MAX + 1]);

#endif
