/* render_text.c - decoded values -> FRAME JSON text, without jansson (see
 * render.h). Every string comes from a line of printable ASCII, so '"' and
 * '\' are the only characters JSON needs escaped. */
#include "render.h"

#include "number.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* %.15g keeps 15 significant digits and switches to an exponent outside
 * 1e-4 <= |x| < 1e15: within those, the robot's digits are the answer. */
#define REAL_DIGITS 15
#define REAL_LEADING_ZEROS_MAX 3

struct out {
    char *p, *end;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || (size_t)(o->end - o->p) < n) {
        o->full = true;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_quoted(struct out *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"' && s[i] != '\\')
            continue;
        put(o, s + from, i - from);
        put(o, s[i] == '"' ? "\\\"" : "\\\\", 2);
        from = i + 1;
    }
    put(o, s + from, n - from);
    put(o, "\"", 1);
}

static void put_uint(struct out *o, unsigned long long x, int min_digits)
{
    char buf[24];
    int n = 0;
    do {
        buf[sizeof buf - 1 - n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x || n < min_digits);
    put(o, buf + sizeof buf - n, (size_t)n);
}

static void put_int(struct out *o, double x)
{
    if (x < 0) {
        put(o, "-", 1);
        x = -x;
    }
    put_uint(o, (unsigned long long)x, 1);
}

/* jansson's way with a real: "%.15g", then ".0" when it looks like an
 * integer, and no '+' or leading zeros in the exponent. */
static void put_real_formatted(struct out *o, double x)
{
    char buf[NUMBER_TEXT_MAX + 8]; /* "%.15g" of any double, ".0" and room to spare */
    int n = snprintf(buf, sizeof buf - 2, "%.*g", REAL_DIGITS, x);
    if (n < 0 || (size_t)n >= sizeof buf - 2) {
        o->full = true;
        return;
    }
    char *e = strchr(buf, 'e');
    if (!strchr(buf, '.') && !e) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    if (e) {
        char *digits = e + 1 + (e[1] == '-' || e[1] == '+');
        char *keep = e + 1;
        if (*keep == '-')
            keep++;
        char *first = digits;
        while (*first == '0' && first[1])
            first++;
        memmove(keep, first, strlen(first) + 1);
        n = (int)strlen(buf);
    }
    put(o, buf, (size_t)n);
}

/* The robot's token, when it is plain decimal with few enough digits, gives
 * the %.15g text directly: drop '+', leading zeros of the integer part and
 * trailing zeros of the fraction. */
static bool put_real_token(struct out *o, const char *t, size_t n)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (t[i] == '-' || t[i] == '+'))
        neg = t[i++] == '-';
    size_t int_start = i;
    while (i < n && t[i] >= '0' && t[i] <= '9')
        i++;
    size_t int_end = i;
    size_t frac_start = i, frac_end = i;
    if (i < n && t[i] == '.') {
        frac_start = ++i;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
        frac_end = i;
    }
    if (i != n)
        return false; /* an exponent: let printf decide */
    while (int_start < int_end && t[int_start] == '0')
        int_start++;
    while (frac_end > frac_start && t[frac_end - 1] == '0')
        frac_end--;
    size_t int_len = int_end - int_start, frac_len = frac_end - frac_start;
    size_t digits = int_len + frac_len;
    if (int_len == 0) {
        size_t zeros = 0;
        while (zeros < frac_len && t[frac_start + zeros] == '0')
            zeros++;
        if (zeros == frac_len) {
            put_str(o, neg ? "-0.0" : "0.0");
            return true;
        }
        if (zeros > REAL_LEADING_ZEROS_MAX)
            return false;
        digits = frac_len - zeros;
    }
    if (digits > REAL_DIGITS)
        return false;
    if (neg)
        put(o, "-", 1);
    if (int_len)
        put(o, t + int_start, int_len);
    else
        put(o, "0", 1);
    put(o, ".", 1);
    if (frac_len)
        put(o, t + frac_start, frac_len);
    else
        put(o, "0", 1);
    return true;
}

static void put_element(struct out *o, const struct field_def *fd, const struct field_value *v)
{
    switch (fd->kind) {
    case FIELD_INT:
        put_int(o, v->num);
        return;
    case FIELD_REAL:
        if (isnan(v->num))
            put_str(o, "null");
        else if (!put_real_token(o, v->str, v->len))
            put_real_formatted(o, v->num);
        return;
    case FIELD_IDENT:
    case FIELD_ENUM:
    case FIELD_TEXT:
        put_quoted(o, v->str, v->len);
        return;
    }
}

/* Unix seconds with exactly six decimals, from whole microseconds. */
static void put_time(struct out *o, double time)
{
    if (!(time >= 0 && time < 1e15)) {
        put_real_formatted(o, time);
        return;
    }
    unsigned long long us = (unsigned long long)llround(time * 1e6);
    put_uint(o, us / 1000000, 1);
    put(o, ".", 1);
    put_uint(o, us % 1000000, 6);
}

size_t frame_render_text(const struct frame_values *v, const char *robot, double time, char *out,
                         size_t cap)
{
    const struct frame_def *d = v ? v->def : NULL;
    if (!d || !robot)
        return 0;
    struct out o = {out, out + cap, false};
    put_str(&o, "{\"class\":\"FRAME\",\"robot\":");
    put_quoted(&o, robot, strlen(robot));
    put_str(&o, ",\"type\":");
    put_quoted(&o, d->type, strlen(d->type));
    put_str(&o, ",\"seq\":");
    put_uint(&o, v->seq, 1);
    put_str(&o, ",\"time\":");
    put_time(&o, time);
    unsigned k = 0;
    for (unsigned f = 0; f < d->nfields; f++) {
        const struct field_def *fd = &d->fields[f];
        if (k + fd->count > v->nvalues)
            return 0;
        if (v->v[k].present) {
            put(&o, ",", 1);
            put_quoted(&o, fd->name, strlen(fd->name));
            put(&o, ":", 1);
            if (fd->count > 1)
                put(&o, "[", 1);
            for (unsigned j = 0; j < fd->count; j++) {
                if (j)
                    put(&o, ",", 1);
                put_element(&o, fd, &v->v[k + j]);
            }
            if (fd->count > 1)
                put(&o, "]", 1);
        }
        k += fd->count;
    }
    put(&o, "}", 1);
    return o.full ? 0 : (size_t)(o.p - out);
}
