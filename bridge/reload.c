#include "reload.h"

#include "hub.h"
#include "robot.h"

#include <stdlib.h>
#include <string.h>

static bool schemas_equal(const struct schema *a, const struct schema *b)
{
    const struct frame_def *x, *y;
    unsigned i = 0;
    for (;; i++) {
        x = schema_at(a, i);
        y = schema_at(b, i);
        if (!x || !y)
            return x == y;
        if (memcmp(x, y, sizeof *x) != 0)
            return false;
    }
}

static bool addr_equal(const struct listen_addr *a, const struct listen_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static void describe_changes(struct bridge *b, const struct robot_cfg *old,
                             const struct robot_cfg *now)
{
    if (old->ncommands != now->ncommands ||
        memcmp(old->commands, now->commands, sizeof old->commands) != 0) {
        char list[FRAME_TYPES_MAX * (FRAME_TYPE_MAX + 1) + 1] = "";
        for (unsigned i = 0; i < now->ncommands; i++) {
            strcat(list, i ? " " : "");
            strcat(list, now->commands[i]);
        }
        log_info(&b->log, "reload: robot %s now allows commands: %s", now->name,
                 now->ncommands ? list : "(none)");
    }
    if (old->mqtt_commands != now->mqtt_commands)
        log_info(&b->log, "reload: robot %s: commands over MQTT %s", now->name,
                 now->mqtt_commands ? "allowed" : "refused");
    if (old->checksum != now->checksum)
        log_info(&b->log, "reload: robot %s: checksum on commands %s", now->name,
                 now->checksum ? "on" : "off");
}

int bridge_reload(struct bridge *b)
{
    if (!b->config_path) {
        log_warn(&b->log, "reload: the bridge was started without a configuration file");
        return -1;
    }
    struct config next;
    char err[CONFIG_ERR_MAX];
    if (config_load_file(&next, b->config_path, err) < 0) {
        log_error(&b->log, "reload refused, the running configuration stays: %s", err);
        config_free(&next);
        return -1;
    }
    if (!b->listen_overridden && (!addr_equal(&next.robot_listen, &b->cfg.robot_listen) ||
                                  !addr_equal(&next.json_listen, &b->cfg.json_listen)))
        log_warn(&b->log, "reload: listener addresses change only with a restart");
    next.robot_listen = b->cfg.robot_listen;
    next.json_listen = b->cfg.json_listen;
    if (!schemas_equal(next.schema, b->cfg.schema)) {
        log_warn(&b->log, "reload: frame definitions change only with a restart");
        struct schema *keep = b->cfg.schema;
        b->cfg.schema = next.schema;
        next.schema = keep;
    }
    if (memcmp(&next.mqtt, &b->cfg.mqtt, sizeof next.mqtt) != 0)
        log_warn(&b->log, "reload: the mqtt section changes only with a restart");
    next.mqtt = b->cfg.mqtt;
    memcpy(next.record, b->cfg.record, sizeof next.record);

    struct robot *fresh = calloc(next.nrobots ? next.nrobots : 1, sizeof *fresh);
    if (!fresh) {
        log_error(&b->log, "reload refused: out of memory");
        config_free(&next);
        return -1;
    }
    struct config old = b->cfg;
    struct robot *old_robots = b->robots;
    unsigned nold = b->nrobots;
    int moved[ROBOTS_MAX]; /* new index, -1 not yet placed, -2 removed */
    for (unsigned i = 0; i < ROBOTS_MAX; i++)
        moved[i] = -1;
    /* The running robots point into b->cfg, which is about to be replaced. */
    for (unsigned i = 0; i < nold; i++)
        old_robots[i].cfg = &old.robots[i];
    /* Removed robots go first, while every robot is still in its old place:
     * LINK down reaches their watchers (and MQTT) under their old index. */
    for (unsigned i = 0; i < nold; i++) {
        if (config_robot(&next, old_robots[i].cfg->name))
            continue;
        log_info(&b->log, "reload: robot %s removed", old_robots[i].cfg->name);
        robot_remove(&old_robots[i], "removed from the configuration");
        moved[i] = -2;
    }
    b->cfg = next;
    for (unsigned j = 0; j < b->cfg.nrobots; j++) {
        const struct robot_cfg *rc = &b->cfg.robots[j];
        unsigned i = 0;
        while (i < nold && (moved[i] != -1 || strcmp(old_robots[i].cfg->name, rc->name) != 0))
            i++;
        if (i == nold) {
            robot_init(b, &fresh[j], rc, j);
            log_info(&b->log, "reload: robot %s added", rc->name);
            continue;
        }
        describe_changes(b, old_robots[i].cfg, rc);
        robot_move(&fresh[j], &old_robots[i], rc, j);
        moved[i] = (int)j;
    }
    b->robots = fresh;
    b->nrobots = b->cfg.nrobots;
    struct hub_remap map = {.nold = nold};
    for (unsigned i = 0; i < nold; i++)
        map.to[i] = moved[i] >= 0 ? moved[i] : HUB_ROBOT_GONE;
    hub_remap(b, &map);
    free(old_robots);
    for (unsigned j = 0; j < b->nrobots; j++)
        robot_set_idle(&b->robots[j], b->cfg.limits.idle_timeout);
    /* Only now: LINK down goes out under the robot's new index. */
    for (unsigned j = 0; j < b->nrobots; j++) {
        struct robot *r = &b->robots[j];
        if (r->cfg->has_peer && r->link && !robot_link_from(r, r->cfg->peer)) {
            log_info(&b->log, "reload: robot %s must now connect from %s", r->cfg->name,
                     r->cfg->peer);
            robot_disconnect(r, "peer changed in the configuration");
        }
    }
    config_free(&old);
    log_info(&b->log, "reload: configuration %s in force, %u robot(s)", b->config_path,
             b->nrobots);
    return 0;
}
