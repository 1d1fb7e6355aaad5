/* fuzz_command.c - libFuzzer harness: JSON command -> robot frame.
 *
 * The input is a JSON text {"type":T,"fields":{...},"seq":N}; invalid JSON
 * is ignored. command_encode runs with and without a checksum, against the
 * built-in types plus one custom command type with every field kind. A
 * frame it accepts must be what command.h promises: at most COMMAND_MAX
 * bytes, printable, one LF at the end, the checksum right; fed to a framer it
 * is exactly one line, and frame_decode(DIR_OUT) of that line gives back the
 * type, the seq and the field values. A rejection must be the same with and
 * without a checksum, except that the checksum may make a frame too long.
 *
 * Any broken invariant is __builtin_trap(), so libFuzzer keeps the input.
 */
#include "fuzz.h"
#include "command.h"
#include "decode.h"
#include "framer.h"
#include "schema.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A custom command with every kind, arrays, ranges and an optional tail. */
static const char CUSTOM_FRAMES[] =
    "[{\"type\":\"MOVEJ\",\"direction\":\"out\",\"fields\":["
    "{\"name\":\"target\",\"kind\":\"identifier\"},"
    "{\"name\":\"speed\",\"kind\":\"real\",\"min\":0,\"max\":5000},"
    "{\"name\":\"zone\",\"kind\":\"enum\",\"values\":[\"FINE\",\"Z10\",\"Z50\"]},"
    "{\"name\":\"offs\",\"kind\":\"real\",\"count\":3},"
    "{\"name\":\"n\",\"kind\":\"int\",\"count\":2,\"min\":-100,\"max\":100},"
    "{\"name\":\"note\",\"kind\":\"text\",\"optional\":true}]}]";

/* Built once, read-only afterwards (schema.h: never changed after loading). */
static struct schema *g_schema;

struct one_line {
    int lines, errors;
    char line[FRAME_MAX + 1];
    size_t len;
};

static int on_line(void *ctx, const char *line, size_t len)
{
    struct one_line *o = ctx;
    o->lines++;
    CHECK(len <= FRAME_MAX);
    memcpy(o->line, line, len);
    o->line[len] = '\0';
    o->len = len;
    return 0;
}

static int on_error(void *ctx, enum frame_err err)
{
    struct one_line *o = ctx;
    (void)err;
    o->errors++;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A decoded value must be the one the client asked for: ints and strings
 * exactly, reals to the 9 significant digits command.h promises. */
static void check_value(const struct field_def *f, const json_t *want,
                        const struct field_value *got)
{
    switch (f->kind) {
    case FIELD_INT:
        CHECK(got->present && json_is_number(want));
        CHECK(got->num == json_number_value(want));
        break;
    case FIELD_REAL: {
        CHECK(got->present && json_is_number(want));
        double a = json_number_value(want), b = got->num;
        CHECK(fabs(a - b) <= 1e-8 * fabs(a) || fabs(a - b) < 1e-300);
        break;
    }
    case FIELD_IDENT:
    case FIELD_ENUM:
    case FIELD_TEXT: {
        CHECK(json_is_string(want));
        size_t n = json_string_length(want);
        if (!got->present) {
            /* decode.h: an empty optional trailing field is absent */
            CHECK(f->optional && n == 0);
            break;
        }
        CHECK(got->len == n && memcmp(got->str, json_string_value(want), n) == 0);
        break;
    }
    }
}

static void check_roundtrip(const struct frame_values *v, const json_t *fields)
{
    const struct frame_def *d = v->def;
    unsigned w = 0;
    for (unsigned i = 0; i < d->nfields; i++) {
        const struct field_def *f = &d->fields[i];
        const json_t *m = json_is_object(fields) ? json_object_get(fields, f->name) : NULL;
        for (unsigned k = 0; k < f->count; k++, w++) {
            const json_t *want = f->count > 1 ? json_array_get(m, k) : m;
            if (m == NULL || (f->optional && json_is_null(m))) {
                /* command.c: a JSON null counts as absent */
                CHECK(f->optional);
                CHECK(w >= v->nvalues || !v->v[w].present);
                continue;
            }
            CHECK(w < v->nvalues);
            check_value(f, want, &v->v[w]);
        }
    }
}

/* Checks one accepted frame; returns its length without "*HH\n". */
static size_t check_frame(const char *type, const json_t *fields, uint32_t seq,
                          bool checksum, const char *out, int n)
{
    CHECK(n > 0 && n <= COMMAND_MAX);
    CHECK(out[n] == '\0' && out[n - 1] == '\n');
    for (int i = 0; i < n - 1; i++)
        CHECK(out[i] >= 0x20 && out[i] <= 0x7E);

    size_t body = (size_t)n - 1;
    const char *star = memchr(out, '*', body);
    if (checksum) {
        CHECK(body >= 3 && star == out + body - 3);
        int hi = hexval(out[body - 2]), lo = hexval(out[body - 1]);
        CHECK(hi >= 0 && lo >= 0);
        CHECK(frame_checksum(out, body - 3) == (uint8_t)(hi << 4 | lo));
        body -= 3;
    } else {
        CHECK(star == NULL);
    }
    char head[FRAME_TYPE_MAX + 16];
    int hn = snprintf(head, sizeof head, "%s,%u", type, (unsigned)seq);
    CHECK(hn > 0 && (size_t)hn <= body && memcmp(out, head, (size_t)hn) == 0);
    CHECK(body == (size_t)hn || out[hn] == ',');

    /* Exactly one line, the body, with nothing dropped. */
    struct one_line o = { 0 };
    struct framer fr;
    framer_init(&fr, on_line, on_error, &o);
    CHECK(framer_feed(&fr, out, (size_t)n) == 0);
    CHECK(o.lines == 1 && o.errors == 0);
    CHECK(o.len == body && memcmp(o.line, out, body) == 0);

    struct frame_values v;
    struct decode_error derr;
    CHECK(frame_decode(g_schema, DIR_OUT, o.line, o.len, &v, &derr) == 0);
    CHECK(v.def == schema_find(g_schema, DIR_OUT, type, strlen(type)));
    CHECK(strcmp(v.def->type, type) == 0);
    CHECK(v.seq == seq);
    check_roundtrip(&v, fields);
    return body;
}

static void check_error(const struct command_error *e)
{
    CHECK(e->err == COMMAND_ERR_UNKNOWN_TYPE || e->err == COMMAND_ERR_BAD_FIELD ||
          e->err == COMMAND_ERR_TOO_LONG);
    CHECK(memchr(e->field, '\0', sizeof e->field) != NULL);
    CHECK(memchr(e->message, '\0', sizeof e->message) != NULL);
    CHECK(e->message[0] != '\0');
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_schema = schema_new();
    CHECK(g_schema != NULL);
    json_error_t jerr;
    json_t *frames = json_loads(CUSTOM_FRAMES, 0, &jerr);
    CHECK(frames != NULL);
    struct schema_error serr;
    CHECK(schema_add_json(g_schema, frames, "frames", &serr) == 0);
    json_decref(frames);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *req = json_loadb((const char *)data, size, 0, &jerr);
    if (req == NULL)
        return 0;
    const char *type = json_string_value(json_object_get(req, "type"));
    const json_t *fields = json_object_get(req, "fields");
    const json_t *jseq = json_object_get(req, "seq");
    if (type == NULL) {
        json_decref(req);
        return 0;
    }
    uint32_t seq = json_is_integer(jseq)
        ? (uint32_t)((uint64_t)json_integer_value(jseq) % (SEQ_MAX + 1))
        : (uint32_t)(size % (SEQ_MAX + 1));

    char plain[COMMAND_MAX + 1], summed[COMMAND_MAX + 1];
    struct command_error ep, es;
    memset(plain, 0x5A, sizeof plain);
    memset(summed, 0x5A, sizeof summed);
    int np = command_encode(g_schema, type, fields, seq, false, plain, &ep);
    int ns = command_encode(g_schema, type, fields, seq, true, summed, &es);

    size_t bp = 0, bs = 0;
    if (np >= 0)
        bp = check_frame(type, fields, seq, false, plain, np);
    else
        check_error(&ep);
    if (ns >= 0)
        bs = check_frame(type, fields, seq, true, summed, ns);
    else
        check_error(&es);

    if (np >= 0 && ns >= 0) {
        CHECK(bp == bs && memcmp(plain, summed, bp) == 0);
    } else if (np >= 0) {
        /* only the 3 checksum bytes may push it over */
        CHECK(es.err == COMMAND_ERR_TOO_LONG && np + 3 > COMMAND_MAX);
    } else {
        CHECK(ns < 0 && ep.err == es.err);
    }
    json_decref(req);
    return 0;
}
