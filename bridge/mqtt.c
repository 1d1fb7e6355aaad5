/* Placeholder until the MQTT publisher lands: every hook does nothing. */
#include "mqtt.h"

int mqtt_open(struct bridge *b, char err[NET_ERR_MAX])
{
    (void)b;
    (void)err;
    return 0;
}

void mqtt_close(struct bridge *b)
{
    (void)b;
}

void mqtt_frame(struct bridge *b, unsigned robot_index, const struct frame_def *d, struct msg *m)
{
    (void)b;
    (void)robot_index;
    (void)d;
    (void)m;
}

void mqtt_link(struct bridge *b, unsigned robot_index, bool up)
{
    (void)b;
    (void)robot_index;
    (void)up;
}

void mqtt_stats(struct bridge *b, json_t *stats)
{
    (void)b;
    (void)stats;
}
