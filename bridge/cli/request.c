/* request.c - build the CLI's request; see request.h. */
#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *request_field_value(const char *text)
{
    size_t n = strlen(text);
    bool digits = false, integral = n > 0;
    if (n == 0 || strspn(text, "0123456789+-.eE") != n)
        return json_string(text);
    for (size_t i = 0; i < n; i++) {
        if (isdigit((unsigned char)text[i]))
            digits = true;
        else if (!(i == 0 && (text[i] == '+' || text[i] == '-')))
            integral = false;
    }
    if (!digits)
        return json_string(text);
    char *end;
    errno = 0;
    if (integral) {
        long long v = strtoll(text, &end, 10);
        if (errno == 0 && *end == '\0')
            return json_integer(v);
    }
    errno = 0;
    double d = strtod(text, &end);
    if (*end == '\0' && errno == 0 && isfinite(d))
        return json_real(d);
    return json_string(text);
}

/* Upper-case copy of a type code as a JSON string. */
static json_t *type_string(const char *type)
{
    char *up = strdup(type);
    if (!up)
        return NULL;
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    json_t *s = json_string(up);
    free(up);
    return s;
}

static int set_new(json_t *obj, const char *key, json_t *value, char *err, size_t errlen)
{
    if (!value || json_object_set_new(obj, key, value) != 0) {
        snprintf(err, errlen, "the value of '%s' is not valid UTF-8 (or out of memory)", key);
        return -1;
    }
    return 0;
}

static json_t *string_array(const char *const *items, unsigned n, bool upper)
{
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, upper ? type_string(items[i]) : json_string(items[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* "NAME=VALUE" (number or string) or "NAME:=JSON" (any JSON value). */
static int add_field(json_t *fields, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    bool raw = eq > arg + 1 && eq[-1] == ':';
    size_t name_len = (size_t)(eq - arg) - (raw ? 1 : 0);
    char name[256];
    if (name_len >= sizeof name) {
        snprintf(err, errlen, "field name too long in '%s'", arg);
        return -1;
    }
    memcpy(name, arg, name_len);
    name[name_len] = '\0';
    if (json_object_get(fields, name)) {
        snprintf(err, errlen, "field '%s' given twice", name);
        return -1;
    }
    json_t *value;
    if (raw) {
        json_error_t jerr;
        value = json_loads(eq + 1, JSON_DECODE_ANY, &jerr);
        if (!value) {
            snprintf(err, errlen, "%s:= wants a JSON value: %s", name, jerr.text);
            return -1;
        }
    } else {
        value = request_field_value(eq + 1);
    }
    if (!value || json_object_set_new(fields, name, value) != 0) {
        snprintf(err, errlen, "field '%s' is not valid UTF-8", name);
        return -1;
    }
    return 0;
}

static int add_command_members(json_t *req, const struct cli_args *a, char *err, size_t errlen)
{
    switch (a->cmd) {
    case CLI_WATCH:
        if (set_new(req, "enable", json_true(), err, errlen) != 0)
            return -1;
        if (a->nrobots && set_new(req, "robots", string_array(a->robots, a->nrobots, false), err, errlen) != 0)
            return -1;
        if (a->ntypes && set_new(req, "types", string_array(a->types, a->ntypes, true), err, errlen) != 0)
            return -1;
        return 0;
    case CLI_STATE:
    case CLI_RELEASE:
        return set_new(req, "robot", json_string(a->robot), err, errlen);
    case CLI_CONTROL:
        if (set_new(req, "robot", json_string(a->robot), err, errlen) != 0)
            return -1;
        return a->takeover ? set_new(req, "takeover", json_true(), err, errlen) : 0;
    case CLI_SEND: {
        if (set_new(req, "robot", json_string(a->robot), err, errlen) != 0 ||
            set_new(req, "type", type_string(a->type), err, errlen) != 0)
            return -1;
        json_t *fields = json_object();
        if (set_new(req, "fields", fields, err, errlen) != 0)
            return -1;
        for (unsigned i = 0; i < a->nfields; i++)
            if (add_field(fields, a->fields[i], err, errlen) != 0)
                return -1;
        return 0;
    }
    case CLI_SERVE: {
        if (strcmp(a->robot, "*") != 0 &&
            set_new(req, "robot", json_string(a->robot), err, errlen) != 0)
            return -1;
        const char *types[1] = {a->type};
        return set_new(req, "types", string_array(types, 1, true), err, errlen);
    }
    case CLI_ROBOTS:
    case CLI_STATS:
    case CLI_VERSION:
    case CLI_DOCTOR:
    case CLI_TOKEN_NEW:
    case CLI_AUDIT_VERIFY:
        return 0;
    }
    return 0;
}

json_t *request_build(const struct cli_args *a, char *err, size_t errlen)
{
    json_t *req = json_object();
    if (!req || set_new(req, "cmd", json_string(cli_cmd_name(a->cmd)), err, errlen) != 0)
        goto fail;
    if (a->id) {
        /* A JSON value when X parses as one (--id 7 -> 7), else the text. */
        json_t *id = json_loads(a->id, JSON_DECODE_ANY, NULL);
        if (set_new(req, "id", id ? id : json_string(a->id), err, errlen) != 0)
            goto fail;
    }
    if (add_command_members(req, a, err, errlen) != 0)
        goto fail;
    return req;
fail:
    json_decref(req);
    return NULL;
}
