/* test_command.c - command_encode against command.h and interface v1
 * "Commands to the robot": exact output text for every built-in command,
 * refused injections and kinds, the 80-byte bound and the optional checksum.
 *
 * The schema holds the built-ins plus three custom OUT types, so text
 * fields, arrays and over-long frames can be tried:
 *   MSG   text (text)
 *   NAMES names (identifier, count 3)
 *   MOVEJ joints (real -360..360, count 6), zone (int 0..10)
 *   OPT   a (int 0..9), b (int 0..9, optional), c (text, optional)
 * An absent optional field is sent empty; absent ones at the end are left
 * out, so frame_decode reads them back as absent.
 */
#include "testutil.h"

#include "command.h"

#define OK 0

struct command_case {
    const char *name;
    const char *type;
    const char *fields;     /* JSON text, NULL = pass NULL */
    uint32_t seq;
    bool checksum;
    int err;                /* OK or an enum command_err */
    const char *field;      /* want err.field; NULL = not checked */
    const char *out;        /* want output for OK rows */
};

#define BADF COMMAND_ERR_BAD_FIELD
#define UNKNOWN COMMAND_ERR_UNKNOWN_TYPE
#define LONG COMMAND_ERR_TOO_LONG

static const struct command_case command_cases[] = {
    /* every built-in command, exact text */
    { "PING", "PING", NULL, 1, false, OK, NULL, "PING,1\n" },
    { "PING with empty fields", "PING", "{}", 1, false, OK, NULL, "PING,1\n" },
    { "PING with checksum", "PING", NULL, 1, true, OK, NULL, "PING,1*0D\n" },
    { "STOP", "STOP", NULL, 2, false, OK, NULL, "STOP,2\n" },
    { "STOP with checksum", "STOP", "{}", 2, true, OK, NULL, "STOP,2*06\n" },
    { "SETDO", "SETDO", "{\"name\":\"doGrip\",\"value\":1}", 3, false, OK, NULL,
      "SETDO,3,doGrip,1\n" },
    { "SETDO member order does not matter", "SETDO", "{\"value\":0,\"name\":\"doGrip\"}", 3,
      false, OK, NULL, "SETDO,3,doGrip,0\n" },
    { "SETDO with checksum", "SETDO", "{\"name\":\"doGrip\",\"value\":1}", 3, true, OK, NULL,
      "SETDO,3,doGrip,1*40\n" },
    { "SETDO whole real for int", "SETDO", "{\"name\":\"doGrip\",\"value\":1.0}", 3, false, OK,
      NULL, "SETDO,3,doGrip,1\n" },
    { "SETREG", "SETREG", "{\"index\":5,\"value\":12.35}", 4, false, OK, NULL,
      "SETREG,4,5,12.35\n" },
    { "SETREG with checksum", "SETREG", "{\"index\":5,\"value\":12.35}", 4, true, OK, NULL,
      "SETREG,4,5,12.35*14\n" },
    { "SETREG negative fraction", "SETREG", "{\"index\":100,\"value\":-0.5}", 4, false, OK, NULL,
      "SETREG,4,100,-0.5\n" },
    { "SETREG integer for real", "SETREG", "{\"index\":1,\"value\":3}", 4, false, OK, NULL,
      "SETREG,4,1,3\n" },
    { "SETREG nine digits", "SETREG", "{\"index\":1,\"value\":123456789}", 4, false, OK, NULL,
      "SETREG,4,1,123456789\n" },
    { "SETREG ten digits get an exponent", "SETREG", "{\"index\":1,\"value\":1234567891}", 4,
      false, OK, NULL, "SETREG,4,1,1.23456789E+09\n" },
    { "SETREG third", "SETREG", "{\"index\":1,\"value\":0.33333333333333331}", 4, false, OK,
      NULL, "SETREG,4,1,0.333333333\n" },
    { "SETREG large", "SETREG", "{\"index\":1,\"value\":1e20}", 4, false, OK, NULL,
      "SETREG,4,1,1E+20\n" },
    { "SETREG small", "SETREG", "{\"index\":1,\"value\":1e-7}", 4, false, OK, NULL,
      "SETREG,4,1,1E-07\n" },
    { "SETREG float32 bound", "SETREG", "{\"index\":1,\"value\":-3.4e38}", 4, false, OK, NULL,
      "SETREG,4,1,-3.4E+38\n" },
    { "SPEED", "SPEED", "{\"percent\":50}", 5, false, OK, NULL, "SPEED,5,50\n" },
    { "SPEED 1", "SPEED", "{\"percent\":1}", 5, false, OK, NULL, "SPEED,5,1\n" },
    { "SPEED 100", "SPEED", "{\"percent\":100}", 5, false, OK, NULL, "SPEED,5,100\n" },
    { "CALL", "CALL", "{\"proc\":\"routine1\"}", 6, false, OK, NULL, "CALL,6,routine1\n" },
    { "CALL 32-char proc with checksum fits", "CALL", "{\"proc\":\"" TU_ID32 "\"}", 99999, true,
      OK, NULL, "CALL,99999," TU_ID32 "*1F\n" },
    { "NO (the bridge's own, refusal.h)", "NO", "{\"code\":2,\"text\":\"peer, not allowed\"}", 0,
      false, BADF, "text", NULL },
    { "NO", "NO", "{\"code\":2,\"text\":\"rob1 may only connect from 10.0.0.1\"}", 0, false,
      OK, NULL, "NO,0,2,rob1 may only connect from 10.0.0.1\n" },
    { "NO code 0", "NO", "{\"code\":0,\"text\":\"x\"}", 0, false, BADF, "code", NULL },
    { "RX (the bridge's own, rx.h)", "RX", "{\"code\":1,\"text\":\"nobody serves JB\"}", 12, false,
      OK, NULL, "RX,12,1,nobody serves JB\n" },
    { "RX text with a comma", "RX", "{\"code\":3,\"text\":\"no, job\"}", 12, false, BADF, "text",
      NULL },
    { "seq 0", "PING", NULL, 0, false, OK, NULL, "PING,0\n" },
    { "seq 99999", "PING", NULL, 99999, false, OK, NULL, "PING,99999\n" },
    /* types */
    { "unknown type", "FOO", NULL, 1, false, UNKNOWN, "", NULL },
    { "robot frame type", "JT", NULL, 1, false, UNKNOWN, "", NULL },
    { "HB is not a command", "HB", NULL, 1, false, UNKNOWN, "", NULL },
    { "lower-case type", "ping", NULL, 1, false, UNKNOWN, "", NULL },
    { "empty type", "", NULL, 1, false, UNKNOWN, "", NULL },
    { "type with comma", "PING,1", NULL, 1, false, UNKNOWN, "", NULL },
    /* members */
    { "unknown member", "SPEED", "{\"percent\":50,\"extra\":1}", 1, false, BADF, "extra", NULL },
    { "member for a type without fields", "PING", "{\"x\":1}", 1, false, BADF, "x", NULL },
    { "missing value", "SETDO", "{\"name\":\"doGrip\"}", 1, false, BADF, "value", NULL },
    { "missing name", "SETDO", "{\"value\":1}", 1, false, BADF, "name", NULL },
    { "no fields at all", "SETDO", NULL, 1, false, BADF, NULL, NULL },
    { "empty fields", "SPEED", "{}", 1, false, BADF, "percent", NULL },
    { "null value", "SETDO", "{\"name\":\"doGrip\",\"value\":null}", 1, false, BADF, "value",
      NULL },
    { "bool value", "SETDO", "{\"name\":\"doGrip\",\"value\":true}", 1, false, BADF, "value",
      NULL },
    { "string for int", "SPEED", "{\"percent\":\"50\"}", 1, false, BADF, "percent", NULL },
    { "number for identifier", "CALL", "{\"proc\":5}", 1, false, BADF, "proc", NULL },
    { "array for scalar", "SPEED", "{\"percent\":[50]}", 1, false, BADF, "percent", NULL },
    /* ranges */
    { "SETDO value 2", "SETDO", "{\"name\":\"doGrip\",\"value\":2}", 1, false, BADF, "value",
      NULL },
    { "SETDO value -1", "SETDO", "{\"name\":\"doGrip\",\"value\":-1}", 1, false, BADF, "value",
      NULL },
    { "SETDO value 0.5", "SETDO", "{\"name\":\"doGrip\",\"value\":0.5}", 1, false, BADF, "value",
      NULL },
    { "SETREG index 0", "SETREG", "{\"index\":0,\"value\":1}", 1, false, BADF, "index", NULL },
    { "SETREG index 101", "SETREG", "{\"index\":101,\"value\":1}", 1, false, BADF, "index",
      NULL },
    { "SETREG index 1.5", "SETREG", "{\"index\":1.5,\"value\":1}", 1, false, BADF, "index",
      NULL },
    { "SETREG value over float32", "SETREG", "{\"index\":1,\"value\":3.5e38}", 1, false, BADF,
      "value", NULL },
    { "SPEED 0", "SPEED", "{\"percent\":0}", 1, false, BADF, "percent", NULL },
    { "SPEED 101", "SPEED", "{\"percent\":101}", 1, false, BADF, "percent", NULL },
    { "SPEED 50.5", "SPEED", "{\"percent\":50.5}", 1, false, BADF, "percent", NULL },
    /* identifiers: nothing can forge a second frame */
    { "proc 33 characters", "CALL", "{\"proc\":\"" TU_ID33 "\"}", 1, false, BADF, "proc", NULL },
    { "proc empty", "CALL", "{\"proc\":\"\"}", 1, false, BADF, "proc", NULL },
    { "proc with comma", "CALL", "{\"proc\":\"a,b\"}", 1, false, BADF, "proc", NULL },
    { "proc with star", "CALL", "{\"proc\":\"a*b\"}", 1, false, BADF, "proc", NULL },
    { "proc with CR", "CALL", "{\"proc\":\"a\\r\"}", 1, false, BADF, "proc", NULL },
    { "proc with LF and a frame", "CALL", "{\"proc\":\"a\\nSTOP,1\"}", 1, false, BADF, "proc",
      NULL },
    { "proc with NUL", "CALL", "{\"proc\":\"a\\u0000b\"}", 1, false, BADF, "proc", NULL },
    { "proc with space", "CALL", "{\"proc\":\"a b\"}", 1, false, BADF, "proc", NULL },
    { "proc non-ASCII", "CALL", "{\"proc\":\"caf\\u00e9\"}", 1, false, BADF, "proc", NULL },
    { "proc starts with digit", "CALL", "{\"proc\":\"1abc\"}", 1, false, BADF, "proc", NULL },
    { "name forging SETDO", "SETDO", "{\"name\":\"do1,1\\nSTOP\",\"value\":1}", 1, false, BADF,
      "name", NULL },
    /* text */
    { "text", "MSG", "{\"text\":\"hello world\"}", 1, false, OK, NULL, "MSG,1,hello world\n" },
    { "text with checksum", "MSG", "{\"text\":\"hello world\"}", 1, true, OK, NULL,
      "MSG,1,hello world*48\n" },
    { "text printable punctuation", "MSG", "{\"text\":\"a-b_c.d:e;f/g(h)!~\"}", 1, false, OK,
      NULL, "MSG,1,a-b_c.d:e;f/g(h)!~\n" },
    { "text with comma", "MSG", "{\"text\":\"a,b\"}", 1, false, BADF, "text", NULL },
    { "text with star", "MSG", "{\"text\":\"a*00\"}", 1, false, BADF, "text", NULL },
    { "text with CR", "MSG", "{\"text\":\"a\\rb\"}", 1, false, BADF, "text", NULL },
    { "text with LF", "MSG", "{\"text\":\"a\\nSETDO,1,doX,1\"}", 1, false, BADF, "text", NULL },
    { "text with tab", "MSG", "{\"text\":\"a\\tb\"}", 1, false, BADF, "text", NULL },
    { "text with DEL", "MSG", "{\"text\":\"a\\u007fb\"}", 1, false, BADF, "text", NULL },
    { "text non-ASCII", "MSG", "{\"text\":\"\\u20ac\"}", 1, false, BADF, "text", NULL },
    { "text not a string", "MSG", "{\"text\":1}", 1, false, BADF, "text", NULL },
    /* arrays */
    { "array of reals", "MOVEJ", "{\"joints\":[0,-20.5,30,0,90,1e-7],\"zone\":1}", 1, false, OK,
      NULL, "MOVEJ,1,0,-20.5,30,0,90,1E-07,1\n" },
    { "array too short", "MOVEJ", "{\"joints\":[0,0,0,0,0],\"zone\":1}", 1, false, BADF,
      "joints", NULL },
    { "array too long", "MOVEJ", "{\"joints\":[0,0,0,0,0,0,0],\"zone\":1}", 1, false, BADF,
      "joints", NULL },
    { "array element out of range", "MOVEJ", "{\"joints\":[0,0,0,400,0,0],\"zone\":1}", 1,
      false, BADF, "joints", NULL },
    { "array element a string", "MOVEJ", "{\"joints\":[0,0,0,\"0\",0,0],\"zone\":1}", 1, false,
      BADF, "joints", NULL },
    { "scalar for array", "MOVEJ", "{\"joints\":0,\"zone\":1}", 1, false, BADF, "joints", NULL },
    { "custom int range", "MOVEJ", "{\"joints\":[0,0,0,0,0,0],\"zone\":11}", 1, false, BADF,
      "zone", NULL },
    { "array of identifiers", "NAMES", "{\"names\":[\"a\",\"b_2\",\"C\"]}", 1, false, OK, NULL,
      "NAMES,1,a,b_2,C\n" },
    { "bad identifier in array", "NAMES", "{\"names\":[\"a\",\"b,c\",\"C\"]}", 1, false, BADF,
      "names", NULL },
    /* optional fields */
    { "optional fields left out", "OPT", "{\"a\":1}", 1, false, OK, NULL, "OPT,1,1\n" },
    { "optional int given", "OPT", "{\"a\":1,\"b\":2}", 1, false, OK, NULL, "OPT,1,1,2\n" },
    { "all optional fields given", "OPT", "{\"a\":1,\"b\":2,\"c\":\"x y\"}", 1, false, OK,
      NULL, "OPT,1,1,2,x y\n" },
    { "absent optional before a present one", "OPT", "{\"a\":1,\"c\":\"x\"}", 1, false, OK,
      NULL, "OPT,1,1,,x\n" },
    { "optional field still checked", "OPT", "{\"a\":1,\"b\":10}", 1, false, BADF, "b", NULL },
    { "optional text still checked", "OPT", "{\"a\":1,\"c\":\"x,y\"}", 1, false, BADF, "c",
      NULL },
    { "required before optionals missing", "OPT", "{\"b\":1}", 1, false, BADF, "a", NULL },
    /* 7 + 3 x 33 + 1 = 107 bytes */
    { "three 32-char identifiers exceed 80 bytes", "NAMES",
      "{\"names\":[\"" TU_ID32 "\",\"" TU_ID32 "\",\"" TU_ID32 "\"]}", 1, false, LONG, NULL,
      NULL },
};

/* The checksum of an output with "*HH\n" is the XOR of what precedes '*'. */
static bool checksum_ok(const char *out, size_t n)
{
    if (n < 4 || out[n - 1] != '\n' || out[n - 4] != '*')
        return false;
    unsigned hh;
    char hex[3] = {out[n - 3], out[n - 2], '\0'};
    if (sscanf(hex, "%2X", &hh) != 1)
        return false;
    return frame_checksum(out, n - 4) == hh;
}

static int check_encoding(const char *name, const struct schema *s, const char *type,
                          const char *fields_json, uint32_t seq, bool checksum, int want_err,
                          const char *want_field, const char *want_out)
{
    int failures = 0;
    json_t *fields = fields_json ? tu_json(fields_json) : NULL;
    char out[COMMAND_MAX + 1];
    struct command_error err;
    memset(out, 0x55, sizeof out);
    memset(&err, 0, sizeof err);
    int rc = command_encode(s, type, fields, seq, checksum, out, &err);
    if (want_err == OK) {
        TU_CHECK(failures, name, rc >= 0, "want %s got error %d field '%s': %s", want_out,
                 (int)err.err, err.field, err.message);
        if (rc >= 0) {
            TU_CHECK(failures, name, rc <= COMMAND_MAX && out[rc] == '\0' &&
                     strlen(out) == (size_t)rc, "length %d, not NUL-terminated there", rc);
            TU_CHECK(failures, name, tu_streq(out, want_out), "want %s got %s", want_out, out);
            if (checksum)
                TU_CHECK(failures, name, checksum_ok(out, (size_t)rc), "checksum wrong: %s",
                         out);
            else
                TU_CHECK(failures, name, strchr(out, '*') == NULL, "unasked checksum: %s", out);
        }
    } else {
        TU_CHECK(failures, name, rc == -1, "want error %d, got rc %d: %s", want_err, rc,
                 rc >= 0 ? out : "");
        if (rc == -1) {
            TU_CHECK(failures, name, (int)err.err == want_err, "want error %d got %d (%s)",
                     want_err, (int)err.err, err.message);
            TU_CHECK(failures, name, want_field == NULL || tu_streq(err.field, want_field),
                     "want field '%s' got '%s'", want_field ? want_field : "", err.field);
            TU_CHECK(failures, name, err.message[0] != '\0', "empty message");
        }
    }
    json_decref(fields);
    return failures;
}

static void test_command_table(void **state)
{
    const struct schema *s = *state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(command_cases); i++) {
        const struct command_case *c = &command_cases[i];
        failures += check_encoding(c->name, s, c->type, c->fields, c->seq, c->checksum, c->err,
                                   c->field, c->out);
    }
    assert_int_equal(failures, 0);
}

/* The 80-byte bound, with MSG: "MSG,<seq>," + text + ["*HH"] + LF. */
static void test_length_bound(void **state)
{
    const struct schema *s = *state;
    static const struct {
        const char *name;
        uint32_t seq;
        bool checksum;
        size_t text;
        bool fits;
    } cases[] = {
        { "80 bytes fit", 1, false, 73, true },
        { "81 bytes do not", 1, false, 74, false },
        { "80 bytes with checksum fit", 1, true, 70, true },
        { "81 bytes with checksum do not", 1, true, 71, false },
        { "longer seq, 80 bytes", 99999, false, 69, true },
        { "longer seq, 81 bytes", 99999, false, 70, false },
        { "far over", 1, true, 200, false },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        char text[256], fields[300], want[300];
        memset(text, 'x', cases[i].text);
        text[cases[i].text] = '\0';
        snprintf(fields, sizeof fields, "{\"text\":\"%s\"}", text);
        snprintf(want, sizeof want, "MSG,%u,%s", (unsigned)cases[i].seq, text);
        if (cases[i].checksum)
            tu_append(want, sizeof want, "*%02X", frame_checksum(want, strlen(want)));
        tu_append(want, sizeof want, "\n");
        if (cases[i].fits)
            TU_CHECK(failures, cases[i].name, strlen(want) == COMMAND_MAX, "test is wrong");
        failures += check_encoding(cases[i].name, s, "MSG", fields, cases[i].seq,
                                   cases[i].checksum, cases[i].fits ? OK : LONG, NULL, want);
    }
    assert_int_equal(failures, 0);
}

/* Every built-in command type has at least one row above. */
static void test_every_builtin_command_covered(void **state)
{
    const struct schema *s = *state;
    int failures = 0;
    const struct frame_def *d;
    for (size_t i = 0; (d = schema_at(s, i)) != NULL; i++) {
        if (!d->builtin || d->dir != DIR_OUT)
            continue;
        bool found = false;
        for (size_t k = 0; k < TU_LEN(command_cases); k++)
            if (command_cases[k].err == OK && tu_streq(command_cases[k].type, d->type))
                found = true;
        TU_CHECK(failures, d->type, found, "built-in command without an encoding case");
    }
    assert_int_equal(failures, 0);
}

/* What command_encode writes, frame_decode reads back to the same values. */
static void test_round_trip(void **state)
{
    const struct schema *s = *state;
    static const struct {
        const char *type, *fields, *values;
    } cases[] = {
        { "SETDO", "{\"name\":\"doGrip\",\"value\":1}", "'doGrip'|1" },
        { "SETREG", "{\"index\":7,\"value\":-1234.5678}", "7|-1234.5678" },
        { "SETREG", "{\"index\":7,\"value\":1e-7}", "7|1e-07" },
        { "SPEED", "{\"percent\":75}", "75" },
        { "CALL", "{\"proc\":\"" TU_ID32 "\"}", "'" TU_ID32 "'" },
        { "MOVEJ", "{\"joints\":[1,2,3,4,5,6],\"zone\":10}", "1|2|3|4|5|6|10" },
        { "OPT", "{\"a\":1}", "1|-|-" },
        { "OPT", "{\"a\":1,\"c\":\"x\"}", "1|-|'x'" },
        { "OPT", "{\"a\":0,\"b\":9,\"c\":\"x y\"}", "0|9|'x y'" },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        json_t *fields = tu_json(cases[i].fields);
        char out[COMMAND_MAX + 1], got[256];
        struct command_error err;
        struct frame_values fv;
        struct decode_error de;
        int rc = command_encode(s, cases[i].type, fields, 321, false, out, &err);
        json_decref(fields);
        TU_CHECK(failures, cases[i].type, rc > 0, "encode failed: %s", err.message);
        if (rc <= 0)
            continue;
        rc = frame_decode(s, DIR_OUT, out, (size_t)rc - 1, &fv, &de);
        TU_CHECK(failures, cases[i].type, rc == 0, "%s does not decode: %s", out,
                 frame_err_name(de.err));
        if (rc != 0)
            continue;
        tu_format_values(&fv, got, sizeof got);
        TU_CHECK(failures, cases[i].type, fv.seq == 321 && tu_streq(got, cases[i].values),
                 "want %s got %s", cases[i].values, got);
    }
    assert_int_equal(failures, 0);
}

static int setup(void **state)
{
    char frames[1024];
    snprintf(frames, sizeof frames,
             "[{\"type\":\"MSG\",\"direction\":\"out\",\"fields\":["
             "{\"name\":\"text\",\"kind\":\"text\"}]},"
             "{\"type\":\"NAMES\",\"direction\":\"out\",\"fields\":["
             "{\"name\":\"names\",\"kind\":\"%s\",\"count\":3}]},"
             "{\"type\":\"MOVEJ\",\"direction\":\"out\",\"fields\":["
             "{\"name\":\"joints\",\"kind\":\"real\",\"count\":6,\"min\":-360,\"max\":360},"
             "{\"name\":\"zone\",\"kind\":\"int\",\"min\":0,\"max\":10}]},"
             "{\"type\":\"OPT\",\"direction\":\"out\",\"fields\":["
             "{\"name\":\"a\",\"kind\":\"int\",\"min\":0,\"max\":9},"
             "{\"name\":\"b\",\"kind\":\"int\",\"min\":0,\"max\":9,\"optional\":true},"
             "{\"name\":\"c\",\"kind\":\"text\",\"optional\":true}]}]",
             field_kind_name(FIELD_IDENT));
    return tu_schema_setup_with(state, frames);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_command_table, setup, tu_schema_teardown),
        cmocka_unit_test_setup_teardown(test_length_bound, setup, tu_schema_teardown),
        cmocka_unit_test_setup_teardown(test_every_builtin_command_covered, setup,
                                        tu_schema_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, tu_schema_teardown),
    };
    return cmocka_run_group_tests_name("command", tests, NULL, NULL);
}
