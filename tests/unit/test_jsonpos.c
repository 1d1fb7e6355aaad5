/* test_jsonpos.c - jsonpos_locate: paths to line:column in a JSON text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"

/* The longest path jsonpos_locate follows (JSONPOS_STEPS_MAX in jsonpos.c). */
#define STEPS_MAX 64

struct locate_case {
    const char *name;
    const char *text;
    const char *path;
    int rc;
    int line, column;
};

static const char nested[] =
    "{\n"
    "  \"frames\": [\n"
    "    {\"type\": \"WD\", \"fields\": []},\n"
    "    {\"type\": \"XY\",\n"
    "     \"fields\": [ {\"name\": \"a\", \"kind\": \"real\"} ]}\n"
    "  ],\n"
    "  \"limits\": {\"max_clients\": 10}\n"
    "}\n";

static const struct locate_case cases[] = {
    { "empty path is the top value",        "  {\"a\":1}", "", 0, 1, 3 },
    { "top-level key",                      "{\"a\":1,\"b\":22}", "b", 0, 1, 12 },
    { "nested path",                        nested, "frames[1].fields[0].kind", 0, 5, 40 },
    { "array element",                      nested, "frames[1]", 0, 4, 5 },
    { "member after an array",              nested, "limits.max_clients", 0, 7, 29 },
    { "object value",                       nested, "limits", 0, 7, 13 },
    { "key of an earlier sibling skipped",  nested, "frames[0].type", 0, 3, 14 },
    { "scalars in arrays",                  "[1, -2.5e3, true, null, \"x\"]", "[4]", 0, 1, 25 },
    { "literal element",                    "[1, -2.5e3, true, null, \"x\"]", "[2]", 0, 1, 13 },
    { "escaped quote and brackets in string",
      "{\"a\": \"x\\\"]}[{\", \"b\": 7}", "b", 0, 1, 23 },
    { "brackets in strings inside skipped value",
      "{\"a\": [\"]\", {\"k\": \"}\"}], \"b\": 7}", "b", 0, 1, 31 },
    { "escaped key matches its decoded name", "{\"n\\u0061me\": 5}", "name", 0, 1, 15 },
    { "key with escaped quote",             "{\"a\\\"b\": 1, \"c\": 2}", "c", 0, 1, 18 },
    { "surrogate pair key",                 "{\"\\ud83d\\ude00\": 3}", "\xF0\x9F\x98\x80", 0, 1, 18 },
    { "CRLF ends a line at the LF",         "{\r\n\"a\":\r\n  1}", "a", 0, 3, 3 },
    { "column counts bytes",                "{\"\xC3\xA4\": 1, \"b\": 2}", "b", 0, 1, 16 },
    { "prefix of a key is not the key",     "{\"ab\": 1}", "a", -1, 0, 0 },
    { "key longer than the member",         "{\"a\": 1}", "ab", -1, 0, 0 },
    { "missing key",                        nested, "limits.idle_timeout", -1, 0, 0 },
    { "index past the end",                 nested, "frames[2]", -1, 0, 0 },
    { "index into an empty array",          nested, "frames[0].fields[0]", -1, 0, 0 },
    { "key step on an array",               nested, "frames.type", -1, 0, 0 },
    { "index step on an object",            nested, "limits[0]", -1, 0, 0 },
    { "step into a scalar",                 nested, "limits.max_clients.x", -1, 0, 0 },
    { "empty object",                       "{}", "a", -1, 0, 0 },
    { "malformed path: empty key",          nested, "limits..max_clients", -1, 0, 0 },
    { "malformed path: trailing dot",       nested, "limits.", -1, 0, 0 },
    { "malformed path: index not a number", nested, "frames[x]", -1, 0, 0 },
    { "malformed path: unclosed index",     nested, "frames[1", -1, 0, 0 },
    { "malformed path: key without dot",    nested, "frames[1]fields", -1, 0, 0 },
    { "empty text",                         "   ", "", -1, 0, 0 },
    { "truncated text",                     "{\"a\": [1, 2", "b", -1, 0, 0 },
    { "unterminated string",                "{\"a\": \"xyz", "b", -1, 0, 0 },
};

static void test_locate_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct locate_case *c = &cases[i];
        int line = 0, column = 0;
        int rc = jsonpos_locate(c->text, strlen(c->text), c->path, &line, &column);
        if (rc != c->rc || (rc == 0 && (line != c->line || column != c->column))) {
            print_error("%s: path \"%s\": got rc %d at %d:%d, want rc %d at %d:%d\n",
                        c->name, c->path, rc, line, column, c->rc, c->line, c->column);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* The length given is the end: nothing past it is read. */
static void test_length_bounds_the_text(void **state)
{
    (void)state;
    const char text[] = "{\"a\": 1, \"b\": 2}";
    int line, column;
    assert_int_equal(jsonpos_locate(text, sizeof text - 1, "b", &line, &column), 0);
    assert_int_equal(jsonpos_locate(text, 8, "b", &line, &column), -1);
    assert_int_equal(jsonpos_locate(text, 0, "", &line, &column), -1);
}

/* "[0][0]...[0]" with n steps. */
static char *index_path(int n)
{
    char *p = malloc((size_t)n * 3 + 1);
    assert_non_null(p);
    for (int i = 0; i < n; i++)
        memcpy(p + i * 3, "[0]", 3);
    p[n * 3] = '\0';
    return p;
}

/* n nested arrays around a 7. */
static char *nested_arrays(size_t n)
{
    char *t = malloc(2 * n + 2);
    assert_non_null(t);
    memset(t, '[', n);
    t[n] = '7';
    memset(t + n + 1, ']', n);
    t[2 * n + 1] = '\0';
    return t;
}

static void test_path_depth_bound(void **state)
{
    (void)state;
    char *text = nested_arrays(STEPS_MAX + 1);
    int line = 0, column = 0;

    char *path = index_path(STEPS_MAX);
    assert_int_equal(jsonpos_locate(text, strlen(text), path, &line, &column), 0);
    assert_int_equal(line, 1);
    assert_int_equal(column, STEPS_MAX + 1);
    free(path);

    path = index_path(STEPS_MAX + 1);
    assert_int_equal(jsonpos_locate(text, strlen(text), path, &line, &column), -1);
    free(path);
    free(text);
}

/* Skipping a value never recurses: a deeply nested sibling is stepped over
 * without exhausting the stack, and unbalanced hostile input ends in -1. */
static void test_deep_nesting_skipped(void **state)
{
    (void)state;
    const size_t depth = 200000;
    char *inner = nested_arrays(depth);
    size_t len = strlen(inner) + 32;
    char *text = malloc(len);
    assert_non_null(text);
    snprintf(text, len, "{\"deep\": %s, \"x\": 1}", inner);
    int line, column;
    assert_int_equal(jsonpos_locate(text, strlen(text), "x", &line, &column), 0);
    assert_int_equal(column, (int)strlen(text) - 1);

    /* Only openers: not valid JSON, must still end cleanly. */
    memset(text + 9, '[', strlen(text) - 9);
    assert_int_equal(jsonpos_locate(text, strlen(text), "x", &line, &column), -1);
    free(text);
    free(inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locate_table),
        cmocka_unit_test(test_length_bounds_the_text),
        cmocka_unit_test(test_path_depth_bound),
        cmocka_unit_test(test_deep_nesting_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
