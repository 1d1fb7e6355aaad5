/* msg.h - one JSON line, rendered once and shared by every client queue.
 *
 * A msg holds the text including its final LF. It is reference-counted:
 * msg_new* returns it with one reference owned by the caller; each queue that
 * holds it takes its own with msg_ref() and gives it back with msg_unref().
 * The last msg_unref() frees it. Single-threaded, so a plain counter.
 */
#ifndef RB_MSG_H
#define RB_MSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct msg {
    unsigned refs;
    bool stream;     /* FRAME/LINK: may be dropped for a slow client; replies never */
    size_t len;
    char data[];
};

/* Copies text and appends LF. NULL when out of memory. */
struct msg *msg_new(const char *text, size_t len, bool stream);
/* Room for len bytes of text plus LF, which the caller fills in. */
struct msg *msg_alloc(size_t len, bool stream);
/* Dumps j compactly (RB_JSON_FLAGS) plus LF. NULL when out of memory. */
struct msg *msg_from_json(const json_t *j, bool stream);

static inline struct msg *msg_ref(struct msg *m)
{
    m->refs++;
    return m;
}
void msg_unref(struct msg *m);

#endif
