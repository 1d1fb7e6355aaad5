/* render.h - decoded frame values -> the JSON FRAME object of the contract.
 *
 * {"class":"FRAME","robot":R,"type":T,"seq":N,"time":S, <fields>...}
 * Members follow the frame definition: a scalar field is one member, a field
 * with count > 1 an array; an absent optional field is left out; an element
 * marked absent (EJ's 9E9) is null. int fields are JSON integers, real
 * fields JSON reals.
 *
 * Ownership: returns a new reference the caller releases with json_decref(),
 * or NULL when out of memory.
 */
#ifndef RB_RENDER_H
#define RB_RENDER_H

#include "decode.h"

#include <jansson.h>

json_t *frame_render(const struct frame_values *v, const char *robot, double time);

/* The same object as compact JSON text, written directly: the daemon's hot
 * path, about fifty times cheaper than building and dumping a json_t. The
 * text is byte for byte what json_dumpb(frame_render(...), RB_JSON_FLAGS)
 * writes (tests and the fuzzer hold it to that), except "time", which is
 * written with 6 decimals (microseconds) where 15 significant digits would
 * keep only 10 us. A real is written from the robot's own digits when they
 * already are its shortest form ("12.50" -> 12.5), else formatted.
 * Returns the length (no NUL, no LF), or 0 when it does not fit in cap. */
size_t frame_render_text(const struct frame_values *v, const char *robot, double time, char *out,
                         size_t cap);

/* A buffer this large holds any frame_render_text() of a FRAME_MAX line. */
#define FRAME_TEXT_MAX 8192

/* The flags every JSON text of the bridge is dumped with: compact, members in
 * insertion order, reals with 15 significant digits so 12.35 stays "12.35". */
#define RB_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

#endif
