#include "send.h"

#include "command.h"
#include "robot.h"

#include <string.h>

void send_submit(struct bridge *b, const json_t *req, struct reply_to to)
{
    const json_t *id = json_object_get(req, "id");
    if (json_is_null(id))
        id = NULL;
    const json_t *name = json_object_get(req, "robot");
    const json_t *type = json_object_get(req, "type");
    const json_t *fields = json_object_get(req, "fields");
    if (!json_is_string(name)) {
        reply_error(to, id, "bad_request", "\"robot\" must be a robot name (string)");
        return;
    }
    struct robot *r = bridge_robot(b, json_string_value(name));
    if (!r) {
        reply_error(to, id, "unknown_robot", "no robot named \"%s\" is configured",
                    json_string_value(name));
        return;
    }
    if (!json_is_string(type)) {
        reply_error(to, id, "bad_request", "\"type\" must be a command type (string)");
        return;
    }
    if (fields && !json_is_object(fields)) {
        reply_error(to, id, "bad_request", "\"fields\" must be an object");
        return;
    }
    const char *t = json_string_value(type);
    const struct frame_def *def = schema_find(b->cfg.schema, DIR_OUT, t, strlen(t));
    if (!def || def->from_bridge) {
        reply_error(to, id, "unknown_type", "\"%s\" is not a command type", t);
        return;
    }
    if (def->role == ROLE_REPLY) {
        reply_error(to, id, "unknown_type", "\"%s\" is the reply of a request frame: the client "
                    "serving the request answers it with reply, not send", t);
        return;
    }
    if (!robot_cfg_allows(r->cfg, t)) {
        reply_error(to, id, "forbidden", "the configuration does not allow %s commands to robot %s",
                    t, r->cfg->name);
        return;
    }
    char frame[COMMAND_MAX + 1];
    struct command_error err;
    uint32_t seq = robot_peek_seq(r);
    int n = command_encode(b->cfg.schema, t, fields, seq, r->cfg->checksum, frame, &err);
    if (n < 0) {
        reply_error(to, id, err.err == COMMAND_ERR_UNKNOWN_TYPE ? "unknown_type" : "bad_field",
                    "%s", err.message);
        return;
    }
    robot_send(r, to, id, def, frame, (size_t)n, seq);
}
