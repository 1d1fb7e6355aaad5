/* command.h - a JSON command -> one ASCII frame for the robot.
 *
 * The command's type must be an OUT frame of the schema; `fields` is a JSON
 * object with one member per field definition: every required field present,
 * of its kind (number for int/real, whole number for int, string for
 * ident/enum/text, array of `count` for arrays), in range; no unknown
 * members. Strings can never carry "," "*" CR LF or non-printable bytes, so
 * nothing the client sends can forge a second frame.
 *
 * The output is "TYPE,SEQ[,field...][*HH]\n", at most COMMAND_MAX bytes
 * including the LF, written into a caller's buffer of COMMAND_MAX + 1 bytes
 * (NUL-terminated). Reals are written with up to 9 significant digits, an
 * upper-case exponent only when needed, as RAPID's StrToVal reads them.
 */
#ifndef RB_COMMAND_H
#define RB_COMMAND_H

#include "schema.h"

#include <jansson.h>
#include <stdint.h>

#define COMMAND_MAX 80 /* bytes including LF: RAPID SocketReceive \Str */

enum command_err {
    COMMAND_ERR_UNKNOWN_TYPE = 1, /* not a command type of this schema */
    COMMAND_ERR_BAD_FIELD,        /* missing, unknown, wrong kind or out of range */
    COMMAND_ERR_TOO_LONG,         /* encoded frame over COMMAND_MAX */
};

struct command_error {
    enum command_err err;
    char field[FIELD_NAME_MAX + 1]; /* the offending field, "" when none */
    char message[160];              /* a sentence for the client */
};

/* Returns the frame length (without NUL) or -1 with err filled. fields may be
 * NULL for a type without fields. */
int command_encode(const struct schema *s, const char *type, const json_t *fields,
                   uint32_t seq, bool checksum, char out[COMMAND_MAX + 1],
                   struct command_error *err);

#endif
