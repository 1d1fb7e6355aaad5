/* number.h - numbers as RAPID writes and reads them (private to protocol/).
 *
 * Parsing is rapid_number_parse() in decode.h (implemented in number.c).
 * Formatting writes what RAPID's StrToVal reads back: whole numbers as plain
 * integers, reals with at most 9 significant digits (a float32 needs 9 to
 * round-trip) and an upper-case exponent only when needed: "0.1", "12.5",
 * "1E+10". Negative zero is written "0". Also the one test of whether a
 * string may be quoted in an error message.
 */
#ifndef RB_NUMBER_H
#define RB_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

#define NUMBER_TEXT_MAX 32 /* a buffer this size holds any formatted finite double */

/* Writes v (finite) into buf, NUL-terminated; whole selects the integer
 * format. Returns the length. */
size_t rapid_number_format(double v, bool whole, char buf[NUMBER_TEXT_MAX]);

/* A client's or a file's string short and plain enough to quote back in a
 * message: 1..max printable ASCII bytes, no '"' or '\\'. */
bool text_quotable(const char *s, size_t n, size_t max);

#endif
