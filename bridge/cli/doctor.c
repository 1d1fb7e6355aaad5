/* doctor.c - see doctor.h. */
#include "doctor.h"

#include "jsonpos.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DOCTOR_OK 0
#define DOCTOR_WRONG 1
#define DOCTOR_TROUBLE 2

/* --- configuration -------------------------------------------------------- */

void doctor_config_load(struct doctor_config *cfg, const char *path)
{
    memset(cfg, 0, sizeof *cfg);
    if (!path) {
        if (access(DOCTOR_DEFAULT_CONFIG, R_OK) != 0)
            return;
        path = DOCTOR_DEFAULT_CONFIG;
    }
    cfg->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(cfg->problem, sizeof cfg->problem, "cannot read %s: %s", path, strerror(errno));
        return;
    }
    cfg->text = malloc(DOCTOR_CONFIG_MAX + 1);
    if (cfg->text)
        cfg->len = fread(cfg->text, 1, DOCTOR_CONFIG_MAX + 1, f);
    fclose(f);
    if (!cfg->text || cfg->len > DOCTOR_CONFIG_MAX) {
        snprintf(cfg->problem, sizeof cfg->problem, "%s: %s", path,
                 cfg->text ? "larger than 1 MiB" : "out of memory");
        return;
    }
    cfg->text[cfg->len] = '\0';
    json_error_t e;
    cfg->root = json_loadb(cfg->text, cfg->len, JSON_REJECT_DUPLICATES, &e);
    if (!cfg->root)
        snprintf(cfg->problem, sizeof cfg->problem, "%s:%d:%d: %s (the bridge will not load it)",
                 path, e.line, e.column, e.text);
}

void doctor_config_free(struct doctor_config *cfg)
{
    json_decref(cfg->root);
    free(cfg->text);
    memset(cfg, 0, sizeof *cfg);
}

/* The index of robot name in the file's robots[], or -1. */
static int config_robot_index(const struct doctor_config *cfg, const char *name)
{
    const json_t *list = json_object_get(cfg->root, "robots");
    size_t i;
    const json_t *r;
    json_array_foreach(list, i, r) {
        const char *n = json_string_value(json_object_get(r, "name"));
        if (n && strcmp(n, name) == 0)
            return (int)i;
    }
    return -1;
}

/* " (robots[1].peer at FILE:7:31)" or " (robots[1].peer in FILE)", into buf;
 * "" without a configuration. */
static void config_place(const struct doctor_config *cfg, const char *name, const char *member,
                         char *buf, size_t size)
{
    buf[0] = '\0';
    int i = cfg->root ? config_robot_index(cfg, name) : -1;
    if (i < 0)
        return;
    char path[64];
    snprintf(path, sizeof path, "robots[%d].%s", i, member);
    int line, col;
    if (jsonpos_locate(cfg->text, cfg->len, path, &line, &col) == 0)
        snprintf(buf, size, " (%s at %s:%d:%d)", path, cfg->path, line, col);
    else
        snprintf(buf, size, " (robots[%d] at %s: add \"%s\")", i, cfg->path, member);
}

/* --- helpers -------------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* "10:02:11, 35 s ago" in local time. */
static void when(double t, double now, char *buf, size_t size)
{
    time_t secs = (time_t)t;
    struct tm tm;
    char hms[16] = "?";
    if (localtime_r(&secs, &tm))
        strftime(hms, sizeof hms, "%H:%M:%S", &tm);
    double ago = now - t;
    if (ago < 0)
        ago = 0;
    if (ago < 120)
        snprintf(buf, size, "%s, %.0f s ago", hms, ago);
    else if (ago < 7200)
        snprintf(buf, size, "%s, %.0f min ago", hms, ago / 60);
    else
        snprintf(buf, size, "%s, %.1f h ago", hms, ago / 3600);
}

/* The port of "host:port" or "[v6]:port". */
static const char *port_of(const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    return colon ? colon + 1 : "1025";
}

/* The address without its port. */
static void addr_of(const char *hostport, char *buf, size_t size)
{
    const char *colon = strrchr(hostport, ':');
    size_t n = colon ? (size_t)(colon - hostport) : strlen(hostport);
    if (n >= 2 && hostport[0] == '[' && hostport[n - 1] == ']') {
        hostport++;
        n -= 2;
    }
    snprintf(buf, size, "%.*s", (int)n, hostport);
}

/* --- the report ----------------------------------------------------------- */

static void say(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("    ", out);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    va_end(ap);
}

static void report_refused(FILE *out, const json_t *robot, const json_t *lr,
                           const struct doctor_config *cfg, double now)
{
    const char *name = str(robot, "name"), *reason = str(lr, "reason");
    char at[64], peer[64], place[512] = "";
    when(num(lr, "time"), now, at, sizeof at);
    addr_of(str(lr, "peer"), peer, sizeof peer);
    if (strcmp(reason, "peer") == 0)
        config_place(cfg, name, "peer", place, sizeof place);
    say(out, "the last attempt, from %s (%s), was refused: %s%s", peer, at, str(lr, "hint"),
        place);
}

static void report_never(FILE *out, const json_t *robot, const json_t *robots,
                         const json_t *stats, const struct doctor_config *cfg, double now)
{
    const char *name = str(robot, "name");
    const json_t *port = json_object_get(stats, "robot_port");
    const char *listen = str(port, "listen");
    const char *p = *listen ? port_of(listen) : "1025";
    const json_t *unknown = json_object_get(robots, "unknown_hellos");
    say(out, "%s has never linked since the bridge started", name);
    if (json_array_size(unknown) > 0) {
        const json_t *u = json_array_get(unknown, json_array_size(unknown) - 1);
        char at[64], peer[64], place[512];
        when(num(u, "time"), now, at, sizeof at);
        addr_of(str(u, "peer"), peer, sizeof peer);
        config_place(cfg, name, "name", place, sizeof place);
        say(out, "a controller at %s said HI as '%s' (%s), which is not configured:", peer,
            str(u, "name"), at);
        say(out, "if that is %s, set its rbRobotName to \"%s\", or rename the robot%s", name, name,
            place);
        return;
    }
    if (!port) {
        say(out, "this bridge does not report connections to its robot port (an older release): "
                 "its log says what came in");
        return;
    }
    json_int_t connections = json_integer_value(json_object_get(port, "connections"));
    if (connections == 0) {
        say(out, "nothing has connected to port %s at all:", p);
        if (strncmp(listen, "127.", 4) == 0 || strncmp(listen, "[::1]", 5) == 0)
            say(out, "the bridge listens for robots on %s, this PC only: set robot_listen to "
                     "\"0.0.0.0:%s\" or the cell network address (restart needed)", listen, p);
        say(out, "is the controller's rbBridgeIp this PC's address on the cell network, and "
                 "rbBridgePort %s?", p);
        say(out, "is RobotWare option 616-1 PC Interface installed, and the link task running?");
        say(out, "does a firewall on this PC block TCP port %s?", p);
        return;
    }
    const json_t *refused = json_object_get(port, "refused");
    say(out, "%lld connection(s) came to port %s, but none said HI as %s; refused so far: "
             "bad HI %lld, frame before HI %lld, no HI in time %lld (the bridge's log has each)",
        (long long)connections, p, name,
        (long long)json_integer_value(json_object_get(refused, "bad_hello")),
        (long long)json_integer_value(json_object_get(refused, "not_hello")),
        (long long)json_integer_value(json_object_get(refused, "hello_timeout")));
}

/* One robot; returns true when it is linked. */
static bool report_robot(FILE *out, const json_t *robot, const json_t *robots,
                         const json_t *stats, const struct doctor_config *cfg, double now)
{
    const char *name = str(robot, "name");
    bool linked = json_is_true(json_object_get(robot, "connected"));
    bool ever = json_object_get(robot, "since") != NULL;
    const json_t *lr = json_object_get(robot, "last_refused");
    char at[64], peer[64];
    if (linked) {
        when(num(robot, "since"), now, at, sizeof at);
        fprintf(out, "%s: ok, linked from %s since %s; %lld frames, %lld bad\n", name,
                str(robot, "peer"), at,
                (long long)json_integer_value(json_object_get(robot, "frames_in")),
                (long long)json_integer_value(json_object_get(robot, "errors")));
        if (lr && num(lr, "time") > num(robot, "since"))
            report_refused(out, robot, lr, cfg, now);
        return true;
    }
    fprintf(out, "%s: NOT LINKED\n", name);
    if (ever) {
        when(num(robot, "since"), now, at, sizeof at);
        addr_of(str(robot, "peer"), peer, sizeof peer);
        say(out, "it was linked from %s until %s", peer, at);
    }
    if (lr && (!ever || num(lr, "time") >= num(robot, "since"))) {
        if (!ever)
            say(out, "%s has never linked since the bridge started", name);
        report_refused(out, robot, lr, cfg, now);
        return false;
    }
    if (!ever) {
        report_never(out, robot, robots, stats, cfg, now);
        return false;
    }
    say(out, "no new link since: is the RAPID link task still running on that controller, and "
             "does the controller reach this PC?");
    say(out, "a link goes down after limits.idle_timeout without bytes; the bridge's log says "
             "why it went down");
    return false;
}

/* Robots the file names that the running bridge does not have. */
static void report_config_drift(FILE *out, const json_t *list, const struct doctor_config *cfg)
{
    const json_t *file_robots = json_object_get(cfg->root, "robots");
    size_t i, k;
    const json_t *fr, *r;
    json_array_foreach(file_robots, i, fr) {
        const char *n = json_string_value(json_object_get(fr, "name"));
        bool running = false;
        json_array_foreach(list, k, r)
            running = running || (n && strcmp(str(r, "name"), n) == 0);
        if (n && !running)
            fprintf(out, "note: %s names robot %s, which the running bridge does not have: "
                         "reload it (systemctl reload rapidbridge)\n", cfg->path, n);
    }
}

int doctor_report(FILE *out, const json_t *version, const json_t *robots, const json_t *stats,
                  const struct doctor_config *cfg, const char *robot, double now)
{
    const json_t *port = json_object_get(stats, "robot_port");
    fprintf(out, "rapidbridge %s (protocol %lld.%lld), up %.0f s; controllers connect to %s\n",
            str(version, "release"),
            (long long)json_integer_value(json_object_get(version, "proto_major")),
            (long long)json_integer_value(json_object_get(version, "proto_minor")),
            num(stats, "uptime"), *str(port, "listen") ? str(port, "listen") : "(not reported)");
    if (cfg->problem[0])
        fprintf(out, "note: %s\n", cfg->problem);
    else if (cfg->path)
        fprintf(out, "configuration: %s\n", cfg->path);
    const json_t *list = json_object_get(robots, "robots");
    if (cfg->root)
        report_config_drift(out, list, cfg);
    size_t i;
    const json_t *r;
    bool all = true, found = false;
    json_array_foreach(list, i, r) {
        if (robot && strcmp(str(r, "name"), robot) != 0)
            continue;
        found = true;
        all = report_robot(out, r, robots, stats, cfg, now) && all;
    }
    if (robot && !found) {
        fprintf(out, "%s: NOT CONFIGURED in the running bridge (it has:", robot);
        json_array_foreach(list, i, r)
            fprintf(out, " %s", str(r, "name"));
        fprintf(out, ")\n");
        return DOCTOR_WRONG;
    }
    if (!robot && json_array_size(list) == 0) {
        fprintf(out, "no robots are configured: add them to robots[] of the configuration and "
                     "reload\n");
        return DOCTOR_WRONG;
    }
    return all ? DOCTOR_OK : DOCTOR_WRONG;
}

/* --- talking to the bridge ------------------------------------------------ */

/* Send {"cmd":cmd,"id":"doctor-cmd"} and wait for its reply of class cls. */
static json_t *ask(struct conn *c, const char *cmd, const char *cls, int64_t deadline)
{
    char id[32];
    snprintf(id, sizeof id, "doctor-%s", cmd);
    json_t *req = json_pack("{s:s, s:s}", "cmd", cmd, "id", id);
    enum conn_status st = req ? conn_send_json(c, req, deadline) : CONN_ERROR;
    json_decref(req);
    while (st == CONN_OK) {
        const char *line;
        size_t len;
        st = conn_read_line(c, deadline, &line, &len);
        if (st != CONN_OK)
            break;
        json_t *msg = json_loadb(line, len, 0, NULL);
        if (msg && strcmp(str(msg, "id"), id) == 0) {
            if (strcmp(str(msg, "class"), cls) == 0)
                return msg;
            fprintf(stderr, "rapidbridge-cli: doctor: %s: %s %s\n", cmd, str(msg, "code"),
                    str(msg, "message"));
            json_decref(msg);
            return NULL;
        }
        json_decref(msg);
    }
    fprintf(stderr, "rapidbridge-cli: doctor: asking for %s: %s\n", cmd, conn_status_text(c, st));
    return NULL;
}

int doctor_run(struct conn *c, const char *robot, const char *config_path, double timeout_s)
{
    int64_t deadline = conn_now_ms() + (int64_t)(timeout_s * 1000);
    json_t *version = ask(c, "version", "VERSION", deadline);
    json_t *robots = version ? ask(c, "robots", "ROBOTS", deadline) : NULL;
    json_t *stats = robots ? ask(c, "stats", "STATS", deadline) : NULL;
    int status = DOCTOR_TROUBLE;
    if (stats) {
        struct doctor_config cfg;
        doctor_config_load(&cfg, config_path);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        status = doctor_report(stdout, version, robots, stats, &cfg, robot,
                               (double)ts.tv_sec + ts.tv_nsec / 1e9);
        doctor_config_free(&cfg);
    }
    json_decref(version);
    json_decref(robots);
    json_decref(stats);
    return status;
}
