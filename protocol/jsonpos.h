/* jsonpos.h - find where a value sits in a JSON text.
 *
 * jansson reports line and column for syntax errors only. For errors found
 * after loading (a bad field kind in a configuration, say) the caller knows a
 * path such as "frames[1].fields[0].kind"; jsonpos_locate() walks the
 * original, already valid text to that value and returns its 1-based line
 * and column, so every configuration error can name file:line:column.
 */
#ifndef RB_JSONPOS_H
#define RB_JSONPOS_H

#include <stddef.h>

/* Returns 0 and sets *line and *column, or -1 when the path is not found (the
 * caller then reports the path alone). An empty path is the top value. */
int jsonpos_locate(const char *text, size_t len, const char *path,
                   int *line, int *column);

#endif
