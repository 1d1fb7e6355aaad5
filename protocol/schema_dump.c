#include "schema_dump.h"

#include <math.h>

/* A bound as an integer when it is one (int fields, whole real bounds), so
 * the text reads as the configuration would. */
static json_t *bound_json(double x)
{
    if (floor(x) == x && fabs(x) <= 9007199254740992.0)
        return json_integer((json_int_t)x);
    return json_real(x);
}

static json_t *field_json(const struct field_def *f)
{
    json_t *o = json_pack("{s:s, s:s}", "name", f->name, "kind", field_kind_name(f->kind));
    if (!o)
        return NULL;
    if (f->kind == FIELD_INT || f->kind == FIELD_REAL) {
        json_object_set_new(o, "min", bound_json(f->min));
        json_object_set_new(o, "max", bound_json(f->max));
    }
    if (f->count > 1)
        json_object_set_new(o, "count", json_integer(f->count));
    if (f->optional)
        json_object_set_new(o, "optional", json_true());
    if (f->kind == FIELD_ENUM) {
        json_t *values = json_array();
        for (unsigned i = 0; values && i < f->nvalues; i++)
            json_array_append_new(values, json_string(f->values[i]));
        json_object_set_new(o, "values", values ? values : json_null());
    }
    return o;
}

json_t *frame_def_json(const struct frame_def *d)
{
    json_t *fields = json_array();
    json_t *o = json_pack("{s:s, s:s, s:b}", "type", d->type, "direction",
                          d->dir == DIR_IN ? "in" : "out", "builtin", d->builtin);
    if (!fields || !o) {
        json_decref(fields);
        json_decref(o);
        return NULL;
    }
    for (unsigned i = 0; i < d->nfields; i++) {
        json_t *f = field_json(&d->fields[i]);
        if (!f || json_array_append_new(fields, f) < 0) {
            json_decref(fields);
            json_decref(o);
            return NULL;
        }
    }
    json_object_set_new(o, "fields", fields);
    if (d->dir == DIR_IN && !d->publish)
        json_object_set_new(o, "publish", json_false());
    if (d->urgent)
        json_object_set_new(o, "urgent", json_true());
    return o;
}

json_t *schema_frames_json(const struct schema *s)
{
    json_t *list = json_array();
    const struct frame_def *d;
    for (size_t i = 0; list && (d = schema_at(s, i)) != NULL; i++) {
        if (d->from_bridge)
            continue;
        json_t *o = frame_def_json(d);
        /* A request names its reply, as in the configuration (PROTOCOL.md 5.9). */
        const struct frame_def *reply = d->role == ROLE_REQUEST ? schema_reply_of(s, d) : NULL;
        if (o && reply)
            json_object_set_new(o, "request", json_string(reply->type));
        if (!o || json_array_append_new(list, o) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}
