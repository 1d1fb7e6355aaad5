/* reply.h - where the answer to a request goes, whoever asked.
 *
 * A JSON client and an MQTT command topic both submit commands; the robot
 * side answers later through a reply_to, without knowing which it is. The
 * reply function does not steal the object. ctx identifies the asker, so
 * robots_forget() can drop its pending answers when it goes away.
 */
#ifndef RB_REPLY_H
#define RB_REPLY_H

#include <jansson.h>
#include <stdarg.h>

typedef void reply_fn(void *ctx, const json_t *reply);

struct reply_to {
    reply_fn *fn;
    void *ctx;
};

/* {"class":"ERROR","id":id,"code":code,"message":...}: a new reference, or NULL. */
json_t *reply_error_vnew(const json_t *id, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Build an ERROR and deliver it to `to`. */
void reply_error(struct reply_to to, const json_t *id, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
