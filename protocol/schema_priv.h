/* schema_priv.h - what schema_json.c needs of schema.c (private to protocol/).
 *
 * The schema owns every custom definition handed to schema_adopt() and frees
 * it in schema_free(). The caller checks FRAME_TYPES_MAX before adopting.
 */
#ifndef RB_SCHEMA_PRIV_H
#define RB_SCHEMA_PRIV_H

#include "schema.h"

size_t schema_count(const struct schema *s);
void schema_adopt(struct schema *s, struct frame_def *d);
bool schema_builtin_code(const char *type); /* a built-in code, either direction */

#endif
