#include "send.h"

#include "audit.h"
#include "command.h"
#include "lease.h"
#include "robot.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Reply an ERROR and write the audit trail's `refused` record. */
__attribute__((format(printf, 7, 8)))
static void refuse(struct bridge *b, const struct send_origin *from, struct reply_to to,
                   const json_t *id, const json_t *req, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = reply_error_vnew(id, code, fmt, ap);
    va_end(ap);
    if (j && code && strcmp(code, "not_in_control") == 0) {
        const json_t *robot = json_object_get(req, "robot");
        const char *holder = json_is_string(robot) ? lease_holder(b, json_string_value(robot))
                                                   : NULL;
        if (holder)
            json_object_set_new(j, "holder", json_string(holder));
    }
    if (j)
        to.fn(to.ctx, j);
    json_decref(j);
    if (!audit_enabled(b))
        return;
    json_t *rec = audit_event("refused", from->who, from->peer);
    if (rec) {
        const json_t *robot = json_object_get(req, "robot");
        const json_t *type = json_object_get(req, "type");
        if (json_is_string(robot))
            json_object_set(rec, "robot", (json_t *)robot);
        if (json_is_string(type))
            json_object_set(rec, "type", (json_t *)type);
        json_object_set_new(rec, "code", json_string(code));
    }
    audit_record(b, rec);
}

/* The lease rule (interface 1.1 C): NULL when the command may go. */
static const char *lease_refusal(struct bridge *b, const struct send_origin *from,
                                 const struct robot *r, const struct frame_def *def,
                                 char *msg, size_t msglen)
{
    if (!b->cfg.has_access || def->urgent)
        return NULL;
    const char *holder = lease_holder(b, r->cfg->name);
    if (!from->conn) {
        if (!holder)
            return NULL;
        snprintf(msg, msglen, "%s holds the control of robot %s", holder, r->cfg->name);
        return "not_in_control";
    }
    if (lease_held_by(b, r->cfg->name, from->conn))
        return NULL;
    if (holder)
        snprintf(msg, msglen, "%s holds the control of robot %s", holder, r->cfg->name);
    else
        snprintf(msg, msglen, "nobody holds the control of robot %s: send "
                 "{\"cmd\":\"control\",\"robot\":\"%s\"} first", r->cfg->name, r->cfg->name);
    return "not_in_control";
}

void send_submit(struct bridge *b, const struct send_origin *from, const json_t *req,
                 struct reply_to to)
{
    const json_t *id = json_object_get(req, "id");
    if (json_is_null(id))
        id = NULL;
    const json_t *name = json_object_get(req, "robot");
    const json_t *type = json_object_get(req, "type");
    const json_t *fields = json_object_get(req, "fields");
    if (!json_is_string(name)) {
        refuse(b, from, to, id, req, "bad_request", "\"robot\" must be a robot name (string)");
        return;
    }
    struct robot *r = bridge_robot(b, json_string_value(name));
    if (!r) {
        refuse(b, from, to, id, req, "unknown_robot", "no robot named \"%s\" is configured",
               json_string_value(name));
        return;
    }
    if (!json_is_string(type)) {
        refuse(b, from, to, id, req, "bad_request", "\"type\" must be a command type (string)");
        return;
    }
    if (fields && !json_is_object(fields)) {
        refuse(b, from, to, id, req, "bad_request", "\"fields\" must be an object");
        return;
    }
    const char *t = json_string_value(type);
    const struct frame_def *def = schema_find(b->cfg.schema, DIR_OUT, t, strlen(t));
    if (!def || def->from_bridge) {
        refuse(b, from, to, id, req, "unknown_type", "\"%s\" is not a command type", t);
        return;
    }
    if (!access_may(b, from->who, (int)r->index, t)) {
        char who[PRINCIPAL_TEXT_MAX];
        refuse(b, from, to, id, req, "unauthorized", "%s may not send %s to robot %s (grant: %s)",
               principal_text(from->who, who), t, r->cfg->name, t);
        return;
    }
    if (def->role == ROLE_REPLY) {
        reply_error(to, id, "unknown_type", "\"%s\" is the reply of a request frame: the client "
                    "serving the request answers it with reply, not send", t);
        return;
    }
    if (!robot_cfg_allows(r->cfg, t)) {
        refuse(b, from, to, id, req, "forbidden",
               "the configuration does not allow %s commands to robot %s", t, r->cfg->name);
        return;
    }
    char frame[COMMAND_MAX + 1];
    struct command_error err;
    uint32_t seq = robot_peek_seq(r);
    int n = command_encode(b->cfg.schema, t, fields, seq, r->cfg->checksum, frame, &err);
    if (n < 0) {
        refuse(b, from, to, id, req, err.err == COMMAND_ERR_UNKNOWN_TYPE ? "unknown_type" : "bad_field",
               "%s", err.message);
        return;
    }
    char why[160];
    const char *code = lease_refusal(b, from, r, def, why, sizeof why);
    if (code) {
        refuse(b, from, to, id, req, code, "%s", why);
        return;
    }
    char who[PRINCIPAL_TEXT_MAX];
    principal_text(from->who, who);
    struct command_origin origin = {.principal = who, .peer = from->peer};
    if (audit_enabled(b)) {
        /* Refusals the robot would give now come before the record: a
         * command that is written to the file is one the robot gets. */
        if ((code = robot_refusal(r, def))) {
            if (strcmp(code, "busy") == 0)
                refuse(b, from, to, id, req, code, "robot %s has %u commands waiting; try again "
                       "later", r->cfg->name, r->queued);
            else
                refuse(b, from, to, id, req, code, "robot %s is not connected", r->cfg->name);
            return;
        }
        json_t *rec = audit_event("command", from->who, from->peer);
        if (rec) {
            json_object_set_new(rec, "robot", json_string(r->cfg->name));
            json_object_set_new(rec, "type", json_string(def->type));
            json_object_set_new(rec, "fields", fields ? json_copy((json_t *)fields) : json_object());
            json_object_set_new(rec, "seq", json_integer(seq));
        }
        if (audit_record(b, rec) < 0) {
            refuse(b, from, to, id, req, "audit_failed", "the audit trail cannot be written: the "
                   "command was not sent");
            return;
        }
    }
    robot_send_from(r, to, id, def, frame, (size_t)n, seq, audit_enabled(b) ? &origin : NULL);
}
