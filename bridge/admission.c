/* admission.c - the queue-or-drop decisions (see admission.h). */
#include "admission.h"

enum admit client_admit(size_t queued, bool stream, size_t soft)
{
    if (stream && queued >= soft)
        return ADMIT_DROP;
    if (queued > soft * CLIENT_HARD_FACTOR)
        return ADMIT_CUT_OFF;
    return ADMIT_QUEUE;
}

bool client_drops_due(uint64_t dropped, size_t queued, size_t soft)
{
    return dropped > 0 && queued < soft / 2;
}

enum command_admit command_admit(const struct command_slots *s, bool urgent)
{
    if (!s->linked)
        return COMMAND_OFFLINE;
    if (urgent && s->normal_busy && !s->urgent_busy)
        return COMMAND_URGENT;
    if (s->normal_busy && s->queued >= s->queue_max)
        return COMMAND_BUSY;
    return COMMAND_QUEUE;
}

enum admit mqtt_admit(bool connected, size_t queued, size_t cap)
{
    if (!connected)
        return ADMIT_DROP;
    return queued >= cap ? ADMIT_DROP_OLDEST : ADMIT_QUEUE;
}
