/* config.c - JSON configuration -> validated settings (see config.h).
 *
 * The whole document is checked before anything is used: the first problem
 * found stops loading and is reported once as "FILE:LINE:COLUMN: message",
 * the position being that of the offending value (for a missing member, of
 * the object that lacks it). Custom frames are loaded before the robots, so
 * a robot's "commands" may name a custom command type.
 */
#include "config.h"

#include "jsonpos.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A configuration file larger than this is refused before parsing. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Bytes of a JSON path in messages: "robots[31].commands[63]" and the like. */
#define PATH_MAX_LEN 128
/* Bytes of a user-supplied string quoted in a message; longer ones are cut. */
#define QUOTE_MAX 64

#define TIMEOUT_MAX 3600.0
#define MAX_CLIENTS_MAX 65536
#define CLIENT_QUEUE_BYTES_MIN 4096
#define CLIENT_QUEUE_BYTES_MAX (1024LL * 1024 * 1024)
#define COMMAND_QUEUE_MAX 1024

_Static_assert(MQTT_TOPIC_MAX <= 65535, "MQTT topics are at most 65535 bytes");
_Static_assert(IDENT_MAX <= MQTT_LEVEL_MAX, "a robot name is a topic level");
_Static_assert(MQTT_LEAF_MAX >= 6, "\"status\" is a topic leaf");

/* What one load needs to report an error: the file name and the text that
 * positions are looked up in. */
struct loader {
    const char *name;
    const char *text;
    size_t len;
    char *err;
    struct config *cfg;
};

/* ---- messages ------------------------------------------------------------ */

/* Find path, or the nearest enclosing value that exists, so every message
 * carries a line and column. */
static void locate(const struct loader *ld, const char *path, int *line, int *col)
{
    char buf[PATH_MAX_LEN];
    snprintf(buf, sizeof buf, "%s", path);
    for (;;) {
        if (jsonpos_locate(ld->text, ld->len, buf, line, col) == 0)
            return;
        if (buf[0] == '\0')
            break;
        /* Drop the last step: cut at the last '.' or '[' (paths never hold
         * them inside keys, see check_members). */
        size_t cut = strlen(buf);
        while (cut > 0 && buf[cut] != '.' && buf[cut] != '[')
            cut--;
        buf[cut] = '\0';
    }
    *line = 1;
    *col = 1;
}

__attribute__((format(printf, 3, 4)))
static int fail(const struct loader *ld, const char *path, const char *fmt, ...)
{
    int line, col;
    locate(ld, path, &line, &col);
    int n = snprintf(ld->err, CONFIG_ERR_MAX, "%s:%d:%d: ", ld->name, line, col);
    if (n < 0 || n >= CONFIG_ERR_MAX)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err + n, CONFIG_ERR_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A user string made safe to quote in a one-line message: non-printable
 * bytes become '?', and it is cut at QUOTE_MAX bytes. */
static const char *quote(const char *s, char out[QUOTE_MAX + 4])
{
    size_t i = 0;
    for (; s[i] && i < QUOTE_MAX; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* ---- helpers ---------------------------------------------------------------- */

/* Paths are built from our own short names and indices, so they fit; a cut
 * one would still be located at its nearest existing parent. */
static void join_key(char out[PATH_MAX_LEN], const char *path, const char *key)
{
    if (snprintf(out, PATH_MAX_LEN, "%s%s%s", path, path[0] ? "." : "", key) >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = '\0';
}

static void join_index(char out[PATH_MAX_LEN], const char *path, size_t i)
{
    if (snprintf(out, PATH_MAX_LEN, "%s[%zu]", path, i) >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = '\0';
}

/* "comment" and "_anything" are the reader's, not the bridge's. */
static bool ignored_member(const char *key)
{
    return key[0] == '_' || strcmp(key, "comment") == 0;
}

/* Every member of obj must be ignored or one of known (NULL-terminated). */
static int check_members(const struct loader *ld, const json_t *obj, const char *path,
                         const char *const *known)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        (void)value;
        if (ignored_member(key))
            continue;
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (ok)
            continue;
        /* A key that the path syntax cannot spell is located at its object. */
        char at[PATH_MAX_LEN];
        if (strpbrk(key, ".[]") || key[0] == '\0')
            snprintf(at, sizeof at, "%s", path);
        else
            join_key(at, path, key);
        char q[QUOTE_MAX + 4];
        if (path[0])
            return fail(ld, at, "unknown member \"%s\" in %s", quote(key, q), path);
        return fail(ld, at, "unknown member \"%s\"", quote(key, q));
    }
    return 0;
}

static int get_string(const struct loader *ld, const json_t *v, const char *path,
                      const char **out)
{
    if (!json_is_string(v))
        return fail(ld, path, "%s must be a string", path);
    *out = json_string_value(v);
    return 0;
}

/* ---- listen addresses ------------------------------------------------------- */

int listen_addr_parse(const char *s, struct listen_addr *addr)
{
    if (!s || !addr)
        return -1;
    const char *host, *host_end, *colon;
    int family;
    if (s[0] == '[') {
        host = s + 1;
        host_end = strchr(host, ']');
        if (!host_end || host_end[1] != ':')
            return -1;
        colon = host_end + 1;
        family = AF_INET6;
    } else {
        host = s;
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        host_end = colon;
        family = AF_INET;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0 || hlen > HOST_MAX)
        return -1;

    const char *p = colon + 1;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 5 || p[digits] != '\0')
        return -1;
    long port = strtol(p, NULL, 10);
    if (port > 65535)
        return -1;

    char h[HOST_MAX + 1];
    memcpy(h, host, hlen);
    h[hlen] = '\0';
    unsigned char bin[sizeof(struct in6_addr)];
    if (inet_pton(family, h, bin) != 1)
        return -1;

    memcpy(addr->host, h, hlen + 1);
    addr->port = (uint16_t)port;
    return 0;
}

static int load_listen(const struct loader *ld, const json_t *v, const char *key,
                       struct listen_addr *out)
{
    const char *s = "";
    if (get_string(ld, v, key, &s) < 0)
        return -1;
    if (listen_addr_parse(s, out) < 0) {
        char q[QUOTE_MAX + 4];
        return fail(ld, key, "%s \"%s\" is not a numeric HOST:PORT "
                    "(like 127.0.0.1:7025 or [::1]:7025, port 0..65535)", key, quote(s, q));
    }
    return 0;
}

/* ---- TLS objects ----------------------------------------------------------------- */

/* A path member of a TLS object: a string of 1..TLS_PATH_MAX printable bytes. */
static int tls_path(const struct loader *ld, const json_t *obj, const char *path, const char *key,
                    char out[TLS_PATH_MAX + 1])
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char at[PATH_MAX_LEN];
    join_key(at, path, key);
    const char *s = "";
    if (get_string(ld, v, at, &s) < 0)
        return -1;
    size_t len = json_string_length(v);
    if (len == 0)
        return fail(ld, at, "%s must not be empty", at);
    if (len > TLS_PATH_MAX)
        return fail(ld, at, "%s is longer than %d bytes", at, TLS_PATH_MAX);
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return fail(ld, at, "%s must be printable ASCII", at);
    memcpy(out, s, len + 1);
    return 0;
}

/* {"cert","key","ca","require_client_cert"} at path (json_tls, http_tls)
 * into out. Only the shape is checked here: the files are read when the
 * listener starts, and by --check-config (preflight.c). */
static int config_tls(const struct loader *ld, const json_t *v, const char *path,
                      struct tls_cfg *out)
{
    static const char *const known[] = { "cert", "key", "ca", "require_client_cert", NULL };
    if (!json_is_object(v))
        return fail(ld, path, "%s must be an object with \"cert\" and \"key\"", path);
    if (check_members(ld, v, path, known) < 0)
        return -1;
    memset(out, 0, sizeof *out);
    if (tls_path(ld, v, path, "cert", out->cert) < 0 || tls_path(ld, v, path, "key", out->key) < 0
        || tls_path(ld, v, path, "ca", out->ca) < 0)
        return -1;
    char at[PATH_MAX_LEN];
    if (!out->cert[0] || !out->key[0]) {
        join_key(at, path, out->cert[0] ? "cert" : "key");
        return fail(ld, out->cert[0] ? at : path, "%s needs \"%s\" (the server's %s PEM file)",
                    path, out->cert[0] ? "key" : "cert",
                    out->cert[0] ? "private key" : "certificate");
    }
    join_key(at, path, "require_client_cert");
    json_t *r = json_object_get(v, "require_client_cert");
    if (r && !json_is_boolean(r))
        return fail(ld, at, "%s must be true or false", at);
    out->require_client_cert = json_is_true(r);
    if (out->require_client_cert && !out->ca[0])
        return fail(ld, at, "%s needs %s.ca (the CA that signs client certificates)", at, path);
    out->enabled = true;
    return 0;
}

/* ---- frames -------------------------------------------------------------------- */

static int load_frames(const struct loader *ld, const json_t *frames)
{
    /* schema_add_json checks the definitions, comment members included. */
    if (!json_is_array(frames))
        return fail(ld, "frames", "frames must be an array of frame definitions");
    struct schema_error se;
    memset(&se, 0, sizeof se);
    if (schema_add_json(ld->cfg->schema, frames, "frames", &se) < 0) {
        se.path[sizeof se.path - 1] = '\0';
        se.message[sizeof se.message - 1] = '\0';
        return fail(ld, se.path[0] ? se.path : "frames", "%s: %s",
                    se.path[0] ? se.path : "frames", se.message);
    }
    return 0;
}

/* ---- robots -------------------------------------------------------------------- */

static int load_commands(const struct loader *ld, const json_t *v, const char *path,
                         struct robot_cfg *r)
{
    if (!json_is_array(v))
        return fail(ld, path, "%s must be an array of command types", path);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char at[PATH_MAX_LEN];
        join_index(at, path, i);
        const char *type = "";
        if (get_string(ld, item, at, &type) < 0)
            return -1;
        char q[QUOTE_MAX + 4];
        size_t len = strlen(type);
        const struct frame_def *d = schema_find(ld->cfg->schema, DIR_OUT, type, len);
        if (!d || d->from_bridge)
            return fail(ld, at, "%s \"%s\" is not a command type (built in: PING, SETDO, "
                        "SETREG, SPEED, CALL, STOP; or a frame with direction \"out\")",
                        at, quote(type, q));
        if (d->role == ROLE_REPLY)
            return fail(ld, at, "%s \"%s\" is the reply of a request frame: the client that "
                        "serves the request answers it with reply, never send", at, quote(type, q));
        for (unsigned k = 0; k < r->ncommands; k++)
            if (strcmp(r->commands[k], type) == 0)
                return fail(ld, at, "%s \"%s\" is listed twice", at, quote(type, q));
        /* Distinct OUT types of the schema: never more than FRAME_TYPES_MAX. */
        if (r->ncommands >= FRAME_TYPES_MAX || len > FRAME_TYPE_MAX)
            return fail(ld, at, "%s: too many command types", at);
        memcpy(r->commands[r->ncommands], type, len + 1);
        r->ncommands++;
    }
    return 0;
}

static int load_robot(const struct loader *ld, const json_t *v, const char *path,
                      struct robot_cfg *r)
{
    static const char *const known[] = { "name", "peer", "commands", "checksum",
        "mqtt_commands", NULL };
    if (!json_is_object(v))
        return fail(ld, path, "%s must be an object", path);
    if (check_members(ld, v, path, known) < 0)
        return -1;

    char at[PATH_MAX_LEN];
    char q[QUOTE_MAX + 4];
    const char *s = "";
    json_t *m;

    memset(r, 0, sizeof *r);
    join_key(at, path, "name");
    m = json_object_get(v, "name");
    if (!m)
        return fail(ld, path, "%s has no \"name\"", path);
    if (get_string(ld, m, at, &s) < 0)
        return -1;
    if (!ident_valid(s, strlen(s)))
        return fail(ld, at, "%s \"%s\" is not an identifier (a letter, then letters, "
                    "digits or _, at most %d characters)", at, quote(s, q), IDENT_MAX);
    memcpy(r->name, s, strlen(s) + 1);

    join_key(at, path, "peer");
    if ((m = json_object_get(v, "peer"))) {
        if (get_string(ld, m, at, &s) < 0)
            return -1;
        unsigned char bin[sizeof(struct in6_addr)];
        int family = strchr(s, ':') ? AF_INET6 : AF_INET;
        if (strlen(s) > HOST_MAX || inet_pton(family, s, bin) != 1)
            return fail(ld, at, "%s \"%s\" is not a numeric IPv4 or IPv6 address",
                        at, quote(s, q));
        /* Canonical text, so the link check can compare it with the text
         * inet_ntop gives for the connecting peer. */
        if (!inet_ntop(family, bin, r->peer, sizeof r->peer))
            return fail(ld, at, "%s: %s", at, strerror(errno));
        r->has_peer = true;
    }

    join_key(at, path, "commands");
    if ((m = json_object_get(v, "commands")) && load_commands(ld, m, at, r) < 0)
        return -1;

    join_key(at, path, "checksum");
    if ((m = json_object_get(v, "checksum"))) {
        if (!json_is_boolean(m))
            return fail(ld, at, "%s must be true or false", at);
        r->checksum = json_is_true(m);
    }

    join_key(at, path, "mqtt_commands");
    if ((m = json_object_get(v, "mqtt_commands"))) {
        if (!json_is_boolean(m))
            return fail(ld, at, "%s must be true or false", at);
        r->mqtt_commands = json_is_true(m);
    }
    return 0;
}

static int load_robots(const struct loader *ld, const json_t *v)
{
    struct config *cfg = ld->cfg;
    if (!json_is_array(v))
        return fail(ld, "robots", "robots must be an array of robot objects");
    size_t n = json_array_size(v);
    if (n < 1 || n > ROBOTS_MAX)
        return fail(ld, "robots", "robots must have 1 to %d entries, not %zu", ROBOTS_MAX, n);
    for (size_t i = 0; i < n; i++) {
        char at[PATH_MAX_LEN];
        join_index(at, "robots", i);
        struct robot_cfg *r = &cfg->robots[i];
        if (load_robot(ld, json_array_get(v, i), at, r) < 0)
            return -1;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(cfg->robots[k].name, r->name) == 0) {
                char name_at[PATH_MAX_LEN];
                join_key(name_at, at, "name");
                return fail(ld, name_at, "%s \"%s\" is already the name of robots[%zu]",
                            name_at, r->name, k);
            }
        }
        cfg->nrobots = (unsigned)(i + 1);
    }
    return 0;
}

/* ---- mqtt ---------------------------------------------------------------------- */

/* A string member of the mqtt section into out (size max + 1): present,
 * a string, 1..max bytes of printable ASCII (or any byte when raw, for
 * passwords). Absent members leave out alone. */
static int mqtt_text(const struct loader *ld, const json_t *obj, const char *key, size_t max,
                     bool raw, char *out, bool *present)
{
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    char at[PATH_MAX_LEN];
    join_key(at, "mqtt", key);
    const char *s = "";
    if (get_string(ld, v, at, &s) < 0)
        return -1;
    size_t len = json_string_length(v);
    if (len == 0 && !raw)
        return fail(ld, at, "%s must not be empty", at);
    if (len > max)
        return fail(ld, at, "%s is longer than %zu bytes", at, max);
    for (size_t i = 0; i < len && !raw; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return fail(ld, at, "%s must be printable ASCII", at);
    if (raw && strlen(s) != len)
        return fail(ld, at, "%s must not contain a NUL character", at);
    memcpy(out, s, len + 1);
    return 0;
}

/* The IN type named s (a published one: HB never is), or NULL after failing. */
static const struct frame_def *mqtt_type(const struct loader *ld, const char *at, const char *s,
                                         unsigned *index)
{
    char q[QUOTE_MAX + 4];
    const struct frame_def *d = schema_find(ld->cfg->schema, DIR_IN, s, strlen(s));
    if (!d) {
        fail(ld, at, "%s \"%s\" is not a frame type the robot sends", at, quote(s, q));
        return NULL;
    }
    if (!d->publish) {
        fail(ld, at, "%s \"%s\" is never published", at, quote(s, q));
        return NULL;
    }
    *index = (unsigned)schema_index(ld->cfg->schema, d);
    return d;
}

static int mqtt_types(const struct loader *ld, const json_t *v, struct mqtt_cfg *m)
{
    if (!json_is_array(v))
        return fail(ld, "mqtt.types", "mqtt.types must be an array of frame types");
    memset(m->types, 0, sizeof m->types);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char at[PATH_MAX_LEN];
        join_index(at, "mqtt.types", i);
        const char *s = "";
        unsigned ti = 0;
        char q[QUOTE_MAX + 4];
        if (get_string(ld, item, at, &s) < 0 || !mqtt_type(ld, at, s, &ti))
            return -1;
        if (m->types[ti])
            return fail(ld, at, "%s \"%s\" is listed twice", at, quote(s, q));
        m->types[ti] = true;
    }
    return 0;
}

static int mqtt_rates(const struct loader *ld, const json_t *v, struct mqtt_cfg *m)
{
    if (!json_is_object(v))
        return fail(ld, "mqtt.rate", "mqtt.rate must be an object of frame type: Hz");
    const char *key;
    json_t *hz;
    json_object_foreach((json_t *)v, key, hz) {
        if (ignored_member(key))
            continue;
        char at[PATH_MAX_LEN];
        if (strpbrk(key, ".[]") || key[0] == '\0')
            snprintf(at, sizeof at, "mqtt.rate");     /* not spellable as a path */
        else
            join_key(at, "mqtt.rate", key);
        unsigned ti = 0;
        char q[QUOTE_MAX + 4];
        if (!mqtt_type(ld, at, key, &ti))
            return -1;
        if (!m->types[ti])
            return fail(ld, at, "%s: %s is not published to MQTT (see mqtt.types)", at,
                        quote(key, q));
        if (!json_is_number(hz))
            return fail(ld, at, "%s must be a number (Hz)", at);
        double d = json_number_value(hz);
        if (!(d > 0 && d <= MQTT_RATE_MAX))
            return fail(ld, at, "%s must be more than 0 and at most %.0f Hz", at, MQTT_RATE_MAX);
        m->rate[ti] = d;
    }
    return 0;
}

/* Topic prefix: levels separated by '/', none empty, no wildcards. */
static bool prefix_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
        return false;
    return strpbrk(s, "+#") == NULL;
}

/* The broker password: the first line of path, without its LF (or CR LF).
 * The file must be a regular file that others can neither read nor write.
 * Its text never goes into a message. */
static int read_password_file(const struct loader *ld, const char *path, char out[MQTT_USER_MAX + 1])
{
    static const char at[] = "mqtt.password_file";
    /* O_NONBLOCK: a FIFO named here must not hang the loader. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return fail(ld, at, "%s %s: %s", at, path, strerror(errno));
    struct stat st;
    int rc = -1;
    char buf[MQTT_USER_MAX + 2];             /* the longest line, CR, and one more */
    ssize_t n = -1;
    if (fstat(fd, &st) < 0)
        fail(ld, at, "%s %s: %s", at, path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        fail(ld, at, "%s %s is not a regular file", at, path);
    else if (st.st_mode & 007)
        fail(ld, at, "%s %s is open to others (mode %04o): chmod o-rwx it", at, path,
             (unsigned)(st.st_mode & 07777));
    else if ((n = read(fd, buf, sizeof buf)) < 0)
        fail(ld, at, "%s %s: %s", at, path, strerror(errno));
    close(fd);
    if (n < 0)
        return -1;
    char *lf = memchr(buf, '\n', (size_t)n);
    size_t len = lf ? (size_t)(lf - buf) : (size_t)n;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len > MQTT_USER_MAX || (!lf && n == (ssize_t)sizeof buf))
        fail(ld, at, "%s %s: the first line is longer than %d bytes", at, path, MQTT_USER_MAX);
    else if (len == 0)
        fail(ld, at, "%s %s: the first line is empty", at, path);
    else if (memchr(buf, '\0', len))
        fail(ld, at, "%s %s: the first line contains a NUL byte", at, path);
    else {
        memcpy(out, buf, len);
        out[len] = '\0';
        rc = 0;
    }
    explicit_bzero(buf, sizeof buf);
    return rc;
}

static int load_mqtt(const struct loader *ld, const json_t *v)
{
    static const char *const known[] = { "host", "port", "protocol", "client_id", "username",
        "password", "password_file", "ca", "cert", "key", "qos", "prefix", "types", "rate",
        "queue_messages", NULL };
    struct mqtt_cfg *m = &ld->cfg->mqtt;
    if (!json_is_object(v))
        return fail(ld, "mqtt", "mqtt must be an object");
    if (check_members(ld, v, "mqtt", known) < 0)
        return -1;
    m->enabled = true;
    m->port = DEFAULT_MQTT_PORT;
    m->protocol = MQTT_V5;
    m->qos = 0;
    m->queue_messages = DEFAULT_MQTT_QUEUE;
    snprintf(m->prefix, sizeof m->prefix, "%s", DEFAULT_MQTT_PREFIX);
    const struct frame_def *d;
    for (unsigned i = 0; (d = schema_at(ld->cfg->schema, i)) != NULL; i++)
        m->types[i] = d->dir == DIR_IN && d->publish;

    bool host = false, has_cert = false, has_key = false, has_ca = false, has_pw_file = false;
    if (mqtt_text(ld, v, "host", MQTT_HOST_MAX, false, m->host, &host) < 0)
        return -1;
    if (!host)
        return fail(ld, "mqtt", "mqtt has no \"host\" (the broker's name or address)");
    if (strpbrk(m->host, " /"))
        return fail(ld, "mqtt.host", "mqtt.host must be a host name or a numeric address");
    json_t *x = json_object_get(v, "prefix");
    if (json_is_string(x) && json_string_length(x) > MQTT_PREFIX_MAX)
        return fail(ld, "mqtt.prefix", "mqtt.prefix is longer than %d bytes: with a robot "
                    "level of up to %d and a type of up to %d, every topic must fit in %d bytes",
                    MQTT_PREFIX_MAX, MQTT_LEVEL_MAX, MQTT_LEAF_MAX, MQTT_TOPIC_MAX);
    if (mqtt_text(ld, v, "client_id", MQTT_ID_MAX, false, m->client_id, NULL) < 0
        || mqtt_text(ld, v, "username", MQTT_USER_MAX, true, m->username, &m->has_username) < 0
        || mqtt_text(ld, v, "password", MQTT_USER_MAX, true, m->password, &m->has_password) < 0
        || mqtt_text(ld, v, "password_file", MQTT_PATH_MAX, false, m->password_file,
                     &has_pw_file) < 0
        || mqtt_text(ld, v, "ca", MQTT_PATH_MAX, false, m->ca, &has_ca) < 0
        || mqtt_text(ld, v, "cert", MQTT_PATH_MAX, false, m->cert, &has_cert) < 0
        || mqtt_text(ld, v, "key", MQTT_PATH_MAX, false, m->key, &has_key) < 0
        || mqtt_text(ld, v, "prefix", MQTT_PREFIX_MAX, false, m->prefix, NULL) < 0)
        return -1;
    if (m->has_password && has_pw_file)
        return fail(ld, "mqtt.password_file",
                    "mqtt.password and mqtt.password_file exclude each other");
    if ((m->has_password || has_pw_file) && !m->has_username)
        return fail(ld, m->has_password ? "mqtt.password" : "mqtt.password_file",
                    "%s needs mqtt.username", m->has_password ? "mqtt.password"
                                                              : "mqtt.password_file");
    if (has_cert != has_key)
        return fail(ld, has_cert ? "mqtt.cert" : "mqtt.key",
                    "mqtt.cert and mqtt.key go together (a client certificate and its key)");
    if (has_cert && !has_ca)
        return fail(ld, "mqtt.cert", "mqtt.cert needs mqtt.ca (client certificates are for TLS)");
    if (!prefix_valid(m->prefix))
        return fail(ld, "mqtt.prefix", "mqtt.prefix must be topic levels separated by /, "
                    "none empty, without + or #");
    if ((x = json_object_get(v, "protocol"))) {
        const char *p = json_is_string(x) ? json_string_value(x) : "";
        if (strcmp(p, "5") == 0)
            m->protocol = MQTT_V5;
        else if (strcmp(p, "3.1.1") == 0)
            m->protocol = MQTT_V311;
        else
            return fail(ld, "mqtt.protocol", "mqtt.protocol must be \"5\" or \"3.1.1\"");
    }
    if (has_pw_file) {
        if (read_password_file(ld, m->password_file, m->password) < 0)
            return -1;
        m->has_password = true;
    }

    long long port = m->port, qos = m->qos, queue = m->queue_messages;
    if ((x = json_object_get(v, "port"))) {
        if (!json_is_integer(x) || (port = json_integer_value(x)) < 1 || port > 65535)
            return fail(ld, "mqtt.port", "mqtt.port must be an integer from 1 to 65535");
    }
    if ((x = json_object_get(v, "qos"))) {
        if (!json_is_integer(x) || (qos = json_integer_value(x)) < 0 || qos > 2)
            return fail(ld, "mqtt.qos", "mqtt.qos must be 0, 1 or 2");
    }
    if ((x = json_object_get(v, "queue_messages"))) {
        if (!json_is_integer(x) || (queue = json_integer_value(x)) < 1 || queue > MQTT_QUEUE_MAX)
            return fail(ld, "mqtt.queue_messages", "mqtt.queue_messages must be an integer "
                        "from 1 to %d", MQTT_QUEUE_MAX);
    }
    m->port = (uint16_t)port;
    m->qos = (int)qos;
    m->queue_messages = (unsigned)queue;
    /* Types before rates: a rate is for a published type. */
    if ((x = json_object_get(v, "types")) && mqtt_types(ld, x, m) < 0)
        return -1;
    if ((x = json_object_get(v, "rate")) && mqtt_rates(ld, x, m) < 0)
        return -1;
    return 0;
}

/* ---- limits -------------------------------------------------------------------- */

static int load_seconds(const struct loader *ld, const json_t *obj, const char *key,
                        double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char at[PATH_MAX_LEN];
    join_key(at, "limits", key);
    if (!json_is_number(v))
        return fail(ld, at, "%s must be a number (seconds)", at);
    double d = json_number_value(v);
    if (!(d > 0 && d <= TIMEOUT_MAX))
        return fail(ld, at, "%s must be more than 0 and at most %.0f seconds", at, TIMEOUT_MAX);
    *out = d;
    return 0;
}

static int load_count(const struct loader *ld, const json_t *obj, const char *key,
                      long long min, long long max, long long *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char at[PATH_MAX_LEN];
    join_key(at, "limits", key);
    if (!json_is_integer(v))
        return fail(ld, at, "%s must be an integer", at);
    long long n = json_integer_value(v);
    if (n < min || n > max)
        return fail(ld, at, "%s must be from %lld to %lld", at, min, max);
    *out = n;
    return 0;
}

static int load_limits(const struct loader *ld, const json_t *v)
{
    static const char *const known[] = { "hello_timeout", "idle_timeout", "ack_timeout",
        "max_clients", "client_queue_bytes", "command_queue", "max_clients_per_address",
        "max_pending_per_address", "first_request_timeout", "request_timeout",
        "robot_request_timeout", NULL };
    struct limits *l = &ld->cfg->limits;
    if (!json_is_object(v))
        return fail(ld, "limits", "limits must be an object");
    if (check_members(ld, v, "limits", known) < 0)
        return -1;
    long long max_clients = l->max_clients;
    long long queue_bytes = (long long)l->client_queue_bytes;
    long long command_queue = l->command_queue;
    long long per_address = l->max_clients_per_address;
    long long pending_per_address = l->max_pending_per_address;
    if (load_seconds(ld, v, "hello_timeout", &l->hello_timeout) < 0
        || load_seconds(ld, v, "idle_timeout", &l->idle_timeout) < 0
        || load_seconds(ld, v, "ack_timeout", &l->ack_timeout) < 0
        || load_seconds(ld, v, "robot_request_timeout", &l->robot_request_timeout) < 0
        || load_count(ld, v, "max_clients", 1, MAX_CLIENTS_MAX, &max_clients) < 0
        || load_count(ld, v, "client_queue_bytes", CLIENT_QUEUE_BYTES_MIN,
                      CLIENT_QUEUE_BYTES_MAX, &queue_bytes) < 0
        || load_count(ld, v, "command_queue", 0, COMMAND_QUEUE_MAX, &command_queue) < 0
        || load_count(ld, v, "max_clients_per_address", 1, MAX_CLIENTS_MAX, &per_address) < 0
        || load_count(ld, v, "max_pending_per_address", 1, MAX_PENDING_PER_ADDRESS_MAX,
                      &pending_per_address) < 0
        || load_seconds(ld, v, "first_request_timeout", &l->first_request_timeout) < 0
        || load_seconds(ld, v, "request_timeout", &l->request_timeout) < 0)
        return -1;
    l->max_clients_per_address = (unsigned)per_address;
    l->max_pending_per_address = (unsigned)pending_per_address;
    l->max_clients = (unsigned)max_clients;
    l->client_queue_bytes = (size_t)queue_bytes;
    l->command_queue = (unsigned)command_queue;
    return 0;
}

/* ---- principals, grants, audit (interface 1.1 A-D) ----------------------------- */

static int load_path(const struct loader *ld, const json_t *v, const char *key, char *out,
                     size_t max)
{
    const char *s = "";
    if (get_string(ld, v, key, &s) < 0)
        return -1;
    if (s[0] == '\0')
        return fail(ld, key, "%s must not be empty", key);
    if (strlen(s) > max)
        return fail(ld, key, "%s is longer than %zu bytes", key, max);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int load_tokens(const struct loader *ld, const json_t *v)
{
    struct config *cfg = ld->cfg;
    if (load_path(ld, v, "tokens_file", cfg->tokens_file, CONFIG_PATH_MAX) < 0)
        return -1;
    char err[TOKENS_ERR_MAX];
    int n = tokens_load(cfg->tokens_file, &cfg->tokens, err);
    if (n < 0) {
        /* The tokens file's own FILE:LINE says where; the key says why it is read. */
        int line, col;
        locate(ld, "tokens_file", &line, &col);
        /* A cut message still names the file and line first. */
        if (snprintf(ld->err, CONFIG_ERR_MAX, "%s:%d:%d: tokens_file: %s", ld->name, line, col,
                     err) >= CONFIG_ERR_MAX)
            ld->err[CONFIG_ERR_MAX - 1] = '\0';
        return -1;
    }
    cfg->ntokens = (unsigned)n;
    return 0;
}

static int load_unix(const struct loader *ld, const json_t *v)
{
    static const char *const known[] = { "path", "mode", "group", NULL };
    struct config *cfg = ld->cfg;
    const char *path = "", *mode = "0660", *group = "";
    const json_t *m;
    if (json_is_string(v)) {
        path = json_string_value(v);
    } else if (json_is_object(v)) {
        if (check_members(ld, v, "json_unix", known) < 0)
            return -1;
        if (!(m = json_object_get(v, "path")))
            return fail(ld, "json_unix", "json_unix has no \"path\"");
        if (get_string(ld, m, "json_unix.path", &path) < 0)
            return -1;
        if ((m = json_object_get(v, "mode")) && get_string(ld, m, "json_unix.mode", &mode) < 0)
            return -1;
        if ((m = json_object_get(v, "group")) && get_string(ld, m, "json_unix.group", &group) < 0)
            return -1;
    } else {
        return fail(ld, "json_unix", "json_unix must be a socket path or "
                    "{\"path\", \"mode\", \"group\"}");
    }
    const char *at = json_is_object(v) ? "json_unix.path" : "json_unix";
    if (path[0] != '/')
        return fail(ld, at, "%s must be an absolute path", at);
    if (strlen(path) > UNIX_PATH_MAX)
        return fail(ld, at, "%s is longer than %d bytes", at, UNIX_PATH_MAX);
    size_t digits = strspn(mode, "01234567");
    if (digits == 0 || digits > 4 || mode[digits] != '\0' || strtoul(mode, NULL, 8) > 0777)
        return fail(ld, "json_unix.mode", "json_unix.mode must be an octal string from \"0000\" "
                    "to \"0777\", like \"0660\"");
    if (strlen(group) > PRINCIPAL_GROUP_NAME_MAX || strpbrk(group, ": \t\n"))
        return fail(ld, "json_unix.group", "json_unix.group must be a group name");
    memcpy(cfg->unix_path, path, strlen(path) + 1);
    cfg->unix_mode = (unsigned)strtoul(mode, NULL, 8);
    memcpy(cfg->unix_group, group, strlen(group) + 1);
    cfg->has_unix = true;
    return 0;
}

/* anonymous, mqtt, *, or KIND:NAME with a known kind and a 1..64 byte name. */
static bool who_valid(const char *s)
{
    if (strcmp(s, "anonymous") == 0 || strcmp(s, "mqtt") == 0 || strcmp(s, "*") == 0)
        return true;
    static const char *const kinds[] = { "token:", "user:", "group:", "cert:", NULL };
    for (const char *const *k = kinds; *k; k++) {
        size_t n = strlen(*k);
        if (strncmp(s, *k, n) == 0) {
            size_t name = strlen(s + n);
            if (name == 0 || name > PRINCIPAL_NAME_MAX)
                return false;
            for (const char *p = s + n; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    return false;
            return true;
        }
    }
    return false;
}

static int rule_strings(const struct loader *ld, const json_t *v, const char *at)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail(ld, at, "%s must be a non-empty array of strings", at);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char here[PATH_MAX_LEN];
        join_index(here, at, i);
        const char *s;
        if (get_string(ld, item, here, &s) < 0)
            return -1;
    }
    return 0;
}

static int load_rule(const struct loader *ld, const json_t *v, const char *path,
                     struct access_rule *rule)
{
    static const char *const known[] = { "who", "robots", "may", NULL };
    struct config *cfg = ld->cfg;
    if (!json_is_object(v))
        return fail(ld, path, "%s must be an object {\"who\", \"robots\", \"may\"}", path);
    if (check_members(ld, v, path, known) < 0)
        return -1;
    char at[PATH_MAX_LEN], here[PATH_MAX_LEN], q[QUOTE_MAX + 4];
    size_t i;
    json_t *item, *m;
    memset(rule, 0, sizeof *rule);

    join_key(at, path, "who");
    if (!(m = json_object_get(v, "who")))
        return fail(ld, path, "%s has no \"who\"", path);
    if (rule_strings(ld, m, at) < 0)
        return -1;
    if (json_array_size(m) > ACCESS_WHO_MAX)
        return fail(ld, at, "%s has more than %d entries", at, ACCESS_WHO_MAX);
    json_array_foreach(m, i, item) {
        join_index(here, at, i);
        const char *s = json_string_value(item);
        if (!who_valid(s))
            return fail(ld, here, "%s \"%s\" is not a principal (anonymous, token:NAME, "
                        "user:NAME, group:NAME, cert:CN, mqtt or *)", here, quote(s, q));
        snprintf(rule->who[rule->nwho++], ACCESS_WHO_TEXT_MAX, "%s", s);
    }

    rule->robots = UINT32_MAX;
    join_key(at, path, "robots");
    if ((m = json_object_get(v, "robots"))) {
        if (rule_strings(ld, m, at) < 0)
            return -1;
        rule->robots = 0;
        json_array_foreach(m, i, item) {
            join_index(here, at, i);
            const char *s = json_string_value(item);
            unsigned k = 0;
            while (k < cfg->nrobots && strcmp(cfg->robots[k].name, s) != 0)
                k++;
            if (k == cfg->nrobots)
                return fail(ld, here, "%s \"%s\" is not a configured robot", here, quote(s, q));
            rule->robots |= UINT32_C(1) << k;
        }
    }

    join_key(at, path, "may");
    if (!(m = json_object_get(v, "may")))
        return fail(ld, path, "%s has no \"may\"", path);
    if (rule_strings(ld, m, at) < 0)
        return -1;
    json_array_foreach(m, i, item) {
        join_index(here, at, i);
        const char *s = json_string_value(item);
        if (strcmp(s, "watch") == 0)
            rule->may |= GRANT_WATCH;
        else if (strcmp(s, "control") == 0)
            rule->may |= GRANT_CONTROL;
        else if (strcmp(s, "takeover") == 0)
            rule->may |= GRANT_TAKEOVER;
        else if (strcmp(s, "serve") == 0)
            rule->may |= GRANT_SERVE;
        else {
            const struct frame_def *d = schema_find(cfg->schema, DIR_OUT, s, strlen(s));
            if (!d || d->from_bridge)
                return fail(ld, here, "%s \"%s\" is neither watch, control, takeover, serve nor "
                            "a command type", here, quote(s, q));
            rule->commands |= UINT64_C(1) << schema_index(cfg->schema, d);
        }
    }
    return 0;
}

static int load_access(const struct loader *ld, const json_t *v)
{
    struct config *cfg = ld->cfg;
    if (!json_is_array(v))
        return fail(ld, "access", "access must be an array of rules "
                    "{\"who\": [...], \"robots\": [...], \"may\": [...]}");
    size_t n = json_array_size(v);
    if (n > ACCESS_RULES_MAX)
        return fail(ld, "access", "access has more than %d rules", ACCESS_RULES_MAX);
    cfg->access = calloc(n ? n : 1, sizeof *cfg->access);
    if (!cfg->access)
        return fail(ld, "access", "out of memory");
    cfg->has_access = true;
    for (size_t i = 0; i < n; i++) {
        char at[PATH_MAX_LEN];
        join_index(at, "access", i);
        if (load_rule(ld, json_array_get(v, i), at, &cfg->access[i]) < 0)
            return -1;
        cfg->naccess = (unsigned)(i + 1);
    }
    return 0;
}

bool listen_addr_is_loopback(const struct listen_addr *addr)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, addr->host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr->host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

int config_check_exposure(const struct config *cfg, char err[CONFIG_ERR_MAX])
{
    if (cfg->has_access)
        return 0;
    if (!listen_addr_is_loopback(&cfg->json_listen)) {
        snprintf(err, CONFIG_ERR_MAX, "json_listen %s:%u is not a loopback address and there are "
                 "no access rules: add an \"access\" section saying who may do what (and a "
                 "tokens_file for the clients), or listen on 127.0.0.1",
                 cfg->json_listen.host, (unsigned)cfg->json_listen.port);
        return -1;
    }
    if (cfg->has_http && !listen_addr_is_loopback(&cfg->http_listen)) {
        snprintf(err, CONFIG_ERR_MAX, "http_listen %s:%u is not a loopback address and there are "
                 "no access rules: add an \"access\" section saying who may do what (and a "
                 "tokens_file for the page and scrapers), or listen on 127.0.0.1",
                 cfg->http_listen.host, (unsigned)cfg->http_listen.port);
        return -1;
    }
    return 0;
}

/* ---- the document -------------------------------------------------------------- */

static int load_document(const struct loader *ld, const json_t *root)
{
    static const char *const known[] = { "robot_listen", "json_listen", "robots",
        "frames", "limits", "record", "mqtt", "tokens_file", "audit_file", "json_unix",
        "access", "json_tls", "http_listen", "http_tls", "http_root", NULL };
    struct config *cfg = ld->cfg;
    const json_t *v;

    if (!json_is_object(root))
        return fail(ld, "", "the configuration must be a JSON object");
    if (check_members(ld, root, "", known) < 0)
        return -1;
    if ((v = json_object_get(root, "robot_listen"))
        && load_listen(ld, v, "robot_listen", &cfg->robot_listen) < 0)
        return -1;
    if ((v = json_object_get(root, "json_listen"))
        && load_listen(ld, v, "json_listen", &cfg->json_listen) < 0)
        return -1;
    if ((v = json_object_get(root, "json_tls")) && config_tls(ld, v, "json_tls", &cfg->json_tls) < 0)
        return -1;
    if ((v = json_object_get(root, "http_listen"))) {
        if (load_listen(ld, v, "http_listen", &cfg->http_listen) < 0)
            return -1;
        cfg->has_http = true;
    }
    if ((v = json_object_get(root, "http_tls"))) {
        if (config_tls(ld, v, "http_tls", &cfg->http_tls) < 0)
            return -1;
        if (!cfg->has_http)
            return fail(ld, "http_tls", "http_tls needs http_listen (the HTTP port it secures)");
    }
    if ((v = json_object_get(root, "http_root"))) {
        const char *s = "";
        if (get_string(ld, v, "http_root", &s) < 0)
            return -1;
        if (strlen(s) > HTTP_ROOT_MAX || !s[0])
            return fail(ld, "http_root", "http_root must be a directory path of 1 to %d bytes",
                        HTTP_ROOT_MAX);
        memcpy(cfg->http_root, s, strlen(s) + 1);
    }
    /* Frames first: a robot's commands may name a custom command type. */
    if ((v = json_object_get(root, "frames")) && load_frames(ld, v) < 0)
        return -1;
    if ((v = json_object_get(root, "robots")) && load_robots(ld, v) < 0)
        return -1;
    if ((v = json_object_get(root, "limits")) && load_limits(ld, v) < 0)
        return -1;
    if ((v = json_object_get(root, "record"))) {
        const char *s = "";
        if (get_string(ld, v, "record", &s) < 0)
            return -1;
        if (strlen(s) >= sizeof cfg->record)
            return fail(ld, "record", "record path is longer than %zu bytes",
                        sizeof cfg->record - 1);
        memcpy(cfg->record, s, strlen(s) + 1);
    }
    /* After frames: mqtt.types and mqtt.rate may name custom types. */
    if ((v = json_object_get(root, "mqtt")) && load_mqtt(ld, v) < 0)
        return -1;
    for (unsigned i = 0; i < cfg->nrobots; i++) {
        if (cfg->robots[i].mqtt_commands && !cfg->mqtt.enabled) {
            char at[PATH_MAX_LEN];
            snprintf(at, sizeof at, "robots[%u].mqtt_commands", i);
            return fail(ld, at, "%s needs an mqtt section", at);
        }
    }
    /* After robots and frames: rules name robots and command types. */
    if ((v = json_object_get(root, "access")) && load_access(ld, v) < 0)
        return -1;
    if ((v = json_object_get(root, "tokens_file")) && load_tokens(ld, v) < 0)
        return -1;
    if ((v = json_object_get(root, "audit_file"))
        && load_path(ld, v, "audit_file", cfg->audit_file, CONFIG_PATH_MAX) < 0)
        return -1;
    if ((v = json_object_get(root, "json_unix")) && load_unix(ld, v) < 0)
        return -1;
    char why[CONFIG_ERR_MAX];
    if (config_check_exposure(cfg, why) < 0)
        return fail(ld, strncmp(why, "http_listen", 11) == 0 ? "http_listen" : "json_listen", "%s",
                    why);
    return 0;
}

/* jansson counts columns in characters, jsonpos in bytes. The byte offset
 * jansson also gives (that of the last byte it read) is turned into a line
 * and byte column here, so syntax and semantic errors count alike. */
static void syntax_error(char err[CONFIG_ERR_MAX], const char *name, const char *text,
                         size_t len, const json_error_t *je_raw)
{
    /* jansson's "near '...'" quotes the raw input: line breaks and control
     * bytes would break the one-line message. */
    json_error_t clean = *je_raw;
    const json_error_t *je = &clean;
    for (char *p = clean.text; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    if (je->position < 1 || (size_t)je->position > len) {
        if (je->line > 0)
            snprintf(err, CONFIG_ERR_MAX, "%s:%d:%d: %s", name, je->line,
                     je->column > 0 ? je->column : 1, je->text);
        else
            snprintf(err, CONFIG_ERR_MAX, "%s: %s", name, je->text);
        return;
    }
    size_t at = (size_t)je->position - 1;   /* 0-based offset of that byte */
    long line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    snprintf(err, CONFIG_ERR_MAX, "%s:%ld:%zu: %s", name, line, at - line_start + 1, je->text);
}

/* ---- public ---------------------------------------------------------------------- */

int config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (listen_addr_parse(DEFAULT_ROBOT_LISTEN, &cfg->robot_listen) < 0
        || listen_addr_parse(DEFAULT_JSON_LISTEN, &cfg->json_listen) < 0)
        return -1;                      /* cannot happen: the defaults are valid */
    cfg->limits.hello_timeout = DEFAULT_HELLO_TIMEOUT;
    cfg->limits.idle_timeout = DEFAULT_IDLE_TIMEOUT;
    cfg->limits.ack_timeout = DEFAULT_ACK_TIMEOUT;
    cfg->limits.robot_request_timeout = DEFAULT_ROBOT_REQUEST_TIMEOUT;
    cfg->limits.max_clients = DEFAULT_MAX_CLIENTS;
    cfg->limits.client_queue_bytes = DEFAULT_CLIENT_QUEUE_BYTES;
    cfg->limits.command_queue = DEFAULT_COMMAND_QUEUE;
    cfg->limits.max_clients_per_address = DEFAULT_MAX_CLIENTS_PER_ADDRESS;
    cfg->limits.max_pending_per_address = DEFAULT_MAX_PENDING_PER_ADDRESS;
    cfg->limits.first_request_timeout = DEFAULT_FIRST_REQUEST_TIMEOUT;
    cfg->limits.request_timeout = DEFAULT_REQUEST_TIMEOUT;
    cfg->schema = schema_new();
    return cfg->schema ? 0 : -1;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    if (cfg->schema)
        schema_free(cfg->schema);
    free(cfg->tokens);
    free(cfg->access);
    memset(cfg, 0, sizeof *cfg);
}

int config_load_text(struct config *cfg, const char *name, const char *text, size_t len,
                     char err[CONFIG_ERR_MAX])
{
    err[0] = '\0';
    if (config_defaults(cfg) < 0) {
        config_free(cfg);
        snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", name);
        return -1;
    }
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        syntax_error(err, name, text, len, &je);
        config_free(cfg);
        return -1;
    }
    struct loader ld = { name, text, len, err, cfg };
    int r = load_document(&ld, root);
    json_decref(root);
    if (r < 0) {
        config_free(cfg);
        /* Paths quote the file's own member names, which may hold any
         * character: the message stays one printable line. */
        for (char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
    }
    return r;
}

int config_load_file(struct config *cfg, const char *path, char err[CONFIG_ERR_MAX])
{
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* One byte more than allowed tells "too large" from "exactly the bound". */
    char *buf = malloc(CONFIG_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", path);
        return -1;
    }
    size_t n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
    int read_errno = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    int r = -1;
    if (read_errno)
        snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, strerror(read_errno));
    else if (n > CONFIG_FILE_MAX)
        snprintf(err, CONFIG_ERR_MAX, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
    else
        r = config_load_text(cfg, path, buf, n, err);
    free(buf);
    return r;
}

const struct robot_cfg *config_robot(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (unsigned i = 0; i < cfg->nrobots; i++)
        if (strcmp(cfg->robots[i].name, name) == 0)
            return &cfg->robots[i];
    return NULL;
}

bool robot_cfg_allows(const struct robot_cfg *r, const char *type)
{
    if (!r || !type)
        return false;
    for (unsigned i = 0; i < r->ncommands; i++)
        if (strcmp(r->commands[i], type) == 0)
            return true;
    return false;
}
