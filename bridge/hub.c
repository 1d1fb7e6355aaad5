#include "hub.h"

#include "client.h"

void hub_publish_frame(struct bridge *b, unsigned robot_index, unsigned type_index, struct msg *m)
{
    uint32_t rbit = UINT32_C(1) << robot_index;
    uint64_t tbit = UINT64_C(1) << type_index;
    for (struct client *c = b->clients; c; c = c->next)
        if (c->watching && (c->watch_robots & rbit) && (c->watch_types & tbit))
            client_push(c, m);
}

void hub_publish_link(struct bridge *b, unsigned robot_index, struct msg *m)
{
    uint32_t rbit = UINT32_C(1) << robot_index;
    for (struct client *c = b->clients; c; c = c->next)
        if (c->watching && (c->watch_robots & rbit))
            client_push(c, m);
}

void hub_broadcast(struct bridge *b, struct msg *m)
{
    for (struct client *c = b->clients; c; c = c->next)
        client_push(c, m);
}
