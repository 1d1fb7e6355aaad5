/* schema.c - the built-in frame table and the schema that holds it plus the
 * custom types of a configuration (see schema.h). Configuration parsing is
 * in schema_json.c. */
#include "schema.h"
#include "schema_priv.h"

#include <stdlib.h>
#include <string.h>

/* Row helpers: each F_ builds one struct field_def. Numeric fields without
 * their own range take the default one of schema.h. */
#define F_NUM(n, k, lo, hi, c, opt) \
    { .name = n, .kind = k, .min = lo, .max = hi, .count = c, .optional = opt }
#define F_INT(n, lo, hi) F_NUM(n, FIELD_INT, lo, hi, 1, false)
#define F_INTS(n, c, opt) F_NUM(n, FIELD_INT, -INT_DEFAULT_MAX, INT_DEFAULT_MAX, c, opt)
#define F_REAL(n, lo, hi, c) F_NUM(n, FIELD_REAL, lo, hi, c, false)
#define F_REALS(n, c) F_REAL(n, -REAL_DEFAULT_MAX, REAL_DEFAULT_MAX, c)
#define F_STR(n, k, opt) { .name = n, .kind = k, .count = 1, .optional = opt }
#define F_ENUM(n, ...)                                                         \
    { .name = n, .kind = FIELD_ENUM, .count = 1,                              \
      .nvalues = sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *), \
      .values = {__VA_ARGS__} }
#define ROW(t, d, r, pub, nf, ...)                                                  \
    { .type = t, .dir = d, .role = r, .publish = pub, .builtin = true, .nfields = nf, \
      .fields = {__VA_ARGS__} }
#define ROW0(t, d, r, pub) { .type = t, .dir = d, .role = r, .publish = pub, .builtin = true }

/* Interface v1, section 1: every built-in frame type, one row each. */
static const struct frame_def builtin[] = {
    ROW("HI", DIR_IN, ROLE_HELLO, true, 3, F_STR("name", FIELD_IDENT, false), F_INT("proto", 1, 1),
        F_STR("sw", FIELD_TEXT, true)),
    ROW("JT", DIR_IN, ROLE_STATE, true, 1, F_REALS("joints", 6)),
    ROW("EJ", DIR_IN, ROLE_STATE, true, 1,
        { .name = "extax", .kind = FIELD_REAL, .min = -REAL_DEFAULT_MAX,
          .max = REAL_DEFAULT_MAX, .count = 6, .absent_9e9 = true }),
    ROW("PS", DIR_IN, ROLE_STATE, true, 2, F_REALS("pos", 3), F_REAL("quat", -1, 1, 4)),
    ROW("CF", DIR_IN, ROLE_STATE, true, 3, F_INTS("conf", 4, false),
        F_STR("tool", FIELD_IDENT, false), F_STR("wobj", FIELD_IDENT, false)),
    ROW("ST", DIR_IN, ROLE_STATE, true, 4, F_ENUM("exec", "RUNNING", "STOPPED"),
        F_ENUM("mode", "AUTO", "MANR", "MANF", "UNDEF"), F_ENUM("motors", "ON", "OFF"),
        F_INT("speed", 0, 100)),
    ROW("IO", DIR_IN, ROLE_IO, true, 2, F_STR("name", FIELD_IDENT, false), F_REALS("value", 1)),
    ROW("EV", DIR_IN, ROLE_STATE, true, 3, F_ENUM("severity", "I", "W", "E"),
        F_INTS("code", 1, false), F_STR("text", FIELD_TEXT, false)),
    ROW0("HB", DIR_IN, ROLE_HEARTBEAT, false), /* keeps the link alive, never published */
    ROW("AK", DIR_IN, ROLE_ACK, true, 4, F_INT("ack", 0, SEQ_MAX), F_ENUM("status", "OK", "ERR"),
        F_INTS("code", 1, true), F_STR("text", FIELD_TEXT, true)),
    ROW0("PING", DIR_OUT, ROLE_COMMAND, true),
    ROW("SETDO", DIR_OUT, ROLE_COMMAND, true, 2, F_STR("name", FIELD_IDENT, false),
        F_INT("value", 0, 1)),
    ROW("SETREG", DIR_OUT, ROLE_COMMAND, true, 2, F_INT("index", 1, 100), F_REALS("value", 1)),
    ROW("SPEED", DIR_OUT, ROLE_COMMAND, true, 1, F_INT("percent", 1, 100)),
    ROW("CALL", DIR_OUT, ROLE_COMMAND, true, 1, F_STR("proc", FIELD_IDENT, false)),
    /* STOP must never wait behind a CALL that runs for seconds (PROTOCOL.md 8.9). */
    { .type = "STOP", .dir = DIR_OUT, .role = ROLE_COMMAND, .urgent = true, .publish = true,
      .builtin = true },
    /* The reason a HI was refused, sent just before the bridge closes the
     * connection (refusal.h); no client may send it. */
    { .type = "NO", .dir = DIR_OUT, .role = ROLE_REFUSAL, .publish = true, .builtin = true,
      .from_bridge = true, .nfields = 2,
      .fields = {F_INT("code", 1, 99), F_STR("text", FIELD_TEXT, false)} },
    /* The bridge's answer to a request frame that got no reply (rx.h),
     * with the request's seq; no client may send it. */
    { .type = "RX", .dir = DIR_OUT, .role = ROLE_REQUEST_FAILED, .publish = true,
      .builtin = true, .from_bridge = true, .nfields = 2,
      .fields = {F_INT("code", 1, 99), F_STR("text", FIELD_TEXT, false)} },
};

#define BUILTIN_COUNT (sizeof builtin / sizeof builtin[0])
_Static_assert(BUILTIN_COUNT <= FRAME_TYPES_MAX, "built-in table over FRAME_TYPES_MAX");

struct schema {
    size_t n;                                /* entries of defs */
    const struct frame_def *defs[FRAME_TYPES_MAX];
    size_t nowned;                           /* custom types, freed with the schema */
    struct frame_def *owned[FRAME_TYPES_MAX];
};

struct schema *schema_new(void)
{
    struct schema *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < BUILTIN_COUNT; i++)
        s->defs[s->n++] = &builtin[i];
    return s;
}

void schema_free(struct schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nowned; i++)
        free(s->owned[i]);
    free(s);
}

size_t schema_count(const struct schema *s)
{
    return s->n;
}

void schema_adopt(struct schema *s, struct frame_def *d)
{
    s->defs[s->n++] = d;
    s->owned[s->nowned++] = d;
}

bool schema_builtin_code(const char *type)
{
    for (size_t i = 0; i < BUILTIN_COUNT; i++)
        if (strcmp(builtin[i].type, type) == 0)
            return true;
    return false;
}

const struct frame_def *schema_find(const struct schema *s, enum frame_dir dir,
                                    const char *type, size_t type_len)
{
    if (!s || !type || type_len == 0 || type_len > FRAME_TYPE_MAX)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct frame_def *d = s->defs[i];
        if (d->dir == dir && d->type[0] == type[0] && d->type[type_len] == '\0' &&
            memcmp(d->type, type, type_len) == 0)
            return d;
    }
    return NULL;
}

const struct frame_def *schema_at(const struct schema *s, size_t i)
{
    return s && i < s->n ? s->defs[i] : NULL;
}

int schema_index(const struct schema *s, const struct frame_def *d)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->defs[i] == d)
            return (int)i;
    return -1;
}

const struct frame_def *schema_reply_of(const struct schema *s, const struct frame_def *d)
{
    if (!d || d->role != ROLE_REQUEST || d->reply < 0)
        return NULL;
    return schema_at(s, (size_t)d->reply);
}

unsigned frame_def_wire_max(const struct frame_def *d)
{
    unsigned n = 0;
    for (unsigned i = 0; i < d->nfields; i++)
        n += d->fields[i].count;
    return n;
}

unsigned frame_def_wire_min(const struct frame_def *d)
{
    unsigned n = 0;
    for (unsigned i = 0; i < d->nfields; i++)
        if (!d->fields[i].optional)
            n += d->fields[i].count;
    return n;
}

const char *field_kind_name(enum field_kind k)
{
    static const char *const names[] = {
        [FIELD_INT] = "int",     [FIELD_REAL] = "real", [FIELD_IDENT] = "identifier",
        [FIELD_ENUM] = "enum",   [FIELD_TEXT] = "text",
    };
    if ((unsigned)k >= sizeof names / sizeof names[0])
        return "unknown";
    return names[k];
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alpha(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool ident_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > IDENT_MAX || !is_alpha(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_')
            return false;
    return true;
}

bool type_code_valid(const char *s, size_t len)
{
    if (!s || len < 2 || len > FRAME_TYPE_MAX || !is_upper(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_upper(s[i]) && !is_digit(s[i]))
            return false;
    return true;
}
