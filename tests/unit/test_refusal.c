/* test_refusal.c - the NO frame a refused robot connection gets (refusal.h):
 * codes, text made fit for the frame, 80 bytes at most, and the frame reads
 * back through the frame table. */
#include "testutil.h"

#include "refusal.h"

struct no_case {
    const char *name;
    enum refusal code;
    const char *text;
    const char *want;       /* the frame, LF included; NULL: refused (-1) */
};

#define LONG70 "0123456789012345678901234567890123456789012345678901234567890123456789"

static const struct no_case no_cases[] = {
    { "unknown name", REFUSE_UNKNOWN_NAME, "rapidbridge: robot name 'rob3' is not configured",
      "NO,0,1,rapidbridge: robot name 'rob3' is not configured\n" },
    { "peer", REFUSE_PEER, "rapidbridge: rob1 may only connect from 192.168.125.1",
      "NO,0,2,rapidbridge: rob1 may only connect from 192.168.125.1\n" },
    { "busy, the highest code", REFUSE_BUSY, "x", "NO,0,7,x\n" },
    { "comma becomes semicolon", REFUSE_PROTO, "a, b", "NO,0,3,a; b\n" },
    { "star becomes underscore", REFUSE_BAD_HELLO, "HI,1*2F", "NO,0,4,HI;1_2F\n" },
    { "CR LF TAB and 8-bit bytes become ?", REFUSE_NOT_HELLO, "a\r\n\tb\xc3\xa9",
      "NO,0,5,a???b??\n" },
    { "empty text becomes ?", REFUSE_HELLO_TIMEOUT, "", "NO,0,6,?\n" },
    { "NULL text becomes ?", REFUSE_HELLO_TIMEOUT, NULL, "NO,0,6,?\n" },
    { "cut to 80 bytes with the LF", REFUSE_PEER, LONG70 "abcdefghij",
      "NO,0,2," LONG70 "ab\n" },
    { "code 0 is no refusal", (enum refusal)0, "x", NULL },
    { "code past the last", (enum refusal)REFUSAL_COUNT, "x", NULL },
};

static void test_no_frames(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(no_cases); i++) {
        const struct no_case *c = &no_cases[i];
        char out[COMMAND_MAX + 1] = "";
        int n = refusal_encode(s, c->code, c->text, out);
        if (!c->want) {
            TU_CHECK(failures, c->name, n == -1, "encoded \"%s\"", out);
            continue;
        }
        TU_CHECK(failures, c->name, n == (int)strlen(c->want) && tu_streq(out, c->want),
                 "got %d \"%s\"", n, out);
        TU_CHECK(failures, c->name, n <= COMMAND_MAX, "%d bytes", n);
        /* The robot side reads it with the same table. */
        struct frame_values fv;
        struct decode_error de;
        int rc = n > 1 ? frame_decode(s, DIR_OUT, out, (size_t)n - 1, &fv, &de) : -1;
        TU_CHECK(failures, c->name, rc == 0 && fv.seq == 0 && fv.v[0].num == (double)c->code,
                 "does not decode as NO with code %d", (int)c->code);
    }
    schema_free(s);
    assert_int_equal(failures, 0);
}

struct hello_case {
    const char *name;
    const char *line;       /* a first frame that does not decode */
    enum refusal want;
    const char *robot;      /* the name taken from it */
    const char *detail;
};

static const struct hello_case hello_cases[] = {
    { "protocol 2", "HI,1,rob1,2,RW 6", REFUSE_PROTO, "rob1", "2" },
    { "protocol 1.5", "HI,1,rob1,1.5", REFUSE_PROTO, "rob1", "1.5" },
    { "protocol not a number", "HI,1,rob1,x", REFUSE_BAD_HELLO, "rob1", "bad_value in field 2" },
    { "no protocol", "HI,1,rob1", REFUSE_BAD_HELLO, "rob1", "field_count in field 2" },
    { "name not an identifier", "HI,1,9rob,1", REFUSE_BAD_HELLO, "", "bad_value in field 1" },
    { "bad seq", "HI,x,rob1,1", REFUSE_BAD_HELLO, "rob1", "bad_value in field 0" },
    { "not a HI at all", "JT,1,2", REFUSE_BAD_HELLO, "", "field_count in field*" },
};

static void test_bad_hello(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(hello_cases); i++) {
        const struct hello_case *c = &hello_cases[i];
        struct frame_values fv;
        struct decode_error de;
        int rc = frame_decode(s, DIR_IN, c->line, strlen(c->line), &fv, &de);
        TU_CHECK(failures, c->name, rc < 0, "decodes");
        if (rc == 0)
            continue;
        char name[IDENT_MAX + 1], detail[48];
        enum refusal got = refusal_of_bad_hello(c->line, strlen(c->line), &de, name, detail,
                                                sizeof detail);
        TU_CHECK(failures, c->name, got == c->want, "code %d, want %d", (int)got, (int)c->want);
        TU_CHECK(failures, c->name, tu_streq(name, c->robot), "name \"%s\"", name);
        TU_CHECK(failures, c->name, tu_match(c->detail, detail), "detail \"%s\"", detail);
    }
    schema_free(s);
    assert_int_equal(failures, 0);
}

static void test_names(void **state)
{
    (void)state;
    static const char *const want[REFUSAL_COUNT] = {
        "?", "unknown_name", "peer", "proto", "bad_hello", "not_hello", "hello_timeout", "busy",
    };
    for (int c = 0; c < REFUSAL_COUNT; c++)
        assert_string_equal(refusal_name((enum refusal)c), want[c]);
    assert_string_equal(refusal_name((enum refusal)REFUSAL_COUNT), "?");
}

/* NO is the bridge's own frame: a robot never sends it, and it is no command
 * a client could name (the configuration and send check from_bridge). */
static void test_no_row(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    const struct frame_def *d = schema_find(s, DIR_OUT, "NO", 2);
    assert_non_null(d);
    assert_true(d->builtin && d->from_bridge);
    assert_null(schema_find(s, DIR_IN, "NO", 2));
    const struct frame_def *rx = schema_find(s, DIR_OUT, "RX", 2);
    for (size_t i = 0; schema_at(s, i); i++)
        if (schema_at(s, i) != d && schema_at(s, i) != rx)
            assert_false(schema_at(s, i)->from_bridge);
    schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_frames),
        cmocka_unit_test(test_bad_hello),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_no_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
