/* show.c - the human form of the bridge's messages; see show.h. */
#include "show.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Members of a FRAME that are the envelope, not the frame's fields. */
static const char *const envelope[] = { "class", "robot", "type", "seq", "time" };

void show_text(FILE *out, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        putc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

/* HH:MM:SS.mmm local time; t outside a sane range shows as now. */
static void show_time(FILE *out, double t, double now)
{
    if (!isfinite(t) || t < 0 || t > 1e11)
        t = now;
    double whole = floor(t);
    time_t s = (time_t)whole;
    int ms = (int)((t - whole) * 1000.0);
    struct tm tm;
    if (!localtime_r(&s, &tm)) {
        fputs("??:??:??.???", out);
        return;
    }
    fprintf(out, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, ms < 0 ? 0 : ms > 999 ? 999 : ms);
}

/* A number as a person reads it: integers whole, reals with up to 10
 * significant digits. */
static void show_number(FILE *out, const json_t *v)
{
    if (json_is_integer(v))
        fprintf(out, "%lld", (long long)json_integer_value(v));
    else
        fprintf(out, "%.10g", json_number_value(v));
}

/* Any value: a plain word bare, any other string quoted and escaped as JSON,
 * numbers and arrays as compact JSON. */
static void show_value(FILE *out, const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        bool plain = *s != '\0';
        for (const unsigned char *p = (const unsigned char *)s; *p && plain; p++)
            plain = *p > 0x20 && *p < 0x7f && *p != '"';
        if (plain) {
            fputs(s, out);
            return;
        }
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER |
                               JSON_REAL_PRECISION(15));
    if (text)
        show_text(out, text);   /* escaped already; show_text is the belt */
    free(text);
}

static bool is_envelope(const char *key)
{
    for (size_t i = 0; i < sizeof envelope / sizeof envelope[0]; i++)
        if (strcmp(key, envelope[i]) == 0)
            return true;
    return false;
}

/* " key=value" for each member not skipped. */
static void show_members(FILE *out, const json_t *obj, bool skip_envelope)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (skip_envelope ? is_envelope(key) : strcmp(key, "class") == 0)
            continue;
        putc(' ', out);
        show_text(out, key);
        putc('=', out);
        show_value(out, v);
    }
}

static const char *get_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Exactly n numbers in the array member key. */
static bool get_nums(const json_t *o, const char *key, double *out, size_t n)
{
    const json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || json_array_size(a) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_number(v))
            return false;
        out[i] = json_number_value(v);
    }
    return true;
}

/* --- one row per frame type with its own form ---------------------------
 * A row's function prints the body after "TYPE ", or returns false when the
 * members are not what it expects (the caller then discards its output). */
typedef bool frame_fn(FILE *out, const json_t *f);

static bool frame_jt(FILE *out, const json_t *f)
{
    double j[6];
    if (!get_nums(f, "joints", j, 6))
        return false;
    fprintf(out, "j=[%7.2f %7.2f %7.2f %7.2f %7.2f %7.2f]", j[0], j[1], j[2], j[3], j[4], j[5]);
    return true;
}

static bool frame_ps(FILE *out, const json_t *f)
{
    double p[3], q[4];
    if (!get_nums(f, "pos", p, 3) || !get_nums(f, "quat", q, 4))
        return false;
    fprintf(out, "pos=[%6.1f %6.1f %6.1f] quat=[%g %g %g %g]", p[0], p[1], p[2], q[0], q[1], q[2], q[3]);
    return true;
}

static bool frame_st(FILE *out, const json_t *f)
{
    const char *exec = get_str(f, "exec"), *mode = get_str(f, "mode"), *motors = get_str(f, "motors");
    const json_t *speed = json_object_get(f, "speed");
    if (!exec || !mode || !motors || !json_is_number(speed))
        return false;
    show_text(out, exec);
    putc(' ', out);
    show_text(out, mode);
    fputs(" motors ", out);
    show_text(out, motors);
    fputs(" speed ", out);
    show_number(out, speed);
    return true;
}

static bool frame_io(FILE *out, const json_t *f)
{
    const char *name = get_str(f, "name");
    const json_t *value = json_object_get(f, "value");
    if (!name || !json_is_number(value))
        return false;
    show_text(out, name);
    fputs(" = ", out);
    show_number(out, value);
    return true;
}

static bool frame_ev(FILE *out, const json_t *f)
{
    const char *sev = get_str(f, "severity"), *text = get_str(f, "text");
    const json_t *code = json_object_get(f, "code");
    if (!sev || !text || !json_is_number(code))
        return false;
    show_text(out, sev);
    putc(' ', out);
    show_number(out, code);
    putc(' ', out);
    show_text(out, text);
    return true;
}

static bool frame_ak(FILE *out, const json_t *f)
{
    const json_t *ack = json_object_get(f, "ack"), *code = json_object_get(f, "code");
    const char *status = get_str(f, "status"), *text = get_str(f, "text");
    if (!json_is_number(ack) || !status || (code && !json_is_number(code)))
        return false;
    fputs("ack ", out);
    show_number(out, ack);
    putc(' ', out);
    show_text(out, status);
    if (code) {
        putc(' ', out);
        show_number(out, code);
    }
    if (text) {
        putc(' ', out);
        show_text(out, text);
    }
    return true;
}

static const struct {
    const char *type;
    frame_fn *fn;
} frame_rows[] = {
    { "JT", frame_jt }, { "PS", frame_ps }, { "ST", frame_st },
    { "IO", frame_io }, { "EV", frame_ev }, { "AK", frame_ak },
};

/* --- one row per message class ------------------------------------------ */
typedef void class_fn(FILE *out, const json_t *m);

static void show_robot(FILE *out, const json_t *m)
{
    const char *robot = get_str(m, "robot");
    show_text(out, robot ? robot : "-");
    putc(' ', out);
}

static void class_frame(FILE *out, const json_t *m)
{
    const char *type = get_str(m, "type");
    show_robot(out, m);
    if (!type)
        type = "?";
    for (size_t i = 0; i < sizeof frame_rows / sizeof frame_rows[0]; i++) {
        if (strcmp(frame_rows[i].type, type) != 0)
            continue;
        /* Print the row's body to a scratch stream first so a mismatch
         * leaves nothing half-printed. */
        char *body = NULL;
        size_t n = 0;
        FILE *tmp = open_memstream(&body, &n);
        bool ok = tmp && frame_rows[i].fn(tmp, m);
        if (tmp)
            fclose(tmp);
        if (ok) {
            fprintf(out, "%-3s ", type);
            fputs(body, out);
        }
        free(body);
        if (ok)
            return;
        break;
    }
    /* Pad the type like the rows above when members follow, so columns
     * line up; no trailing blanks when there are none. */
    bool members = false;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)m, key, v)
        members = members || !is_envelope(key);
    show_text(out, type);
    for (size_t n = strlen(type); members && n < 3; n++)
        putc(' ', out);
    show_members(out, m, true);
}

static void class_link(FILE *out, const json_t *m)
{
    const char *state = get_str(m, "state"), *peer = get_str(m, "peer"), *reason = get_str(m, "reason");
    show_robot(out, m);
    fputs("LINK ", out);
    show_text(out, state ? state : "?");
    if (peer) {
        fputs(" from ", out);
        show_text(out, peer);
    }
    if (reason) {
        fputs(" (", out);
        show_text(out, reason);
        putc(')', out);
    }
}

static void class_dropped(FILE *out, const json_t *m)
{
    const json_t *count = json_object_get(m, "count");
    fputs("DROPPED ", out);
    if (json_is_number(count))
        show_number(out, count);
    else
        putc('?', out);
    fputs(" stream messages (this client read too slowly)", out);
}

static void class_bye(FILE *out, const json_t *m)
{
    const char *reason = get_str(m, "reason");
    fputs("BYE", out);
    if (reason) {
        putc(' ', out);
        show_text(out, reason);
    }
}

static void class_error(FILE *out, const json_t *m)
{
    const char *code = get_str(m, "code"), *message = get_str(m, "message");
    fputs("ERROR ", out);
    show_text(out, code ? code : "?");
    if (message) {
        fputs(": ", out);
        show_text(out, message);
    }
}

static const struct {
    const char *cls;
    class_fn *fn;
} class_rows[] = {
    { "FRAME", class_frame }, { "LINK", class_link }, { "DROPPED", class_dropped },
    { "BYE", class_bye },     { "ERROR", class_error },
};

void show_message(FILE *out, const json_t *msg, double now)
{
    const char *cls = get_str(msg, "class");
    const json_t *t = json_object_get(msg, "time");
    show_time(out, cls && strcmp(cls, "FRAME") == 0 && json_is_number(t) ? json_number_value(t) : now, now);
    putc(' ', out);
    for (size_t i = 0; cls && i < sizeof class_rows / sizeof class_rows[0]; i++) {
        if (strcmp(class_rows[i].cls, cls) == 0) {
            class_rows[i].fn(out, msg);
            putc('\n', out);
            return;
        }
    }
    show_text(out, cls ? cls : "?");
    show_members(out, msg, false);
    putc('\n', out);
}
