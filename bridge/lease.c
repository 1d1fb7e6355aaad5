/* lease.c - the control lease (see lease.h). */
#include "lease.h"

#include "audit.h"
#include "bridge.h"
#include "client.h"
#include "robot.h"

#include <string.h>

static struct lease *find(const struct bridge *b, const char *robot)
{
    struct lease_table *t = (struct lease_table *)&b->leases;
    for (unsigned i = 0; i < ROBOTS_MAX; i++)
        if (t->slot[i].robot[0] && strcmp(t->slot[i].robot, robot) == 0)
            return &t->slot[i];
    return NULL;
}

const char *lease_holder(const struct bridge *b, const char *robot)
{
    const struct lease *l = find(b, robot);
    return l ? l->holder_text : NULL;
}

bool lease_held_by(const struct bridge *b, const char *robot, const struct client *c)
{
    const struct lease *l = find(b, robot);
    return l && l->holder == c;
}

json_t *lease_control_json(const char *robot, const char *state, const char *holder,
                           const char *previous, const char *reason)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "class", "CONTROL", "robot", robot, "state",
                          state, "holder", holder);
    if (j && previous)
        json_object_set_new(j, "previous", json_string(previous));
    if (j && reason)
        json_object_set_new(j, "reason", json_string(reason));
    return j;
}

/* CONTROL to the robot's watchers (not `except`), and to `also` when that
 * connection would not get it as a watcher (a holder taken over). */
static void notify(struct bridge *b, const struct robot *r, json_t *j, const struct client *except,
                   struct client *also)
{
    struct msg *m = j ? msg_from_json(j, false) : NULL;
    if (!m)
        return;
    hub_publish_notice(b, r->index, m, except);
    if (also && also != except && !client_follows(also, r->index))
        client_push(also, m);
    msg_unref(m);
}

static void audit_lease(struct bridge *b, const char *event, const struct client *c,
                        const char *robot, const char *previous, const char *reason)
{
    json_t *rec = audit_event(event, &c->who, c->peer);
    if (rec) {
        json_object_set_new(rec, "robot", json_string(robot));
        if (previous)
            json_object_set_new(rec, "previous", json_string(previous));
        if (reason)
            json_object_set_new(rec, "reason", json_string(reason));
    }
    audit_record(b, rec);
}

enum lease_take lease_take(struct bridge *b, struct robot *r, struct client *c, bool takeover,
                           char previous[PRINCIPAL_TEXT_MAX])
{
    previous[0] = '\0';
    const char *name = r->cfg->name;
    struct lease *l = find(b, name);
    if (l && l->holder == c)
        return LEASE_YOURS;
    if (l && !takeover)
        return LEASE_HELD;
    struct client *old = NULL;
    if (l) {
        old = (struct client *)l->holder;
        snprintf(previous, PRINCIPAL_TEXT_MAX, "%s", l->holder_text);
    } else {
        for (unsigned i = 0; i < ROBOTS_MAX && !l; i++)
            if (!b->leases.slot[i].robot[0])
                l = &b->leases.slot[i];
        if (!l)
            return LEASE_HELD; /* cannot happen: one slot per configured robot */
        snprintf(l->robot, sizeof l->robot, "%s", name);
    }
    l->holder = c;
    principal_text(&c->who, l->holder_text);
    log_info(&b->log, "robot %s: control %s by %s (%s)%s%s", name, old ? "taken over" : "taken",
             l->holder_text, c->peer, old ? " from " : "", old ? previous : "");
    audit_lease(b, old ? "takeover" : "control", c, name, old ? previous : NULL, NULL);
    json_t *j = lease_control_json(name, "taken", l->holder_text, old ? previous : NULL, NULL);
    notify(b, r, j, c, old);
    json_decref(j);
    return LEASE_TAKEN;
}

static void release(struct bridge *b, struct lease *l, struct client *c, const char *reason)
{
    char holder[PRINCIPAL_TEXT_MAX], name[IDENT_MAX + 1];
    snprintf(holder, sizeof holder, "%s", l->holder_text);
    snprintf(name, sizeof name, "%s", l->robot);
    memset(l, 0, sizeof *l);
    log_info(&b->log, "robot %s: control released by %s (%s)", name, holder, reason);
    audit_lease(b, "release", c, name, NULL, reason);
    struct robot *r = bridge_robot(b, name);
    if (!r)
        return;
    json_t *j = lease_control_json(name, "released", holder, NULL, reason);
    notify(b, r, j, c, NULL);
    json_decref(j);
}

bool lease_release(struct bridge *b, struct robot *r, struct client *c)
{
    struct lease *l = find(b, r->cfg->name);
    if (!l || l->holder != c)
        return false;
    release(b, l, c, "release");
    return true;
}

void lease_client_gone(struct bridge *b, struct client *c)
{
    for (unsigned i = 0; i < ROBOTS_MAX; i++)
        if (b->leases.slot[i].robot[0] && b->leases.slot[i].holder == c)
            release(b, &b->leases.slot[i], c, "disconnect");
}

void lease_prune(struct bridge *b)
{
    for (unsigned i = 0; i < ROBOTS_MAX; i++)
        if (b->leases.slot[i].robot[0] && !bridge_robot(b, b->leases.slot[i].robot))
            memset(&b->leases.slot[i], 0, sizeof b->leases.slot[i]);
}
