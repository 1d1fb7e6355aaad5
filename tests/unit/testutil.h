/* testutil.h - small helpers shared by the protocol unit tests.
 *
 * Static inline only: the Makefile builds every tests/unit/test_*.c as its
 * own program, so there is no helper object to link. Table-driven tests run
 * every row, report each failing row by name with TU_CHECK, and fail the
 * test once at the end, so one run names every broken case.
 */
#ifndef RB_TESTUTIL_H
#define RB_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "decode.h"
#include "framer.h"
#include "render.h"
#include "schema.h"

#define TU_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Identifiers at and just past IDENT_MAX (32). */
#define TU_ID32 "abcdefghij0123456789ABCDEFGHIJ_z"
#define TU_ID33 TU_ID32 "x"

/* Row check: print "[row] why" and count the failure instead of stopping. */
#define TU_CHECK(failures, row, cond, ...)                  \
    do {                                                    \
        if (!(cond)) {                                      \
            print_error("FAIL [%s] ", (row));               \
            print_error(__VA_ARGS__);                       \
            print_error("\n");                              \
            (failures)++;                                   \
        }                                                   \
    } while (0)

static inline bool tu_streq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Does got match want? want is one or more alternatives separated by '|';
 * an alternative ending in '*' matches any string with that prefix. Used
 * only where the contract leaves the exact choice open. */
static inline bool tu_match(const char *want, const char *got)
{
    const char *p = want;
    for (;;) {
        const char *end = strchr(p, '|');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0 && p[n - 1] == '*') {
            if (strncmp(got, p, n - 1) == 0)
                return true;
        } else if (strlen(got) == n && strncmp(got, p, n) == 0) {
            return true;
        }
        if (!end)
            return false;
        p = end + 1;
    }
}

/* Parse JSON text (any value) or fail the test. Caller decrefs. */
static inline json_t *tu_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (j == NULL)
        fail_msg("test JSON does not parse: %s: %s", e.text, text);
    return j;
}

static inline void tu_append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void tu_append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* Add frame definitions (a configuration's "frames" array, as JSON text) to
 * s; returns schema_add_json's result, with err filled on failure. */
static inline int tu_schema_add(struct schema *s, const char *frames, struct schema_error *err)
{
    json_t *j = tu_json(frames);
    memset(err, 0, sizeof *err);
    int rc = schema_add_json(s, j, "frames", err);
    json_decref(j);
    return rc;
}

/* cmocka setup for suites whose tests share one schema in *state: the
 * built-in types, plus the custom ones in frames (JSON text) unless it is
 * NULL. A refused definition is printed and fails the setup. */
static inline int tu_schema_setup_with(void **state, const char *frames)
{
    struct schema *s = schema_new();
    if (s == NULL)
        return -1;
    struct schema_error err;
    if (frames != NULL && tu_schema_add(s, frames, &err) != 0) {
        print_error("custom frame types refused: %s: %s\n", err.path, err.message);
        schema_free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static inline int tu_schema_setup(void **state)
{
    return tu_schema_setup_with(state, NULL);
}

static inline int tu_schema_teardown(void **state)
{
    schema_free(*state);
    return 0;
}

/* A test that gets a schema with the built-in types in *state. */
#define TU_SCHEMA_TEST(f) cmocka_unit_test_setup_teardown(f, tu_schema_setup, tu_schema_teardown)

/* Decoded values as one string, for comparing against a table: wire values
 * in order separated by '|'; numbers "%.15g", NAN as "nan", strings in single
 * quotes, an absent value "-". Walks the definition, so trailing values the
 * decoder left out of nvalues count as absent. */
static inline void tu_format_values(const struct frame_values *fv, char *buf, size_t size)
{
    buf[0] = '\0';
    unsigned i = 0;
    for (unsigned f = 0; f < fv->def->nfields; f++) {
        const struct field_def *fd = &fv->def->fields[f];
        for (unsigned k = 0; k < fd->count; k++, i++) {
            if (i > 0)
                tu_append(buf, size, "|");
            if (i >= fv->nvalues || i >= WIRE_FIELDS_MAX || !fv->v[i].present) {
                tu_append(buf, size, "-");
            } else if (fd->kind == FIELD_INT || fd->kind == FIELD_REAL) {
                if (isnan(fv->v[i].num))
                    tu_append(buf, size, "nan");
                else
                    tu_append(buf, size, "%.15g", fv->v[i].num);
            } else {
                tu_append(buf, size, "'%.*s'", (int)fv->v[i].len, fv->v[i].str);
            }
        }
    }
}

/* Decode one IN line and render it; returns the JSON text dumped with
 * RB_JSON_FLAGS (free() it), or "!decode <err> field <n>" / "!render NULL". */
static inline char *tu_render_line(const struct schema *s, const char *line,
                                   const char *robot, double time)
{
    struct frame_values fv;
    struct decode_error de = {0};
    char msg[128];
    memset(&fv, 0, sizeof fv);
    if (frame_decode(s, DIR_IN, line, strlen(line), &fv, &de) != 0) {
        snprintf(msg, sizeof msg, "!decode %s field %u", frame_err_name(de.err), de.field);
        return strdup(msg);
    }
    json_t *j = frame_render(&fv, robot, time);
    if (j == NULL)
        return strdup("!render NULL");
    char *text = json_dumps(j, RB_JSON_FLAGS);
    json_decref(j);
    return text ? text : strdup("!dump NULL");
}

#endif
