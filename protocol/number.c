/* number.c - RAPID number text <-> double (see number.h, decode.h).
 *
 * Parsing is on the hot path (every JT and PS frame carries 6-7 numbers), so
 * the common case never calls strtod: the significant digits are collected in
 * a uint64 and, when that mantissa is below 2^53 and the decimal exponent is
 * within +-22, one multiplication or division by an exact power of ten gives
 * the correctly rounded result (Clinger's fast path). Everything else goes to
 * strtod, fed a digits-and-exponent rewrite that has no decimal point, so the
 * result does not depend on the C locale.
 */
#include "decode.h"
#include "number.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANTISSA_DIGITS_MAX 19      /* decimal digits that always fit a uint64 */
#define EXACT_MANTISSA (1ULL << 53) /* integers a double holds exactly */
#define EXACT_POW10_MAX 22          /* 10^22 is the largest exact power of ten */
#define EXPONENT_CAP 100000         /* beyond this every value over/underflows */

static const double pow10_exact[EXACT_POW10_MAX + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The slow path: rewrite "[-]ddd.fff[e[+-]xx]" as "[-]dddfffe<exp>" and let
 * strtod round it. The grammar was checked by the caller. */
static int parse_slow(const char *s, size_t len, double *out)
{
    char buf[FRAME_MAX + 16];
    size_t n = 0, i = 0;
    long exp10 = 0, e = 0;
    int esign = 1;

    if (len > FRAME_MAX)
        return -1; /* no frame carries a longer field */
    if (s[i] == '+' || s[i] == '-')
        buf[n++] = s[i++];
    for (; i < len && is_digit(s[i]); i++)
        buf[n++] = s[i];
    if (i < len && s[i] == '.')
        for (i++; i < len && is_digit(s[i]); i++) {
            buf[n++] = s[i];
            exp10--;
        }
    if (i < len) { /* 'e' or 'E' */
        i++;
        if (s[i] == '+' || s[i] == '-')
            esign = s[i++] == '-' ? -1 : 1;
        for (; i < len; i++)
            if (e < EXPONENT_CAP)
                e = e * 10 + (s[i] - '0');
    }
    exp10 += esign * e;
    int w = snprintf(buf + n, sizeof buf - n, "e%ld", exp10);
    if (w < 0 || (size_t)w >= sizeof buf - n)
        return -1;
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int rapid_number_parse(const char *s, size_t len, double *out)
{
    size_t i = 0;
    bool neg = false, digits = false, slow = false;
    uint64_t mant = 0;
    int ndig = 0;  /* significant digits in mant */
    int exp10 = 0; /* value = mant * 10^exp10 (before the exponent part) */
    long e = 0;
    int esign = 1;

    if (len == 0)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i++;
    }
    for (; i < len && is_digit(s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');
        digits = true;
        if (ndig < MANTISSA_DIGITS_MAX) {
            mant = mant * 10 + d;
            ndig += mant != 0; /* leading zeros are not significant */
        } else {
            exp10++;
            slow |= d != 0;
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && is_digit(s[i]); i++) {
            unsigned d = (unsigned)(s[i] - '0');
            digits = true;
            if (ndig < MANTISSA_DIGITS_MAX) {
                mant = mant * 10 + d;
                ndig += mant != 0;
                exp10--;
            } else {
                slow |= d != 0;
            }
        }
    }
    if (!digits)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            esign = s[i++] == '-' ? -1 : 1;
        if (i >= len || !is_digit(s[i]))
            return -1;
        for (; i < len && is_digit(s[i]); i++)
            if (e < EXPONENT_CAP)
                e = e * 10 + (s[i] - '0');
    }
    if (i != len)
        return -1;

    if (mant == 0 && !slow) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    long total = exp10 + esign * e;
    if (!slow && mant < EXACT_MANTISSA && total >= -EXACT_POW10_MAX &&
        total <= EXACT_POW10_MAX) {
        double v = (double)mant;
        v = total < 0 ? v / pow10_exact[-total] : v * pow10_exact[total];
        *out = neg ? -v : v; /* at most 1e22 * 2^53: always finite */
        return 0;
    }
    return parse_slow(s, len, out);
}

size_t rapid_number_format(double v, bool whole, char buf[NUMBER_TEXT_MAX])
{
    int n;

    if (v == 0)
        v = 0; /* no "-0" */
    if (whole && fabs(v) < 1e17)
        n = snprintf(buf, NUMBER_TEXT_MAX, "%.0f", v);
    else
        n = snprintf(buf, NUMBER_TEXT_MAX, "%.9g", v);
    if (n < 0)
        n = 0;
    if (n >= NUMBER_TEXT_MAX)
        n = NUMBER_TEXT_MAX - 1;
    for (int i = 0; i < n; i++)
        if (buf[i] == 'e')
            buf[i] = 'E';
    return (size_t)n;
}

bool text_quotable(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E || s[i] == '"' || s[i] == '\\')
            return false;
    return true;
}
