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

/* Listener addresses, frame definitions, the mqtt section and recording
 * change only with a restart: say so, and let next keep the running ones.
 * (The schema itself is handed over in keep_running_schema.) */
static void keep_restart_settings(struct bridge *b, struct config *next)
{
    if (!b->listen_overridden && (!addr_equal(&next->robot_listen, &b->cfg.robot_listen) ||
                                  !addr_equal(&next->json_listen, &b->cfg.json_listen)))
        log_warn(&b->log, "reload: listener addresses change only with a restart");
    next->robot_listen = b->cfg.robot_listen;
    next->json_listen = b->cfg.json_listen;
    /* The listener speaks TLS or not for its whole life; the files in
     * json_tls may change (tls_reload reads them). */
    if (next->json_tls.enabled != b->cfg.json_tls.enabled) {
        log_warn(&b->log, "reload: json_tls on or off changes only with a restart");
        next->json_tls = b->cfg.json_tls;
    }
    if (!b->listen_overridden &&
        (next->has_http != b->cfg.has_http || !addr_equal(&next->http_listen, &b->cfg.http_listen) ||
         strcmp(next->http_root, b->cfg.http_root) != 0))
        log_warn(&b->log, "reload: http_listen and http_root change only with a restart");
    /* libwebsockets reads http_tls's files once, when the context is made. */
    if (memcmp(&next->http_tls, &b->cfg.http_tls, sizeof next->http_tls) != 0)
        log_warn(&b->log, "reload: http_tls changes only with a restart");
    next->http_tls = b->cfg.http_tls;
    next->has_http = b->cfg.has_http;
    next->http_listen = b->cfg.http_listen;
    memcpy(next->http_root, b->cfg.http_root, sizeof next->http_root);
    if (!schemas_equal(next->schema, b->cfg.schema))
        log_warn(&b->log, "reload: frame definitions change only with a restart");
    if (memcmp(&next->mqtt, &b->cfg.mqtt, sizeof next->mqtt) != 0)
        log_warn(&b->log, "reload: the mqtt section changes only with a restart");
    next->mqtt = b->cfg.mqtt;
    memcpy(next->record, b->cfg.record, sizeof next->record);
    if (strcmp(next->audit_file, b->cfg.audit_file) != 0)
        log_warn(&b->log, "reload: audit_file changes only with a restart");
    memcpy(next->audit_file, b->cfg.audit_file, sizeof next->audit_file);
    if (next->has_unix != b->cfg.has_unix || strcmp(next->unix_path, b->cfg.unix_path) != 0
        || next->unix_mode != b->cfg.unix_mode || strcmp(next->unix_group, b->cfg.unix_group) != 0)
        log_warn(&b->log, "reload: json_unix changes only with a restart");
    next->has_unix = b->cfg.has_unix;
    memcpy(next->unix_path, b->cfg.unix_path, sizeof next->unix_path);
    next->unix_mode = b->cfg.unix_mode;
    memcpy(next->unix_group, b->cfg.unix_group, sizeof next->unix_group);
}

/* The frame table never changes while the bridge runs: robots' latest
 * frames, watch filters and MQTT hold schema indexes and definitions. next
 * takes the running schema, and leaves the one it loaded to `old`, the
 * configuration going out of force, to be freed with it. */
static void keep_running_schema(struct config *next, struct config *old)
{
    struct schema *loaded = next->schema;
    next->schema = old->schema;
    old->schema = loaded;
}

/* What becomes of each running robot, matched by name. */
enum robot_fate {
    FATE_REMOVED,   /* not in the new configuration */
    FATE_KEPT,      /* moves to its new index, link, state and commands with it */
};

/* How the robot array is rebuilt: old robot i goes (fate[i]) to index
 * map.to[i]; new robot j is added or comes from old robot from[j]. */
struct rebuild {
    enum robot_fate fate[ROBOTS_MAX];
    struct hub_remap map;
    bool added[ROBOTS_MAX];
    unsigned from[ROBOTS_MAX];
    struct robot *fresh;        /* the new array, its added robots already set up */
};

static void rebuild_plan(const struct bridge *b, const struct config *next, struct rebuild *rb)
{
    rb->map.nold = b->nrobots;
    for (unsigned i = 0; i < b->nrobots; i++) {
        rb->fate[i] = FATE_REMOVED;
        rb->map.to[i] = HUB_ROBOT_GONE;
    }
    for (unsigned j = 0; j < next->nrobots; j++) {
        rb->added[j] = true;
        for (unsigned i = 0; i < b->nrobots; i++) {
            if (strcmp(b->robots[i].cfg->name, next->robots[j].name) == 0) {
                rb->fate[i] = FATE_KEPT;
                rb->map.to[i] = (int)j;
                rb->added[j] = false;
                rb->from[j] = i;
                break;
            }
        }
    }
}

/* Everything the rebuild allocates, before anything changes: the new array
 * and the added robots. Out of memory: -1 and nothing is left allocated. */
static int rebuild_prepare(struct bridge *b, const struct config *next, struct rebuild *rb)
{
    rb->fresh = calloc(next->nrobots ? next->nrobots : 1, sizeof *rb->fresh);
    if (!rb->fresh)
        return -1;
    for (unsigned j = 0; j < next->nrobots; j++) {
        if (rb->added[j] && robot_init(b, &rb->fresh[j], &next->robots[j], j) < 0) {
            for (unsigned k = 0; k < j; k++)
                robot_remove(&rb->fresh[k], "reload refused");
            free(rb->fresh);
            rb->fresh = NULL;
            return -1;
        }
    }
    return 0;
}

/* Put the new configuration and robot array in force; cannot fail. */
static void rebuild_commit(struct bridge *b, struct config *next, struct rebuild *rb)
{
    struct config old = b->cfg;
    struct robot *old_robots = b->robots;
    unsigned nold = b->nrobots;
    keep_running_schema(next, &old);
    /* The running robots point into b->cfg, which is about to be replaced. */
    for (unsigned i = 0; i < nold; i++)
        old_robots[i].cfg = &old.robots[i];
    /* Removed robots go first, while every robot is still in its old place:
     * LINK down reaches their outputs under their old index. */
    for (unsigned i = 0; i < nold; i++) {
        if (rb->fate[i] != FATE_REMOVED)
            continue;
        log_info(&b->log, "reload: robot %s removed", old_robots[i].cfg->name);
        robot_remove(&old_robots[i], "removed from the configuration");
    }
    b->cfg = *next;
    for (unsigned j = 0; j < b->cfg.nrobots; j++) {
        const struct robot_cfg *rc = &b->cfg.robots[j];
        if (rb->added[j]) {
            rb->fresh[j].cfg = rc;
            log_info(&b->log, "reload: robot %s added", rc->name);
            continue;
        }
        describe_changes(b, old_robots[rb->from[j]].cfg, rc);
        robot_move(&rb->fresh[j], &old_robots[rb->from[j]], rc, j);
    }
    b->robots = rb->fresh;
    b->nrobots = b->cfg.nrobots;
    hub_remap(b, &rb->map);
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
    keep_restart_settings(b, &next);
    /* The running listeners (command line included) stay: access rules
     * cannot go while one of them is open to the network. */
    if (config_check_exposure(&next, err) < 0) {
        log_error(&b->log, "reload refused, the running configuration stays: %s", err);
        config_free(&next);
        return -1;
    }
    struct rebuild rb;
    rebuild_plan(b, &next, &rb);
    if (rebuild_prepare(b, &next, &rb) < 0) {
        log_error(&b->log, "reload refused, the running configuration stays: out of memory");
        config_free(&next);
        return -1;
    }
    rebuild_commit(b, &next, &rb);
    lease_prune(b);
    log_info(&b->log, "reload: configuration %s in force, %u robot(s)", b->config_path,
             b->nrobots);
    return 0;
}
