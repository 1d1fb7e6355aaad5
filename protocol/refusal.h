/* refusal.h - why the bridge refused a robot connection, and the NO frame
 * that tells the robot.
 *
 * Before it closes a connection it refuses (a HI naming a robot that is not
 * configured, from a peer that is not allowed, ...), the bridge writes one
 * built-in NO frame to it, so the RAPID side can put the reason in the
 * controller's event log:
 *
 *   NO,0,CODE,TEXT\n
 *
 * CODE is one of enum refusal; the numbers are part of the wire protocol
 * (PROTOCOL.md 2.8) and never change meaning. TEXT is a sentence for the
 * FlexPendant, made fit for the frame by refusal_text_fit(): printable ASCII
 * only ("," becomes ";", "*" becomes "_", any other byte outside 0x20..0x7E
 * "?"), cut so that the whole frame with its LF is at most COMMAND_MAX bytes.
 * The seq is always 0 and no checksum is added: a refused connection has no
 * robot settings to take one from.
 */
#ifndef RB_REFUSAL_H
#define RB_REFUSAL_H

#include "command.h"
#include "decode.h"
#include "schema.h"

#include <stddef.h>

enum refusal {
    REFUSE_UNKNOWN_NAME = 1,  /* HI names a robot that is not configured */
    REFUSE_PEER = 2,          /* the robot may not connect from this address */
    REFUSE_PROTO = 3,         /* HI's protocol version is not one the bridge speaks */
    REFUSE_BAD_HELLO = 4,     /* the first frame is a bad frame (a malformed HI) */
    REFUSE_NOT_HELLO = 5,     /* the first frame is a good frame of another type */
    REFUSE_HELLO_TIMEOUT = 6, /* no HI within limits.hello_timeout */
    REFUSE_BUSY = 7,          /* too many connections already wait for their HI */
};
#define REFUSAL_COUNT 8       /* codes are 1 .. REFUSAL_COUNT - 1 */

/* Copy text into out (out_size bytes, NUL-terminated) made fit for the
 * text field of a frame to the robot (NO, RX): printable ASCII only, ","
 * becomes ";", "*" "_", any other byte outside 0x20..0x7E "?"; at most room
 * characters; an empty text becomes "?". */
void frame_text_fit(const char *text, size_t room, char *out, size_t out_size);

/* The stable name of a code for JSON ("unknown_name", "peer", ...), or "?". */
const char *refusal_name(enum refusal code);

/* Copy text into out (out_size bytes, NUL-terminated), made fit for a NO
 * frame of this code: see above. */
void refusal_text_fit(enum refusal code, const char *text, char *out, size_t out_size);

/* The NO frame for code and text (fitted here), NUL-terminated in out.
 * Returns its length (LF included), or -1 when code is not a refusal or the
 * schema has no NO frame. */
int refusal_encode(const struct schema *s, enum refusal code, const char *text,
                   char out[COMMAND_MAX + 1]);

/* A first frame that did not decode (de from frame_decode): a HI with a
 * protocol version the bridge does not speak is REFUSE_PROTO (detail: the
 * version as sent), anything else REFUSE_BAD_HELLO (detail: the cause and
 * field, "field_count in field 0"). name gets the name a HI gave when it is a
 * RAPID identifier, else "". detail is cut to detail_size. */
enum refusal refusal_of_bad_hello(const char *line, size_t len, const struct decode_error *de,
                                  char name[IDENT_MAX + 1], char *detail, size_t detail_size);

#endif
