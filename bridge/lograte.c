/* lograte.c - at most one log line per cause per second (see lograte.h). */
#include "lograte.h"

#include <stdarg.h>
#include <stdio.h>

#define LOGRATE_LINE_MAX 768   /* the message before the folded count */

static const char *const cause_text[LOGRATE_CAUSES] = {
    [LOGRATE_ROBOT_BUSY] = "robot connections refused: too many wait for HI",
    [LOGRATE_ROBOT_PER_ADDRESS] = "robot connections refused: too many wait for HI from one address",
    [LOGRATE_ROBOT_BAD_HELLO] = "robot connections refused: bad first frame",
    [LOGRATE_ROBOT_NOT_HELLO] = "robot connections refused: first frame not HI",
    [LOGRATE_ROBOT_UNKNOWN_NAME] = "robot connections refused: HI names no configured robot",
    [LOGRATE_ROBOT_PEER] = "robot connections refused: HI from an address not allowed",
    [LOGRATE_ROBOT_HELLO_TIMEOUT] = "robot connections closed: no HI in time",
    [LOGRATE_CLIENT_BUSY] = "clients refused: too many clients",
    [LOGRATE_CLIENT_PER_ADDRESS] = "clients refused: too many clients from one address",
    [LOGRATE_CLIENT_TIMEOUT] = "clients closed: no whole request in time",
};

static bool due(const struct lograte_slot *s, double now)
{
    return s->last <= 0 || now - s->last >= LOGRATE_PERIOD || now < s->last;
}

bool lograte_log(struct lograte *lr, const struct logger *lg, double now,
                 enum lograte_cause cause, enum log_level lvl, const char *fmt, ...)
{
    struct lograte_slot *s = &lr->slot[cause];
    if (!due(s, now)) {
        s->folded++;
        return false;
    }
    char text[LOGRATE_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (s->folded)
        log_msg(lg, lvl, "%s (%llu more like this folded)", text, (unsigned long long)s->folded);
    else
        log_msg(lg, lvl, "%s", text);
    s->last = now;
    s->folded = 0;
    return true;
}

void lograte_flush(struct lograte *lr, const struct logger *lg, double now)
{
    for (int c = 0; c < LOGRATE_CAUSES; c++) {
        struct lograte_slot *s = &lr->slot[c];
        if (!s->folded || !due(s, now))
            continue;
        log_warn(lg, "%s (%llu more like this folded)", cause_text[c],
                 (unsigned long long)s->folded);
        s->last = now;
        s->folded = 0;
    }
}

uint64_t lograte_folded(const struct lograte *lr, enum lograte_cause cause)
{
    return lr->slot[cause].folded;
}
