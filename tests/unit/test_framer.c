/* test_framer.c - the framer against framer.h and interface v1 "Framing".
 *
 * Every case is a byte stream ending in LF plus the events it must produce
 * ("L <line>" for a line handed over, "E <error name>" for a drop), one per
 * text line. Each case is fed whole, split in two at every offset, split in
 * three at every pair of offsets (short cases), and one byte at a time; every
 * way must give the same events. All cases concatenated must give all their
 * events concatenated, so no case leaves state behind.
 */
#include "testutil.h"

/* What the callbacks saw, as text. */
struct rec {
    char *text;
    size_t len, cap;
    unsigned lines, errors;
    unsigned bad_line;      /* lines not NUL-terminated at len, or with a NUL inside */
    unsigned stop_at_line;  /* return 1 from the Nth line (0 = never) */
    unsigned stop_at_error; /* return 1 from the Nth error (0 = never) */
};

static void rec_add(struct rec *r, const char *prefix, const char *s, size_t n)
{
    size_t need = r->len + strlen(prefix) + n + 2;
    if (need > r->cap) {
        r->cap = need * 2;
        r->text = realloc(r->text, r->cap);
        assert_non_null(r->text);
    }
    memcpy(r->text + r->len, prefix, strlen(prefix));
    r->len += strlen(prefix);
    memcpy(r->text + r->len, s, n);
    r->len += n;
    r->text[r->len++] = '\n';
    r->text[r->len] = '\0';
}

static int on_line(void *ctx, const char *line, size_t len)
{
    struct rec *r = ctx;
    if (line[len] != '\0' || strlen(line) != len)
        r->bad_line++;
    r->lines++;
    rec_add(r, "L ", line, len);
    return r->stop_at_line != 0 && r->lines == r->stop_at_line;
}

static int on_error(void *ctx, enum frame_err err)
{
    struct rec *r = ctx;
    const char *name = frame_err_name(err);
    r->errors++;
    rec_add(r, "E ", name ? name : "(null)", strlen(name ? name : "(null)"));
    return r->stop_at_error != 0 && r->errors == r->stop_at_error;
}

static void rec_init(struct rec *r)
{
    memset(r, 0, sizeof *r);
    r->cap = 256;
    r->text = malloc(r->cap);
    assert_non_null(r->text);
    r->text[0] = '\0';
}

static const char *rec_text(const struct rec *r)
{
    return r->text;
}

/* Feed data cut at the given offsets (sorted, each <= n); returns 0 if every
 * feed returned 0 and the events match want, else prints why. */
static int feed_cut(const char *name, const char *mode, const char *data, size_t n,
                    const size_t *cuts, size_t ncuts, const char *want)
{
    struct framer *f = malloc(sizeof *f);
    struct rec r;
    assert_non_null(f);
    rec_init(&r);
    framer_init(f, on_line, on_error, &r);
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        rc = framer_feed(f, data + at, end - at);
        at = end;
    }
    int failed = 0;
    if (rc != 0 || strcmp(rec_text(&r), want) != 0 || r.bad_line != 0) {
        char where[64] = "";
        for (size_t i = 0; i < ncuts; i++)
            tu_append(where, sizeof where, " %zu", cuts[i]);
        print_error("FAIL [%s] fed %s (cuts:%s): feed rc %d, %u bad line buffers\n"
                    "--- want\n%s--- got\n%s---\n",
                    name, mode, where, rc, r.bad_line, want, rec_text(&r));
        failed = 1;
    }
    free(r.text);
    free(f);
    return failed;
}

/* Every way of cutting one stream; stops at the first failing way. */
static int feed_every_way(const char *name, const char *data, size_t n,
                          const char *want, bool three_way)
{
    size_t cuts[2];
    if (feed_cut(name, "whole", data, n, NULL, 0, want))
        return 1;
    for (size_t i = 0; i <= n; i++) {
        cuts[0] = i;
        if (feed_cut(name, "in two", data, n, cuts, 1, want))
            return 1;
    }
    if (three_way) {
        for (size_t i = 0; i <= n; i++)
            for (size_t j = i; j <= n; j++) {
                cuts[0] = i;
                cuts[1] = j;
                if (feed_cut(name, "in three", data, n, cuts, 2, want))
                    return 1;
            }
    }
    size_t *bytes = malloc((n + 1) * sizeof *bytes);
    assert_non_null(bytes);
    for (size_t i = 0; i < n; i++)
        bytes[i] = i + 1;
    int failed = feed_cut(name, "byte by byte", data, n, bytes, n, want);
    free(bytes);
    return failed;
}

struct stream_case {
    const char *name;
    const char *in;
    size_t len;             /* 0: strlen(in) */
    const char *want;
};

#define NP "E non_printable\n"
#define NEXT "HB,8\n"
#define LNEXT "L HB,8\n"

static const struct stream_case stream_cases[] = {
    { "one frame", "HB,7\n", 0, "L HB,7\n" },
    { "CR LF accepted", "HB,7\r\n", 0, "L HB,7\n" },
    { "two frames in one chunk", "JT,1,1,2,3,4,5,6\nHB,2\n", 0,
      "L JT,1,1,2,3,4,5,6\nL HB,2\n" },
    { "empty line skipped", "\n", 0, "" },
    { "CR LF alone is an empty line", "\r\n", 0, "" },
    { "empty lines between frames", "HB,1\n\n\r\n\nHB,2\n", 0, "L HB,1\nL HB,2\n" },
    { "empty fields kept", "AK,1,2,OK,,\n", 0, "L AK,1,2,OK,,\n" },
    { "text with commas kept", "EV,3,W,10,a, b ,c\n", 0, "L EV,3,W,10,a, b ,c\n" },
    { "all printable bytes", " !\"#$%&'()+-./0123456789:;<=>?@AZ[\\]^_`az{|}~\n", 0,
      "L  !\"#$%&'()+-./0123456789:;<=>?@AZ[\\]^_`az{|}~\n" },
    { "checksum upper case", "HB,18*2F\n", 0, "L HB,18\n" },
    { "checksum lower case", "HB,18*2f\n", 0, "L HB,18\n" },
    { "checksum digits only", "HB,7*11\n", 0, "L HB,7\n" },
    { "checksum then CR LF", "HB,7*11\r\n", 0, "L HB,7\n" },
    { "checksum over the whole frame", "IO,2,diPart,1*13\n", 0, "L IO,2,diPart,1\n" },
    { "checksum wrong", "HB,7*12\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    { "checksum of another frame", "HB,7*1E\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    { "checksum one digit", "HB,7*1\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    { "checksum three digits", "HB,7*111\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    { "checksum not hex", "HB,7*G1\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    { "checksum sign not hex", "HB,7*+1\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    { "star without checksum", "HB,7*\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    { "star inside a field", "EV,1,I,1,a*b,cd\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    /* 3B is the XOR of "HB,7*00": a '*' is never field data, only the
     * last-but-two byte may be one. */
    { "two stars", "HB,7*00*3B\n" NEXT, 0, "E bad_checksum\n" LNEXT },
    { "control byte", "HB,7\x01\n" NEXT, 0, NP LNEXT },
    { "tab", "HB,\t7\n" NEXT, 0, NP LNEXT },
    { "DEL", "HB,7\x7f\n" NEXT, 0, NP LNEXT },
    { "high byte", "HB,7\x80\n" NEXT, 0, NP LNEXT },
    { "UTF-8 reported once", "EV,1,I,1,caf\xc3\xa9 \xe2\x82\xac\n" NEXT, 0, NP LNEXT },
    { "many bad bytes reported once", "\x01\x02\x03\x04\n" NEXT, 0, NP LNEXT },
    { "NUL byte", "HB\0,7\n" NEXT, 6 + 5, NP LNEXT },
    { "CR inside a line", "HB\r,7\n" NEXT, 0, NP LNEXT },
    { "CR not before LF joins two frames", "HB,7\rHB,9\n" NEXT, 0, NP LNEXT },
    { "two CRs before LF", "HB,7\r\r\n" NEXT, 0, NP LNEXT },
    { "bad byte in checksum", "HB,7*1\x01\n" NEXT, 0, NP LNEXT },
    { "errors in a row then a frame", "HB,7*00\n\x01\nHB,7*12\n" NEXT, 0,
      "E bad_checksum\n" NP "E bad_checksum\n" LNEXT },
};

static void test_stream_cases(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(stream_cases); i++) {
        const struct stream_case *c = &stream_cases[i];
        size_t n = c->len ? c->len : strlen(c->in);
        failures += feed_every_way(c->name, c->in, n, c->want, true);
    }
    assert_int_equal(failures, 0);
}

/* Length bounds: a line of body bytes, then CR LF or LF, then "HB,9\n". */
struct length_case {
    const char *name;
    size_t body;            /* printable bytes before the line end */
    bool crlf;
    const char *tail;       /* bytes after the body, before CR/LF: e.g. "\x01" */
    bool too_long;
};

static const struct length_case length_cases[] = {
    { "1023 bytes + LF is the most", FRAME_MAX - 1, false, "", false },
    { "1024 bytes + LF is too long", FRAME_MAX, false, "", true },
    { "1022 bytes + CR LF fits", FRAME_MAX - 2, true, "", false },
    { "1023 bytes + CR LF is too long", FRAME_MAX - 1, true, "", true },
    { "5000 bytes reported once", 5000, false, "", true },
    { "3 x FRAME_MAX bytes reported once", 3 * FRAME_MAX, true, "", true },
    { "bad bytes past the bound do not add errors", FRAME_MAX + 50, false, "\x01\x80\r", true },
};

/* body: "EV,1,I,1," then 'x' (and a digit every 10 bytes). */
static char *length_input(const struct length_case *c, size_t *n, char **want)
{
    size_t tail = strlen(c->tail);
    size_t cap = c->body + tail + 16;
    char *in = malloc(cap);
    assert_non_null(in);
    static const char head[] = "EV,1,I,1,";
    for (size_t i = 0; i < c->body; i++)
        in[i] = i < sizeof head - 1 ? head[i] : (i % 10 == 0 ? (char)('0' + i / 10 % 10) : 'x');
    memcpy(in + c->body, c->tail, tail);
    size_t at = c->body + tail;
    if (c->crlf)
        in[at++] = '\r';
    in[at++] = '\n';
    memcpy(in + at, "HB,9\n", 5);
    at += 5;
    *n = at;
    *want = malloc(c->body + 32);
    assert_non_null(*want);
    if (c->too_long)
        strcpy(*want, "E too_long\n");
    else
        snprintf(*want, c->body + 32, "L %.*s\n", (int)c->body, in);
    strcat(*want, "L HB,9\n");
    return in;
}

static void test_length_bound(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(length_cases); i++) {
        size_t n;
        char *want;
        char *in = length_input(&length_cases[i], &n, &want);
        failures += feed_every_way(length_cases[i].name, in, n, want, false);
        free(in);
        free(want);
    }
    assert_int_equal(failures, 0);
}

/* A 1023-byte line whose last three bytes are its checksum is in bounds. */
static void test_longest_line_with_checksum(void **state)
{
    (void)state;
    char in[FRAME_MAX + 8];
    char want[FRAME_MAX + 16];
    size_t body = FRAME_MAX - 1 - 3;
    memset(in, 'y', body);
    memcpy(in, "EV,1,I,1,", 9);
    uint8_t x = 0;
    for (size_t i = 0; i < body; i++)
        x ^= (uint8_t)in[i];
    snprintf(in + body, sizeof in - body, "*%02X\n", x);
    snprintf(want, sizeof want, "L %.*s\n", (int)body, in);
    assert_int_equal(strlen(in), FRAME_MAX);
    assert_int_equal(feed_every_way("1020 bytes + *HH + LF", in, FRAME_MAX, want, false), 0);
}

/* All cases back to back, cut in uneven chunks: no case leaves state behind. */
static void test_all_cases_concatenated(void **state)
{
    (void)state;
    size_t cap = 1 << 16, n = 0;
    char *in = malloc(cap);
    char *want = malloc(cap);
    assert_non_null(in);
    assert_non_null(want);
    want[0] = '\0';
    for (size_t i = 0; i < TU_LEN(stream_cases); i++) {
        const struct stream_case *c = &stream_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        memcpy(in + n, c->in, len);
        n += len;
        strcat(want, c->want);
    }
    for (size_t i = 0; i < TU_LEN(length_cases); i++) {
        size_t len;
        char *w;
        char *part = length_input(&length_cases[i], &len, &w);
        assert_true(n + len < cap && strlen(want) + strlen(w) < cap);
        memcpy(in + n, part, len);
        n += len;
        strcat(want, w);
        free(part);
        free(w);
    }
    int failures = feed_cut("all cases", "whole", in, n, NULL, 0, want);
    /* chunk sizes 1, 2, 3, 5, 8, ... 987, then again */
    size_t *cuts = malloc(n * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t start = 0; start < 3; start++) {
        size_t ncuts = 0, at = start, a = 1, b = 2;
        while (at < n) {
            cuts[ncuts++] = at;
            at += a;
            size_t t = a + b;
            a = b;
            b = t > 1000 ? 1 : t;
        }
        failures += feed_cut("all cases", "in growing chunks", in, n, cuts, ncuts, want);
    }
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    failures += feed_cut("all cases", "byte by byte", in, n, cuts, n - 1, want);
    free(cuts);
    free(in);
    free(want);
    assert_int_equal(failures, 0);
}

static void test_many_frames_in_one_chunk(void **state)
{
    (void)state;
    enum { FRAMES = 300 };
    char *in = malloc(FRAMES * 64);
    char *want = malloc(FRAMES * 64);
    assert_non_null(in);
    assert_non_null(want);
    in[0] = want[0] = '\0';
    for (int i = 0; i < FRAMES; i++) {
        char line[64];
        snprintf(line, sizeof line, "JT,%d,%d.5,-20,30.25,0,90,-180", i, i);
        tu_append(in, FRAMES * 64, "%s%s", line, i % 3 == 0 ? "\r\n" : "\n");
        tu_append(want, FRAMES * 64, "L %s\n", line);
    }
    size_t n = strlen(in);
    int failures = feed_cut("300 frames", "whole", in, n, NULL, 0, want);
    size_t *cuts = malloc(n * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    failures += feed_cut("300 frames", "byte by byte", in, n, cuts, n - 1, want);
    free(cuts);
    free(in);
    free(want);
    assert_int_equal(failures, 0);
}

static void test_partial_line_waits_for_lf(void **state)
{
    (void)state;
    struct framer f;
    struct rec r;
    rec_init(&r);
    framer_init(&f, on_line, on_error, &r);
    assert_int_equal(framer_feed(&f, "HB,1", 4), 0);
    assert_string_equal(rec_text(&r), "");
    assert_int_equal(framer_feed(&f, "2\n", 2), 0);
    assert_string_equal(rec_text(&r), "L HB,12\n");
    free(r.text);
}

static void test_reset_drops_partial_line(void **state)
{
    (void)state;
    struct framer f;
    struct rec r;
    rec_init(&r);
    framer_init(&f, on_line, on_error, &r);
    assert_int_equal(framer_feed(&f, "JT,1,2,3", 8), 0);
    framer_reset(&f);
    assert_int_equal(framer_feed(&f, "HB,2\n", 5), 0);
    assert_string_equal(rec_text(&r), "L HB,2\n");
    free(r.text);
}

/* Reset while skipping an over-long line: the next line is read normally. */
static void test_reset_while_discarding(void **state)
{
    (void)state;
    struct framer f;
    struct rec r;
    char junk[2 * FRAME_MAX];
    memset(junk, 'x', sizeof junk);
    rec_init(&r);
    framer_init(&f, on_line, on_error, &r);
    assert_int_equal(framer_feed(&f, junk, sizeof junk), 0);
    framer_reset(&f);
    assert_int_equal(framer_feed(&f, "HB,2\n", 5), 0);
    const char *t = rec_text(&r);
    assert_true(tu_streq(t, "L HB,2\n") || tu_streq(t, "E too_long\nL HB,2\n"));
    free(r.text);
}

static void test_line_callback_stops_feed(void **state)
{
    (void)state;
    struct framer f;
    struct rec r;
    rec_init(&r);
    r.stop_at_line = 1;
    framer_init(&f, on_line, on_error, &r);
    assert_int_equal(framer_feed(&f, "HB,1\nHB,2\nHB,3\n", 15), 1);
    assert_string_equal(rec_text(&r), "L HB,1\n");
    free(r.text);
}

static void test_error_callback_stops_feed(void **state)
{
    (void)state;
    struct framer f;
    struct rec r;
    rec_init(&r);
    r.stop_at_error = 1;
    framer_init(&f, on_line, on_error, &r);
    assert_int_equal(framer_feed(&f, "HB,1*00\nHB,2\n", 13), 1);
    assert_string_equal(rec_text(&r), "E bad_checksum\n");
    free(r.text);
}

static void test_feed_returns_zero_when_all_consumed(void **state)
{
    (void)state;
    struct framer f;
    struct rec r;
    rec_init(&r);
    r.stop_at_line = 3; /* never reached */
    framer_init(&f, on_line, on_error, &r);
    assert_int_equal(framer_feed(&f, "HB,1\nHB,2\n", 10), 0);
    assert_int_equal(framer_feed(&f, "", 0), 0);
    assert_string_equal(rec_text(&r), "L HB,1\nL HB,2\n");
    free(r.text);
}

static void test_checksum_function(void **state)
{
    (void)state;
    static const struct {
        const char *name, *in;
        uint8_t want;
    } cases[] = {
        { "empty", "", 0x00 },
        { "one byte", "A", 0x41 },
        { "pair cancels", "AA", 0x00 },
        { "HB,7", "HB,7", 0x11 },
        { "PING,1", "PING,1", 0x0D },
        { "SETDO", "SETDO,3,doGrip,1", 0x40 },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        uint8_t got = frame_checksum(cases[i].in, strlen(cases[i].in));
        TU_CHECK(failures, cases[i].name, got == cases[i].want, "want %02X got %02X",
                 cases[i].want, got);
    }
    /* only n bytes count */
    assert_int_equal(frame_checksum("HB,7XYZ", 4), 0x11);
    assert_int_equal(failures, 0);
}

static void test_error_names(void **state)
{
    (void)state;
    static const struct {
        enum frame_err err;
        const char *name;
    } cases[] = {
        { FRAME_ERR_TOO_LONG, "too_long" },
        { FRAME_ERR_NON_PRINTABLE, "non_printable" },
        { FRAME_ERR_BAD_CHECKSUM, "bad_checksum" },
        { FRAME_ERR_UNKNOWN_TYPE, "unknown_type" },
        { FRAME_ERR_FIELD_COUNT, "field_count" },
        { FRAME_ERR_BAD_VALUE, "bad_value" },
        { FRAME_ERR_BEFORE_HELLO, "before_hello" },
    };
    assert_int_equal(TU_LEN(cases), FRAME_ERR_COUNT);
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        const char *got = frame_err_name(cases[i].err);
        TU_CHECK(failures, cases[i].name, tu_streq(got, cases[i].name), "got %s",
                 got ? got : "(null)");
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_cases),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_longest_line_with_checksum),
        cmocka_unit_test(test_all_cases_concatenated),
        cmocka_unit_test(test_many_frames_in_one_chunk),
        cmocka_unit_test(test_partial_line_waits_for_lf),
        cmocka_unit_test(test_reset_drops_partial_line),
        cmocka_unit_test(test_reset_while_discarding),
        cmocka_unit_test(test_line_callback_stops_feed),
        cmocka_unit_test(test_error_callback_stops_feed),
        cmocka_unit_test(test_feed_returns_zero_when_all_consumed),
        cmocka_unit_test(test_checksum_function),
        cmocka_unit_test(test_error_names),
    };
    return cmocka_run_group_tests_name("framer", tests, NULL, NULL);
}
