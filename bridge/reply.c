#include "reply.h"

#include <stdarg.h>
#include <stdio.h>

json_t *reply_error_vnew(const json_t *id, const char *code, const char *fmt, va_list ap)
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

void reply_error(struct reply_to to, const json_t *id, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = reply_error_vnew(id, code, fmt, ap);
    va_end(ap);
    if (j)
        to.fn(to.ctx, j);
    json_decref(j);
}
