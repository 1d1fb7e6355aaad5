/* bench_protocol.c - how fast the protocol layer turns robot bytes into JSON.
 *
 * Builds a realistic robot stream in memory (JT, PS, ST, IO in the ratio
 * 4:4:1:1, numbers as RAPID's NumToStr writes them, about 10 MB), then times
 *   parse : framer + frame_decode (DIR_IN) of the whole stream, fed in reads
 *           of READ_CHUNK bytes as a socket would deliver it;
 *   render: frame_render + json_dumpb (RB_JSON_FLAGS) of every frame.
 * Each is run RUNS times and the best run is printed. Prints numbers only:
 * speed is never asserted (machines differ).
 */
#include "decode.h"
#include "framer.h"
#include "render.h"
#include "schema.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_BYTES (10u * 1000u * 1000u) /* size of the generated stream */
#define READ_CHUNK 4096                     /* bytes per simulated socket read */
#define RENDER_BATCH 1024                   /* frames decoded, then rendered, per batch */
#define RUNS 3
#define JSON_BUF 4096

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* NumToStr(v, decimals): fixed decimals, trailing zeros and a bare point
 * dropped ("90", "-20.25", "0.70711"). */
static int num(char *out, size_t cap, double v, int decimals)
{
    int n = snprintf(out, cap, "%.*f", decimals, v);
    if (n <= 0 || (size_t)n >= cap)
        return -1;
    if (memchr(out, '.', (size_t)n)) {
        while (out[n - 1] == '0')
            n--;
        if (out[n - 1] == '.')
            n--;
        out[n] = '\0';
    }
    if (strcmp(out, "-0") == 0)
        return snprintf(out, cap, "0");
    return n;
}

struct stream {
    char *buf;
    size_t len, cap;
    unsigned frames;
};

static void put(struct stream *s, const char *text)
{
    size_t n = strlen(text);
    if (s->len + n > s->cap) {
        fprintf(stderr, "bench: stream buffer full\n");
        exit(1);
    }
    memcpy(s->buf + s->len, text, n);
    s->len += n;
}

/* One frame of the given type at tick t; a robot moving smoothly. */
static void put_frame(struct stream *s, char type, unsigned seq, double t, struct rng *r)
{
    char line[256], v[32];
    int n = 0;
    switch (type) {
    case 'J':
        n = snprintf(line, sizeof line, "JT,%u", seq);
        for (int k = 0; k < 6; k++) {
            num(v, sizeof v, (40.0 + 20 * k) * sin(t * 0.3 + k) + rng_unit(r) * 0.01, 2);
            n += snprintf(line + n, sizeof line - (size_t)n, ",%s", v);
        }
        break;
    case 'P': {
        n = snprintf(line, sizeof line, "PS,%u", seq);
        double p[3] = { 800 + 300 * sin(t * 0.3), -200 + 400 * cos(t * 0.2), 900 + 150 * sin(t * 0.5) };
        for (int k = 0; k < 3; k++) {
            num(v, sizeof v, p[k], 2);
            n += snprintf(line + n, sizeof line - (size_t)n, ",%s", v);
        }
        double a = t * 0.1, q[4] = { cos(a), 0, sin(a) * 0.6, sin(a) * 0.8 };
        for (int k = 0; k < 4; k++) {
            num(v, sizeof v, q[k], 5);
            n += snprintf(line + n, sizeof line - (size_t)n, ",%s", v);
        }
        break;
    }
    case 'S':
        n = snprintf(line, sizeof line, "ST,%u,%s,AUTO,ON,%u", seq,
                     rng_next(r) % 8 ? "RUNNING" : "STOPPED", (unsigned)(rng_next(r) % 101));
        break;
    default: {
        static const char *const names[] = { "diPartPresent", "doGrip", "aoWeldCurrent", "giCounter" };
        unsigned which = (unsigned)(rng_next(r) % 4);
        if (which == 2)
            num(v, sizeof v, 150 + rng_unit(r) * 100, 1);
        else if (which == 3)
            snprintf(v, sizeof v, "%s", rng_next(r) % 2 ? "1E+06" : "8388607");
        else
            snprintf(v, sizeof v, "%u", (unsigned)(rng_next(r) % 2));
        n = snprintf(line, sizeof line, "IO,%u,%s,%s", seq, names[which], v);
        break;
    }
    }
    if (n <= 0 || (size_t)n + 2 > sizeof line) {
        fprintf(stderr, "bench: frame too long\n");
        exit(1);
    }
    line[n++] = '\n';
    line[n] = '\0';
    put(s, line);
    s->frames++;
}

static void build_stream(struct stream *s)
{
    static const char pattern[] = "JPJPJPJPSI"; /* 4 JT : 4 PS : 1 ST : 1 IO */
    struct rng r = { 0x9E3779B97F4A7C15ull };
    s->cap = STREAM_BYTES + 512;
    s->buf = malloc(s->cap);
    if (s->buf == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (unsigned i = 0; s->len < STREAM_BYTES; i++)
        put_frame(s, pattern[i % 10], i % (SEQ_MAX + 1), i * 0.004, &r);
}

/* --- parse: framer + frame_decode ----------------------------------------- */

struct parse_ctx {
    const struct schema *schema;
    unsigned long frames, errors;
    double sink;        /* keeps the decoded values alive for the optimiser */
};

static int parse_line(void *ctx, const char *line, size_t len)
{
    struct parse_ctx *p = ctx;
    struct frame_values v;
    struct decode_error err;
    if (frame_decode(p->schema, DIR_IN, line, len, &v, &err) != 0) {
        p->errors++;
        return 0;
    }
    p->frames++;
    p->sink += v.nvalues ? v.v[0].num : 0;
    return 0;
}

static int parse_error(void *ctx, enum frame_err err)
{
    struct parse_ctx *p = ctx;
    (void)err;
    p->errors++;
    return 0;
}

static double run_parse(const struct schema *schema, const struct stream *s, struct parse_ctx *p)
{
    struct framer f;
    *p = (struct parse_ctx){ .schema = schema };
    double t0 = now();
    framer_init(&f, parse_line, parse_error, p);
    for (size_t off = 0; off < s->len; off += READ_CHUNK) {
        size_t n = s->len - off < READ_CHUNK ? s->len - off : READ_CHUNK;
        framer_feed(&f, s->buf + off, n);
    }
    return now() - t0;
}

/* --- render: frame_render + json_dumpb ------------------------------------ */

struct render_ctx {
    bool direct;            /* frame_render_text (the daemon's path) or jansson */
    double seconds;         /* time spent rendering, summed over batches */
    unsigned long frames, errors;
    size_t json_bytes;      /* JSON text out, one LF per object counted */
};

/* Renders one batch of decoded frames and times only that. */
static void render_batch(struct render_ctx *rc, const struct frame_values *vals, unsigned n,
                         double first_time)
{
    char buf[JSON_BUF];
    double t0 = now();
    for (unsigned i = 0; i < n && rc->direct; i++) {
        size_t len = frame_render_text(&vals[i], "rob1", first_time + i * 0.004, buf, sizeof buf);
        if (len == 0) {
            rc->errors++;
            continue;
        }
        rc->json_bytes += len + 1;
        rc->frames++;
    }
    for (unsigned i = 0; i < n && !rc->direct; i++) {
        json_t *o = frame_render(&vals[i], "rob1", first_time + i * 0.004);
        if (o == NULL) {
            rc->errors++;
            continue;
        }
        size_t len = json_dumpb(o, buf, sizeof buf, RB_JSON_FLAGS);
        json_decref(o);
        if (len == 0 || len > sizeof buf) {
            rc->errors++;
            continue;
        }
        rc->json_bytes += len + 1;
        rc->frames++;
    }
    rc->seconds += now() - t0;
}

/* Lines are split here, not by the framer, so their values stay valid in
 * the source buffer until the batch is rendered. */
static void run_render(const struct schema *schema, const struct stream *s,
                       struct frame_values *vals, struct render_ctx *rc, bool direct)
{
    *rc = (struct render_ctx){ .direct = direct };
    unsigned n = 0;
    double t = 1764101234.123456;
    for (size_t off = 0; off < s->len;) {
        const char *line = s->buf + off;
        const char *lf = memchr(line, '\n', s->len - off);
        size_t len = lf ? (size_t)(lf - line) : s->len - off;
        off += len + 1;
        struct decode_error err;
        if (frame_decode(schema, DIR_IN, line, len, &vals[n], &err) != 0) {
            rc->errors++;
            continue;
        }
        if (++n == RENDER_BATCH) {
            render_batch(rc, vals, n, t);
            t += n * 0.004;
            n = 0;
        }
    }
    render_batch(rc, vals, n, t);
}

int main(void)
{
    struct schema *schema = schema_new();
    struct frame_values *vals = calloc(RENDER_BATCH, sizeof *vals);
    if (schema == NULL || vals == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    struct stream s = { 0 };
    build_stream(&s);
    double mb = (double)s.len / 1e6;
    printf("stream : %.1f MB, %u frames (JT:PS:ST:IO = 4:4:1:1), reads of %d bytes, best of %d\n",
           mb, s.frames, READ_CHUNK, RUNS);

    double best = INFINITY;
    struct parse_ctx p;
    for (int i = 0; i < RUNS; i++) {
        double t = run_parse(schema, &s, &p);
        if (t < best)
            best = t;
    }
    printf("parse  : %.2f M frames/s, %.0f MB/s in (%lu frames, %lu errors)\n",
           p.frames / best / 1e6, mb / best, p.frames, p.errors);

    struct render_ctx rc;
    unsigned long render_errors = 0;
    static const struct {
        const char *name;
        bool direct;
    } renders[] = {{"render (jansson)       ", false}, {"render (direct, daemon)", true}};
    for (size_t r = 0; r < sizeof renders / sizeof renders[0]; r++) {
        best = INFINITY;
        for (int i = 0; i < RUNS; i++) {
            run_render(schema, &s, vals, &rc, renders[r].direct);
            if (rc.seconds < best)
                best = rc.seconds;
        }
        printf("%s: %.2f M frames/s, %.0f MB/s JSON out (%lu frames, %.1f MB JSON, %lu errors)\n",
               renders[r].name, rc.frames / best / 1e6, (double)rc.json_bytes / 1e6 / best,
               rc.frames, (double)rc.json_bytes / 1e6, rc.errors);
        render_errors += rc.errors;
    }

    free(vals);
    free(s.buf);
    schema_free(schema);
    return p.errors || render_errors ? 1 : 0;
}
