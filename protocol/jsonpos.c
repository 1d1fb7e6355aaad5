/* jsonpos.c - walk a JSON text to the value at a path (see jsonpos.h).
 *
 * The walk never recurses: a value that is not on the path is skipped by
 * counting brackets outside strings, so hostile nesting cannot exhaust the
 * stack. Only the path itself has a bound, JSONPOS_STEPS_MAX steps. Every
 * read is checked against the end of the text, so a text that is not valid
 * JSON after all gives -1 (or a position), never a read out of bounds.
 */
#include "jsonpos.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Steps ("[3]" or ".key") a path may have; a longer path is "not found". */
#define JSONPOS_STEPS_MAX 64
/* Digits of an array index in a path: up to 999999999, far past any array
 * a configuration can hold. */
#define INDEX_DIGITS_MAX 9

struct cursor {
    const char *p;
    const char *end;
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && is_ws(*c->p))
        c->p++;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (bounds checked by the caller) -> code unit, or -1. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8_encode(unsigned long cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* c->p is at an opening quote. Decodes the string (escapes included) and
 * compares it with want[0..want_len) when want is not NULL. Leaves c->p
 * after the closing quote. Returns 1 equal, 0 different, -1 malformed. */
static int string_scan(struct cursor *c, const char *want, size_t want_len)
{
    size_t k = 0;           /* bytes of want matched so far */
    bool same = true;

    c->p++;                 /* opening quote */
    while (c->p < c->end) {
        unsigned char buf[4];
        size_t n;
        char ch = *c->p;

        if (ch == '"') {
            c->p++;
            return same && k == want_len;
        }
        if (ch != '\\') {
            buf[0] = (unsigned char)ch;
            n = 1;
            c->p++;
        } else {
            if (c->end - c->p < 2)
                return -1;
            char e = c->p[1];
            c->p += 2;
            switch (e) {
            case '"': case '\\': case '/':
                buf[0] = (unsigned char)e; n = 1; break;
            case 'b': buf[0] = '\b'; n = 1; break;
            case 'f': buf[0] = '\f'; n = 1; break;
            case 'n': buf[0] = '\n'; n = 1; break;
            case 'r': buf[0] = '\r'; n = 1; break;
            case 't': buf[0] = '\t'; n = 1; break;
            case 'u': {
                if (c->end - c->p < 4)
                    return -1;
                long u = hex4(c->p);
                if (u < 0)
                    return -1;
                c->p += 4;
                unsigned long cp = (unsigned long)u;
                /* A high surrogate followed by an escaped low one is one
                 * code point; a lone surrogate compares as itself. */
                if (u >= 0xD800 && u <= 0xDBFF && c->end - c->p >= 6
                    && c->p[0] == '\\' && c->p[1] == 'u') {
                    long lo = hex4(c->p + 2);
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + (((unsigned long)u - 0xD800) << 10)
                             + ((unsigned long)lo - 0xDC00);
                        c->p += 6;
                    }
                }
                n = utf8_encode(cp, buf);
                break;
            }
            default:
                return -1;
            }
        }
        if (want && same) {
            if (want_len - k < n || memcmp(want + k, buf, n) != 0)
                same = false;
            else
                k += n;
        }
    }
    return -1;              /* no closing quote */
}

/* c->p is at the first byte of a value; leaves it after the value.
 * Containers are skipped by counting brackets, without recursion. */
static int skip_value(struct cursor *c)
{
    if (c->p >= c->end)
        return -1;
    char first = *c->p;
    if (first == '"')
        return string_scan(c, NULL, 0) < 0 ? -1 : 0;
    if (first == '{' || first == '[') {
        size_t depth = 0;
        while (c->p < c->end) {
            char ch = *c->p;
            if (ch == '"') {
                if (string_scan(c, NULL, 0) < 0)
                    return -1;
                continue;
            }
            if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (depth == 0)
                    return -1;
                if (--depth == 0) {
                    c->p++;
                    return 0;
                }
            }
            c->p++;
        }
        return -1;
    }
    /* number, true, false, null: up to the next delimiter */
    const char *start = c->p;
    while (c->p < c->end && !is_ws(*c->p) && *c->p != ',' && *c->p != ']'
           && *c->p != '}' && *c->p != ':')
        c->p++;
    return c->p > start ? 0 : -1;
}

/* After a member or element: "," (returns 1, more follow) or the closing
 * bracket (returns 0, the container ended), else -1. */
static int after_item(struct cursor *c, char close)
{
    skip_ws(c);
    if (c->p >= c->end)
        return -1;
    if (*c->p == ',') {
        c->p++;
        skip_ws(c);
        return 1;
    }
    return *c->p == close ? 0 : -1;
}

/* c->p at '{': move to the value of member key. */
static int enter_member(struct cursor *c, const char *key, size_t key_len)
{
    if (c->p >= c->end || *c->p != '{')
        return -1;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}')
        return -1;                      /* empty object */
    for (;;) {
        if (c->p >= c->end || *c->p != '"')
            return -1;
        int eq = string_scan(c, key, key_len);
        if (eq < 0)
            return -1;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':')
            return -1;
        c->p++;
        skip_ws(c);
        if (eq == 1)
            return 0;
        if (skip_value(c) < 0 || after_item(c, '}') != 1)
            return -1;
    }
}

/* c->p at '[': move to element index. */
static int enter_element(struct cursor *c, unsigned long index)
{
    if (c->p >= c->end || *c->p != '[')
        return -1;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == ']')
        return -1;                      /* empty array */
    for (unsigned long i = 0;; i++) {
        if (i == index)
            return c->p < c->end ? 0 : -1;
        if (skip_value(c) < 0 || after_item(c, ']') != 1)
            return -1;
    }
}

struct step {
    bool is_index;
    const char *key;
    size_t key_len;
    unsigned long index;
};

/* One step of the path at *pp: ".key", "[index]", or a key without a dot
 * when first. Advances *pp. Returns 0 ok, -1 malformed path. */

static int next_step(const char **pp, bool first, struct step *st)
{
    const char *p = *pp;
    if (*p == '[') {
        p++;
        unsigned long v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (++digits > INDEX_DIGITS_MAX)
                return -1;
            v = v * 10 + (unsigned long)(*p - '0');
            p++;
        }
        if (digits == 0 || *p != ']')
            return -1;
        st->is_index = true;
        st->index = v;
        *pp = p + 1;
        return 0;
    }
    if (*p == '.')
        p++;
    else if (!first)
        return -1;
    const char *k = p;
    while (*p && *p != '.' && *p != '[' && *p != ']')
        p++;
    if (p == k || *p == ']')
        return -1;
    st->is_index = false;
    st->key = k;
    st->key_len = (size_t)(p - k);
    *pp = p;
    return 0;
}

int jsonpos_locate(const char *text, size_t len, const char *path,
                   int *line, int *column)
{
    if (!text || !path || !line || !column)
        return -1;
    struct cursor c = { text, text + len };
    skip_ws(&c);
    if (c.p >= c.end)
        return -1;

    const char *pp = path;
    for (int n = 0; *pp; n++) {
        struct step st;
        if (n >= JSONPOS_STEPS_MAX || next_step(&pp, n == 0, &st) < 0)
            return -1;
        int r = st.is_index ? enter_element(&c, st.index)
                            : enter_member(&c, st.key, st.key_len);
        if (r < 0)
            return -1;
    }
    if (c.p >= c.end)
        return -1;

    /* Line and byte column of c.p: LF ends a line (as in jansson). */
    long ln = 1;
    const char *line_start = text;
    for (const char *q = text; q < c.p; q++) {
        if (*q == '\n') {
            ln++;
            line_start = q + 1;
        }
    }
    long col = (long)(c.p - line_start) + 1;
    if (ln > INT32_MAX || col > INT32_MAX)
        return -1;
    *line = (int)ln;
    *column = (int)col;
    return 0;
}
