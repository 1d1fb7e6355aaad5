/* test_rx.c - the RX frame the bridge writes for a robot request that got
 * no reply (rx.h): codes and names, the text made fit (shared with NO), 80
 * bytes at most with and without a checksum, and the frame reads back
 * through the frame table with the request's seq. */
#include "testutil.h"

#include "framer.h"
#include "refusal.h"
#include "rx.h"

struct rx_case {
    const char *name;
    uint32_t seq;
    enum rx_code code;
    const char *text;
    bool checksum;
    const char *want;       /* the frame before any checksum, LF excluded; NULL: refused */
};

#define LONG70 "0123456789012345678901234567890123456789012345678901234567890123456789"

static const struct rx_case rx_cases[] = {
    { "no handler", 7, RX_NO_HANDLER, "nobody serves JB for rob1", false,
      "RX,7,1,nobody serves JB for rob1" },
    { "timeout", 99999, RX_TIMEOUT, "no reply within 5.0 s", false,
      "RX,99999,2,no reply within 5.0 s" },
    { "error text made fit", 0, RX_ERROR, "no job, hopper *empty*\n", false,
      "RX,0,3,no job; hopper _empty_?" },
    { "invalid", 12, RX_INVALID, "invalid reply: count", false, "RX,12,4,invalid reply: count" },
    { "busy", 12, RX_BUSY, "x", false, "RX,12,5,x" },
    { "empty text becomes ?", 1, RX_ERROR, "", false, "RX,1,3,?" },
    { "NULL text becomes ?", 1, RX_ERROR, NULL, false, "RX,1,3,?" },
    { "cut to 80 bytes with the LF", 12345, RX_ERROR, LONG70 "abcdefghij", false,
      "RX,12345,3,01234567890123456789012345678901234567890123456789012345678901234567" }, /* 11 + 68 + LF */
    { "cut to 80 bytes with checksum and LF", 12345, RX_ERROR, LONG70 "abcdefghij", true,
      "RX,12345,3,01234567890123456789012345678901234567890123456789012345678901234" }, /* 11 + 65 + *HH + LF */
    { "with checksum", 3, RX_TIMEOUT, "late", true, "RX,3,2,late" },
    { "code 0 is no RX code", 1, (enum rx_code)0, "x", false, NULL },
    { "code past the last", 1, (enum rx_code)RX_COUNT, "x", false, NULL },
    { "seq past 99999", 100000, RX_ERROR, "x", false, NULL },
};

static void test_rx_frames(void **state)
{
    (void)state;
    struct schema *s = schema_new();
    assert_non_null(s);
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(rx_cases); i++) {
        const struct rx_case *c = &rx_cases[i];
        char out[COMMAND_MAX + 1] = "";
        int n = rx_encode(s, c->seq, c->code, c->text, c->checksum, out);
        if (!c->want) {
            TU_CHECK(failures, c->name, n == -1, "encoded \"%s\"", out);
            continue;
        }
        char want[COMMAND_MAX * 2] = "";
        tu_append(want, sizeof want, "%s", c->want);
        if (c->checksum)
            tu_append(want, sizeof want, "*%02X", frame_checksum(want, strlen(want)));
        tu_append(want, sizeof want, "\n");
        TU_CHECK(failures, c->name, n == (int)strlen(want) && tu_streq(out, want),
                 "got %d \"%s\", want \"%s\"", n, out, want);
        TU_CHECK(failures, c->name, n <= COMMAND_MAX, "%d bytes", n);
        /* The robot side reads it with the same table. */
        size_t body = c->checksum ? (size_t)n - 4 : (size_t)n - 1;
        struct frame_values fv;
        struct decode_error de;
        int rc = n > 4 ? frame_decode(s, DIR_OUT, out, body, &fv, &de) : -1;
        TU_CHECK(failures, c->name, rc == 0 && fv.seq == c->seq && fv.v[0].num == (double)c->code &&
                 fv.def->role == ROLE_REQUEST_FAILED, "does not decode as RX");
    }
    schema_free(s);
    assert_int_equal(failures, 0);
}

static void test_names(void **state)
{
    (void)state;
    static const char *const want[RX_COUNT] = {
        "?", "no_handler", "timeout", "error", "invalid", "busy",
    };
    for (int c = 0; c < RX_COUNT; c++)
        assert_string_equal(rx_name((enum rx_code)c), want[c]);
    assert_string_equal(rx_name((enum rx_code)RX_COUNT), "?");
}

/* frame_text_fit, the one fitting NO and RX share. */
static void test_text_fit(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
        size_t room, out_size;
        const char *want;
    } cases[] = {
        { "as is", "abc", 10, 16, "abc" },
        { "cut to room", "abcdef", 3, 16, "abc" },
        { "cut to the buffer", "abcdef", 10, 4, "abc" },
        { "mapped", "a,b*c\x7f", 10, 16, "a;b_c?" },
        { "empty", "", 10, 16, "?" },
        { "no room", "abc", 0, 16, "" },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        char out[16];
        frame_text_fit(cases[i].text, cases[i].room, out, cases[i].out_size);
        TU_CHECK(failures, cases[i].name, tu_streq(out, cases[i].want), "got \"%s\"", out);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rx_frames),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_text_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
