/* fuzz_frame.c - libFuzzer harness: robot bytes -> framer -> decode -> JSON.
 *
 * The input is a robot byte stream. It is framed twice: once in one chunk,
 * once in chunks whose sizes a small generator seeded by the first byte
 * picks; both runs must give the same lines and errors in the same order
 * (reassembly may not depend on how TCP split the bytes). Every line of the
 * chunked run is checked against framer.h, decoded in both directions with
 * the built-in types plus one custom type, and every decoded frame is checked
 * against its definition, rendered, dumped and loaded back.
 *
 * Any broken invariant is __builtin_trap(), so libFuzzer keeps the input.
 */
#include "fuzz.h"
#include "decode.h"
#include "framer.h"
#include "render.h"
#include "schema.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_direct_text(const struct frame_values *v, const char *ref, size_t ref_len);

/* One custom type covering every kind, an array, a range and optional
 * trailing fields, as a configuration would define it. */
static const char CUSTOM_FRAMES[] =
    "[{\"type\":\"WD\",\"direction\":\"in\",\"fields\":["
    "{\"name\":\"current\",\"kind\":\"real\",\"min\":0,\"max\":1000},"
    "{\"name\":\"mode\",\"kind\":\"enum\",\"values\":[\"PULSE\",\"CV\"]},"
    "{\"name\":\"zones\",\"kind\":\"int\",\"count\":3,\"min\":-5,\"max\":5},"
    "{\"name\":\"job\",\"kind\":\"identifier\",\"optional\":true},"
    "{\"name\":\"note\",\"kind\":\"text\",\"optional\":true}]}]";

/* Built once, read-only afterwards (schema.h: never changed after loading). */
static struct schema *g_schema;

/* The events of one framing run, serialised so two runs compare with memcmp. */
struct events {
    unsigned char *buf;
    size_t len, cap;
};

struct run {
    struct events ev;
    const uint8_t *input;      /* the whole input, to find lines in */
    size_t input_len;
    size_t cursor;             /* lines come in input order */
    int check;                 /* check, decode and render (chunked run) */
};

static void events_put(struct events *e, const void *p, size_t n)
{
    if (e->len + n > e->cap) {
        size_t cap = e->cap ? e->cap : 256;
        while (cap < e->len + n)
            cap *= 2;
        e->buf = realloc(e->buf, cap);
        CHECK(e->buf != NULL);
        e->cap = cap;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

static int printable(unsigned char c)
{
    return c >= 0x20 && c <= 0x7E;
}

/* Every value a successful decode hands back must honour its definition. */
static void check_values(const struct frame_values *v, enum frame_dir dir,
                         const char *line, size_t len)
{
    const struct frame_def *d = v->def;
    CHECK(d != NULL);
    CHECK(d->dir == dir);
    CHECK(schema_find(g_schema, dir, d->type, strlen(d->type)) == d);
    size_t tlen = strlen(d->type);
    CHECK(len > tlen && memcmp(line, d->type, tlen) == 0 && line[tlen] == ',');
    CHECK(v->seq <= SEQ_MAX);
    CHECK(v->nvalues <= WIRE_FIELDS_MAX);
    CHECK(v->nvalues <= frame_def_wire_max(d));

    unsigned w = 0;
    for (unsigned i = 0; i < d->nfields; i++) {
        const struct field_def *f = &d->fields[i];
        for (unsigned k = 0; k < f->count; k++, w++) {
            if (w >= v->nvalues) {
                CHECK(f->optional);     /* only optional fields may be missing */
                continue;
            }
            const struct field_value *fv = &v->v[w];
            if (!fv->present) {
                CHECK(f->optional || (f->absent_9e9 && isnan(fv->num)));
                continue;
            }
            switch (f->kind) {
            case FIELD_INT:
                CHECK(isfinite(fv->num) && fv->num == floor(fv->num));
                CHECK(fv->num >= f->min && fv->num <= f->max);
                break;
            case FIELD_REAL:
                if (isnan(fv->num)) {
                    CHECK(f->absent_9e9);
                } else {
                    CHECK(isfinite(fv->num));
                    CHECK(fv->num >= f->min && fv->num <= f->max);
                }
                break;
            case FIELD_IDENT:
            case FIELD_ENUM:
            case FIELD_TEXT:
                CHECK(fv->str != NULL);
                CHECK(fv->str >= line && fv->str + fv->len <= line + len);
                if (f->kind == FIELD_IDENT)
                    CHECK(ident_valid(fv->str, fv->len));
                if (f->kind == FIELD_ENUM) {
                    int found = 0;
                    for (unsigned e = 0; e < f->nvalues; e++)
                        found |= strlen(f->values[e]) == fv->len &&
                                 memcmp(f->values[e], fv->str, fv->len) == 0;
                    CHECK(found);
                }
                break;
            }
        }
    }
}

/* The JSON object must carry the envelope, one member per present field,
 * none for an absent one, and null nowhere outside an array. */
static void check_rendered(const json_t *o, const struct frame_values *v)
{
    const struct frame_def *d = v->def;
    CHECK(json_is_object(o));
    CHECK(json_is_string(json_object_get(o, "class")));
    CHECK(strcmp(json_string_value(json_object_get(o, "class")), "FRAME") == 0);
    CHECK(json_is_string(json_object_get(o, "type")));
    CHECK(strcmp(json_string_value(json_object_get(o, "type")), d->type) == 0);
    CHECK(json_is_integer(json_object_get(o, "seq")));
    CHECK(json_integer_value(json_object_get(o, "seq")) == (json_int_t)v->seq);

    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)o, key, val)
        CHECK(!json_is_null(val));

    unsigned w = 0;
    for (unsigned i = 0; i < d->nfields; i++) {
        const struct field_def *f = &d->fields[i];
        int present = w < v->nvalues && (v->v[w].present || f->count > 1);
        const json_t *m = json_object_get(o, f->name);
        if (present) {
            CHECK(m != NULL);
            if (f->count > 1)
                CHECK(json_is_array(m) && json_array_size(m) == f->count);
        } else if (f->optional) {
            CHECK(m == NULL);
        }
        w += f->count;
    }
}

static void decode_render(const char *line, size_t len)
{
    static const enum frame_dir dirs[] = { DIR_IN, DIR_OUT };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        struct frame_values v;
        struct decode_error err;
        memset(&v, 0xA5, sizeof v); /* stale garbage must not leak through */
        if (frame_decode(g_schema, dirs[i], line, len, &v, &err) != 0) {
            CHECK(err.err == FRAME_ERR_UNKNOWN_TYPE || err.err == FRAME_ERR_FIELD_COUNT ||
                  err.err == FRAME_ERR_BAD_VALUE);
            continue;
        }
        check_values(&v, dirs[i], line, len);

        json_t *o = frame_render(&v, "rob1", 1764101234.123456);
        CHECK(o != NULL);
        check_rendered(o, &v);
        char small[2048];
        size_t n = json_dumpb(o, small, sizeof small, RB_JSON_FLAGS);
        CHECK(n > 0);
        char *text = small;
        if (n > sizeof small) {
            text = malloc(n);
            CHECK(text != NULL);
            CHECK(json_dumpb(o, text, n, RB_JSON_FLAGS) == n);
        }
        CHECK(memchr(text, '\n', n) == NULL); /* one object per line */
        check_direct_text(&v, text, n);
        json_error_t jerr;
        json_t *back = json_loadb(text, n, 0, &jerr);
        CHECK(back != NULL);
        check_rendered(back, &v);
        json_decref(back);
        if (text != small)
            free(text);
        json_decref(o);
    }
}

/* The daemon's direct writer must give jansson's text byte for byte, with
 * only "time" written to the microsecond. */
static void check_direct_text(const struct frame_values *v, const char *ref, size_t ref_len)
{
    static char direct[FRAME_TEXT_MAX], want[FRAME_TEXT_MAX + 64];
    size_t n = frame_render_text(v, "rob1", 1764101234.123456, direct, sizeof direct);
    CHECK(n > 0);
    const char *key = "\"time\":";
    const char *t = memmem(ref, ref_len, key, strlen(key));
    CHECK(t != NULL);
    t += strlen(key);
    size_t head = (size_t)(t - ref), tail_at = head;
    while (tail_at < ref_len && ref[tail_at] != ',' && ref[tail_at] != '}')
        tail_at++;
    int w = snprintf(want, sizeof want, "%.*s1764101234.123456%.*s", (int)head, ref,
                     (int)(ref_len - tail_at), ref + tail_at);
    CHECK(w > 0 && (size_t)w == n && memcmp(want, direct, n) == 0);
}

static int on_line(void *ctx, const char *line, size_t len)
{
    struct run *r = ctx;
    unsigned char tag = 'L';
    events_put(&r->ev, &tag, 1);
    events_put(&r->ev, &len, sizeof len);
    events_put(&r->ev, line, len);
    if (!r->check)
        return 0;

    CHECK(len > 0 && len < FRAME_MAX);
    CHECK(line[len] == '\0');
    for (size_t i = 0; i < len; i++) {
        CHECK(printable((unsigned char)line[i]));
        CHECK(line[i] != '*');
    }
    /* The line is a stretch of the input after the previous one. */
    const void *at = memmem(r->input + r->cursor, r->input_len - r->cursor, line, len);
    CHECK(at != NULL);
    r->cursor = (size_t)((const uint8_t *)at - r->input) + len;

    decode_render(line, len);
    return 0;
}

static int on_error(void *ctx, enum frame_err err)
{
    struct run *r = ctx;
    /* Only the framer's own causes: the rest belong to decode and link. */
    CHECK(err == FRAME_ERR_TOO_LONG || err == FRAME_ERR_NON_PRINTABLE ||
          err == FRAME_ERR_BAD_CHECKSUM);
    unsigned char tag = 'E';
    events_put(&r->ev, &tag, 1);
    events_put(&r->ev, &err, sizeof err);
    return 0;
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

/* Chunk sizes: the first byte picks a mode and seeds an xorshift generator,
 * so byte-at-a-time, small and large splits all occur. */
static size_t next_chunk(uint32_t *state, unsigned mode)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    switch (mode) {
    case 0: return 1;
    case 1: return 1 + x % 8;
    case 2: return 1 + x % 64;
    default: return 1 + x % (2 * FRAME_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *bytes = (const char *)data;

    struct run whole = { .input = data, .input_len = size, .check = 0 };
    struct framer fw;
    framer_init(&fw, on_line, on_error, &whole);
    CHECK(framer_feed(&fw, bytes, size) == 0);

    struct run split = { .input = data, .input_len = size, .check = 1 };
    struct framer fs;
    framer_init(&fs, on_line, on_error, &split);
    uint32_t state = 0x9E3779B9u ^ data[0];
    unsigned mode = data[0] & 3;
    for (size_t off = 0; off < size;) {
        size_t n = next_chunk(&state, mode);
        if (n > size - off)
            n = size - off;
        CHECK(framer_feed(&fs, bytes + off, n) == 0);
        off += n;
    }

    CHECK(whole.ev.len == split.ev.len);
    CHECK(whole.ev.len == 0 || memcmp(whole.ev.buf, split.ev.buf, whole.ev.len) == 0);

    /* A reset drops the partial line: a fresh stream then frames as new. */
    framer_reset(&fs);
    CHECK(fs.len == 0);

    free(whole.ev.buf);
    free(split.ev.buf);
    return 0;
}
