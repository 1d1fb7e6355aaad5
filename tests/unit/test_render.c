/* test_render.c - frame_render against render.h and interface v1: every
 * built-in robot frame, decoded and rendered, must dump (RB_JSON_FLAGS) to
 * exactly the text in the table. Reals print as jansson does with 15
 * significant digits: a whole real keeps ".0", exponents lose "+" and zeros.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

struct render_case {
    const char *name;
    const char *robot;
    double time;
    const char *line;
    const char *json;
};

#define ENV(type, seq) "{\"class\":\"FRAME\",\"robot\":\"rob1\",\"type\":\"" type "\",\"seq\":" #seq \
                       ",\"time\":1700000000.5,"
#define T0 1700000000.5

static const struct render_case render_cases[] = {
    { "JT", "rob1", T0, "JT,42,10.5,-20,30.25,0,90,-180",
      ENV("JT", 42) "\"joints\":[10.5,-20.0,30.25,0.0,90.0,-180.0]}" },
    { "JT RAPID number formats", "rob1", T0, "JT,1,1E+06,-0.5,.25,+3,1.5E-07,1E20",
      ENV("JT", 1) "\"joints\":[1000000.0,-0.5,0.25,3.0,1.5e-7,1e20]}" },
    { "JT 15 significant digits", "rob1", T0, "JT,1,12.35,0.1,-1234.5678,0.7071068,1E-5,100",
      ENV("JT", 1) "\"joints\":[12.35,0.1,-1234.5678,0.7071068,1e-5,100.0]}" },
    { "EJ absent axes are null", "rob1", T0, "EJ,5,10,9E9,9E+09,-0.5,0,9E9",
      ENV("EJ", 5) "\"extax\":[10.0,null,null,-0.5,0.0,null]}" },
    { "EJ all present", "rob1", T0, "EJ,5,1,2,3,4,5,6",
      ENV("EJ", 5) "\"extax\":[1.0,2.0,3.0,4.0,5.0,6.0]}" },
    { "PS", "rob1", T0, "PS,3,100.5,-200,300.25,0.7071068,0,0.7071068,0",
      ENV("PS", 3) "\"pos\":[100.5,-200.0,300.25],\"quat\":[0.7071068,0.0,0.7071068,0.0]}" },
    { "CF", "rob1", T0, "CF,4,0,-1,2,1,tool0,wobj0",
      ENV("CF", 4) "\"conf\":[0,-1,2,1],\"tool\":\"tool0\",\"wobj\":\"wobj0\"}" },
    { "CF ints written as reals stay ints", "rob1", T0, "CF,4,1E+02,-1.0,2.,+1,t,w",
      ENV("CF", 4) "\"conf\":[100,-1,2,1],\"tool\":\"t\",\"wobj\":\"w\"}" },
    { "ST", "rob1", T0, "ST,9,RUNNING,AUTO,ON,100",
      ENV("ST", 9) "\"exec\":\"RUNNING\",\"mode\":\"AUTO\",\"motors\":\"ON\",\"speed\":100}" },
    { "ST manual", "rob1", T0, "ST,9,STOPPED,MANR,OFF,0",
      ENV("ST", 9) "\"exec\":\"STOPPED\",\"mode\":\"MANR\",\"motors\":\"OFF\",\"speed\":0}" },
    { "IO", "rob1", T0, "IO,2,diPart,1",
      ENV("IO", 2) "\"name\":\"diPart\",\"value\":1.0}" },
    { "IO real value", "rob1", T0, "IO,2,aoFlow,-2.5",
      ENV("IO", 2) "\"name\":\"aoFlow\",\"value\":-2.5}" },
    { "EV text with commas", "rob1", T0, "EV,3,W,10020,Joint 3, near limit",
      ENV("EV", 3) "\"severity\":\"W\",\"code\":10020,\"text\":\"Joint 3, near limit\"}" },
    { "EV text escaped", "rob1", T0, "EV,3,E,1,say \"hi\" \\ now",
      ENV("EV", 3) "\"severity\":\"E\",\"code\":1,\"text\":\"say \\\"hi\\\" \\\\ now\"}" },
    { "EV empty text", "rob1", T0, "EV,3,I,1,",
      ENV("EV", 3) "\"severity\":\"I\",\"code\":1,\"text\":\"\"}" },
    { "HI", "rob1", T0, "HI,0,rob1,1,RW 6.15, build 42",
      ENV("HI", 0) "\"name\":\"rob1\",\"proto\":1,\"sw\":\"RW 6.15, build 42\"}" },
    { "HI without sw leaves it out", "rob1", T0, "HI,0,rob1,1",
      ENV("HI", 0) "\"name\":\"rob1\",\"proto\":1}" },
    { "HI empty sw leaves it out", "rob1", T0, "HI,0,rob1,1,",
      ENV("HI", 0) "\"name\":\"rob1\",\"proto\":1}" },
    { "AK OK", "rob1", T0, "AK,7,42,OK",
      ENV("AK", 7) "\"ack\":42,\"status\":\"OK\"}" },
    { "AK ERR", "rob1", T0, "AK,7,42,ERR,3,No such proc, sorry",
      ENV("AK", 7) "\"ack\":42,\"status\":\"ERR\",\"code\":3,\"text\":\"No such proc, sorry\"}" },
    { "AK empty code, text", "rob1", T0, "AK,7,42,ERR,,oops",
      ENV("AK", 7) "\"ack\":42,\"status\":\"ERR\",\"text\":\"oops\"}" },
    { "AK code only", "rob1", T0, "AK,7,42,ERR,5",
      ENV("AK", 7) "\"ack\":42,\"status\":\"ERR\",\"code\":5}" },
    { "seq 99999", "rob1", T0, "AK,99999,0,OK",
      ENV("AK", 99999) "\"ack\":0,\"status\":\"OK\"}" },
    { "seq with leading zeros", "rob1", T0, "IO,00012,a,0",
      ENV("IO", 12) "\"name\":\"a\",\"value\":0.0}" },
    { "reals from the robot's digits", "rob1", T0, "JT,1,12.50,007.5,-0.00,+0,0.0001,-.5",
      ENV("JT", 1) "\"joints\":[12.5,7.5,-0.0,0.0,0.0001,-0.5]}" },
    { "reals at the edge of plain notation", "rob1", T0,
      "JT,1,0.00001,123456789012345,1234567890123456,0.123456789012345,0.1234567890123456,99999.9",
      ENV("JT", 1) "\"joints\":[1e-5,123456789012345.0,1.23456789012346e15,0.123456789012345,"
                   "0.123456789012346,99999.9]}" },
    { "robot and time from the caller", "cell_2", 1764101234.25, "IO,1,a,1",
      "{\"class\":\"FRAME\",\"robot\":\"cell_2\",\"type\":\"IO\",\"seq\":1,"
      "\"time\":1764101234.25,\"name\":\"a\",\"value\":1.0}" },
};

/* jansson's text with its "time" replaced by frame_render_text's form. */
static void time_spliced(const char *json, double time, char *out, size_t cap)
{
    const char *t = strstr(json, "\"time\":");
    assert_non_null(t);
    t += strlen("\"time\":");
    const char *rest = t + strcspn(t, ",}");
    long long us = llround(time * 1e6);
    snprintf(out, cap, "%.*s%lld.%06lld%s", (int)(t - json), json, us / 1000000, us % 1000000,
             rest);
}

static void test_render_table(void **state)
{
    const struct schema *s = *state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(render_cases); i++) {
        const struct render_case *c = &render_cases[i];
        char *got = tu_render_line(s, c->line, c->robot, c->time);
        TU_CHECK(failures, c->name, tu_streq(got, c->json), "\n  want %s\n  got  %s", c->json,
                 got);
        free(got);
    }
    assert_int_equal(failures, 0);
}

/* The daemon's direct writer gives jansson's text, time aside. */
static void test_render_text_matches_jansson(void **state)
{
    const struct schema *s = *state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(render_cases); i++) {
        const struct render_case *c = &render_cases[i];
        struct frame_values fv;
        struct decode_error de;
        assert_int_equal(frame_decode(s, DIR_IN, c->line, strlen(c->line), &fv, &de), 0);
        char want[4096], got[FRAME_TEXT_MAX];
        time_spliced(c->json, c->time, want, sizeof want);
        size_t n = frame_render_text(&fv, c->robot, c->time, got, sizeof got);
        got[n] = '\0';
        TU_CHECK(failures, c->name, n > 0 && strcmp(got, want) == 0, "\n  want %s\n  got  %s",
                 want, got);
    }
    assert_int_equal(failures, 0);
}

/* Microseconds survive, and a buffer too small gives 0, never a cut line. */
static void test_render_text_time_and_bounds(void **state)
{
    const struct schema *s = *state;
    struct frame_values fv;
    struct decode_error de;
    const char *line = "IO,1,a,1";
    assert_int_equal(frame_decode(s, DIR_IN, line, strlen(line), &fv, &de), 0);
    char out[FRAME_TEXT_MAX];
    size_t n = frame_render_text(&fv, "rob1", 1764101234.123456, out, sizeof out);
    out[n] = '\0';
    assert_non_null(strstr(out, "\"time\":1764101234.123456,"));
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(frame_render_text(&fv, "rob1", 1764101234.123456, out, cap), 0);
    assert_int_equal(frame_render_text(&fv, "rob1", 1764101234.123456, out, n), n);
}

/* Every built-in published IN type is in the table above. */
static void test_every_builtin_in_type_rendered(void **state)
{
    const struct schema *s = *state;
    int failures = 0;
    const struct frame_def *d;
    for (size_t i = 0; (d = schema_at(s, i)) != NULL; i++) {
        if (!d->builtin || d->dir != DIR_IN || !d->publish)
            continue;
        bool found = false;
        for (size_t k = 0; k < TU_LEN(render_cases); k++) {
            size_t n = strcspn(render_cases[k].line, ",");
            if (strlen(d->type) == n && strncmp(render_cases[k].line, d->type, n) == 0)
                found = true;
        }
        TU_CHECK(failures, d->type, found, "built-in type without a render case");
    }
    assert_int_equal(failures, 0);
}

/* Member types: int fields are JSON integers, real fields JSON reals, even
 * when the wire text looks like the other kind. */
static void test_member_types(void **state)
{
    const struct schema *s = *state;
    struct frame_values fv;
    struct decode_error de;
    const char *line = "AK,7,4.2E+01,ERR,3.0,x";
    assert_int_equal(frame_decode(s, DIR_IN, line, strlen(line), &fv, &de), 0);
    json_t *j = frame_render(&fv, "rob1", 1.0);
    assert_non_null(j);
    assert_true(json_is_integer(json_object_get(j, "ack")));
    assert_int_equal(json_integer_value(json_object_get(j, "ack")), 42);
    assert_true(json_is_integer(json_object_get(j, "code")));
    assert_true(json_is_integer(json_object_get(j, "seq")));
    assert_true(json_is_real(json_object_get(j, "time")));
    json_decref(j);

    line = "IO,1,a,3";
    assert_int_equal(frame_decode(s, DIR_IN, line, strlen(line), &fv, &de), 0);
    j = frame_render(&fv, "rob1", 1.0);
    assert_non_null(j);
    assert_true(json_is_real(json_object_get(j, "value")));
    json_decref(j);
}

/* The rendered object does not point into the line: it survives the line. */
static void test_render_owns_its_strings(void **state)
{
    const struct schema *s = *state;
    struct frame_values fv;
    struct decode_error de;
    char line[] = "CF,4,0,0,0,0,tool0,wobj0";
    assert_int_equal(frame_decode(s, DIR_IN, line, strlen(line), &fv, &de), 0);
    json_t *j = frame_render(&fv, "rob1", 1.0);
    assert_non_null(j);
    memset(line, 'Z', strlen(line));
    assert_string_equal(json_string_value(json_object_get(j, "tool")), "tool0");
    assert_string_equal(json_string_value(json_object_get(j, "wobj")), "wobj0");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_SCHEMA_TEST(test_render_table),
        TU_SCHEMA_TEST(test_render_text_matches_jansson),
        TU_SCHEMA_TEST(test_render_text_time_and_bounds),
        TU_SCHEMA_TEST(test_every_builtin_in_type_rendered),
        TU_SCHEMA_TEST(test_member_types),
        TU_SCHEMA_TEST(test_render_owns_its_strings),
    };
    return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
