#include "reply.h"

#include <stdarg.h>
#include <stdio.h>

static json_t *error_new(const json_t *id, const char *code, const char *fmt, va_list ap)
{
    char text[256];
    vsnprintf(text, sizeof text, fmt, ap);
    json_t *j = json_pack("{s:s}", "class", "ERROR");
    if (!j)
        return NULL;
    if (id)
        json_object_set(j, "id", (json_t *)id);
    json_object_set_new(j, "code", json_string(code));
    json_object_set_new(j, "message", json_string(text));
    return j;
}

json_t *reply_error_new(const json_t *id, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = error_new(id, code, fmt, ap);
    va_end(ap);
    return j;
}

void reply_error(struct reply_to to, const json_t *id, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = error_new(id, code, fmt, ap);
    va_end(ap);
    if (j)
        to.fn(to.ctx, j);
    json_decref(j);
}
