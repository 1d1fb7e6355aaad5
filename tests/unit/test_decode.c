/* test_decode.c - frame_decode and rapid_number_parse against decode.h and
 * the built-in frames of interface v1.
 *
 * A decode row is a line, the direction, and either the values it must give
 * (see tu_format_values: "10.5|'tool0'|-|nan") or the error and the 1-based
 * wire field it must name (0 = type/seq).
 */
#include "testutil.h"

#include <limits.h>

#define OK (-1)       /* row decodes */
#define ANY_ERR (-2)  /* row fails; which error is the decoder's choice */
#define ANY_FIELD UINT_MAX

struct decode_case {
    const char *name;
    enum frame_dir dir;
    const char *line;
    int err;                /* OK, ANY_ERR or an enum frame_err */
    unsigned field;         /* for errors: wire field, or ANY_FIELD */
    uint32_t seq;           /* for OK rows */
    const char *values;     /* for OK rows */
};

#define IN_OK(n, l, s, v) { n, DIR_IN, l, OK, 0, s, v }
#define OUT_OK(n, l, s, v) { n, DIR_OUT, l, OK, 0, s, v }
#define IN_ERR(n, l, e, f) { n, DIR_IN, l, e, f, 0, NULL }
#define OUT_ERR(n, l, e, f) { n, DIR_OUT, l, e, f, 0, NULL }
#define UNKNOWN FRAME_ERR_UNKNOWN_TYPE
#define COUNT FRAME_ERR_FIELD_COUNT
#define BAD FRAME_ERR_BAD_VALUE

static const struct decode_case decode_cases[] = {
    /* every built-in robot frame */
    IN_OK("HI with sw", "HI,1,rob1,1,RW 6.15.01", 1, "'rob1'|1|'RW 6.15.01'"),
    IN_OK("HI sw text with commas", "HI,1,rob1,1,RW 6.15, build 42,x", 1,
          "'rob1'|1|'RW 6.15, build 42,x'"),
    IN_OK("HI without sw", "HI,0,rob1,1", 0, "'rob1'|1|-"),
    IN_OK("HI empty sw is absent", "HI,0,rob1,1,", 0, "'rob1'|1|-"),
    IN_OK("HI proto as 1E+00", "HI,0,rob1,1E+00", 0, "'rob1'|1|-"),
    IN_OK("HI 32-char name", "HI,0," TU_ID32 ",1", 0, "'" TU_ID32 "'|1|-"),
    IN_OK("JT six reals", "JT,42,10.5,-20,30.25,0,90,-180", 42, "10.5|-20|30.25|0|90|-180"),
    IN_OK("JT RAPID number formats", "JT,1,-0.5,1E+06,.25,+3,1.5e-3,7.", 1,
          "-0.5|1000000|0.25|3|0.0015|7"),
    IN_OK("JT 9E9 is a plain value", "JT,1,9E9,0,0,0,0,0", 1, "9000000000|0|0|0|0|0"),
    IN_OK("JT real bound", "JT,1,3.4E38,-3.4E38,0,0,0,0", 1, "3.4e+38|-3.4e+38|0|0|0|0"),
    IN_OK("EJ 9E9 and 9E+09 are absent axes", "EJ,5,10,9E9,9E+09,-0.5,0,9E9", 5,
          "10|nan|nan|-0.5|0|nan"),
    IN_OK("PS", "PS,3,100.5,-200,300.25,0.7071068,0,0.7071068,0", 3,
          "100.5|-200|300.25|0.7071068|0|0.7071068|0"),
    IN_OK("PS quaternion bounds", "PS,3,0,0,0,1,-1,1.0,-1E+00", 3, "0|0|0|1|-1|1|-1"),
    IN_OK("CF", "CF,4,0,-1,2,1,tool0,wobj0", 4, "0|-1|2|1|'tool0'|'wobj0'"),
    IN_OK("CF ints written as reals", "CF,4,1E+02,-1.0,2.,+1,t,w", 4, "100|-1|2|1|'t'|'w'"),
    IN_OK("CF default int range", "CF,4,8388608,-8388608,0,0,t,w", 4,
          "8388608|-8388608|0|0|'t'|'w'"),
    IN_OK("CF 32-char identifiers", "CF,4,0,0,0,0," TU_ID32 "," TU_ID32, 4,
          "0|0|0|0|'" TU_ID32 "'|'" TU_ID32 "'"),
    IN_OK("CF identifier with underscore and digits", "CF,4,0,0,0,0,t_1,W2_", 4,
          "0|0|0|0|'t_1'|'W2_'"),
    IN_OK("ST running", "ST,9,RUNNING,AUTO,ON,100", 9, "'RUNNING'|'AUTO'|'ON'|100"),
    IN_OK("ST stopped", "ST,9,STOPPED,MANR,OFF,0", 9, "'STOPPED'|'MANR'|'OFF'|0"),
    IN_OK("ST MANF", "ST,9,STOPPED,MANF,OFF,50", 9, "'STOPPED'|'MANF'|'OFF'|50"),
    IN_OK("ST UNDEF", "ST,9,STOPPED,UNDEF,OFF,1", 9, "'STOPPED'|'UNDEF'|'OFF'|1"),
    IN_OK("IO", "IO,2,diPart,1", 2, "'diPart'|1"),
    IN_OK("IO real value", "IO,2,aoFlow,-2.5", 2, "'aoFlow'|-2.5"),
    IN_OK("EV text with commas", "EV,3,W,10020,Joint 3, near limit, slow down", 3,
          "'W'|10020|'Joint 3, near limit, slow down'"),
    IN_OK("EV empty text is a value", "EV,3,I,1,", 3, "'I'|1|''"),
    IN_OK("EV text keeps spaces", "EV,3,E,1,  x  ", 3, "'E'|1|'  x  '"),
    IN_OK("HB", "HB,1", 1, ""),
    IN_OK("AK OK", "AK,7,42,OK", 7, "42|'OK'|-|-"),
    IN_OK("AK ERR with text", "AK,7,42,ERR,3,No such proc, sorry", 7,
          "42|'ERR'|3|'No such proc, sorry'"),
    IN_OK("AK empty optionals are absent", "AK,7,42,OK,,", 7, "42|'OK'|-|-"),
    IN_OK("AK code only", "AK,7,42,ERR,5", 7, "42|'ERR'|5|-"),
    IN_OK("AK empty code, text", "AK,7,42,ERR,,oops", 7, "42|'ERR'|-|'oops'"),
    IN_OK("AK ack bounds", "AK,7,99999,OK", 7, "99999|'OK'|-|-"),
    IN_OK("AK ack zero", "AK,7,0,OK", 7, "0|'OK'|-|-"),
    /* seq */
    IN_OK("seq zero", "HB,0", 0, ""),
    IN_OK("seq 99999", "HB,99999", 99999, ""),
    IN_OK("seq leading zeros", "HB,00042", 42, ""),
    IN_ERR("seq six digits", "HB,123456", BAD, 0),
    IN_ERR("seq 100000", "HB,100000", BAD, 0),
    IN_ERR("seq empty", "HB,", BAD, 0),
    IN_ERR("seq negative", "HB,-1", BAD, 0),
    IN_ERR("seq with plus", "HB,+1", BAD, 0),
    IN_ERR("seq real", "HB,1.0", BAD, 0),
    IN_ERR("seq exponent", "HB,1E2", BAD, 0),
    IN_ERR("seq with space", "HB, 1", BAD, 0),
    IN_ERR("seq letters", "HB,1a", BAD, 0),
    IN_ERR("seq missing", "HB", ANY_ERR, ANY_FIELD),
    IN_ERR("seq bad before fields", "JT,x,0,0,0,0,0,0", BAD, 0),
    /* commands decode in the OUT direction */
    OUT_OK("PING", "PING,1", 1, ""),
    OUT_OK("STOP", "STOP,2", 2, ""),
    OUT_OK("SETDO", "SETDO,5,doGrip,1", 5, "'doGrip'|1"),
    OUT_OK("SETREG", "SETREG,6,100,-1.5E+02", 6, "100|-150"),
    OUT_OK("SPEED", "SPEED,7,1", 7, "1"),
    OUT_OK("CALL", "CALL,8,myProc", 8, "'myProc'"),
    /* type */
    IN_ERR("unknown type", "XX,1", UNKNOWN, 0),
    IN_ERR("lower-case type", "jt,1,0,0,0,0,0,0", UNKNOWN, 0),
    IN_ERR("mixed-case type", "Jt,1,0,0,0,0,0,0", UNKNOWN, 0),
    IN_ERR("one-letter type", "J,1", UNKNOWN, 0),
    IN_ERR("type of nine characters", "ABCDEFGHI,1", UNKNOWN, 0),
    IN_ERR("type starting with a digit", "1T,1", UNKNOWN, 0),
    IN_ERR("empty type", ",1", UNKNOWN, 0),
    IN_ERR("type with space", "J T,1", UNKNOWN, 0),
    IN_ERR("longer than a known type", "JTX,1,0,0,0,0,0,0", UNKNOWN, 0),
    IN_ERR("prefix of a known type", "SETD,1,a,1", UNKNOWN, 0),
    IN_ERR("command type from the robot", "PING,1", UNKNOWN, 0),
    IN_ERR("SETDO from the robot", "SETDO,1,doGrip,1", UNKNOWN, 0),
    OUT_ERR("robot type as a command", "JT,1,0,0,0,0,0,0", UNKNOWN, 0),
    OUT_ERR("HB as a command", "HB,1", UNKNOWN, 0),
    /* field count */
    IN_ERR("JT five values", "JT,1,1,2,3,4,5", COUNT, ANY_FIELD),
    IN_ERR("JT seven values", "JT,1,1,2,3,4,5,6,7", COUNT, ANY_FIELD),
    IN_ERR("JT trailing empty field", "JT,1,1,2,3,4,5,6,", COUNT, ANY_FIELD),
    IN_ERR("JT no values", "JT,1", COUNT, ANY_FIELD),
    IN_ERR("HB with a field", "HB,1,x", COUNT, ANY_FIELD),
    IN_ERR("HB with an empty field", "HB,1,", COUNT, ANY_FIELD),
    IN_ERR("HI without proto", "HI,1,rob1", COUNT, ANY_FIELD),
    IN_ERR("EV without text", "EV,1,E,5", COUNT, ANY_FIELD),
    IN_ERR("ST five values", "ST,1,RUNNING,AUTO,ON,100,1", COUNT, ANY_FIELD),
    IN_ERR("PS six values", "PS,1,0,0,0,1,0,0", COUNT, ANY_FIELD),
    IN_ERR("CF five values", "CF,1,0,0,0,0,tool0", COUNT, ANY_FIELD),
    IN_ERR("AK without status", "AK,1,42", COUNT, ANY_FIELD),
    IN_ERR("IO three values", "IO,1,a,1,2", COUNT, ANY_FIELD),
    OUT_ERR("PING with a field", "PING,1,x", COUNT, ANY_FIELD),
    OUT_ERR("SETDO without value", "SETDO,1,doGrip", COUNT, ANY_FIELD),
    /* values */
    IN_ERR("JT empty value", "JT,1,1,,3,4,5,6", BAD, 2),
    IN_ERR("JT word", "JT,1,1,2,abc,4,5,6", BAD, 3),
    IN_ERR("JT '1e'", "JT,1,0,0,0,0,0,1e", BAD, 6),
    IN_ERR("JT '--1'", "JT,1,0,0,0,0,0,--1", BAD, 6),
    IN_ERR("JT '0x10'", "JT,1,0,0,0,0,0,0x10", BAD, 6),
    IN_ERR("JT 'inf'", "JT,1,0,0,0,0,0,inf", BAD, 6),
    IN_ERR("JT 'nan'", "JT,1,0,0,0,0,0,nan", BAD, 6),
    IN_ERR("JT ' 1'", "JT,1,0,0,0,0,0, 1", BAD, 6),
    IN_ERR("JT '1 '", "JT,1,0,0,0,0,0,1 ", BAD, 6),
    IN_ERR("JT overflow 1E400", "JT,1,1E400,0,0,0,0,0", BAD, 1),
    IN_ERR("JT over float32 range", "JT,1,0,3.5E38,0,0,0,0", BAD, 2),
    IN_ERR("JT under float32 range", "JT,1,0,0,-3.5E38,0,0,0", BAD, 3),
    IN_ERR("EJ word", "EJ,1,0,0,0,0,x,0", BAD, 5),
    IN_ERR("PS q1 above 1", "PS,1,0,0,0,1.0001,0,0,0", BAD, 4),
    IN_ERR("PS q2 below -1", "PS,1,0,0,0,0,-1.5,0,0", BAD, 5),
    IN_ERR("PS q4 above 1", "PS,1,0,0,0,0,0,0,2", BAD, 7),
    IN_ERR("PS empty z", "PS,1,0,0,,1,0,0,0", BAD, 3),
    IN_ERR("CF fractional int", "CF,1,1.5,0,0,0,t,w", BAD, 1),
    IN_ERR("CF int above 2^23", "CF,1,0,8388609,0,0,t,w", BAD, 2),
    IN_ERR("CF int below -2^23", "CF,1,0,0,-8388609,0,t,w", BAD, 3),
    IN_ERR("CF int 1E+07", "CF,1,0,0,0,1E+07,t,w", BAD, 4),
    IN_ERR("CF tool starts with digit", "CF,1,0,0,0,0,1tool,w", BAD, 5),
    IN_ERR("CF tool starts with underscore", "CF,1,0,0,0,0,_tool,w", BAD, 5),
    IN_ERR("CF tool 33 characters", "CF,1,0,0,0,0," TU_ID33 ",w", BAD, 5),
    IN_ERR("CF tool empty", "CF,1,0,0,0,0,,w", BAD, 5),
    IN_ERR("CF wobj with dash", "CF,1,0,0,0,0,t,wobj-0", BAD, 6),
    IN_ERR("CF wobj with space", "CF,1,0,0,0,0,t,wobj 0", BAD, 6),
    IN_ERR("ST exec lower case", "ST,1,running,AUTO,ON,1", BAD, 1),
    IN_ERR("ST exec unknown", "ST,1,PAUSED,AUTO,ON,1", BAD, 1),
    IN_ERR("ST mode unknown", "ST,1,RUNNING,MANUAL,ON,1", BAD, 2),
    IN_ERR("ST mode prefix", "ST,1,RUNNING,MAN,ON,1", BAD, 2),
    IN_ERR("ST motors empty", "ST,1,RUNNING,AUTO,,1", BAD, 3),
    IN_ERR("ST speed 101", "ST,1,RUNNING,AUTO,ON,101", BAD, 4),
    IN_ERR("ST speed -1", "ST,1,RUNNING,AUTO,ON,-1", BAD, 4),
    IN_ERR("ST speed fractional", "ST,1,RUNNING,AUTO,ON,50.5", BAD, 4),
    IN_ERR("HI proto 2", "HI,1,rob1,2", BAD, 2),
    IN_ERR("HI proto 0", "HI,1,rob1,0", BAD, 2),
    IN_ERR("HI name with space", "HI,1,rob 1,1", BAD, 1),
    IN_ERR("HI name 33 characters", "HI,1," TU_ID33 ",1", BAD, 1),
    IN_ERR("HI name empty", "HI,1,,1", BAD, 1),
    IN_ERR("IO value word", "IO,1,doX,x", BAD, 2),
    IN_ERR("IO value over float32 range", "IO,1,doX,1E39", BAD, 2),
    IN_ERR("IO name bad", "IO,1,do.X,1", BAD, 1),
    IN_ERR("EV severity unknown", "EV,1,X,1,t", BAD, 1),
    IN_ERR("EV severity lower case", "EV,1,i,1,t", BAD, 1),
    IN_ERR("EV code fractional", "EV,1,I,1.5,t", BAD, 2),
    IN_ERR("EV code empty", "EV,1,I,,t", BAD, 2),
    IN_ERR("AK ack 100000", "AK,1,100000,OK", BAD, 1),
    IN_ERR("AK ack negative", "AK,1,-1,OK", BAD, 1),
    IN_ERR("AK status unknown", "AK,1,42,FAIL", BAD, 2),
    IN_ERR("AK status empty", "AK,1,42,", BAD, 2),
    IN_ERR("AK code word", "AK,1,42,ERR,x,t", BAD, 3),
    OUT_ERR("SETDO value 2", "SETDO,1,doX,2", BAD, 2),
    OUT_ERR("SETREG index 0", "SETREG,1,0,1", BAD, 1),
    OUT_ERR("SETREG index 101", "SETREG,1,101,1", BAD, 1),
    OUT_ERR("SPEED 0", "SPEED,1,0", BAD, 1),
    OUT_ERR("CALL bad proc", "CALL,1,my proc", BAD, 1),
};

static void test_decode_table(void **state)
{
    const struct schema *s = *state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(decode_cases); i++) {
        const struct decode_case *c = &decode_cases[i];
        struct frame_values fv;
        struct decode_error de;
        char got[512];
        memset(&fv, 0, sizeof fv);
        memset(&de, 0, sizeof de);
        de.field = 777;
        int rc = frame_decode(s, c->dir, c->line, strlen(c->line), &fv, &de);
        if (c->err == OK) {
            if (rc != 0) {
                TU_CHECK(failures, c->name, false, "want success, got %s field %u",
                         frame_err_name(de.err), de.field);
                continue;
            }
            TU_CHECK(failures, c->name, fv.def != NULL, "no definition");
            if (fv.def == NULL)
                continue;
            char type[FRAME_TYPE_MAX + 2];
            snprintf(type, sizeof type, "%.*s", (int)strcspn(c->line, ","), c->line);
            TU_CHECK(failures, c->name, tu_streq(fv.def->type, type), "def type %s",
                     fv.def->type);
            TU_CHECK(failures, c->name, fv.seq == c->seq, "seq want %u got %u",
                     (unsigned)c->seq, (unsigned)fv.seq);
            TU_CHECK(failures, c->name, fv.nvalues <= frame_def_wire_max(fv.def),
                     "nvalues %u above %u", fv.nvalues, frame_def_wire_max(fv.def));
            tu_format_values(&fv, got, sizeof got);
            TU_CHECK(failures, c->name, tu_streq(got, c->values), "values want %s got %s",
                     c->values, got);
        } else {
            TU_CHECK(failures, c->name, rc == -1, "want failure, got rc %d (values)", rc);
            if (rc != -1 || c->err == ANY_ERR)
                continue;
            TU_CHECK(failures, c->name, (int)de.err == c->err, "want %s got %s",
                     frame_err_name((enum frame_err)c->err), frame_err_name(de.err));
            TU_CHECK(failures, c->name, c->field == ANY_FIELD || de.field == c->field,
                     "want field %u got %u", c->field, de.field);
        }
    }
    assert_int_equal(failures, 0);
}

/* Only len bytes are the line: what follows in memory is not read. */
static void test_decode_respects_len(void **state)
{
    const struct schema *s = *state;
    static const struct {
        const char *name, *buf;
        size_t len;
        int ok;
        const char *values;
    } cases[] = {
        { "seq cut", "HB,7XYZ", 4, 1, "" },
        { "seventh value cut off", "JT,1,1,2,3,4,5,6,7", 16, 1, "1|2|3|4|5|6" },
        { "text cut", "EV,1,I,1,abc,def", 12, 1, "'I'|1|'abc'" },
        { "optional cut", "AK,1,2,OK,3,text", 9, 1, "2|'OK'|-|-" },
        { "number cut", "IO,1,a,12345", 9, 1, "'a'|12" },
        { "type cut", "JT,1", 1, 0, NULL },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        struct frame_values fv;
        struct decode_error de;
        char got[256];
        /* a copy without a NUL right after len, so ASan sees any over-read */
        char *line = malloc(cases[i].len);
        assert_non_null(line);
        memcpy(line, cases[i].buf, cases[i].len);
        memset(&fv, 0, sizeof fv);
        int rc = frame_decode(s, DIR_IN, line, cases[i].len, &fv, &de);
        if (cases[i].ok) {
            TU_CHECK(failures, cases[i].name, rc == 0, "want success, got %s",
                     frame_err_name(de.err));
            if (rc == 0) {
                tu_format_values(&fv, got, sizeof got);
                TU_CHECK(failures, cases[i].name, tu_streq(got, cases[i].values),
                         "want %s got %s", cases[i].values, got);
            }
        } else {
            TU_CHECK(failures, cases[i].name, rc == -1, "want failure");
        }
        free(line);
    }
    assert_int_equal(failures, 0);
}

/* Values point into the line, not into a copy. */
static void test_values_point_into_line(void **state)
{
    const struct schema *s = *state;
    static const char line[] = "CF,4,0,0,0,0,tool0,wobj0";
    struct frame_values fv;
    struct decode_error de;
    assert_int_equal(frame_decode(s, DIR_IN, line, strlen(line), &fv, &de), 0);
    assert_true(fv.v[4].present);
    assert_ptr_equal(fv.v[4].str, line + 13);
    assert_int_equal(fv.v[4].len, 5);
    assert_ptr_equal(fv.v[5].str, line + 19);
}

/* rapid_number_parse: RAPID's formats in, everything else out. */
static void test_number_parse(void **state)
{
    (void)state;
    static const struct {
        const char *name, *in;
        bool ok;
        double want;
    } cases[] = {
        { "negative fraction", "-0.5", true, -0.5 },
        { "exponent with sign", "1E+06", true, 1e6 },
        { "9E+09", "9E+09", true, 9e9 },
        { "9E9", "9E9", true, 9e9 },
        { "leading point", ".25", true, 0.25 },
        { "leading plus", "+3", true, 3 },
        { "trailing point", "7.", true, 7 },
        { "zero", "0", true, 0 },
        { "negative zero", "-0", true, -0.0 },
        { "lower-case exponent", "1e5", true, 1e5 },
        { "negative exponent", "1.5E-3", true, 1.5e-3 },
        { "leading zeros", "00012", true, 12 },
        { "minus point", "-.5", true, -0.5 },
        { "plus point", "+.5", true, 0.5 },
        { "exponent after point", "2.E2", true, 200 },
        { "large", "123456789012", true, 123456789012.0 },
        { "float32 max", "3.4E38", true, 3.4e38 },
        /* correctly rounded, also where a fast path cannot be exact */
        { "one tenth", "0.1", true, 0.1 },
        { "0.30000000000000004", "0.30000000000000004", true, 0.30000000000000004 },
        { "1E23", "1E23", true, 1e23 },
        { "1E+22", "1E+22", true, 1e22 },
        { "twenty-four digits", "123456789012345678901234", true, 123456789012345678901234.0 },
        { "19 digits, fraction", "7.686172017296431477", true, 7.686172017296431477 },
        { "19 digits, point inside", "4308656.462953460874", true, 4308656.462953460874 },
        { "2^53 + 1 rounds to even", "9007199254740993", true, 9007199254740992.0 },
        { "long fraction", "0.1234567890123456789012345", true, 0.1234567890123456789012345 },
        { "exponent with fraction", "123.456e-5", true, 123.456e-5 },
        { "double max", "1.7976931348623157E308", true, 1.7976931348623157e308 },
        { "smallest normal", "2.2250738585072014E-308", true, 2.2250738585072014e-308 },
        { "many leading zeros", "0.000000000000000000000000001", true, 1e-27 },
        { "overflow", "1E400", false, 0 },
        { "negative overflow", "-1E400", false, 0 },
        { "overflow by digits", "1" "0000000000000000000000000000000000000000000000000000000000"
          "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
          "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
          "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
          "0000000000", false, 0 },
        { "empty", "", false, 0 },
        { "plus alone", "+", false, 0 },
        { "minus alone", "-", false, 0 },
        { "point alone", ".", false, 0 },
        { "minus point alone", "-.", false, 0 },
        { "dangling e", "1e", false, 0 },
        { "dangling E+", "1E+", false, 0 },
        { "dangling e-", "1e-", false, 0 },
        { "double minus", "--1", false, 0 },
        { "plus minus", "+-1", false, 0 },
        { "hex", "0x10", false, 0 },
        { "hex upper", "0X1A", false, 0 },
        { "hex float", "0x1p3", false, 0 },
        { "inf", "inf", false, 0 },
        { "minus inf", "-inf", false, 0 },
        { "INF", "INF", false, 0 },
        { "infinity", "infinity", false, 0 },
        { "nan", "nan", false, 0 },
        { "NaN", "NaN", false, 0 },
        { "leading space", " 1", false, 0 },
        { "trailing space", "1 ", false, 0 },
        { "leading tab", "\t1", false, 0 },
        { "trailing LF", "1\n", false, 0 },
        { "two points", "1..2", false, 0 },
        { "three parts", "1.2.3", false, 0 },
        { "exponent only", "e5", false, 0 },
        { "upper exponent only", "E5", false, 0 },
        { "point exponent", ".e5", false, 0 },
        { "comma", "1,5", false, 0 },
        { "underscore", "1_000", false, 0 },
        { "fractional exponent", "1e5.5", false, 0 },
        { "double exponent", "1e5e5", false, 0 },
        { "sign after digits", "1-", false, 0 },
        { "letter suffix", "12a", false, 0 },
        { "float suffix", "1.5f", false, 0 },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        size_t n = strlen(cases[i].in);
        char *copy = malloc(n + 1); /* exact size: ASan catches an over-read */
        assert_non_null(copy);
        memcpy(copy, cases[i].in, n);
        double got = 12345.678;
        int rc = rapid_number_parse(copy, n, &got);
        if (cases[i].ok) {
            TU_CHECK(failures, cases[i].name, rc == 0, "want %.17g, refused", cases[i].want);
            TU_CHECK(failures, cases[i].name, rc != 0 || got == cases[i].want,
                     "want %.17g got %.17g", cases[i].want, got);
        } else {
            TU_CHECK(failures, cases[i].name, rc == -1, "want refused, got rc %d value %.17g",
                     rc, got);
        }
        free(copy);
    }
    assert_int_equal(failures, 0);
}

/* Only len bytes count: "12345" with len 2 is 12, and "1e" with len 1 is 1. */
static void test_number_parse_respects_len(void **state)
{
    (void)state;
    double v = 0;
    assert_int_equal(rapid_number_parse("12345", 2, &v), 0);
    assert_true(v == 12);
    assert_int_equal(rapid_number_parse("1e", 1, &v), 0);
    assert_true(v == 1);
    assert_int_equal(rapid_number_parse("-0.5,9", 4, &v), 0);
    assert_true(v == -0.5);
    assert_int_equal(rapid_number_parse("-0.5,9", 0, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_SCHEMA_TEST(test_decode_table),
        TU_SCHEMA_TEST(test_decode_respects_len),
        TU_SCHEMA_TEST(test_values_point_into_line),
        cmocka_unit_test(test_number_parse),
        cmocka_unit_test(test_number_parse_respects_len),
    };
    return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
