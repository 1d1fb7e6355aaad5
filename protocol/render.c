/* render.c - decoded values -> the FRAME object (see render.h). Every string
 * comes from a line the framer checked to be 0x20..0x7E, so it is valid
 * UTF-8 and json_stringn cannot fail on content. */
#include "render.h"

#include <math.h>

static json_t *element(const struct field_def *fd, const struct field_value *v)
{
    switch (fd->kind) {
    case FIELD_INT:
        return json_integer((json_int_t)v->num);
    case FIELD_REAL:
        /* NAN marks an absent 9E9 element; jansson has no NaN anyway. */
        return isnan(v->num) ? json_null() : json_real(v->num);
    case FIELD_IDENT:
    case FIELD_ENUM:
    case FIELD_TEXT:
        return json_stringn(v->str, v->len);
    }
    return NULL;
}

static json_t *field_json(const struct field_def *fd, const struct field_value *v)
{
    if (fd->count == 1)
        return element(fd, v);
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (unsigned j = 0; j < fd->count; j++)
        if (json_array_append_new(arr, element(fd, &v[j])) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

/* json_object_set_new_nocheck steals the value even on failure. */
static bool set(json_t *obj, const char *key, json_t *val)
{
    return val && json_object_set_new_nocheck(obj, key, val) == 0;
}

json_t *frame_render(const struct frame_values *v, const char *robot, double time)
{
    const struct frame_def *d = v ? v->def : NULL;
    if (!d || !robot)
        return NULL;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    if (!set(obj, "class", json_string("FRAME")) || !set(obj, "robot", json_string(robot)) ||
        !set(obj, "type", json_string(d->type)) || !set(obj, "seq", json_integer(v->seq)) ||
        !set(obj, "time", json_real(time)))
        goto fail;

    unsigned k = 0;
    for (unsigned f = 0; f < d->nfields; f++) {
        const struct field_def *fd = &d->fields[f];
        if (k + fd->count > v->nvalues)
            goto fail;
        if (v->v[k].present && !set(obj, fd->name, field_json(fd, &v->v[k])))
            goto fail;
        k += fd->count;
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}
