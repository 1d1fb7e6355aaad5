/* schema.h - the one frame table: every frame type the bridge knows.
 *
 * A schema holds the built-in frame types of interface v1 plus the custom
 * types a configuration defines in its "frames" array. A custom inbound type
 * with "request": "REPLYTYPE" is a request (ROLE_REQUEST): REPLYTYPE must be a
 * custom outbound type of the same array, which becomes ROLE_REPLY. Parsing (decode.h),
 * JSON output (render.h) and command encoding (command.h) all read it; adding
 * a frame type is a row here, never a new `case` elsewhere.
 *
 * Ownership: schema_new() returns a schema the caller frees with
 * schema_free(). Pointers returned by schema_find() stay valid until then.
 * A schema is never changed after loading, so it may be shared freely.
 */
#ifndef RB_SCHEMA_H
#define RB_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define FRAME_TYPE_MAX 8        /* characters in a type code: UPPER 1*7(UPPER/DIGIT) */
#define FIELD_NAME_MAX 32       /* characters in a field (JSON member) name */
#define IDENT_MAX 32            /* characters in a RAPID identifier */
#define FIELD_DEFS_MAX 16       /* field definitions per frame type */
#define WIRE_FIELDS_MAX 64      /* comma-separated fields per frame, arrays expanded */
#define ENUM_VALUES_MAX 16      /* values of one enum field */
#define FIELD_COUNT_MAX 32      /* elements of one array field */
#define FRAME_TYPES_MAX 64      /* built-in plus custom types */
#define SEQ_MAX 99999           /* sequence numbers wrap to 0 after this */

/* RAPID's num is a float32: integers are exact only up to 2^23. An int
 * field without its own range takes this one, so no value the robot cannot
 * hold exactly passes validation. */
#define INT_DEFAULT_MAX 8388608.0
/* A real field without its own range: the finite float32 range. */
#define REAL_DEFAULT_MAX 3.4e38

enum field_kind { FIELD_INT, FIELD_REAL, FIELD_IDENT, FIELD_ENUM, FIELD_TEXT };
enum frame_dir { DIR_IN, DIR_OUT }; /* IN: robot -> bridge, OUT: command */

/* What the bridge does with a frame besides decoding it: the dispatcher
 * reads this, never the type code. Custom types are ROLE_STATE (in) or
 * ROLE_COMMAND (out). */
enum frame_role {
    ROLE_STATE,      /* in: kept as the robot's latest state and published */
    ROLE_HELLO,      /* in: opens a link (HI) */
    ROLE_HEARTBEAT,  /* in: keeps the link alive only (HB) */
    ROLE_ACK,        /* in: answers the command in flight with its seq (AK) */
    ROLE_IO,         /* in: one entry of the robot's I/O map (IO) */
    ROLE_COMMAND,    /* out: a command a client may send */
    ROLE_REFUSAL,    /* out: why the bridge refuses a HI (NO); sent by the bridge only */
    ROLE_REQUEST,    /* in: the robot asks; a serving client answers with the reply type */
    ROLE_REPLY,      /* out: the answer to a request, written only by `reply`, never `send` */
    ROLE_REQUEST_FAILED, /* out: why a request got no reply (RX); sent by the bridge only */
};

struct field_def {
    char name[FIELD_NAME_MAX + 1];
    enum field_kind kind;
    double min, max;            /* int and real only */
    unsigned count;             /* 1 = scalar, >1 = JSON array of count */
    bool optional;              /* may be absent; only trailing fields */
    bool absent_9e9;            /* real: 9E9 means "not present" -> null */
    unsigned nvalues;           /* enum only */
    char values[ENUM_VALUES_MAX][IDENT_MAX + 1];
};

struct frame_def {
    char type[FRAME_TYPE_MAX + 1];
    enum frame_dir dir;
    enum frame_role role;
    bool urgent;                /* out: skips the command queue (STOP) */
    bool publish;               /* false for HB: keeps the link alive only */
    bool builtin;
    bool from_bridge;           /* OUT, sent by the bridge itself (NO, RX): never a client command */
    int reply;                  /* ROLE_REQUEST only: schema_at() index of the reply's definition */
    unsigned nfields;
    struct field_def fields[FIELD_DEFS_MAX];
};

struct schema;

/* Where a custom definition went wrong: a JSON path such as
 * "frames[1].fields[0].kind" (see jsonpos.h to turn it into line:column)
 * and a sentence for a person. */
struct schema_error {
    char path[96];
    char message[160];
};

/* A schema with the built-in types only; NULL when out of memory. */
struct schema *schema_new(void);
void schema_free(struct schema *s);

/* Add the custom types of a configuration's "frames" array. path_prefix
 * ("frames") starts the error path. On error returns -1, fills err and adds
 * nothing. */
int schema_add_json(struct schema *s, const json_t *frames,
                    const char *path_prefix, struct schema_error *err);

/* The definition of a type in one direction, or NULL. */
const struct frame_def *schema_find(const struct schema *s, enum frame_dir dir,
                                    const char *type, size_t type_len);

/* Iterate: i from 0 while the result is not NULL. */
const struct frame_def *schema_at(const struct schema *s, size_t i);

/* The i with schema_at(s, i) == d (the index bit masks and per-type arrays
 * use), or -1 when d is not in s. */
int schema_index(const struct schema *s, const struct frame_def *d);

/* The reply definition of a ROLE_REQUEST type, or NULL for any other. */
const struct frame_def *schema_reply_of(const struct schema *s, const struct frame_def *d);

/* Number of comma-separated wire fields a frame of this type has at most,
 * and at least (optional trailing fields left out). */
unsigned frame_def_wire_max(const struct frame_def *d);
unsigned frame_def_wire_min(const struct frame_def *d);

const char *field_kind_name(enum field_kind k);

/* Syntax checks shared by decoding, encoding and configuration. */
bool ident_valid(const char *s, size_t len);      /* letter, then [A-Za-z0-9_], <= IDENT_MAX */
bool type_code_valid(const char *s, size_t len);  /* UPPER 1*7(UPPER/DIGIT) */

#endif
