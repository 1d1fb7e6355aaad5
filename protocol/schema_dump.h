/* schema_dump.h - the frame table as JSON, in the configuration's own syntax.
 *
 * What the `frames` request answers (interface 1.1 F): every frame type a
 * robot sends or a client may send, built-in and configured, as the objects
 * of a configuration's "frames" array ({"type","direction","fields"}, plus
 * "builtin", and "urgent" for a type that skips the command queue), so a
 * client can build a form for each command from it. Each field carries its
 * effective bounds: min and max of int and real fields are always given
 * (the defaults of PROTOCOL.md 2.4 when the definition has none), count only
 * when above 1, optional only when true, values for enum fields. Types only
 * the bridge itself sends (NO) are left out: nobody receives or sends them
 * through the API.
 *
 * Ownership: schema_frames_json returns a new array the caller decrefs, or
 * NULL when out of memory.
 */
#ifndef RB_SCHEMA_DUMP_H
#define RB_SCHEMA_DUMP_H

#include "schema.h"

#include <jansson.h>

json_t *schema_frames_json(const struct schema *s);
/* One definition, the same object as an element of schema_frames_json. */
json_t *frame_def_json(const struct frame_def *d);

#endif
