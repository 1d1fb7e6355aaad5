/* hub.c - the one door out (see hub.h). */
#include "hub.h"

#include "bridge.h"

void hub_register(struct bridge *b, struct hub_output *o)
{
    struct hub_output **p = &b->outputs;
    while (*p)
        p = &(*p)->next;
    o->next = NULL;
    *p = o;
}

void hub_unregister(struct bridge *b, struct hub_output *o)
{
    for (struct hub_output **p = &b->outputs; *p; p = &(*p)->next) {
        if (*p == o) {
            *p = o->next;
            o->next = NULL;
            return;
        }
    }
}

void hub_publish_frame(struct bridge *b, unsigned robot_index, unsigned type_index, struct msg *m)
{
    uint32_t rbit = UINT32_C(1) << robot_index;
    uint64_t tbit = UINT64_C(1) << type_index;
    for (struct hub_output *o = b->outputs; o; o = o->next)
        if ((o->robots & rbit) && (o->types & tbit))
            o->ops->frame(o, robot_index, type_index, m);
}

void hub_publish_link(struct bridge *b, unsigned robot_index, bool up, struct msg *m)
{
    uint32_t rbit = UINT32_C(1) << robot_index;
    for (struct hub_output *o = b->outputs; o; o = o->next)
        if (o->robots & rbit)
            o->ops->link(o, robot_index, up, m);
}

void hub_broadcast(struct bridge *b, struct msg *m)
{
    for (struct hub_output *o = b->outputs; o; o = o->next)
        if (o->ops->broadcast)
            o->ops->broadcast(o, m);
}

void hub_publish_notice(struct bridge *b, unsigned robot_index, struct msg *m, const void *except)
{
    uint32_t rbit = UINT32_C(1) << robot_index;
    for (struct hub_output *o = b->outputs; o; o = o->next)
        if (o->ops->notice && (o->robots & rbit))
            o->ops->notice(o, robot_index, m, except);
}

uint32_t hub_remap_robots(const struct hub_remap *map, uint32_t mask)
{
    if (mask == HUB_ALL_ROBOTS)
        return mask;
    uint32_t out = 0;
    for (unsigned i = 0; i < map->nold; i++)
        if ((mask & (UINT32_C(1) << i)) && map->to[i] != HUB_ROBOT_GONE)
            out |= UINT32_C(1) << map->to[i];
    return out;
}

void hub_remap(struct bridge *b, const struct hub_remap *map)
{
    for (struct hub_output *o = b->outputs; o; o = o->next) {
        o->robots = hub_remap_robots(map, o->robots);
        if (o->ops->remap)
            o->ops->remap(o, map);
    }
}
