/* mqtt.c - what the bridge publishes to MQTT, and commands taken from it
 * (see mqtt.h). The broker connection itself is mqtt_session.c.
 *
 * State per robot and frame type (a slot): the latest frame published, for
 * the retained republish after a reconnect, and under a rate cap the newest
 * frame that came too soon, published when the interval ends. Robots are
 * kept by name, not by index, so a configuration reload that moves, adds or
 * removes robots needs nothing from here.
 *
 * Output order while connected: first the present state after a (re)connect
 * (status, every link, every slot's latest frame), then the queue of what
 * happened since, oldest first. While not connected nothing is queued: the
 * state is kept and goes out on the next connect.
 */
#include "mqtt.h"

#include "admission.h"
#include "hub.h"
#include "mqtt_session.h"
#include "robot.h"
#include "send.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* <prefix>/<robot>/<TYPE|link|cmd|ack> and <prefix>/bridge/status: the
 * configuration bounds the prefix so that every one fits (config.h). A
 * robot level from a command topic is echoed in the ack topic up to
 * MQTT_LEVEL_MAX bytes; a longer one is not one of ours and is ignored. */
#define TOPIC_BUF (MQTT_TOPIC_MAX + 1)
/* The default client id: the host name and both listening ports, so that
 * two bridges on one host never share one (the broker would drop the older
 * session each time the other connects). */
#define DEFAULT_ID_PREFIX "rapidbridge-"
#define HOSTNAME_BUF 256

_Static_assert(MQTT_PACKET_MAX >= MQTT_CMD_MAX + MQTT_TOPIC_MAX + 4096,
               "a command that is not too large must reach the bridge");

struct mq_robot;

struct mq_slot {
    struct mq_robot *robot;
    unsigned type;              /* schema index */
    struct msg *latest;         /* last one published (or due while offline) */
    struct msg *pending;        /* came within the rate interval; NULL when none */
    double last;                /* loop time `latest` was taken */
    ev_timer timer;             /* ends the interval while pending is set */
};

struct mq_robot {
    struct mqtt *mq;
    bool used;
    bool link_up;
    char name[IDENT_MAX + 1];
    struct mq_slot *slots;      /* ntypes of them */
};

struct mq_item {
    char *topic;                /* owned */
    struct msg *m;              /* a reference; the payload is m->data without its LF */
    bool retain;
};

struct mqtt {
    struct bridge *b;
    struct hub_output out;      /* registered with the hub while open */
    struct mqtt_cfg cfg;        /* a copy: a reload does not change a running session */
    struct mqtt_session s;
    unsigned ntypes;
    double interval[FRAME_TYPES_MAX];
    char status_topic[TOPIC_BUF];
    struct msg *up, *down, *online, *offline;
    struct mq_robot robots[ROBOTS_MAX];

    struct mq_item *q;          /* ring of cfg.queue_messages */
    size_t q_head, q_count;
    bool resync;                /* the present state is being published */
    size_t resync_pos;
    uint64_t dropped;
};

/* ---- topics and messages ----------------------------------------------------- */

static void topic_of(const struct mqtt *mq, const char *robot, const char *leaf,
                     char out[TOPIC_BUF])
{
    snprintf(out, TOPIC_BUF, "%s/%s/%s", mq->cfg.prefix, robot, leaf);
}

static const char *type_name(const struct mqtt *mq, unsigned type)
{
    const struct frame_def *d = schema_at(mq->b->cfg.schema, type);
    return d ? d->type : "?";
}

static struct msg *text_msg(const char *text)
{
    return msg_new(text, strlen(text), false);
}

static int publish(struct mqtt *mq, const char *topic, const struct msg *m, bool retain)
{
    return session_publish(&mq->s, topic, m->data, m->len - 1, retain);
}

/* ---- the queue ----------------------------------------------------------------- */

static void item_free(struct mq_item *it)
{
    free(it->topic);
    msg_unref(it->m);
    it->topic = NULL;
    it->m = NULL;
}

static void queue_clear(struct mqtt *mq)
{
    while (mq->q_count) {
        item_free(&mq->q[mq->q_head]);
        mq->q_head = (mq->q_head + 1) % mq->cfg.queue_messages;
        mq->q_count--;
        mq->dropped++;
    }
}

/* Queue a message for the broker; the oldest one goes when the queue is
 * full. Not connected: dropped at once (state is republished anyway). */
static void queue_push(struct mqtt *mq, const char *topic, struct msg *m, bool retain)
{
    size_t cap = mq->cfg.queue_messages;
    enum admit verdict = mqtt_admit(session_up(&mq->s), mq->q_count, cap);
    if (verdict == ADMIT_DROP || !m) {
        mq->dropped++;
        return;
    }
    char *t = strdup(topic);
    if (!t) {
        mq->dropped++;
        return;
    }
    if (verdict == ADMIT_DROP_OLDEST) {
        item_free(&mq->q[mq->q_head]);
        mq->q_head = (mq->q_head + 1) % cap;
        mq->q_count--;
        mq->dropped++;
    }
    struct mq_item *it = &mq->q[(mq->q_head + mq->q_count) % cap];
    it->topic = t;
    it->m = msg_ref(m);
    it->retain = retain;
    mq->q_count++;
}

/* The next message of the present state: status, links, latest frames. */
static bool resync_next(struct mqtt *mq, char topic[TOPIC_BUF], struct msg **m)
{
    size_t nlinks = ROBOTS_MAX, nframes = (size_t)ROBOTS_MAX * mq->ntypes;   /* ntypes > 0 */
    while (mq->resync_pos < 1 + nlinks + nframes) {
        size_t pos = mq->resync_pos++;
        if (pos == 0) {
            snprintf(topic, TOPIC_BUF, "%s", mq->status_topic);
            *m = mq->online;
            return true;
        }
        pos -= 1;
        if (pos < nlinks) {
            struct mq_robot *r = &mq->robots[pos];
            if (!r->used || !bridge_robot(mq->b, r->name))    /* removed by a reload */
                continue;
            topic_of(mq, r->name, "link", topic);
            *m = r->link_up ? mq->up : mq->down;
            return true;
        }
        pos -= nlinks;
        struct mq_robot *r = &mq->robots[pos / mq->ntypes];
        bool current = r->used && bridge_robot(mq->b, r->name);
        struct mq_slot *slot = current ? &r->slots[pos % mq->ntypes] : NULL;
        if (!slot || !slot->latest)
            continue;
        topic_of(mq, r->name, type_name(mq, slot->type), topic);
        *m = slot->latest;
        return true;
    }
    mq->resync = false;
    return false;
}

/* Hand the library what fits: the present state first, then the queue.
 * Returns true while something is still waiting. */
static bool pump(void *ctx)
{
    struct mqtt *mq = ctx;
    while (session_can_publish(&mq->s)) {
        char topic[TOPIC_BUF];
        struct msg *m;
        if (mq->resync && resync_next(mq, topic, &m)) {
            if (publish(mq, topic, m, true) < 0)
                mq->dropped++;
            continue;
        }
        if (!mq->q_count)
            break;
        struct mq_item *it = &mq->q[mq->q_head];
        mq->q_head = (mq->q_head + 1) % mq->cfg.queue_messages;
        mq->q_count--;
        if (publish(mq, it->topic, it->m, it->retain) < 0)
            mq->dropped++;
        item_free(it);
    }
    return mq->resync || mq->q_count > 0;
}

/* ---- robots and slots -------------------------------------------------------- */

static void slot_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void robot_forget(struct mqtt *mq, struct mq_robot *r)
{
    if (!r->used)
        return;
    robots_forget(mq->b, r);          /* pending commands lose their addressee */
    for (unsigned t = 0; r->slots && t < mq->ntypes; t++) {
        ev_timer_stop(mq->b->loop, &r->slots[t].timer);
        msg_unref(r->slots[t].latest);
        msg_unref(r->slots[t].pending);
    }
    free(r->slots);
    memset(r, 0, sizeof *r);
}

/* Our record of the robot of this name; made on first use. When every entry
 * is taken (robots added by reloads), one of a robot no longer configured
 * is reused. */
static struct mq_robot *robot_of(struct mqtt *mq, const char *name)
{
    for (unsigned i = 0; i < ROBOTS_MAX; i++)
        if (mq->robots[i].used && strcmp(mq->robots[i].name, name) == 0)
            return &mq->robots[i];
    /* Not known yet (rare): only now look for room. */
    struct mq_robot *free_one = NULL, *stale = NULL;
    for (unsigned i = 0; i < ROBOTS_MAX; i++) {
        struct mq_robot *r = &mq->robots[i];
        if (!r->used && !free_one)
            free_one = r;
        if (r->used && !stale && !bridge_robot(mq->b, r->name))
            stale = r;
    }
    struct mq_robot *r = free_one;
    if (!r && stale) {
        robot_forget(mq, stale);
        r = stale;
    }
    if (!r)
        return NULL;
    r->slots = calloc(mq->ntypes ? mq->ntypes : 1, sizeof *r->slots);
    if (!r->slots)
        return NULL;
    r->mq = mq;
    r->used = true;
    snprintf(r->name, sizeof r->name, "%s", name);
    for (unsigned t = 0; t < mq->ntypes; t++) {
        struct mq_slot *slot = &r->slots[t];
        slot->robot = r;
        slot->type = t;
        ev_timer_init(&slot->timer, slot_timer_cb, 0, 0);
        slot->timer.data = slot;
    }
    return r;
}

/* A frame goes out: it is the slot's latest, and queued when connected. */
static void slot_emit(struct mq_slot *slot, struct msg *m)
{
    struct mqtt *mq = slot->robot->mq;
    msg_ref(m);
    msg_unref(slot->latest);
    slot->latest = m;
    slot->last = ev_now(mq->b->loop);
    if (!session_up(&mq->s))
        return;
    char topic[TOPIC_BUF];
    topic_of(mq, slot->robot->name, type_name(mq, slot->type), topic);
    queue_push(mq, topic, m, true);
    session_pump(&mq->s);
}

static void slot_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct mq_slot *slot = w->data;
    struct msg *m = slot->pending;
    slot->pending = NULL;
    if (m) {
        slot_emit(slot, m);
        msg_unref(m);
    }
}

/* ---- session events -------------------------------------------------------------- */

static void on_up(void *ctx)
{
    struct mqtt *mq = ctx;
    struct bridge *b = mq->b;
    bool commands = false;
    for (unsigned i = 0; i < b->nrobots; i++) {
        commands |= b->robots[i].cfg->mqtt_commands;
        robot_of(mq, b->robots[i].cfg->name);    /* robots added by a reload: "down" */
    }
    if (commands) {
        char pattern[TOPIC_BUF];
        topic_of(mq, "+", "cmd", pattern);
        session_subscribe(&mq->s, pattern);
    }
    mq->resync = true;
    mq->resync_pos = 0;
}

static void on_down(void *ctx)
{
    struct mqtt *mq = ctx;
    queue_clear(mq);
    mq->resync = false;
}

/* ---- commands ------------------------------------------------------------------ */

static void ack_to(struct mqtt *mq, const char *robot, const json_t *reply)
{
    char topic[TOPIC_BUF];
    topic_of(mq, robot, "ack", topic);
    struct msg *m = msg_from_json(reply, false);
    queue_push(mq, topic, m, false);
    msg_unref(m);
    session_pump(&mq->s);
}

/* reply_fn for commands from MQTT: ctx is the robot's mq_robot. */
static void command_reply(void *ctx, const json_t *reply)
{
    struct mq_robot *r = ctx;
    ack_to(r->mq, r->name, reply);
}

__attribute__((format(printf, 5, 6)))
static void command_error(struct mqtt *mq, const char *robot, const json_t *id, const char *code,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = reply_error_vnew(id, code, fmt, ap);
    va_end(ap);
    if (j)
        ack_to(mq, robot, j);
    json_decref(j);
}

/* The robot level of "<prefix>/<robot>/cmd", or false. */
static bool command_robot(const struct mqtt *mq, const char *topic, char name[MQTT_LEVEL_MAX + 1])
{
    size_t plen = strlen(mq->cfg.prefix), tlen = strlen(topic);
    if (tlen < plen + 6 || strncmp(topic, mq->cfg.prefix, plen) != 0 || topic[plen] != '/'
        || strcmp(topic + tlen - 4, "/cmd") != 0)
        return false;
    const char *from = topic + plen + 1;
    size_t n = (size_t)(topic + tlen - 4 - from);
    if (n == 0 || n > MQTT_LEVEL_MAX || memchr(from, '/', n))
        return false;
    memcpy(name, from, n);
    name[n] = '\0';
    return true;
}

/* <prefix>/<robot>/cmd: the `send` request's JSON, the robot from the topic.
 * An empty payload (clearing a retained message) is ignored. Then, in this
 * order: retained (bad_request), size (bad_request), JSON
 * (bad_json), a "robot" member naming another robot (bad_request), robot
 * (unknown_robot), its mqtt_commands (forbidden), then send_submit's checks. */
static void on_message(void *ctx, const struct mosquitto_message *msg)
{
    struct mqtt *mq = ctx;
    struct bridge *b = mq->b;
    char name[MQTT_LEVEL_MAX + 1];
    if (!command_robot(mq, msg->topic, name)) {
        log_debug(&b->log, "mqtt: ignoring a message on %s", msg->topic);
        return;
    }
    if (msg->payloadlen == 0) {
        /* How a retained message is cleared: nothing to answer. */
        log_debug(&b->log, "mqtt: ignoring an empty message on %s", msg->topic);
        return;
    }
    if (msg->retain) {
        /* A retained command would run again at every reconnect. */
        log_warn(&b->log, "mqtt: refusing a retained command on %s; clear it with an empty "
                 "retained message", msg->topic);
        command_error(mq, name, NULL, "bad_request", "retained commands are refused");
        return;
    }
    if (msg->payloadlen > MQTT_CMD_MAX) {
        command_error(mq, name, NULL, "bad_request", "a command is at most %d bytes", MQTT_CMD_MAX);
        return;
    }
    json_error_t e;
    json_t *req = json_loadb(msg->payload, (size_t)msg->payloadlen, JSON_DECODE_ANY, &e);
    if (!req || !json_is_object(req)) {
        command_error(mq, name, NULL, "bad_json", "%s",
                      req ? "a command must be a JSON object" : e.text);
        json_decref(req);
        return;
    }
    const json_t *id = json_object_get(req, "id");
    if (json_is_null(id))
        id = NULL; /* as on the JSON socket: no reply carries a null */
    const json_t *named = json_object_get(req, "robot");
    struct robot *r = bridge_robot(b, name);
    struct mq_robot *mr = r ? robot_of(mq, name) : NULL;
    if (named && !(json_is_string(named) && strcmp(json_string_value(named), name) == 0))
        command_error(mq, name, id, "bad_request",
                      "\"robot\" must be left out or name the topic's robot %s", name);
    else if (!r)
        command_error(mq, name, id, "unknown_robot", "no robot named \"%s\" is configured", name);
    else if (!r->cfg->mqtt_commands)
        command_error(mq, name, id, "forbidden",
                      "the configuration does not allow commands over MQTT to robot %s", name);
    else if (!mr)
        command_error(mq, name, id, "busy", "out of memory");
    else {
        json_object_set_new(req, "robot", json_string(name));
        log_debug(&b->log, "mqtt: command for %s from %s", name, msg->topic);
        struct principal who;
        principal_mqtt(&who);
        struct send_origin from = {.who = &who, .peer = NULL, .conn = NULL};
        send_submit(b, &from, req, (struct reply_to){command_reply, mr});
    }
    json_decref(req);
}

/* ---- hooks ---------------------------------------------------------------------- */

static void mqtt_frame(struct bridge *b, unsigned robot_index, unsigned t, struct msg *m);
static void mqtt_link(struct bridge *b, unsigned robot_index, bool up);

static void out_frame(struct hub_output *o, unsigned robot_index, unsigned type_index,
                      struct msg *m)
{
    struct mqtt *mq = o->ctx;
    mqtt_frame(mq->b, robot_index, type_index, m);
}

/* The payload is "up" / "down", not the LINK notice. */
static void out_link(struct hub_output *o, unsigned robot_index, bool up, struct msg *m)
{
    (void)m;
    struct mqtt *mq = o->ctx;
    mqtt_link(mq->b, robot_index, up);
}

static void output_register(struct mqtt *mq)
{
    static const struct hub_output_ops ops = {.frame = out_frame, .link = out_link};
    uint64_t types = 0;
    for (unsigned t = 0; t < mq->ntypes; t++)
        if (mq->cfg.types[t])
            types |= UINT64_C(1) << t;
    /* Robots are followed by name: every index, and no remap op. */
    mq->out = (struct hub_output){.ops = &ops, .ctx = mq, .robots = HUB_ALL_ROBOTS, .types = types};
    hub_register(mq->b, &mq->out);
}

static void mqtt_free(struct mqtt *mq)
{
    for (unsigned i = 0; i < ROBOTS_MAX; i++)
        robot_forget(mq, &mq->robots[i]);
    if (mq->q) {
        queue_clear(mq);
        free(mq->q);
    }
    msg_unref(mq->up);
    msg_unref(mq->down);
    msg_unref(mq->online);
    msg_unref(mq->offline);
    free(mq);
}

/* The port a listening socket is bound to, or 0. */
static unsigned bound_port(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    if (sa.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&sa)->sin_port);
    if (sa.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&sa)->sin6_port);
    return 0;
}

/* "rapidbridge-<host name>-<robot port>-<JSON port>": two bridges on one
 * host cannot listen on the same ports, so their ids differ. A long host
 * name is cut, never the ports; bytes a client id should not hold become _. */
static void default_client_id(const struct bridge *b, char out[MQTT_ID_MAX + 1])
{
    char host[HOSTNAME_BUF] = "";
    if (gethostname(host, sizeof host - 1) < 0 || host[0] == '\0')
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == '-' || *p == '.'))
            *p = '_';
    char ports[32];
    snprintf(ports, sizeof ports, "-%u-%u", bound_port(b->robot_fd), bound_port(b->json_fd));
    int room = (int)(MQTT_ID_MAX - strlen(DEFAULT_ID_PREFIX) - strlen(ports));
    snprintf(out, MQTT_ID_MAX + 1, "%s%.*s%s", DEFAULT_ID_PREFIX, room, host, ports);
}

int mqtt_open(struct bridge *b, char err[NET_ERR_MAX])
{
    b->mqtt = NULL;
    if (!b->cfg.mqtt.enabled)
        return 0;
    struct mqtt *mq = calloc(1, sizeof *mq);
    if (!mq) {
        snprintf(err, NET_ERR_MAX, "mqtt: out of memory");
        return -1;
    }
    mq->b = b;
    mq->cfg = b->cfg.mqtt;
    if (!mq->cfg.client_id[0])
        default_client_id(b, mq->cfg.client_id);
    while (schema_at(b->cfg.schema, mq->ntypes))
        mq->ntypes++;
    for (unsigned t = 0; t < mq->ntypes; t++)
        mq->interval[t] = mq->cfg.rate[t] > 0 ? 1.0 / mq->cfg.rate[t] : 0;
    snprintf(mq->status_topic, sizeof mq->status_topic, "%s/bridge/status", mq->cfg.prefix);
    mq->up = text_msg("up");
    mq->down = text_msg("down");
    mq->online = text_msg("online");
    mq->offline = text_msg("offline");
    mq->q = calloc(mq->cfg.queue_messages, sizeof *mq->q);
    bool ok = mq->up && mq->down && mq->online && mq->offline && mq->q;
    /* Every configured robot has a link state from the start ("down"). */
    for (unsigned i = 0; ok && i < b->nrobots; i++)
        ok = robot_of(mq, b->robots[i].cfg->name) != NULL;
    if (!ok) {
        snprintf(err, NET_ERR_MAX, "mqtt: out of memory");
        mqtt_free(mq);
        return -1;
    }
    mosquitto_lib_init();
    struct mqtt_session_ops ops = {on_up, on_down, pump, on_message};
    b->mqtt = mq;
    if (session_open(&mq->s, b, &mq->cfg, mq->status_topic, ops, mq, err) < 0) {
        b->mqtt = NULL;
        mqtt_free(mq);
        mosquitto_lib_cleanup();
        return -1;
    }
    output_register(mq);
    log_info(&b->log, "mqtt: publishing to %s:%u under %s/ with MQTT %s as %s", mq->cfg.host,
             mq->cfg.port, mq->cfg.prefix, mq->cfg.protocol == MQTT_V5 ? "5" : "3.1.1",
             mq->cfg.client_id);
    if (mq->cfg.protocol == MQTT_V311)
        log_warn(&b->log, "mqtt: with MQTT 3.1.1 the bridge cannot refuse a large message "
                 "before reading it: limit the broker's max_packet_size (see rapidbridge.json(5))");
    return 0;
}

void mqtt_close(struct bridge *b)
{
    struct mqtt *mq = b->mqtt;
    if (!mq)
        return;
    b->mqtt = NULL;
    hub_unregister(b, &mq->out);
    bool clean = false;
    if (session_up(&mq->s)) {
        /* "offline" last, after the LINK downs of the shutdown. When it
         * cannot all go out in time, the connection is dropped instead of
         * closed, and the broker publishes the will: "offline" either way. */
        queue_push(mq, mq->status_topic, mq->offline, true);
        clean = session_flush(&mq->s, MQTT_FLUSH_SECONDS);
    }
    session_close(&mq->s, clean);
    mqtt_free(mq);
    mosquitto_lib_cleanup();
}

/* The name of robot robot_index, or NULL (an entry emptied by a reload). */
static const char *robot_name(const struct bridge *b, unsigned robot_index)
{
    if (robot_index >= b->nrobots)
        return NULL;
    return b->robots[robot_index].cfg->name;
}

static void mqtt_frame(struct bridge *b, unsigned robot_index, unsigned t, struct msg *m)
{
    struct mqtt *mq = b->mqtt;
    const char *name = mq ? robot_name(b, robot_index) : NULL;
    if (!name || t >= mq->ntypes || !mq->cfg.types[t])
        return;
    struct mq_robot *r = robot_of(mq, name);
    if (!r)
        return;
    struct mq_slot *slot = &r->slots[t];
    double now = ev_now(b->loop), iv = mq->interval[t];
    if (!slot->pending && (iv <= 0 || !slot->latest || now - slot->last >= iv)) {
        slot_emit(slot, m);
        return;
    }
    /* Too soon: keep the newest, publish it when the interval is over. */
    msg_ref(m);
    msg_unref(slot->pending);
    slot->pending = m;
    if (!ev_is_active(&slot->timer)) {
        double wait = slot->last + iv - now;
        ev_timer_set(&slot->timer, wait > 0 ? wait : 0, 0);
        ev_timer_start(b->loop, &slot->timer);
    }
}

static void mqtt_link(struct bridge *b, unsigned robot_index, bool up)
{
    struct mqtt *mq = b->mqtt;
    const char *name = mq ? robot_name(b, robot_index) : NULL;
    struct mq_robot *r = name ? robot_of(mq, name) : NULL;
    if (!r)
        return;
    r->link_up = up;
    if (!session_up(&mq->s))
        return;
    char topic[TOPIC_BUF];
    topic_of(mq, r->name, "link", topic);
    queue_push(mq, topic, up ? mq->up : mq->down, true);
    session_pump(&mq->s);
}

bool mqtt_connected(const struct bridge *b)
{
    return b->mqtt && session_up(&b->mqtt->s);
}

void mqtt_stats(struct bridge *b, json_t *stats)
{
    struct mqtt *mq = b->mqtt;
    if (!mq)
        return;
    json_t *j = json_pack("{s:b, s:I, s:I, s:I}", "connected", session_up(&mq->s),
                          "published", (json_int_t)mq->s.sent,
                          "dropped", (json_int_t)(mq->dropped + mq->s.abandoned),
                          "queued", (json_int_t)(mq->q_count + mq->s.inflight));
    if (j)
        json_object_set_new(stats, "mqtt", j);
}
