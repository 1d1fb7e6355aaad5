#include "notify.h"

#include "bridge.h"
#include "robot.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static void send_state(struct bridge *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void send_state(struct bridge *b, const char *fmt, ...)
{
    char text[NOTIFY_STATUS_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    int rc = sd_notify(0, text);
    if (rc < 0 && !b->notify.send_failed) {
        b->notify.send_failed = true;
        log_debug(&b->log, "sd_notify: %s (further failures are not logged)", strerror(-rc));
    }
}

/* Appends to out at *n, cut at the end of out. */
static void append(char *out, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *out, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n = *n + (size_t)w < cap - 1 ? *n + (size_t)w : cap - 1;
}

/* "2/3 robots linked: rob1, rob2; 4 clients", preceded by a note while the
 * last reload was refused. */
static void status_text(const struct bridge *b, char out[NOTIFY_STATUS_MAX])
{
    size_t n = 0;
    unsigned linked = 0;
    for (unsigned i = 0; i < b->nrobots; i++)
        linked += b->robots[i].link != NULL;
    out[0] = '\0';
    if (b->notify.reload_refused)
        append(out, NOTIFY_STATUS_MAX, &n, "reload refused, old configuration in force; ");
    append(out, NOTIFY_STATUS_MAX, &n, "%u/%u robots linked", linked, b->nrobots);
    const char *sep = ": ";
    for (unsigned i = 0; i < b->nrobots; i++) {
        if (!b->robots[i].link)
            continue;
        append(out, NOTIFY_STATUS_MAX, &n, "%s%s", sep, b->robots[i].cfg->name);
        sep = ", ";
    }
    append(out, NOTIFY_STATUS_MAX, &n, "; %u client%s", b->nclients, b->nclients == 1 ? "" : "s");
}

/* STATUS= when the text differs from the one last sent; extra (READY=1 ...)
 * goes in the same message and forces it out. */
static void send_status(struct bridge *b, const char *extra)
{
    char now[NOTIFY_STATUS_MAX];
    status_text(b, now);
    if (!extra && strcmp(now, b->notify.status) == 0)
        return;
    memcpy(b->notify.status, now, sizeof now);
    send_state(b, "%s%sSTATUS=%s", extra ? extra : "", extra ? "\n" : "", now);
}

static void status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    send_status(w->data, NULL);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    send_state(w->data, "WATCHDOG=1");
}

void notify_open(struct bridge *b)
{
    struct notify *n = &b->notify;
    n->enabled = getenv("NOTIFY_SOCKET") != NULL;
    if (!n->enabled)
        return;
    send_status(b, "READY=1");
    ev_timer_init(&n->status_timer, status_cb, NOTIFY_STATUS_PERIOD, NOTIFY_STATUS_PERIOD);
    n->status_timer.data = b;
    ev_timer_start(b->loop, &n->status_timer);
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        double period = (double)usec / 2e6;
        ev_timer_init(&n->watchdog_timer, watchdog_cb, period, period);
        n->watchdog_timer.data = b;
        ev_timer_start(b->loop, &n->watchdog_timer);
        log_info(&b->log, "systemd watchdog: keep-alive every %.3f s", period);
    }
}

void notify_reloading(struct bridge *b)
{
    if (!b->notify.enabled)
        return;
    /* MONOTONIC_USEC is what systemd 253 and later want beside RELOADING=1;
     * older managers ignore it. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    send_state(b, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
}

void notify_reloaded(struct bridge *b, bool applied)
{
    if (!b->notify.enabled)
        return;
    b->notify.reload_refused = !applied;
    send_status(b, "READY=1");
}

void notify_stopping(struct bridge *b)
{
    if (b->notify.enabled)
        send_state(b, "STOPPING=1\nSTATUS=stopping");
}

void notify_close(struct bridge *b)
{
    struct notify *n = &b->notify;
    if (!n->enabled || !b->loop)
        return;
    ev_timer_stop(b->loop, &n->status_timer);
    ev_timer_stop(b->loop, &n->watchdog_timer);
}
