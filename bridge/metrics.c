#include "metrics.h"

#include "bridge.h"
#include "client.h"
#include "mqtt.h"
#include "robot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double ack_bounds[ACK_BUCKETS] = ACK_BUCKET_BOUNDS;

void ack_hist_observe(struct ack_hist *h, double seconds)
{
    if (!(seconds >= 0))
        seconds = 0;
    for (int i = 0; i < ACK_BUCKETS; i++) {
        if (seconds <= ack_bounds[i]) {
            h->bucket[i]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
}

const char *cmd_outcome_name(enum cmd_outcome o)
{
    static const char *const names[OUTCOMES] = {
        [OUTCOME_OK] = "ok", [OUTCOME_ERR] = "err", [OUTCOME_TIMEOUT] = "timeout",
        [OUTCOME_OFFLINE] = "robot_offline", [OUTCOME_BUSY] = "busy",
    };
    return (unsigned)o < OUTCOMES ? names[o] : "unknown";
}

/* The text grows by appending; `failed` once memory ran out. */
struct out {
    char *data;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->data + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *data = realloc(o->data, cap);
        if (!data) {
            o->failed = true;
            return;
        }
        o->data = data;
        o->cap = cap;
    }
}

/* A label value escaped as the text format wants: \\, \" and \n. */
static const char *esc(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; *s && n + 3 < size; s++) {
        if (*s == '\\' || *s == '"') {
            buf[n++] = '\\';
            buf[n++] = *s;
        } else if (*s == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else {
            buf[n++] = *s;
        }
    }
    buf[n] = '\0';
    return buf;
}

#define ESC_MAX 160

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void frames_received(struct out *o, struct bridge *b)
{
    family(o, "rapidbridge_frames_received_total", "counter",
           "Frames received from each robot by type, HB included.");
    char rn[ESC_MAX], tn[ESC_MAX];
    const struct frame_def *d;
    for (unsigned i = 0; i < b->nrobots; i++)
        for (unsigned t = 0; (d = schema_at(b->cfg.schema, t)) != NULL; t++)
            if (d->dir == DIR_IN)
                put(o, "rapidbridge_frames_received_total{robot=\"%s\",type=\"%s\"} %llu\n",
                    esc(b->robots[i].cfg->name, rn, sizeof rn), esc(d->type, tn, sizeof tn),
                    (unsigned long long)b->robots[i].frames_by_type[t]);
}

static void frame_errors(struct out *o, struct bridge *b)
{
    family(o, "rapidbridge_frame_errors_total", "counter",
           "Frames dropped by cause (STATS names); robot=\"\" before a link named its robot.");
    char rn[ESC_MAX];
    for (unsigned i = 0; i <= b->nrobots; i++) {
        const char *name = i < b->nrobots ? b->robots[i].cfg->name : "";
        const uint64_t *errors = i < b->nrobots ? b->robots[i].errors : b->stats.errors;
        for (int e = 0; e < FRAME_ERR_COUNT; e++)
            put(o, "rapidbridge_frame_errors_total{robot=\"%s\",cause=\"%s\"} %llu\n",
                esc(name, rn, sizeof rn), frame_err_name(e), (unsigned long long)errors[e]);
    }
}

static void commands(struct out *o, struct bridge *b)
{
    family(o, "rapidbridge_commands_total", "counter",
           "Commands to each robot by type and how they ended.");
    char rn[ESC_MAX], tn[ESC_MAX];
    const struct frame_def *d;
    for (unsigned i = 0; i < b->nrobots; i++)
        for (unsigned t = 0; (d = schema_at(b->cfg.schema, t)) != NULL; t++)
            if (d->dir == DIR_OUT && !d->from_bridge)
                for (int k = 0; k < OUTCOMES; k++)
                    put(o, "rapidbridge_commands_total{robot=\"%s\",type=\"%s\",outcome=\"%s\"} "
                        "%llu\n", esc(b->robots[i].cfg->name, rn, sizeof rn),
                        esc(d->type, tn, sizeof tn), cmd_outcome_name(k),
                        (unsigned long long)b->robots[i].cmd_outcomes[t][k]);
}

static void ack_seconds(struct out *o, struct bridge *b)
{
    family(o, "rapidbridge_command_ack_seconds", "histogram",
           "Round trip of a command: written to the robot until its AK.");
    char rn[ESC_MAX];
    for (unsigned i = 0; i < b->nrobots; i++) {
        const struct ack_hist *h = &b->robots[i].ack;
        esc(b->robots[i].cfg->name, rn, sizeof rn);
        uint64_t cum = 0;
        for (int k = 0; k < ACK_BUCKETS; k++) {
            cum += h->bucket[k];
            put(o, "rapidbridge_command_ack_seconds_bucket{robot=\"%s\",le=\"%g\"} %llu\n", rn,
                ack_bounds[k], (unsigned long long)cum);
        }
        put(o, "rapidbridge_command_ack_seconds_bucket{robot=\"%s\",le=\"+Inf\"} %llu\n", rn,
            (unsigned long long)h->count);
        put(o, "rapidbridge_command_ack_seconds_sum{robot=\"%s\"} %.9g\n", rn, h->sum);
        put(o, "rapidbridge_command_ack_seconds_count{robot=\"%s\"} %llu\n", rn,
            (unsigned long long)h->count);
    }
}

char *metrics_render(struct bridge *b, size_t *len)
{
    struct out o = {.cap = 8192};
    o.data = malloc(o.cap);
    if (!o.data)
        return NULL;
    char buf[ESC_MAX];
    family(&o, "rapidbridge_build_info", "gauge", "The bridge's release; always 1.");
    put(&o, "rapidbridge_build_info{version=\"%s\"} 1\n", esc(RB_RELEASE, buf, sizeof buf));
    family(&o, "rapidbridge_robot_link_up", "gauge", "1 while the robot's link is up.");
    for (unsigned i = 0; i < b->nrobots; i++)
        put(&o, "rapidbridge_robot_link_up{robot=\"%s\"} %d\n",
            esc(b->robots[i].cfg->name, buf, sizeof buf), b->robots[i].link != NULL);
    frames_received(&o, b);
    frame_errors(&o, b);
    commands(&o, b);
    ack_seconds(&o, b);
    unsigned tcp = 0, unix_socket = 0, ws = 0;
    for (const struct client *c = b->clients; c; c = c->next) {
        const char *kind = client_kind(c);
        kind[0] == 'w' ? ws++ : kind[0] == 'u' ? unix_socket++ : tcp++;
    }
    family(&o, "rapidbridge_clients", "gauge", "Connected JSON clients by transport.");
    put(&o, "rapidbridge_clients{kind=\"tcp\"} %u\nrapidbridge_clients{kind=\"unix\"} %u\n"
            "rapidbridge_clients{kind=\"ws\"} %u\n", tcp, unix_socket, ws);
    family(&o, "rapidbridge_stream_drops_total", "counter",
           "Stream messages dropped for clients that did not keep up.");
    put(&o, "rapidbridge_stream_drops_total %llu\n", (unsigned long long)b->stats.drops);
    family(&o, "rapidbridge_mqtt_connected", "gauge", "1 while connected to the MQTT broker.");
    put(&o, "rapidbridge_mqtt_connected %d\n", mqtt_connected(b));
    if (o.failed) {
        free(o.data);
        return NULL;
    }
    *len = o.len;
    return o.data;
}
