#include "msg.h"

#include "render.h"

#include <stdlib.h>
#include <string.h>

/* Most messages fit; a larger one is dumped a second time into its own size. */
#define MSG_DUMP_STACK 4096

struct msg *msg_alloc(size_t len, bool stream)
{
    struct msg *m = malloc(sizeof *m + len + 1);
    if (!m)
        return NULL;
    m->refs = 1;
    m->stream = stream;
    m->len = len + 1;
    m->data[len] = '\n';
    return m;
}

struct msg *msg_new(const char *text, size_t len, bool stream)
{
    struct msg *m = msg_alloc(len, stream);
    if (m)
        memcpy(m->data, text, len);
    return m;
}

struct msg *msg_from_json(const json_t *j, bool stream)
{
    char buf[MSG_DUMP_STACK];
    size_t n = json_dumpb(j, buf, sizeof buf, RB_JSON_FLAGS);
    if (n == 0)
        return NULL;
    if (n <= sizeof buf)
        return msg_new(buf, n, stream);
    struct msg *m = msg_alloc(n, stream);
    if (m && json_dumpb(j, m->data, n, RB_JSON_FLAGS) != n) {
        free(m);
        return NULL;
    }
    return m;
}

void msg_unref(struct msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}
