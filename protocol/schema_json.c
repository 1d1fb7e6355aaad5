/* schema_json.c - custom frame types from a configuration's "frames" array
 * (schema_add_json in schema.h).
 *
 * Every problem is reported with the JSON path of the offending value (or of
 * the object that lacks a member) and one sentence. Members named "comment"
 * or starting with "_" are ignored so a file can explain itself; any other
 * unknown member is an error, so a typo never falls back to a default.
 * All-or-nothing: definitions are built aside and adopted only when every one
 * of them is valid.
 */
#include "number.h"
#include "schema.h"
#include "schema_priv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An int field's own min/max may reach 2^53: whole numbers up to there are
 * exact in a double and fit a json_int_t. */
#define INT_BOUND_MAX 9007199254740992.0
#define ECHO_MAX 40 /* longest name quoted back in a message */

#define IDENT_RULE "a letter, then letters, digits or _, at most 32 characters"

typedef char path_t[sizeof(((struct schema_error *)0)->path)];

static const char *const envelope[] = {"class", "robot", "type", "seq", "time", NULL};
static const char *const frame_members[] = {"type", "direction", "fields", "publish", "request",
                                            NULL};
static const char *const field_members[] = {"name",  "kind",     "min",    "max",
                                            "count", "optional", "values", NULL};

__attribute__((format(printf, 3, 4)))
static int fail(struct schema_error *err, const char *path, const char *fmt, ...)
{
    va_list ap;

    if (snprintf(err->path, sizeof err->path, "%s", path) >= (int)sizeof err->path)
        err->path[sizeof err->path - 1] = '\0'; /* a cut path still points near */
    va_start(ap, fmt);
    if (vsnprintf(err->message, sizeof err->message, fmt, ap) >= (int)sizeof err->message)
        err->message[sizeof err->message - 1] = '\0';
    va_end(ap);
    return -1;
}

static void path_member(path_t out, const char *base, const char *member)
{
    if (snprintf(out, sizeof(path_t), "%s.%s", base, member) >= (int)sizeof(path_t))
        out[sizeof(path_t) - 1] = '\0';
}

static void path_index(path_t out, const char *base, size_t i)
{
    if (snprintf(out, sizeof(path_t), "%s[%zu]", base, i) >= (int)sizeof(path_t))
        out[sizeof(path_t) - 1] = '\0';
}


static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static int check_members(const json_t *obj, const char *path, const char *const *known,
                         struct schema_error *err)
{
    const char *key;
    json_t *val;

    json_object_foreach ((json_t *)obj, key, val) {
        if (strcmp(key, "comment") == 0 || key[0] == '_' || in_list(known, key))
            continue;
        if (!text_quotable(key, strlen(key), ECHO_MAX))
            return fail(err, path, "unknown member");
        path_t p;
        if (ident_valid(key, strlen(key)))
            path_member(p, path, key);
        else
            snprintf(p, sizeof p, "%s", path);
        return fail(err, p, "unknown member \"%s\"", key);
    }
    return 0;
}

/* Look up a member; a missing required one is an error at the object. */
static int member(const json_t *obj, const char *path, const char *name, bool required,
                  const json_t **out, path_t mpath, struct schema_error *err)
{
    *out = json_object_get(obj, name);
    path_member(mpath, path, name);
    if (!*out && required)
        return fail(err, path, "missing \"%s\"", name);
    return 0;
}

static int parse_kind(const json_t *v, const char *path, enum field_kind *kind,
                      struct schema_error *err)
{
    static const enum field_kind kinds[] = {FIELD_INT, FIELD_REAL, FIELD_IDENT, FIELD_ENUM,
                                            FIELD_TEXT};
    if (json_is_string(v))
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (strcmp(json_string_value(v), field_kind_name(kinds[i])) == 0) {
                *kind = kinds[i];
                return 0;
            }
    return fail(err, path, "kind must be one of int, real, identifier, enum, text");
}

static int parse_values(const json_t *v, const char *path, struct field_def *fd,
                        struct schema_error *err)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;

    if (n == 0 || n > ENUM_VALUES_MAX)
        return fail(err, path, "values must be an array of 1 to %d identifiers",
                    ENUM_VALUES_MAX);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        path_t p;
        path_index(p, path, i);
        if (!json_is_string(e) || !ident_valid(json_string_value(e), json_string_length(e)))
            return fail(err, p, "an enum value must be an identifier: " IDENT_RULE);
        const char *s = json_string_value(e);
        for (size_t j = 0; j < i; j++)
            if (strcmp(fd->values[j], s) == 0)
                return fail(err, p, "enum value \"%s\" is listed twice", s);
        memcpy(fd->values[i], s, strlen(s) + 1);
    }
    fd->nvalues = (unsigned)n;
    return 0;
}

/* min or max (v, NULL when not given) of a numeric field. */
static int parse_bound(const json_t *v, const char *path, const char *name,
                       enum field_kind kind, double *out, struct schema_error *err)
{
    if (!v)
        return 0;
    if (kind != FIELD_INT && kind != FIELD_REAL)
        return fail(err, path, "%s is only allowed on int and real fields", name);
    if (!json_is_number(v))
        return fail(err, path, "%s must be a number", name);
    double x = json_number_value(v);
    if (kind == FIELD_INT && (floor(x) != x || fabs(x) > INT_BOUND_MAX))
        return fail(err, path,
                    "%s of an int field must be a whole number from -9007199254740992 "
                    "to 9007199254740992", name);
    *out = x;
    return 0;
}

static int parse_field(const json_t *fj, const char *path, struct field_def *fd,
                       struct schema_error *err)
{
    const json_t *v, *vmin, *vmax;
    path_t p, pmin, pmax;

    if (!json_is_object(fj))
        return fail(err, path, "a field definition must be an object");
    if (check_members(fj, path, field_members, err))
        return -1;

    if (member(fj, path, "name", true, &v, p, err))
        return -1;
    if (!json_is_string(v) || !ident_valid(json_string_value(v), json_string_length(v)))
        return fail(err, p, "a field name must be an identifier: " IDENT_RULE);
    memcpy(fd->name, json_string_value(v), json_string_length(v) + 1);
    if (in_list(envelope, fd->name))
        return fail(err, p,
                    "field name \"%s\" is taken by the envelope (class, robot, type, seq, time)",
                    fd->name);

    if (member(fj, path, "kind", true, &v, p, err) || parse_kind(v, p, &fd->kind, err))
        return -1;

    fd->count = 1;
    if (member(fj, path, "count", false, &v, p, err))
        return -1;
    if (v) {
        if (fd->kind == FIELD_TEXT)
            return fail(err, p, "count is not allowed on a text field");
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > FIELD_COUNT_MAX)
            return fail(err, p, "count must be an integer from 1 to %d", FIELD_COUNT_MAX);
        fd->count = (unsigned)json_integer_value(v);
    }

    if (member(fj, path, "optional", false, &v, p, err))
        return -1;
    if (v && !json_is_boolean(v))
        return fail(err, p, "optional must be true or false");
    fd->optional = json_is_true(v);

    if (member(fj, path, "values", fd->kind == FIELD_ENUM, &v, p, err))
        return -1;
    if (v && fd->kind != FIELD_ENUM)
        return fail(err, p, "values is only allowed on an enum field");
    if (v && parse_values(v, p, fd, err))
        return -1;

    bool is_int = fd->kind == FIELD_INT;
    fd->min = is_int ? -INT_DEFAULT_MAX : fd->kind == FIELD_REAL ? -REAL_DEFAULT_MAX : 0;
    fd->max = is_int ? INT_DEFAULT_MAX : fd->kind == FIELD_REAL ? REAL_DEFAULT_MAX : 0;
    if (member(fj, path, "min", false, &vmin, pmin, err) ||
        member(fj, path, "max", false, &vmax, pmax, err) ||
        parse_bound(vmin, pmin, "min", fd->kind, &fd->min, err) ||
        parse_bound(vmax, pmax, "max", fd->kind, &fd->max, err))
        return -1;
    if (fd->min > fd->max) {
        char a[NUMBER_TEXT_MAX], b[NUMBER_TEXT_MAX];
        rapid_number_format(fd->min, is_int, a);
        rapid_number_format(fd->max, is_int, b);
        return fail(err, vmax ? pmax : pmin, "min (%s) is greater than max (%s)", a, b);
    }
    return 0;
}

static int parse_fields(const json_t *arr, const char *path, struct frame_def *d,
                        struct schema_error *err)
{
    if (!json_is_array(arr))
        return fail(err, path, "fields must be an array");
    size_t n = json_array_size(arr);
    if (n > FIELD_DEFS_MAX)
        return fail(err, path, "%zu fields, at most %d per frame type", n, FIELD_DEFS_MAX);

    unsigned wire = 0;
    bool seen_optional = false;
    for (size_t i = 0; i < n; i++) {
        struct field_def *fd = &d->fields[i];
        path_t p, pname;
        path_index(p, path, i);
        if (parse_field(json_array_get(arr, i), p, fd, err))
            return -1;
        path_member(pname, p, "name");
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->fields[j].name, fd->name) == 0)
                return fail(err, pname, "field name \"%s\" is used twice", fd->name);
        if (fd->kind == FIELD_TEXT && i + 1 != n)
            return fail(err, p, "text field \"%s\" takes the rest of the line, so it must be "
                        "the last field", fd->name);
        if (seen_optional && !fd->optional)
            return fail(err, p, "required field \"%s\" follows an optional field; optional "
                        "fields may only trail", fd->name);
        seen_optional |= fd->optional;
        wire += fd->count;
        if (wire > WIRE_FIELDS_MAX)
            return fail(err, path, "the fields add up to more than %d wire fields (arrays "
                        "count each element)", WIRE_FIELDS_MAX);
    }
    d->nfields = (unsigned)n;
    return 0;
}

/* Is this code already taken by a custom type, earlier or in this batch? */
static bool code_taken(const struct schema *s, struct frame_def *const *batch, size_t nbatch,
                       const char *type)
{
    for (size_t i = 0; i < schema_count(s); i++)
        if (strcmp(schema_at(s, i)->type, type) == 0)
            return true;
    for (size_t i = 0; i < nbatch; i++)
        if (strcmp(batch[i]->type, type) == 0)
            return true;
    return false;
}

static int parse_frame(const struct schema *s, struct frame_def *const *batch, size_t nbatch,
                       const json_t *fj, const char *path, struct frame_def *d,
                       struct schema_error *err)
{
    const json_t *v;
    path_t p;

    if (!json_is_object(fj))
        return fail(err, path, "a frame definition must be an object");
    if (check_members(fj, path, frame_members, err))
        return -1;

    if (member(fj, path, "type", true, &v, p, err))
        return -1;
    if (!json_is_string(v) || !type_code_valid(json_string_value(v), json_string_length(v)))
        return fail(err, p, "type must be an upper-case letter followed by 1 to 7 upper-case "
                    "letters or digits");
    memcpy(d->type, json_string_value(v), json_string_length(v) + 1);
    if (schema_builtin_code(d->type))
        return fail(err, p, "\"%s\" is a built-in frame type", d->type);
    if (code_taken(s, batch, nbatch, d->type))
        return fail(err, p, "frame type \"%s\" is defined twice", d->type);

    if (member(fj, path, "direction", true, &v, p, err))
        return -1;
    const char *dir = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0)
        return fail(err, p, "direction must be \"in\" or \"out\"");
    d->dir = dir[0] == 'i' ? DIR_IN : DIR_OUT;

    if (member(fj, path, "publish", false, &v, p, err))
        return -1;
    if (v && !json_is_boolean(v))
        return fail(err, p, "publish must be true or false");
    d->publish = v ? json_is_true(v) : true;
    d->builtin = false;
    d->role = d->dir == DIR_IN ? ROLE_STATE : ROLE_COMMAND;

    /* The reply type is looked up once the whole array is read (link_requests):
     * it may be defined after the request. */
    if (member(fj, path, "request", false, &v, p, err))
        return -1;
    if (v && d->dir != DIR_IN)
        return fail(err, p, "only a frame with direction \"in\" can be a request");
    if (v && (!json_is_string(v) || !type_code_valid(json_string_value(v), json_string_length(v))))
        return fail(err, p, "request must name the reply's frame type (a frame with direction "
                    "\"out\" in frames)");
    if (v)
        d->role = ROLE_REQUEST;

    if (member(fj, path, "fields", true, &v, p, err))
        return -1;
    return parse_fields(v, p, d, err);
}

/* Each request of the batch names its reply: an "out" type of the same
 * array, which becomes ROLE_REPLY (several requests may share one). */
static int link_requests(const struct schema *s, struct frame_def *const *batch, size_t nbatch,
                         const json_t *frames, const char *prefix, struct schema_error *err)
{
    for (size_t i = 0; i < nbatch; i++) {
        if (batch[i]->role != ROLE_REQUEST)
            continue;
        path_t p, pr;
        path_index(p, prefix, i);
        path_member(pr, p, "request");
        const char *want = json_string_value(json_object_get(json_array_get(frames, i), "request"));
        size_t k = 0;
        while (k < nbatch && strcmp(batch[k]->type, want) != 0)
            k++;
        if (k == nbatch || batch[k]->dir != DIR_OUT)
            return fail(err, pr, "request names \"%s\", which is not a frame with direction "
                        "\"out\" defined in frames", want);
        batch[i]->reply = (int)(schema_count(s) + k); /* its index once adopted */
        batch[k]->role = ROLE_REPLY;
    }
    return 0;
}

int schema_add_json(struct schema *s, const json_t *frames, const char *path_prefix,
                    struct schema_error *err)
{
    struct frame_def *batch[FRAME_TYPES_MAX];
    size_t nbatch = 0;
    const char *prefix = path_prefix ? path_prefix : "";
    int rc = 0;

    memset(err, 0, sizeof *err);
    if (!frames)
        return 0;
    if (!json_is_array(frames))
        return fail(err, prefix, "frames must be an array of frame definitions");

    for (size_t i = 0; i < json_array_size(frames); i++) {
        path_t p;
        path_index(p, prefix, i);
        if (schema_count(s) + nbatch >= FRAME_TYPES_MAX) {
            rc = fail(err, p, "too many frame types: at most %d in all, built-in ones included",
                      FRAME_TYPES_MAX);
            break;
        }
        struct frame_def *d = calloc(1, sizeof *d);
        if (!d) {
            rc = fail(err, p, "out of memory");
            break;
        }
        if (parse_frame(s, batch, nbatch, json_array_get(frames, i), p, d, err)) {
            free(d);
            rc = -1;
            break;
        }
        batch[nbatch++] = d;
    }
    if (rc == 0)
        rc = link_requests(s, batch, nbatch, frames, prefix, err);
    for (size_t i = 0; i < nbatch; i++) {
        if (rc == 0)
            schema_adopt(s, batch[i]);
        else
            free(batch[i]);
    }
    return rc;
}
