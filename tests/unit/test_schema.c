/* test_schema.c - the frame table against schema.h and interface v1: the
 * built-in rows, the syntax checks, and custom definitions from a
 * configuration ("frames"), good and bad. A bad definition must name the
 * JSON path of the problem and add nothing.
 */
#include "testutil.h"

/* ---- built-in rows --------------------------------------------------- */

/* A definition as text: "name:kind[*count][?][~][min,max](enum values)";
 * ? optional, ~ 9E9 means absent. */
static void describe(const struct frame_def *d, char *buf, size_t size)
{
    buf[0] = '\0';
    for (unsigned i = 0; i < d->nfields; i++) {
        const struct field_def *f = &d->fields[i];
        tu_append(buf, size, "%s%s:%s", i ? " " : "", f->name, field_kind_name(f->kind));
        if (f->count != 1)
            tu_append(buf, size, "*%u", f->count);
        if (f->optional)
            tu_append(buf, size, "?");
        if (f->absent_9e9)
            tu_append(buf, size, "~");
        if (f->kind == FIELD_INT || f->kind == FIELD_REAL)
            tu_append(buf, size, "[%g,%g]", f->min, f->max);
        if (f->kind == FIELD_ENUM) {
            tu_append(buf, size, "(");
            for (unsigned k = 0; k < f->nvalues; k++)
                tu_append(buf, size, "%s%s", k ? "/" : "", f->values[k]);
            tu_append(buf, size, ")");
        }
    }
}

#define R32 "[-3.4e+38,3.4e+38]"
#define I23 "[-8.38861e+06,8.38861e+06]"

static const struct builtin_case {
    const char *type;
    enum frame_dir dir;
    bool publish;
    unsigned wire_min, wire_max;
    const char *fields;
} builtin_cases[] = {
    { "HI", DIR_IN, true, 2, 3, "name:identifier proto:int[1,1] sw:text?" },
    { "JT", DIR_IN, true, 6, 6, "joints:real*6" R32 },
    { "EJ", DIR_IN, true, 6, 6, "extax:real*6~" R32 },
    { "PS", DIR_IN, true, 7, 7, "pos:real*3" R32 " quat:real*4[-1,1]" },
    { "CF", DIR_IN, true, 6, 6, "conf:int*4" I23 " tool:identifier wobj:identifier" },
    { "ST", DIR_IN, true, 4, 4,
      "exec:enum(RUNNING/STOPPED) mode:enum(AUTO/MANR/MANF/UNDEF) motors:enum(ON/OFF) "
      "speed:int[0,100]" },
    { "IO", DIR_IN, true, 2, 2, "name:identifier value:real" R32 },
    { "EV", DIR_IN, true, 3, 3, "severity:enum(I/W/E) code:int" I23 " text:text" },
    { "HB", DIR_IN, false, 0, 0, "" },
    { "AK", DIR_IN, true, 2, 4, "ack:int[0,99999] status:enum(OK/ERR) code:int?" I23 " text:text?" },
    { "PING", DIR_OUT, true, 0, 0, "" },
    { "SETDO", DIR_OUT, true, 2, 2, "name:identifier value:int[0,1]" },
    { "SETREG", DIR_OUT, true, 2, 2, "index:int[1,100] value:real" R32 },
    { "SPEED", DIR_OUT, true, 1, 1, "percent:int[1,100]" },
    { "CALL", DIR_OUT, true, 1, 1, "proc:identifier" },
    { "STOP", DIR_OUT, true, 0, 0, "" },
    { "NO", DIR_OUT, true, 2, 2, "code:int[1,99] text:text" },
    { "RX", DIR_OUT, true, 2, 2, "code:int[1,99] text:text" },
};

static void test_builtin_rows(void **state)
{
    const struct schema *s = *state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(builtin_cases); i++) {
        const struct builtin_case *c = &builtin_cases[i];
        const struct frame_def *d = schema_find(s, c->dir, c->type, strlen(c->type));
        TU_CHECK(failures, c->type, d != NULL, "not found");
        if (d == NULL)
            continue;
        char got[512];
        describe(d, got, sizeof got);
        TU_CHECK(failures, c->type, tu_streq(d->type, c->type), "found %s", d->type);
        TU_CHECK(failures, c->type, d->dir == c->dir && d->builtin, "direction or builtin");
        /* publish only matters for IN types (HB is not published) */
        TU_CHECK(failures, c->type, c->dir == DIR_OUT || d->publish == c->publish,
                 "publish %d", d->publish);
        TU_CHECK(failures, c->type, frame_def_wire_min(d) == c->wire_min &&
                 frame_def_wire_max(d) == c->wire_max, "wire fields %u..%u",
                 frame_def_wire_min(d), frame_def_wire_max(d));
        TU_CHECK(failures, c->type, tu_streq(got, c->fields), "\n  want %s\n  got  %s",
                 c->fields, got);
        enum frame_dir other = c->dir == DIR_IN ? DIR_OUT : DIR_IN;
        TU_CHECK(failures, c->type, schema_find(s, other, c->type, strlen(c->type)) == NULL,
                 "also found in the other direction");
    }
    size_t n = 0;
    const struct frame_def *d;
    while ((d = schema_at(s, n)) != NULL) {
        TU_CHECK(failures, d->type, d->builtin, "a fresh schema holds built-ins only");
        n++;
    }
    TU_CHECK(failures, "schema_at", n == TU_LEN(builtin_cases), "%zu types, want %zu", n,
             TU_LEN(builtin_cases));
    assert_int_equal(failures, 0);
}

static void test_find(void **state)
{
    const struct schema *s = *state;
    const struct frame_def *d = schema_find(s, DIR_IN, "JTX", 2);
    assert_non_null(d);
    assert_string_equal(d->type, "JT");
    d = schema_find(s, DIR_OUT, "SETDO,1,a,1", 5);
    assert_non_null(d);
    assert_string_equal(d->type, "SETDO");
    assert_null(schema_find(s, DIR_IN, "J", 1));
    assert_null(schema_find(s, DIR_IN, "JT", 0));
    assert_null(schema_find(s, DIR_IN, "JTX", 3));
    assert_null(schema_find(s, DIR_OUT, "SETD", 4));
    assert_null(schema_find(s, DIR_IN, "jt", 2));
    assert_null(schema_find(s, DIR_IN, "WD", 2));
}

static void test_syntax_checks(void **state)
{
    (void)state;
    static const struct {
        const char *name, *s;
        bool ident, type;
    } cases[] = {
        { "two capitals", "JT", true, true },
        { "eight characters", "A1234567", true, true },
        { "nine characters", "A12345678", true, false },
        { "one letter", "J", true, false },
        { "lower case", "doGrip", true, false },
        { "underscore", "a_1", true, false },
        { "ends with underscore", "W2_", true, false },
        { "32 characters", TU_ID32, true, false },
        { "33 characters", TU_ID33, false, false },
        { "empty", "", false, false },
        { "starts with digit", "1T", false, false },
        { "starts with underscore", "_a", false, false },
        { "dash", "a-b", false, false },
        { "space", "a b", false, false },
        { "comma", "A,B", false, false },
        { "star", "AB*", false, false },
        { "non-ASCII", "caf\xc3\xa9", false, false },
        { "type with underscore", "S_T", true, false },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        size_t n = strlen(cases[i].s);
        TU_CHECK(failures, cases[i].name, ident_valid(cases[i].s, n) == cases[i].ident,
                 "ident_valid(\"%s\") != %d", cases[i].s, cases[i].ident);
        TU_CHECK(failures, cases[i].name, type_code_valid(cases[i].s, n) == cases[i].type,
                 "type_code_valid(\"%s\") != %d", cases[i].s, cases[i].type);
    }
    /* only len bytes count */
    assert_true(ident_valid("ab,c", 2));
    assert_true(type_code_valid("JT,1", 2));
    assert_false(ident_valid("ab", 0));
    assert_int_equal(failures, 0);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(field_kind_name(FIELD_INT), "int");
    assert_string_equal(field_kind_name(FIELD_REAL), "real");
    assert_string_equal(field_kind_name(FIELD_IDENT), "identifier");
    assert_string_equal(field_kind_name(FIELD_ENUM), "enum");
    assert_string_equal(field_kind_name(FIELD_TEXT), "text");
}

/* ---- custom definitions ---------------------------------------------- */

#define WD_JSON                                                               \
    "[{\"type\": \"WD\", \"direction\": \"in\", \"fields\": ["                \
    "{\"name\": \"current\", \"kind\": \"real\", \"min\": 0, \"max\": 1000}," \
    "{\"name\": \"mode\", \"kind\": \"enum\", \"values\": [\"PULSE\", \"CV\"]}," \
    "{\"name\": \"zones\", \"kind\": \"int\", \"count\": 3},"                 \
    "{\"name\": \"note\", \"kind\": \"text\", \"optional\": true}]}]"

static size_t type_count(const struct schema *s)
{
    size_t n = 0;
    while (schema_at(s, n) != NULL)
        n++;
    return n;
}

/* Roles are what the dispatcher reads instead of type codes. */
static const struct role_case {
    const char *type;
    enum frame_dir dir;
    enum frame_role role;
    bool urgent;
} role_cases[] = {
    { "HI", DIR_IN, ROLE_HELLO, false },       { "JT", DIR_IN, ROLE_STATE, false },
    { "EJ", DIR_IN, ROLE_STATE, false },       { "PS", DIR_IN, ROLE_STATE, false },
    { "CF", DIR_IN, ROLE_STATE, false },       { "ST", DIR_IN, ROLE_STATE, false },
    { "IO", DIR_IN, ROLE_IO, false },          { "EV", DIR_IN, ROLE_STATE, false },
    { "HB", DIR_IN, ROLE_HEARTBEAT, false },   { "AK", DIR_IN, ROLE_ACK, false },
    { "PING", DIR_OUT, ROLE_COMMAND, false },  { "SETDO", DIR_OUT, ROLE_COMMAND, false },
    { "SETREG", DIR_OUT, ROLE_COMMAND, false }, { "SPEED", DIR_OUT, ROLE_COMMAND, false },
    { "CALL", DIR_OUT, ROLE_COMMAND, false },  { "STOP", DIR_OUT, ROLE_COMMAND, true },
    { "NO", DIR_OUT, ROLE_REFUSAL, false },    { "RX", DIR_OUT, ROLE_REQUEST_FAILED, false },
    /* custom types, added by the test */
    { "WD", DIR_IN, ROLE_STATE, false },       { "GO", DIR_OUT, ROLE_COMMAND, false },
    { "JB", DIR_IN, ROLE_REQUEST, false },     { "JA", DIR_OUT, ROLE_REPLY, false },
};

static void test_roles(void **state)
{
    struct schema *s = *state;
    struct schema_error err;
    if (tu_schema_add(s, "[{\"type\": \"WD\", \"direction\": \"in\", \"fields\": []},"
               " {\"type\": \"GO\", \"direction\": \"out\", \"fields\": []},"
               " {\"type\": \"JB\", \"direction\": \"in\", \"request\": \"JA\", \"fields\": []},"
               " {\"type\": \"JA\", \"direction\": \"out\", \"fields\": []}]", &err) != 0)
        fail_msg("custom types refused: %s: %s", err.path, err.message);
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(role_cases); i++) {
        const struct role_case *c = &role_cases[i];
        const struct frame_def *d = schema_find(s, c->dir, c->type, strlen(c->type));
        TU_CHECK(failures, c->type, d != NULL, "not found");
        if (d == NULL)
            continue;
        TU_CHECK(failures, c->type, d->role == c->role, "role %d, want %d", d->role, c->role);
        TU_CHECK(failures, c->type, d->urgent == c->urgent, "urgent %d", d->urgent);
        TU_CHECK(failures, c->type, (c->role == ROLE_REQUEST) == (schema_reply_of(s, d) != NULL),
                 "a reply link exactly on requests");
    }
    /* the request's link is to its reply's row */
    const struct frame_def *jb = schema_find(s, DIR_IN, "JB", 2);
    assert_ptr_equal(schema_reply_of(s, jb), schema_find(s, DIR_OUT, "JA", 2));
    assert_int_equal(failures, 0);
}

/* A request names an "out" frame of the same array: before or after it,
 * shared by two requests; the reply is then ROLE_REPLY. */
static void test_request_definitions(void **state)
{
    (void)state;
    static const struct {
        const char *name, *json, *path; /* path NULL: accepted */
    } cases[] = {
        { "reply after the request", "[{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"JA\","
          "\"fields\":[]},{\"type\":\"JA\",\"direction\":\"out\",\"fields\":[]}]", NULL },
        { "reply before the request", "[{\"type\":\"JA\",\"direction\":\"out\",\"fields\":[]},"
          "{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"JA\",\"fields\":[]}]", NULL },
        { "two requests share a reply", "[{\"type\":\"JA\",\"direction\":\"out\",\"fields\":[]},"
          "{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"JA\",\"fields\":[]},"
          "{\"type\":\"JC\",\"direction\":\"in\",\"request\":\"JA\",\"fields\":[]}]", NULL },
        { "reply not defined", "[{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"JA\","
          "\"fields\":[]}]", "frames[0].request" },
        { "reply is an in frame", "[{\"type\":\"JA\",\"direction\":\"in\",\"fields\":[]},"
          "{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"JA\",\"fields\":[]}]",
          "frames[1].request" },
        { "reply is a built-in command", "[{\"type\":\"JB\",\"direction\":\"in\","
          "\"request\":\"PING\",\"fields\":[]}]", "frames[0].request" },
        { "reply is RX", "[{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"RX\","
          "\"fields\":[]}]", "frames[0].request" },
        { "request on an out frame", "[{\"type\":\"JA\",\"direction\":\"out\",\"fields\":[]},"
          "{\"type\":\"JB\",\"direction\":\"out\",\"request\":\"JA\",\"fields\":[]}]",
          "frames[1].request" },
        { "request not a type code", "[{\"type\":\"JB\",\"direction\":\"in\",\"request\":\"ja\","
          "\"fields\":[]}]", "frames[0].request" },
        { "request not a string", "[{\"type\":\"JB\",\"direction\":\"in\",\"request\":true,"
          "\"fields\":[]}]", "frames[0].request" },
        { "a type cannot be its own reply", "[{\"type\":\"JB\",\"direction\":\"in\","
          "\"request\":\"JB\",\"fields\":[]}]", "frames[0].request" },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        struct schema *s = schema_new();
        struct schema_error err;
        assert_non_null(s);
        size_t before = type_count(s);
        int rc = tu_schema_add(s, cases[i].json, &err);
        if (cases[i].path == NULL) {
            TU_CHECK(failures, cases[i].name, rc == 0, "refused: %s: %s", err.path, err.message);
            const struct frame_def *ja = schema_find(s, DIR_OUT, "JA", 2);
            TU_CHECK(failures, cases[i].name, ja && ja->role == ROLE_REPLY, "JA not a reply");
            const struct frame_def *d;
            for (size_t k = 0; (d = schema_at(s, k)) != NULL; k++)
                if (d->role == ROLE_REQUEST)
                    TU_CHECK(failures, cases[i].name, schema_reply_of(s, d) == ja, "%s not linked",
                             d->type);
        } else {
            TU_CHECK(failures, cases[i].name, rc == -1, "accepted");
            TU_CHECK(failures, cases[i].name, rc == 0 || tu_match(cases[i].path, err.path),
                     "want path %s got \"%s\" (%s)", cases[i].path, err.path, err.message);
            TU_CHECK(failures, cases[i].name, type_count(s) == before, "types were added");
        }
        schema_free(s);
    }
    assert_int_equal(failures, 0);
}

/* The interface's example: its row, and frames parsed and rendered. */
static void test_wd_example(void **state)
{
    struct schema *s = *state;
    struct schema_error err;
    int rc = tu_schema_add(s, WD_JSON, &err);
    if (rc != 0)
        fail_msg("WD refused: %s: %s", err.path, err.message);
    const struct frame_def *d = schema_find(s, DIR_IN, "WD", 2);
    assert_non_null(d);
    assert_false(d->builtin);
    assert_true(d->publish);
    assert_null(schema_find(s, DIR_OUT, "WD", 2));
    char got[512];
    describe(d, got, sizeof got);
    assert_string_equal(got, "current:real[0,1000] mode:enum(PULSE/CV) zones:int*3" I23
                             " note:text?");
    assert_int_equal(frame_def_wire_min(d), 5);
    assert_int_equal(frame_def_wire_max(d), 6);
    assert_int_equal(type_count(s), TU_LEN(builtin_cases) + 1);

#define WD_ENV "{\"class\":\"FRAME\",\"robot\":\"rob1\",\"type\":\"WD\",\"seq\":"
    static const struct {
        const char *name, *line, *want;
    } cases[] = {
        { "with note", "WD,1,250.5,PULSE,1,2,3,first pass, left",
          WD_ENV "1,\"time\":1700000000.5,\"current\":250.5,\"mode\":\"PULSE\","
                 "\"zones\":[1,2,3],\"note\":\"first pass, left\"}" },
        { "without note", "WD,2,0,CV,0,-1,8388608",
          WD_ENV "2,\"time\":1700000000.5,\"current\":0.0,\"mode\":\"CV\",\"zones\":[0,-1,8388608]}" },
        { "empty note", "WD,3,1000,CV,0,0,0,",
          WD_ENV "3,\"time\":1700000000.5,\"current\":1000.0,\"mode\":\"CV\",\"zones\":[0,0,0]}" },
        { "current above max", "WD,1,1000.5,CV,0,0,0", "!decode bad_value field 1" },
        { "current below min", "WD,1,-0.1,CV,0,0,0", "!decode bad_value field 1" },
        { "mode lower case", "WD,1,1,cv,0,0,0", "!decode bad_value field 2" },
        { "zone fractional", "WD,1,1,CV,0,1.5,0", "!decode bad_value field 4" },
        { "zone above int range", "WD,1,1,CV,0,0,8388609", "!decode bad_value field 5" },
        { "zone missing", "WD,1,1,CV,0,0", "!decode field_count field *" },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        char *r = tu_render_line(s, cases[i].line, "rob1", 1700000000.5);
        TU_CHECK(failures, cases[i].name, r != NULL && tu_match(cases[i].want, r),
                 "\n  want %s\n  got  %s", cases[i].want, r);
        free(r);
    }
    assert_int_equal(failures, 0);
}

/* Definitions that must be accepted, each into a fresh schema. */
static void test_good_definitions(void **state)
{
    (void)state;
    static const struct {
        const char *name, *json;
        const char *type;
        enum frame_dir dir;
        const char *fields;
    } cases[] = {
        { "WD example", WD_JSON, "WD", DIR_IN, NULL },
        { "no fields", "[{\"type\":\"RESET\",\"direction\":\"out\",\"fields\":[]}]", "RESET",
          DIR_OUT, "" },
        { "eight-character type", "[{\"type\":\"A1234567\",\"direction\":\"in\",\"fields\":[]}]",
          "A1234567", DIR_IN, "" },
        { "identifier field", "[{\"type\":\"PC\",\"direction\":\"in\",\"fields\":["
          "{\"name\":\"part\",\"kind\":\"identifier\"},{\"name\":\"n\",\"kind\":\"int\","
          "\"min\":0,\"max\":100000}]}]", "PC", DIR_IN, "part:identifier n:int[0,100000]" },
        { "32-char field name", "[{\"type\":\"PC\",\"direction\":\"in\",\"fields\":["
          "{\"name\":\"" TU_ID32 "\",\"kind\":\"real\"}]}]", "PC", DIR_IN,
          TU_ID32 ":real" R32 },
        { "count 32", "[{\"type\":\"AR\",\"direction\":\"in\",\"fields\":["
          "{\"name\":\"a\",\"kind\":\"real\",\"count\":32,\"min\":-1,\"max\":1}]}]", "AR", DIR_IN,
          "a:real*32[-1,1]" },
        { "64 wire fields", "[{\"type\":\"AR\",\"direction\":\"in\",\"fields\":["
          "{\"name\":\"a\",\"kind\":\"int\",\"count\":32,\"min\":0,\"max\":1},"
          "{\"name\":\"b\",\"kind\":\"int\",\"count\":32,\"min\":0,\"max\":1}]}]", "AR", DIR_IN,
          "a:int*32[0,1] b:int*32[0,1]" },
        { "16 enum values", "[{\"type\":\"EN\",\"direction\":\"in\",\"fields\":["
          "{\"name\":\"e\",\"kind\":\"enum\",\"values\":[\"A\",\"B\",\"C\",\"D\",\"E\",\"F\","
          "\"G\",\"H\",\"I\",\"J\",\"K\",\"L\",\"M\",\"N\",\"O\",\"P\"]}]}]", "EN", DIR_IN,
          "e:enum(A/B/C/D/E/F/G/H/I/J/K/L/M/N/O/P)" },
        { "several optional fields trail", "[{\"type\":\"OP\",\"direction\":\"out\",\"fields\":["
          "{\"name\":\"a\",\"kind\":\"int\",\"min\":0,\"max\":9},"
          "{\"name\":\"b\",\"kind\":\"int\",\"min\":0,\"max\":9,\"optional\":true},"
          "{\"name\":\"c\",\"kind\":\"text\",\"optional\":true}]}]", "OP", DIR_OUT,
          "a:int[0,9] b:int?[0,9] c:text?" },
        { "two types", "[{\"type\":\"AA\",\"direction\":\"in\",\"fields\":[]},"
          "{\"type\":\"BB\",\"direction\":\"out\",\"fields\":[]}]", "BB", DIR_OUT, "" },
        { "empty array adds nothing", "[]", NULL, DIR_IN, NULL },
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cases); i++) {
        struct schema *s = schema_new();
        struct schema_error err;
        assert_non_null(s);
        int rc = tu_schema_add(s, cases[i].json, &err);
        TU_CHECK(failures, cases[i].name, rc == 0, "refused: %s: %s", err.path, err.message);
        if (rc == 0 && cases[i].type) {
            const struct frame_def *d =
                schema_find(s, cases[i].dir, cases[i].type, strlen(cases[i].type));
            TU_CHECK(failures, cases[i].name, d != NULL && !d->builtin, "type not added");
            if (d && cases[i].fields) {
                char got[1024];
                describe(d, got, sizeof got);
                TU_CHECK(failures, cases[i].name, tu_streq(got, cases[i].fields),
                         "\n  want %s\n  got  %s", cases[i].fields, got);
            }
        }
        schema_free(s);
    }
    assert_int_equal(failures, 0);
}

/* Definitions that must be refused with the path of the problem. Where the
 * contract leaves the exact choice open, the row lists the reasonable paths
 * ("a|b"; "x*" is a prefix). A missing member may be reported at the
 * object that lacks it. */
#define FR(body) "[{\"type\":\"XY\",\"direction\":\"in\",\"fields\":[" body "]}]"
#define F0 "frames[0].fields[0]"
#define F1 "frames[0].fields[1]"

static const struct bad_case {
    const char *name, *json, *path;
} bad_cases[] = {
    { "frames not an array", "{\"type\":\"WD\"}", "frames" },
    { "frames a string", "\"WD\"", "frames" },
    { "frame not an object", "[1]", "frames[0]" },
    { "second frame not an object", "[{\"type\":\"AA\",\"direction\":\"in\",\"fields\":[]}, []]",
      "frames[1]" },
    { "type missing", "[{\"direction\":\"in\",\"fields\":[]}]", "frames[0].type|frames[0]" },
    { "type not a string", "[{\"type\":5,\"direction\":\"in\",\"fields\":[]}]",
      "frames[0].type" },
    { "type lower case", "[{\"type\":\"wd\",\"direction\":\"in\",\"fields\":[]}]",
      "frames[0].type" },
    { "type of nine characters",
      "[{\"type\":\"ABCDEFGHI\",\"direction\":\"in\",\"fields\":[]}]", "frames[0].type" },
    { "type of one letter", "[{\"type\":\"W\",\"direction\":\"in\",\"fields\":[]}]",
      "frames[0].type" },
    { "type with comma", "[{\"type\":\"W,D\",\"direction\":\"in\",\"fields\":[]}]",
      "frames[0].type" },
    { "built-in type reused", "[{\"type\":\"JT\",\"direction\":\"in\",\"fields\":[]}]",
      "frames[0].type" },
    { "built-in command code in the other direction",
      "[{\"type\":\"PING\",\"direction\":\"in\",\"fields\":[]}]", "frames[0].type" },
    { "built-in robot code as a command",
      "[{\"type\":\"HB\",\"direction\":\"out\",\"fields\":[]}]", "frames[0].type" },
    { "type defined twice",
      "[{\"type\":\"WD\",\"direction\":\"in\",\"fields\":[]},"
      "{\"type\":\"WD\",\"direction\":\"in\",\"fields\":[]}]", "frames[1].type" },
    { "direction unknown", "[{\"type\":\"WD\",\"direction\":\"sideways\",\"fields\":[]}]",
      "frames[0].direction" },
    { "direction not a string", "[{\"type\":\"WD\",\"direction\":1,\"fields\":[]}]",
      "frames[0].direction" },
    { "fields not an array", "[{\"type\":\"WD\",\"direction\":\"in\",\"fields\":{}}]",
      "frames[0].fields" },
    { "field not an object", FR("1"), F0 },
    { "field name missing", FR("{\"kind\":\"int\"}"), F0 ".name|" F0 },
    { "field name not a string", FR("{\"name\":1,\"kind\":\"int\"}"), F0 ".name" },
    { "field name starts with digit", FR("{\"name\":\"1a\",\"kind\":\"int\"}"), F0 ".name" },
    { "field name with dash", FR("{\"name\":\"a-b\",\"kind\":\"int\"}"), F0 ".name" },
    { "field name 33 characters", FR("{\"name\":\"" TU_ID33 "\",\"kind\":\"int\"}"),
      F0 ".name" },
    { "field name class", FR("{\"name\":\"a\",\"kind\":\"int\"},{\"name\":\"class\",\"kind\":\"int\"}"),
      F1 ".name" },
    { "field name robot", FR("{\"name\":\"a\",\"kind\":\"int\"},{\"name\":\"robot\",\"kind\":\"int\"}"),
      F1 ".name" },
    { "field name type", FR("{\"name\":\"a\",\"kind\":\"int\"},{\"name\":\"type\",\"kind\":\"int\"}"),
      F1 ".name" },
    { "field name seq", FR("{\"name\":\"a\",\"kind\":\"int\"},{\"name\":\"seq\",\"kind\":\"int\"}"),
      F1 ".name" },
    { "field name time", FR("{\"name\":\"a\",\"kind\":\"int\"},{\"name\":\"time\",\"kind\":\"real\"}"),
      F1 ".name" },
    { "field name used twice", FR("{\"name\":\"a\",\"kind\":\"int\"},{\"name\":\"a\",\"kind\":\"real\"}"),
      F1 ".name" },
    { "kind missing", FR("{\"name\":\"a\"}"), F0 ".kind|" F0 },
    { "kind unknown", FR("{\"name\":\"a\",\"kind\":\"float\"}"), F0 ".kind" },
    { "kind not a string", FR("{\"name\":\"a\",\"kind\":3}"), F0 ".kind" },
    { "min above max", FR("{\"name\":\"a\",\"kind\":\"int\",\"min\":10,\"max\":0}"),
      F0 ".min|" F0 ".max" },
    { "min not a number", FR("{\"name\":\"a\",\"kind\":\"real\",\"min\":\"0\"}"), F0 ".min" },
    { "max not a number", FR("{\"name\":\"a\",\"kind\":\"real\",\"max\":null}"), F0 ".max" },
    { "count zero", FR("{\"name\":\"a\",\"kind\":\"int\",\"count\":0}"), F0 ".count" },
    { "count negative", FR("{\"name\":\"a\",\"kind\":\"int\",\"count\":-1}"), F0 ".count" },
    { "count above 32", FR("{\"name\":\"a\",\"kind\":\"int\",\"count\":33}"), F0 ".count" },
    { "count fractional", FR("{\"name\":\"a\",\"kind\":\"int\",\"count\":1.5}"), F0 ".count" },
    { "count a string", FR("{\"name\":\"a\",\"kind\":\"int\",\"count\":\"3\"}"), F0 ".count" },
    { "optional not a bool", FR("{\"name\":\"a\",\"kind\":\"int\",\"optional\":1}"),
      F0 ".optional" },
    { "enum without values", FR("{\"name\":\"a\",\"kind\":\"enum\"}"), F0 ".values|" F0 },
    { "enum values empty", FR("{\"name\":\"a\",\"kind\":\"enum\",\"values\":[]}"),
      F0 ".values" },
    { "enum values not an array", FR("{\"name\":\"a\",\"kind\":\"enum\",\"values\":\"A\"}"),
      F0 ".values" },
    { "enum value with comma", FR("{\"name\":\"a\",\"kind\":\"enum\",\"values\":[\"A\",\"B,C\"]}"),
      F0 ".values[1]|" F0 ".values" },
    { "enum value not a string", FR("{\"name\":\"a\",\"kind\":\"enum\",\"values\":[1]}"),
      F0 ".values[0]|" F0 ".values" },
    { "enum value 33 characters",
      FR("{\"name\":\"a\",\"kind\":\"enum\",\"values\":[\"" TU_ID33 "\"]}"),
      F0 ".values[0]|" F0 ".values" },
    { "17 enum values",
      FR("{\"name\":\"e\",\"kind\":\"enum\",\"values\":[\"A\",\"B\",\"C\",\"D\",\"E\",\"F\","
         "\"G\",\"H\",\"I\",\"J\",\"K\",\"L\",\"M\",\"N\",\"O\",\"P\",\"Q\"]}"),
      F0 ".values*" },
    { "required after optional",
      FR("{\"name\":\"a\",\"kind\":\"int\",\"optional\":true},{\"name\":\"b\",\"kind\":\"int\"}"),
      "frames[0].fields[*" },
    { "text not last", FR("{\"name\":\"t\",\"kind\":\"text\"},{\"name\":\"b\",\"kind\":\"int\"}"),
      "frames[0].fields[*" },
    { "text with count", FR("{\"name\":\"t\",\"kind\":\"text\",\"count\":2}"), F0 "*" },
    { "17 fields",
      FR("{\"name\":\"a\",\"kind\":\"int\"},{\"name\":\"b\",\"kind\":\"int\"},"
         "{\"name\":\"c\",\"kind\":\"int\"},{\"name\":\"d\",\"kind\":\"int\"},"
         "{\"name\":\"e\",\"kind\":\"int\"},{\"name\":\"f\",\"kind\":\"int\"},"
         "{\"name\":\"g\",\"kind\":\"int\"},{\"name\":\"h\",\"kind\":\"int\"},"
         "{\"name\":\"i\",\"kind\":\"int\"},{\"name\":\"j\",\"kind\":\"int\"},"
         "{\"name\":\"k\",\"kind\":\"int\"},{\"name\":\"l\",\"kind\":\"int\"},"
         "{\"name\":\"m\",\"kind\":\"int\"},{\"name\":\"n\",\"kind\":\"int\"},"
         "{\"name\":\"o\",\"kind\":\"int\"},{\"name\":\"p\",\"kind\":\"int\"},"
         "{\"name\":\"q\",\"kind\":\"int\"}"),
      "frames[0].fields|frames[0].fields[16]*" },
    { "65 wire fields",
      FR("{\"name\":\"a\",\"kind\":\"int\",\"count\":32},{\"name\":\"b\",\"kind\":\"int\",\"count\":32},"
         "{\"name\":\"c\",\"kind\":\"int\"}"),
      "frames[0].fields|frames[0].fields[2]*" },
    { "good frame then bad frame",
      "[{\"type\":\"AA\",\"direction\":\"in\",\"fields\":[]},"
      "{\"type\":\"BB\",\"direction\":\"in\",\"fields\":[" "{\"name\":\"x\",\"kind\":\"int\"}," "{\"name\":\"y\",\"kind\":\"nope\"}]}]",
      "frames[1].fields[1].kind" },
};

static void test_bad_definitions(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct schema *s = schema_new();
        struct schema_error err;
        assert_non_null(s);
        size_t before = type_count(s);
        int rc = tu_schema_add(s, c->json, &err);
        TU_CHECK(failures, c->name, rc == -1, "accepted (rc %d)", rc);
        if (rc == -1) {
            TU_CHECK(failures, c->name, tu_match(c->path, err.path), "want path %s got \"%s\" (%s)",
                     c->path, err.path, err.message);
            TU_CHECK(failures, c->name, err.message[0] != '\0', "no message");
        }
        TU_CHECK(failures, c->name, type_count(s) == before, "added %zu types",
                 type_count(s) - before);
        static const char *const codes[] = {"AA", "BB", "WD", "XY"};
        for (size_t k = 0; k < TU_LEN(codes); k++)
            TU_CHECK(failures, c->name, schema_find(s, DIR_IN, codes[k], 2) == NULL &&
                     schema_find(s, DIR_OUT, codes[k], 2) == NULL, "%s was added", codes[k]);
        schema_free(s);
    }
    assert_int_equal(failures, 0);
}

/* The prefix starts every error path. */
static void test_path_prefix(void **state)
{
    struct schema *s = *state;
    struct schema_error err;
    json_t *j = tu_json(FR("{\"name\":\"a\",\"kind\":\"float\"}"));
    assert_int_equal(schema_add_json(s, j, "robots[2].frames", &err), -1);
    json_decref(j);
    assert_string_equal(err.path, "robots[2].frames[0].fields[0].kind");
}

/* A type added by an earlier call cannot be defined again; a refused call
 * leaves the schema usable for the next one. */
static void test_across_calls(void **state)
{
    struct schema *s = *state;
    struct schema_error err;
    size_t base = type_count(s);
    assert_int_equal(tu_schema_add(s, "[{\"type\":\"PC\",\"direction\":\"in\",\"fields\":[]}]",
                                   &err), 0);
    assert_int_equal(tu_schema_add(s, "[{\"type\":\"AA\",\"direction\":\"out\",\"fields\":[]},"
                                   "{\"type\":\"PC\",\"direction\":\"in\",\"fields\":[]}]", &err), -1);
    assert_string_equal(err.path, "frames[1].type");
    assert_null(schema_find(s, DIR_OUT, "AA", 2));
    assert_int_equal(type_count(s), base + 1);
    assert_int_equal(tu_schema_add(s, "[{\"type\":\"AA\",\"direction\":\"out\",\"fields\":[]}]",
                                   &err), 0);
    assert_non_null(schema_find(s, DIR_OUT, "AA", 2));
    assert_int_equal(type_count(s), base + 2);
}

/* FRAME_TYPES_MAX counts built-in and custom types together. */
static char *many_types(size_t n, size_t first)
{
    size_t cap = n * 64 + 8;
    char *text = malloc(cap);
    assert_non_null(text);
    strcpy(text, "[");
    for (size_t i = 0; i < n; i++)
        tu_append(text, cap, "%s{\"type\":\"C%03zu\",\"direction\":\"in\",\"fields\":[]}",
                  i ? "," : "", first + i);
    tu_append(text, cap, "]");
    return text;
}

static void test_type_limit(void **state)
{
    (void)state;
    size_t room = FRAME_TYPES_MAX - TU_LEN(builtin_cases);
    struct schema_error err;

    /* one too many in one call: nothing added */
    struct schema *s = schema_new();
    assert_non_null(s);
    char *text = many_types(room + 1, 0);
    assert_int_equal(tu_schema_add(s, text, &err), -1);
    free(text);
    assert_true(tu_match("frames|frames[*", err.path));
    assert_int_equal(type_count(s), TU_LEN(builtin_cases));
    schema_free(s);

    /* exactly full, then one more in a second call */
    s = schema_new();
    assert_non_null(s);
    text = many_types(room, 0);
    int rc = tu_schema_add(s, text, &err);
    free(text);
    if (rc != 0)
        fail_msg("%zu custom types refused: %s: %s", room, err.path, err.message);
    assert_int_equal(type_count(s), FRAME_TYPES_MAX);
    assert_non_null(schema_find(s, DIR_IN, "C000", 4));
    text = many_types(1, room);
    assert_int_equal(tu_schema_add(s, text, &err), -1);
    free(text);
    assert_true(tu_match("frames|frames[0]*", err.path));
    assert_int_equal(type_count(s), FRAME_TYPES_MAX);
    schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_SCHEMA_TEST(test_builtin_rows),
        TU_SCHEMA_TEST(test_find),
        TU_SCHEMA_TEST(test_roles),
        cmocka_unit_test(test_syntax_checks),
        cmocka_unit_test(test_kind_names),
        TU_SCHEMA_TEST(test_wd_example),
        cmocka_unit_test(test_good_definitions),
        cmocka_unit_test(test_bad_definitions),
        TU_SCHEMA_TEST(test_path_prefix),
        TU_SCHEMA_TEST(test_across_calls),
        cmocka_unit_test(test_type_limit),
        cmocka_unit_test(test_request_definitions),
    };
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
