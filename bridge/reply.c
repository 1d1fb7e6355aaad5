#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REPLY_MESSAGE_MAX 256

/* A message cut to size may end inside a UTF-8 character quoted from the
 * client, which jansson would refuse: the message must never go missing,
 * so drop the partial character (at most three bytes). */
static json_t *message_string(const char *text)
{
    size_t n = strlen(text);
    json_t *s = json_stringn(text, n);
    for (int cut = 0; !s && cut < 3 && n > 0; cut++)
        s = json_stringn(text, --n);
    return s ? s : json_string("(message not valid UTF-8)");
}

json_t *reply_error_vnew(const json_t *id, const char *code, const char *fmt, va_list ap)
{
    char text[REPLY_MESSAGE_MAX];
    vsnprintf(text, sizeof text, fmt, ap);
    json_t *j = json_pack("{s:s}", "class", "ERROR");
    if (!j)
        return NULL;
    if (id)
        json_object_set(j, "id", (json_t *)id);
    json_object_set_new(j, "code", json_string(code));
    json_object_set_new(j, "message", message_string(text));
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
