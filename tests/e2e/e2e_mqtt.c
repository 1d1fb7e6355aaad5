/* e2e_mqtt.c - the MQTT publisher of the real daemon against a real broker:
 * topics and payloads, retained state for a late subscriber, the rate cap,
 * the last will and the clean "offline", reconnection after a broker
 * restart, a stopped broker that must not disturb robots or JSON clients,
 * commands over MQTT, allowed and refused, and the hostile or careless
 * neighbour: two bridges on one host with default client ids, two with one
 * id (back-off), an oversized command (peak RSS), the longest prefix, the
 * broker password from password_file, and MQTT 3.1.1 on request.
 * RB_E2E_FILTER runs only the tests whose names match it (cmocka's pattern).
 *
 * Each test starts its own `mosquitto` (RB_MOSQUITTO, else
 * /usr/sbin/mosquitto and the like) on a free 127.0.0.1 port with a
 * throw-away configuration; without it every test fails, loudly. The test's own subscriber is libmosquitto,
 * driven synchronously (mosquitto_loop) between the harness's waits.
 */
#include "harness.h"

#include "config.h"             /* MQTT_PREFIX_MAX, MQTT_LEVEL_MAX */
#include "mqtt_session.h"       /* MQTT_PACKET_MAX */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define BROKER_START_MS 5000     /* mosquitto started until it accepts connections */
#define BROKER_STOP_MS 3000      /* SIGTERM until it exited (then SIGKILL) */
#define MQTT_WAIT_MS 5000        /* one expected MQTT message */
#define RECONNECT_MS 10000       /* broker back until the bridge says connected */
#define QUIET_MS 1000            /* how long "nothing arrives" is watched */
#define RATE_HZ 10               /* the JT cap in the rate test */
#define STREAM_HZ 250            /* what the test robot sends */
#define STREAM_MS 2000
#define STOP_MS 2500             /* how long the broker is stopped */
#define SMALL_QUEUE 50           /* mqtt.queue_messages while it is */
#define SLICE_MS 20
#define TWO_BRIDGES_MS 30000     /* two bridges with default ids must stay connected this long */
#define HUGE_CMD_BYTES (32u << 20) /* an oversized command: far over MQTT_CMD_MAX */
#define HUGE_SEND_MS 20000       /* publishing it to the broker */
#define RSS_GROWTH_MAX_KIB 2048  /* the daemon's peak RSS may grow this much for it */
#define SAME_ID_MS 10000         /* two bridges given one client_id take turns for this long */
#define SAME_ID_CONNECTS_MAX 12  /* connects of both together: backing off, about 8 */

/* --- the broker ------------------------------------------------------------- */

struct broker {
    pid_t pid;
    uint16_t port;
    char conf[64];
    char extra[256];            /* more configuration lines, set before broker_start */
};

/* The running broker, so that a failed test's teardown can stop it. The
 * tests run one at a time; this is the only file-level state. */
static struct broker the_broker;

static const char *mosquitto_path(void)
{
    const char *env = getenv("RB_MOSQUITTO");
    if (env != NULL && *env)
        return env;
    static const char *const dirs[] = {"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto",
                                       "/usr/bin/mosquitto", "/usr/local/bin/mosquitto"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (access(dirs[i], X_OK) == 0)
            return dirs[i];
    fail_msg("mosquitto is not installed (apt-get install mosquitto, or set RB_MOSQUITTO): "
             "the MQTT tests need a real broker");
    return NULL;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static bool port_open(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Start mosquitto on port (0: a free one) and wait until it accepts. */
static void broker_start(struct broker *br, uint16_t port)
{
    const char *bin = mosquitto_path();
    br->port = port ? port : free_port();
    if (!br->conf[0]) {
        snprintf(br->conf, sizeof br->conf, "/tmp/rb-e2e-mqtt-XXXXXX");
        int fd = mkstemp(br->conf);
        assert_true(fd >= 0);
        char text[512];
        int n = snprintf(text, sizeof text, "listener %u 127.0.0.1\n%spersistence false\n%s",
                         br->port, br->extra[0] ? "" : "allow_anonymous true\n", br->extra);
        assert_int_equal(write(fd, text, (size_t)n), n);
        close(fd);
        chmod(br->conf, 0644);   /* mosquitto may drop root for its own user */
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null_fd = open("/dev/null", O_RDWR);
        const char *verbose = getenv("RB_E2E_VERBOSE");
        if (null_fd >= 0) {
            dup2(null_fd, 0);
            dup2(null_fd, 1);
            if (!verbose)
                dup2(null_fd, 2);
        }
        execl(bin, bin, "-c", br->conf, (char *)NULL);
        _exit(127);
    }
    br->pid = pid;
    long long deadline = mono_ms() + BROKER_START_MS;
    while (!port_open(br->port)) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            br->pid = 0;
            fail_msg("mosquitto (%s -c %s) exited at start, status %d", bin, br->conf, status);
        }
        if (mono_ms() > deadline)
            fail_msg("mosquitto did not accept connections on port %u within %d ms", br->port,
                     BROKER_START_MS);
        usleep(SLICE_MS * 1000);
    }
}

/* Stop the broker with sig (SIGTERM, SIGKILL) and reap it. */
static void broker_stop(struct broker *br, int sig)
{
    if (br->pid <= 0)
        return;
    kill(br->pid, SIGCONT);
    kill(br->pid, sig);
    long long deadline = mono_ms() + BROKER_STOP_MS;
    while (waitpid(br->pid, NULL, WNOHANG) == 0) {
        if (mono_ms() > deadline) {
            kill(br->pid, SIGKILL);
            waitpid(br->pid, NULL, 0);
            break;
        }
        usleep(SLICE_MS * 1000);
    }
    br->pid = 0;
}

static void broker_free(struct broker *br)
{
    broker_stop(br, SIGKILL);
    if (br->conf[0])
        unlink(br->conf);
    memset(br, 0, sizeof *br);
}

/* The second daemon of test_two_bridges, so that a failed test's teardown
 * can kill it too. */
static void *second_bridge;

static int mqtt_teardown(void **state)
{
    daemon_teardown(state);
    daemon_teardown(&second_bridge);
    broker_free(&the_broker);
    return 0;
}

/* --- a subscriber ------------------------------------------------------------ */

struct rx {
    char *topic;
    char *payload;              /* NUL-terminated copy */
    bool retain;
};

struct sub {
    struct mosquitto *m;
    struct daemon *d;
    bool subscribed;
    int published;              /* publishes the broker took (QoS 1: PUBACK) */
    struct rx *rx;
    size_t n, cap;
};

static void sub_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    struct sub *s = obj;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->rx = realloc(s->rx, s->cap * sizeof *s->rx);
        assert_non_null(s->rx);
    }
    struct rx *r = &s->rx[s->n++];
    r->topic = strdup(msg->topic);
    r->payload = malloc((size_t)msg->payloadlen + 1);
    assert_non_null(r->topic);
    assert_non_null(r->payload);
    memcpy(r->payload, msg->payload, (size_t)msg->payloadlen);
    r->payload[msg->payloadlen] = '\0';
    r->retain = msg->retain;
}

static void sub_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos)
{
    (void)m;
    (void)mid;
    (void)n;
    (void)qos;
    ((struct sub *)obj)->subscribed = true;
}

static void sub_on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    (void)mid;
    ((struct sub *)obj)->published++;
}

/* Run the client (and drain the daemon's log) for ms. */
static void sub_pump(struct sub *s, int ms)
{
    long long deadline = mono_ms() + ms;
    do {
        long long left = deadline - mono_ms();
        int rc = mosquitto_loop(s->m, left < SLICE_MS ? (left > 0 ? (int)left : 0) : SLICE_MS, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            /* the broker went away (a test stopped it): reconnect when it is back */
            usleep(SLICE_MS * 1000);
            mosquitto_reconnect(s->m);
        }
        if (s->d)
            daemon_pump(s->d);
    } while (mono_ms() < deadline);
}

/* A client on the broker subscribed to pattern (SUBACK received). */
static struct sub *sub_open(struct daemon *d, uint16_t port, const char *pattern)
{
    struct sub *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->d = d;
    s->m = mosquitto_new(NULL, true, s);
    assert_non_null(s->m);
    mosquitto_message_callback_set(s->m, sub_on_message);
    mosquitto_subscribe_callback_set(s->m, sub_on_subscribe);
    mosquitto_publish_callback_set(s->m, sub_on_publish);
    assert_int_equal(mosquitto_connect(s->m, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_subscribe(s->m, NULL, pattern, 1), MOSQ_ERR_SUCCESS);
    long long deadline = mono_ms() + MQTT_WAIT_MS;
    while (!s->subscribed && mono_ms() < deadline)
        sub_pump(s, SLICE_MS);
    assert_true(s->subscribed);
    return s;
}

static void sub_close(struct sub *s)
{
    mosquitto_disconnect(s->m);
    mosquitto_destroy(s->m);
    for (size_t i = 0; i < s->n; i++) {
        free(s->rx[i].topic);
        free(s->rx[i].payload);
    }
    free(s->rx);
    free(s);
}

static void sub_publish(struct sub *s, const char *topic, const char *payload, bool retain)
{
    int len = payload ? (int)strlen(payload) : 0;
    assert_int_equal(mosquitto_publish(s->m, NULL, topic, len, payload, 1, retain),
                     MOSQ_ERR_SUCCESS);
    sub_pump(s, SLICE_MS);
}

static void print_received(const struct sub *s)
{
    size_t from = s->n > 40 ? s->n - 40 : 0;
    print_error("---- last %zu of %zu MQTT messages ----\n", s->n - from, s->n);
    for (size_t i = from; i < s->n; i++)
        print_error("%s%s %.200s\n", s->rx[i].topic, s->rx[i].retain ? " (retained)" : "",
                    s->rx[i].payload);
}

/* The first message from index *from on with this topic (and payload, when
 * not NULL) within ms; *from is moved past it. Fails the test otherwise. */
static const struct rx *sub_wait(struct sub *s, size_t *from, const char *topic,
                                 const char *payload, int ms)
{
    long long deadline = mono_ms() + ms;
    size_t i = from ? *from : 0;
    for (;;) {
        for (; i < s->n; i++) {
            if (strcmp(s->rx[i].topic, topic) == 0
                && (payload == NULL || strcmp(s->rx[i].payload, payload) == 0)) {
                if (from)
                    *from = i + 1;
                return &s->rx[i];
            }
        }
        if (mono_ms() > deadline) {
            daemon_print_log_tail(s->d);
            print_received(s);
            fail_msg("no MQTT message on %s%s%s within %d ms", topic, payload ? " with " : "",
                     payload ? payload : "", ms);
        }
        sub_pump(s, SLICE_MS);
    }
}

static size_t sub_count(const struct sub *s, const char *topic, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < s->n; i++)
        n += strcmp(s->rx[i].topic, topic) == 0;
    return n;
}

/* The payload of an MQTT message as JSON (must be an object). */
static json_t *rx_json(const struct rx *r)
{
    json_error_t e;
    json_t *j = json_loads(r->payload, 0, &e);
    if (j == NULL || !json_is_object(j))
        fail_msg("MQTT payload on %s is not a JSON object: %s", r->topic, r->payload);
    return j;
}

static long long rx_seq(const struct rx *r)
{
    json_t *j = rx_json(r);
    long long seq = json_int_member(j, "seq");
    json_decref(j);
    return seq;
}

/* The first FRAME with this seq on topic within ms (fails the test otherwise). */
static const struct rx *sub_wait_seq(struct sub *s, const char *topic, long long seq, int ms)
{
    long long deadline = mono_ms() + ms;
    size_t at = 0;
    for (;;) {
        int left = (int)(deadline - mono_ms());
        const struct rx *r = sub_wait(s, &at, topic, NULL, left > 0 ? left : 1);
        if (rx_seq(r) == seq)
            return r;
    }
}

/* --- the bridge ----------------------------------------------------------------- */

/* A configuration with the robots JSON and the mqtt members given. */
static struct daemon *bridge_start(void **state, const char *robots, const char *mqtt_extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"robots\":%s,\"limits\":{\"idle_timeout\":30},"
             "\"mqtt\":{\"host\":\"127.0.0.1\",\"port\":%u,\"prefix\":\"e2e/cell\","
             "\"client_id\":\"rb-e2e\"%s%s}}",
             robots, the_broker.port, mqtt_extra[0] ? "," : "", mqtt_extra);
    return daemon_start(state, text);
}

static json_t *stats_mqtt(struct tclient *c)
{
    json_t *s = tclient_request(c, "{\"cmd\":\"stats\"}", "STATS", NULL);
    json_t *m = json_object_get(s, "mqtt");
    if (!json_is_object(m)) {
        char *t = json_text(s);
        fail_msg("STATS without an mqtt object: %s", t);
    }
    json_incref(m);
    json_decref(s);
    return m;
}

struct connected_wait {
    struct tclient *c;
    bool want;
};

static bool connected_is(void *ctx)
{
    struct connected_wait *w = ctx;
    json_t *m = stats_mqtt(w->c);
    bool ok = json_is_true(json_object_get(m, "connected")) == w->want;
    json_decref(m);
    return ok;
}

static void wait_connected(struct daemon *d, struct tclient *c, bool want, int ms)
{
    struct connected_wait w = {c, want};
    if (!wait_until(d, connected_is, &w, ms)) {
        daemon_print_log_tail(d);
        fail_msg("stats never said mqtt.connected %s within %d ms", want ? "true" : "false", ms);
    }
}

static void send_jt(struct daemon *d, int fd, long seq)
{
    char line[96];
    snprintf(line, sizeof line, "JT,%ld,%ld,2,3,4,5,6\n", seq, seq % 360);
    trobot_send(d, fd, line);
}

/* --- tests ----------------------------------------------------------------------- */

static const char ROBOTS[] = "[{\"name\":\"rob1\",\"commands\":[\"PING\",\"SETDO\"]},"
                             "{\"name\":\"rob2\"}]";

/* Every published frame goes to <prefix>/<robot>/<TYPE> as the watcher's
 * FRAME JSON; link and status are plain words; types outside mqtt.types
 * and HB are not published; stats has the mqtt counters. */
static void test_topics_and_payloads(void **state)
{
    broker_start(&the_broker, 0);
    struct daemon *d = bridge_start(state, ROBOTS, "\"types\":[\"HI\",\"JT\",\"ST\",\"IO\",\"EV\"]");
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/#");
    size_t at = 0;
    sub_wait(s, &at, "e2e/cell/bridge/status", "online", MQTT_WAIT_MS);
    sub_wait(s, NULL, "e2e/cell/rob2/link", "down", MQTT_WAIT_MS);
    struct tclient *w = watcher_connect(d, NULL);
    int fd = trobot_hello(d, "rob1");
    sub_wait(s, &at, "e2e/cell/rob1/link", "up", MQTT_WAIT_MS);

    static const struct {
        const char *type, *line;
    } frames[] = {
        {"HI", NULL},                                   /* sent by trobot_hello */
        {"JT", "JT,2,10,20.5,-30,40.25,0,-180\n"},
        {"ST", "ST,3,RUNNING,AUTO,ON,100\n"},
        {"IO", "IO,4,doGrip,1\n"},
        {"EV", "EV,5,W,10012,Door open, cell 2\n"},
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        print_message("case: %s\n", frames[i].type);
        if (frames[i].line)
            trobot_send(d, fd, frames[i].line);
        json_t *f = tclient_wait_class(w, "FRAME", HARNESS_RECV_MS, NULL);
        assert_string_equal(json_str(f, "type"), frames[i].type);
        char topic[64];
        snprintf(topic, sizeof topic, "e2e/cell/rob1/%s", frames[i].type);
        const struct rx *r = sub_wait(s, NULL, topic, NULL, MQTT_WAIT_MS);
        json_t *p = rx_json(r);
        if (!json_equal(p, f)) {
            char *t = json_text(f);
            fail_msg("MQTT %s payload %s differs from the watcher's %s", topic, r->payload, t);
        }
        assert_int_equal(r->payload[strlen(r->payload) - 1], '}');    /* no LF */
        json_decref(p);
        json_decref(f);
    }
    /* PS is not in mqtt.types, HB never published: the watcher sees PS, MQTT nothing. */
    trobot_send(d, fd, "HB,6\nPS,7,1,2,3,1,0,0,0\nJT,8,1,1,1,1,1,1\n");
    json_decref(tclient_wait_frame(w, "JT", 8, HARNESS_RECV_MS, NULL));
    sub_wait_seq(s, "e2e/cell/rob1/JT", 8, MQTT_WAIT_MS);
    assert_int_equal(sub_count(s, "e2e/cell/rob1/PS", 0), 0);
    assert_int_equal(sub_count(s, "e2e/cell/rob1/HB", 0), 0);

    json_t *m = stats_mqtt(w);
    assert_true(json_is_true(json_object_get(m, "connected")));
    assert_true(json_int_member(m, "published") >= 8);
    assert_int_equal(json_int_member(m, "dropped"), 0);
    assert_true(json_int_member(m, "queued") >= 0);
    json_decref(m);
    sub_close(s);
    daemon_stop(state);
}

/* A subscriber that comes later gets the present at once, retained. */
static void test_retained_for_late_subscriber(void **state)
{
    broker_start(&the_broker, 0);
    struct daemon *d = bridge_start(state, ROBOTS, "\"qos\":2");
    struct tclient *w = watcher_connect(d, NULL);
    int fd = trobot_hello(d, "rob1");
    for (long seq = 2; seq <= 5; seq++)
        send_jt(d, fd, seq);
    trobot_send(d, fd, "ST,6,STOPPED,MANR,OFF,0\n");
    json_decref(tclient_wait_frame(w, "ST", 6, HARNESS_RECV_MS, NULL));
    daemon_sleep(d, 200);

    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/#");
    const struct rx *r = sub_wait(s, NULL, "e2e/cell/rob1/JT", NULL, MQTT_WAIT_MS);
    assert_true(r->retain);
    assert_int_equal(rx_seq(r), 5);                            /* the latest, only */
    assert_int_equal(sub_count(s, "e2e/cell/rob1/JT", 0), 1);
    assert_true(sub_wait(s, NULL, "e2e/cell/rob1/ST", NULL, MQTT_WAIT_MS)->retain);
    assert_true(sub_wait(s, NULL, "e2e/cell/rob1/HI", NULL, MQTT_WAIT_MS)->retain);
    assert_true(sub_wait(s, NULL, "e2e/cell/rob1/link", "up", MQTT_WAIT_MS)->retain);
    assert_true(sub_wait(s, NULL, "e2e/cell/rob2/link", "down", MQTT_WAIT_MS)->retain);
    assert_true(sub_wait(s, NULL, "e2e/cell/bridge/status", "online", MQTT_WAIT_MS)->retain);
    sub_close(s);
    daemon_stop(state);
}

/* A robot at 250 Hz with JT capped at 10 Hz: about 20 JT in 2 s, not 500,
 * every watcher frame still delivered, and the last JT always arrives. */
static void test_rate_cap(void **state)
{
    broker_start(&the_broker, 0);
    char extra[64];
    snprintf(extra, sizeof extra, "\"rate\":{\"JT\":%d}", RATE_HZ);
    struct daemon *d = bridge_start(state, ROBOTS, extra);
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/rob1/#");
    struct tclient *w = watcher_connect(d, NULL);
    int fd = trobot_hello(d, "rob1");
    sub_wait(s, NULL, "e2e/cell/rob1/link", "up", MQTT_WAIT_MS);
    size_t start = s->n;
    long last = 1;
    long long t0 = mono_ms();
    while (mono_ms() - t0 < STREAM_MS) {
        /* as many as STREAM_HZ calls for by now, however slow this loop is */
        long due = 1 + (long)((mono_ms() - t0) * STREAM_HZ / 1000);
        while (last < due)
            send_jt(d, fd, ++last);
        sub_pump(s, 2);
    }
    long long elapsed = mono_ms() - t0;
    size_t during = sub_count(s, "e2e/cell/rob1/JT", start);
    /* The last JT came within the interval of the one before: it is sent
     * when the interval ends. */
    sub_wait_seq(s, "e2e/cell/rob1/JT", last, MQTT_WAIT_MS);
    print_message("%zu JT in %lld ms (robot sent %ld), last one arrived\n", during, elapsed,
                  last - 1);
    long cap = (long)(elapsed * RATE_HZ / 1000) + 3;
    assert_true(last - 1 > 100);                 /* the robot really did send fast */
    assert_true(during >= 5);
    assert_true((long)during <= cap);
    /* the watcher got every one of them, in order */
    json_decref(tclient_wait_frame(w, "JT", 2, HARNESS_RECV_MS, NULL));
    for (long seq = 3; seq <= last; seq++) {
        json_t *f = tclient_wait_class(w, "FRAME", HARNESS_RECV_MS, NULL);
        assert_int_equal(json_int_member(f, "seq"), seq);
        json_decref(f);
    }
    sub_close(s);
    daemon_stop(state);
}

/* SIGKILL: the broker publishes the last will, "offline", retained. */
static void test_last_will(void **state)
{
    broker_start(&the_broker, 0);
    struct daemon *d = bridge_start(state, ROBOTS, "");
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/bridge/status");
    size_t at = 0;
    sub_wait(s, &at, "e2e/cell/bridge/status", "online", MQTT_WAIT_MS);
    kill(d->pid, SIGKILL);
    sub_wait(s, &at, "e2e/cell/bridge/status", "offline", MQTT_WAIT_MS);
    s->d = NULL;
    daemon_teardown(state);
    sub_close(s);
    /* and a late subscriber sees it retained */
    s = sub_open(NULL, the_broker.port, "e2e/cell/bridge/status");
    assert_true(sub_wait(s, NULL, "e2e/cell/bridge/status", "offline", MQTT_WAIT_MS)->retain);
    sub_close(s);
}

/* SIGTERM: LINK down for linked robots, then "offline", exit 0. */
static void test_offline_on_shutdown(void **state)
{
    broker_start(&the_broker, 0);
    struct daemon *d = bridge_start(state, ROBOTS, "");
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/#");
    int fd = trobot_hello(d, "rob1");
    (void)fd;
    size_t at = 0;
    sub_wait(s, &at, "e2e/cell/rob1/link", "up", MQTT_WAIT_MS);
    daemon_term(d);
    sub_wait(s, &at, "e2e/cell/rob1/link", "down", MQTT_WAIT_MS);
    sub_wait(s, &at, "e2e/cell/bridge/status", "offline", MQTT_WAIT_MS);
    s->d = NULL;
    daemon_stop(state);
    sub_close(s);
    s = sub_open(NULL, the_broker.port, "e2e/cell/#");
    assert_true(sub_wait(s, NULL, "e2e/cell/bridge/status", "offline", MQTT_WAIT_MS)->retain);
    assert_true(sub_wait(s, NULL, "e2e/cell/rob1/link", "down", MQTT_WAIT_MS)->retain);
    sub_close(s);
}

/* SIGHUP drops rob2 and keeps rob1: the broker gets rob2's link "down" and
 * the bridge lives on (it used to look rob2 up past rob1's moved-out entry). */
static void test_reload_removes_robot(void **state)
{
    broker_start(&the_broker, 0);
    char text[512], path[] = "/tmp/rb-mqtt-reload-XXXXXX.json";
    const char *robots = "[{\"name\":\"rob1\"},{\"name\":\"rob2\"}]";
    snprintf(text, sizeof text,
             "{\"robots\":%s,\"limits\":{\"idle_timeout\":30},\"mqtt\":{\"host\":\"127.0.0.1\","
             "\"port\":%u,\"prefix\":\"e2e/cell\",\"client_id\":\"rb-e2e\"}}",
             robots, the_broker.port);
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    const char *extra[] = {"-c", path, NULL};
    struct daemon *d = daemon_start_args(state, text, extra);
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/#");
    trobot_hello(d, "rob1");
    trobot_hello(d, "rob2");
    size_t at = 0;
    sub_wait(s, &at, "e2e/cell/rob2/link", "up", MQTT_WAIT_MS);
    at = 0;
    sub_wait(s, &at, "e2e/cell/rob1/link", "up", MQTT_WAIT_MS);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"robots\":[{\"name\":\"rob1\"}],\"limits\":{\"idle_timeout\":30},\"mqtt\":{\"host\":\"127.0.0.1\",\"port\":%u,"
               "\"prefix\":\"e2e/cell\",\"client_id\":\"rb-e2e\"}}",
            the_broker.port);
    fclose(f);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    sub_wait(s, &at, "e2e/cell/rob2/link", "down", MQTT_WAIT_MS);
    struct tclient *c = tclient_connect(d);
    json_decref(tclient_request(c, "{\"cmd\":\"robots\"}", "ROBOTS", NULL));
    s->d = NULL;
    daemon_stop(state);
    sub_close(s);
    unlink(path);
}

/* The broker restarts (and forgets everything: no persistence): the bridge
 * reconnects and publishes the present state again. */
static void test_broker_restart(void **state)
{
    broker_start(&the_broker, 0);
    struct daemon *d = bridge_start(state, ROBOTS, "");
    struct tclient *w = watcher_connect(d, NULL);
    int fd = trobot_hello(d, "rob1");
    send_jt(d, fd, 2);
    json_decref(tclient_wait_frame(w, "JT", 2, HARNESS_RECV_MS, NULL));
    wait_connected(d, w, true, RECONNECT_MS);

    broker_stop(&the_broker, SIGTERM);
    wait_connected(d, w, false, RECONNECT_MS);
    assert_true(daemon_wait_log(d, "mqtt: connection to 127.0.0.1:", HARNESS_RECV_MS));
    send_jt(d, fd, 3);           /* the present changes while the broker is away */
    trobot_send(d, fd, "ST,4,RUNNING,AUTO,ON,50\n");
    json_decref(tclient_wait_frame(w, "ST", 4, HARNESS_RECV_MS, NULL));

    broker_start(&the_broker, the_broker.port);
    wait_connected(d, w, true, RECONNECT_MS);
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/#");
    assert_true(sub_wait(s, NULL, "e2e/cell/bridge/status", "online", MQTT_WAIT_MS)->retain);
    assert_true(sub_wait(s, NULL, "e2e/cell/rob1/link", "up", MQTT_WAIT_MS)->retain);
    assert_true(sub_wait(s, NULL, "e2e/cell/rob2/link", "down", MQTT_WAIT_MS)->retain);
    const struct rx *r = sub_wait(s, NULL, "e2e/cell/rob1/JT", NULL, MQTT_WAIT_MS);
    assert_true(r->retain);
    assert_int_equal(rx_seq(r), 3);
    r = sub_wait(s, NULL, "e2e/cell/rob1/ST", NULL, MQTT_WAIT_MS);
    json_t *j = rx_json(r);
    assert_int_equal(json_int_member(j, "speed"), 50);
    json_decref(j);
    /* and it goes on publishing */
    send_jt(d, fd, 5);
    sub_wait_seq(s, "e2e/cell/rob1/JT", 5, MQTT_WAIT_MS);
    sub_close(s);
    daemon_stop(state);
}

/* A broker that stops answering (SIGSTOP) for a while: the robot link stays
 * up and a watcher gets every frame in order, replies come at once. With
 * QoS 1 nothing is acknowledged meanwhile, so the bridge's queue fills and
 * its oldest messages are dropped and counted; when the broker wakes up,
 * MQTT catches up and the latest frame arrives. */
static void test_broker_stopped(void **state)
{
    broker_start(&the_broker, 0);
    char extra[64];
    snprintf(extra, sizeof extra, "\"qos\":1,\"queue_messages\":%d", SMALL_QUEUE);
    struct daemon *d = bridge_start(state, ROBOTS, extra);
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/rob1/JT");
    struct tclient *w = watcher_connect(d, NULL);
    struct tclient *c = tclient_connect(d);
    int fd = trobot_hello(d, "rob1");
    send_jt(d, fd, 2);
    sub_wait(s, NULL, "e2e/cell/rob1/JT", NULL, MQTT_WAIT_MS);

    json_decref(tclient_wait_frame(w, "JT", 2, HARNESS_RECV_MS, NULL));

    kill(the_broker.pid, SIGSTOP);
    long last = 2;
    long long t0 = mono_ms();
    while (mono_ms() - t0 < STOP_MS) {
        long due = 2 + (long)((mono_ms() - t0) * STREAM_HZ / 1000);
        while (last < due) {
            send_jt(d, fd, ++last);
            if (last % 100 == 0)   /* replies are not held up by the broker */
                json_decref(tclient_request(c, "{\"cmd\":\"stats\"}", "STATS", NULL));
        }
        daemon_sleep(d, 2);
    }
    json_t *m = stats_mqtt(c);
    char *text = json_text(m);
    print_message("broker stopped: %s\n", text);
    free(text);
    assert_true(json_int_member(m, "dropped") > 0);
    assert_true(json_int_member(m, "queued") >= SMALL_QUEUE);
    json_decref(m);
    kill(the_broker.pid, SIGCONT);

    json_t *skipped = json_array();
    for (long want = 3; want <= last; want++) {
        json_t *f = tclient_wait_class(w, "FRAME", HARNESS_RECV_MS, skipped);
        assert_int_equal(json_int_member(f, "seq"), want);
        json_decref(f);
    }
    assert_int_equal(json_array_size(skipped), 0);      /* no LINK down, nothing else */
    json_decref(skipped);
    assert_false(daemon_log_has(d, "link down"));

    sub_wait_seq(s, "e2e/cell/rob1/JT", last, RECONNECT_MS);
    sub_close(s);
    daemon_stop(state);
}

/* Commands over MQTT for a robot that allows them: the same checks as the
 * JSON API, answered on <prefix>/<robot>/ack. */
static void test_commands(void **state)
{
    broker_start(&the_broker, 0);
    /* A retained command already on the broker must not run when the bridge
     * subscribes (it would run again at every reconnect). */
    struct sub *s = sub_open(NULL, the_broker.port, "e2e/cell/+/ack");
    sub_publish(s, "e2e/cell/rob1/cmd", "{\"type\":\"PING\",\"id\":\"stale\"}", true);
    struct daemon *d = bridge_start(state,
        "[{\"name\":\"rob1\",\"commands\":[\"PING\",\"SETDO\"],\"mqtt_commands\":true},"
        "{\"name\":\"rob2\",\"commands\":[\"PING\"]}]", "\"qos\":1");
    s->d = d;
    size_t at = 0;
    const struct rx *r = sub_wait(s, &at, "e2e/cell/rob1/ack", NULL, MQTT_WAIT_MS);
    json_t *j = rx_json(r);
    assert_json_eq(j, "{\"class\":\"ERROR\",\"code\":\"bad_request\"}",
                   (const char *const[]){"message", NULL});
    json_decref(j);
    sub_publish(s, "e2e/cell/rob1/cmd", NULL, true);     /* clear it */

    int fd = trobot_hello(d, "rob1");
    struct tclient *w = watcher_connect(d, NULL);
    send_jt(d, fd, 2);
    json_decref(tclient_wait_frame(w, "JT", 2, HARNESS_RECV_MS, NULL));

    static const struct {
        const char *name;
        const char *topic, *payload;
        const char *robot_gets;       /* the frame the robot must receive, or NULL */
        const char *ack_topic, *ack;  /* the answer, ignoring "message" */
    } cases[] = {
        {"PING allowed", "e2e/cell/rob1/cmd", "{\"type\":\"PING\",\"id\":\"m1\"}", "PING,1",
         "e2e/cell/rob1/ack",
         "{\"class\":\"ACK\",\"id\":\"m1\",\"robot\":\"rob1\",\"type\":\"PING\",\"seq\":1,"
         "\"status\":\"OK\"}"},
        {"SETDO with fields, robot named", "e2e/cell/rob1/cmd",
         "{\"robot\":\"rob1\",\"type\":\"SETDO\",\"fields\":{\"name\":\"doGrip\",\"value\":1},"
         "\"id\":7}", "SETDO,2,doGrip,1", "e2e/cell/rob1/ack",
         "{\"class\":\"ACK\",\"id\":7,\"robot\":\"rob1\",\"type\":\"SETDO\",\"seq\":2,"
         "\"status\":\"OK\"}"},
        {"type not in the allowlist", "e2e/cell/rob1/cmd",
         "{\"type\":\"SPEED\",\"fields\":{\"percent\":50},\"id\":3}", NULL, "e2e/cell/rob1/ack",
         "{\"class\":\"ERROR\",\"id\":3,\"code\":\"forbidden\"}"},
        {"robot without mqtt_commands", "e2e/cell/rob2/cmd", "{\"type\":\"PING\",\"id\":4}", NULL,
         "e2e/cell/rob2/ack", "{\"class\":\"ERROR\",\"id\":4,\"code\":\"forbidden\"}"},
        {"unknown robot", "e2e/cell/rob9/cmd", "{\"type\":\"PING\",\"id\":5}", NULL,
         "e2e/cell/rob9/ack", "{\"class\":\"ERROR\",\"id\":5,\"code\":\"unknown_robot\"}"},
        {"robot member names another robot", "e2e/cell/rob1/cmd",
         "{\"robot\":\"rob2\",\"type\":\"PING\",\"id\":6}", NULL, "e2e/cell/rob1/ack",
         "{\"class\":\"ERROR\",\"id\":6,\"code\":\"bad_request\"}"},
        {"not JSON", "e2e/cell/rob1/cmd", "PING", NULL, "e2e/cell/rob1/ack",
         "{\"class\":\"ERROR\",\"code\":\"bad_json\"}"},
        {"unknown type", "e2e/cell/rob1/cmd", "{\"type\":\"FLY\",\"id\":8}", NULL,
         "e2e/cell/rob1/ack", "{\"class\":\"ERROR\",\"id\":8,\"code\":\"unknown_type\"}"},
        {"bad field", "e2e/cell/rob1/cmd",
         "{\"type\":\"SETDO\",\"fields\":{\"name\":\"do,Grip\",\"value\":1},\"id\":9}", NULL,
         "e2e/cell/rob1/ack", "{\"class\":\"ERROR\",\"id\":9,\"code\":\"bad_field\"}"},
    };
    static const char *const ignore_message[] = {"message", NULL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        sub_publish(s, cases[i].topic, cases[i].payload, false);
        if (cases[i].robot_gets) {
            char line[128];
            if (!trobot_read_line(d, fd, line, sizeof line, MQTT_WAIT_MS))
                fail_msg("%s: the robot got no command", cases[i].name);
            assert_string_equal(line, cases[i].robot_gets);
            unsigned seq = 0;
            assert_int_equal(sscanf(line, "%*[A-Z],%u", &seq), 1);
            char ak[64];
            snprintf(ak, sizeof ak, "AK,%zu,%u,OK\n", 10 + i, seq);
            trobot_send(d, fd, ak);
        }
        r = sub_wait(s, &at, cases[i].ack_topic, NULL, MQTT_WAIT_MS);
        j = rx_json(r);
        assert_json_eq(j, cases[i].ack, strcmp(json_str(j, "class"), "ERROR") == 0
                                            ? ignore_message : NULL);
        json_decref(j);
    }
    /* nothing else reached the robot */
    char line[128];
    assert_false(trobot_read_line(d, fd, line, sizeof line, 200));
    sub_close(s);
    daemon_stop(state);
}

/* With access rules, MQTT commands come from principal mqtt: they need its
 * grants, and a non-STOP command is refused with not_in_control (naming the
 * holder) while a connection holds the robot's lease; STOP still goes. */
static void test_commands_lease(void **state)
{
    broker_start(&the_broker, 0);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"PING\",\"SETDO\",\"STOP\"],"
             "\"mqtt_commands\":true}],\"limits\":{\"idle_timeout\":30},"
             "\"mqtt\":{\"host\":\"127.0.0.1\",\"port\":%u,\"prefix\":\"e2e/cell\","
             "\"client_id\":\"rb-e2e\",\"qos\":1},"
             "\"access\":[{\"who\":[\"mqtt\"],\"may\":[\"SETDO\",\"STOP\"]},"
             "{\"who\":[\"anonymous\"],\"may\":[\"watch\",\"control\"]}]}",
             the_broker.port);
    struct daemon *d = daemon_start(state, text);
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/+/ack");
    int fd = trobot_hello(d, "rob1");
    struct tclient *c = tclient_connect(d);
    wait_connected(d, c, true, MQTT_WAIT_MS);
    size_t at = 0;
    const struct rx *r = NULL;
    json_t *j = NULL;
    /* A type mqtt is not granted. Published until answered: the first may
     * come before the bridge has subscribed. */
    for (int tries = 0; tries < 50 && sub_count(s, "e2e/cell/rob1/ack", 0) == 0; tries++) {
        sub_publish(s, "e2e/cell/rob1/cmd", "{\"type\":\"PING\",\"id\":1}", false);
        for (long long until = mono_ms() + 200; mono_ms() < until
             && sub_count(s, "e2e/cell/rob1/ack", 0) == 0;)
            sub_pump(s, SLICE_MS);
    }
    r = sub_wait(s, &at, "e2e/cell/rob1/ack", NULL, MQTT_WAIT_MS);
    j = rx_json(r);
    assert_json_eq(j, "{\"class\":\"ERROR\",\"id\":1,\"code\":\"unauthorized\"}",
                   (const char *const[]){"message", NULL});
    json_decref(j);
    sub_pump(s, 300);               /* answers to repeated PINGs, if any, go past */
    at = s->n;

    /* Nobody holds the lease: an MQTT command goes. */
    char line[128], ak[64];
    unsigned seq = 0;
    sub_publish(s, "e2e/cell/rob1/cmd",
                "{\"type\":\"SETDO\",\"fields\":{\"name\":\"doA\",\"value\":1},\"id\":2}", false);
    assert_true(trobot_read_line(d, fd, line, sizeof line, MQTT_WAIT_MS));
    assert_int_equal(sscanf(line, "SETDO,%u", &seq), 1);
    snprintf(ak, sizeof ak, "AK,1,%u,OK\n", seq);
    trobot_send(d, fd, ak);
    j = rx_json(sub_wait(s, &at, "e2e/cell/rob1/ack", NULL, MQTT_WAIT_MS));
    assert_string_equal(json_str(j, "class"), "ACK");
    json_decref(j);

    /* A connection holds it: refused, naming the holder; STOP still goes. */
    json_decref(tclient_request(c, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "CONTROL", NULL));
    sub_publish(s, "e2e/cell/rob1/cmd",
                "{\"type\":\"SETDO\",\"fields\":{\"name\":\"doA\",\"value\":0},\"id\":3}", false);
    j = rx_json(sub_wait(s, &at, "e2e/cell/rob1/ack", NULL, MQTT_WAIT_MS));
    assert_json_eq(j, "{\"class\":\"ERROR\",\"id\":3,\"code\":\"not_in_control\","
                   "\"holder\":\"anonymous\"}", (const char *const[]){"message", NULL});
    json_decref(j);
    sub_publish(s, "e2e/cell/rob1/cmd", "{\"type\":\"STOP\",\"id\":4}", false);
    assert_true(trobot_read_line(d, fd, line, sizeof line, MQTT_WAIT_MS));
    assert_int_equal(sscanf(line, "STOP,%u", &seq), 1);
    snprintf(ak, sizeof ak, "AK,2,%u,OK\n", seq);
    trobot_send(d, fd, ak);
    j = rx_json(sub_wait(s, &at, "e2e/cell/rob1/ack", NULL, MQTT_WAIT_MS));
    assert_string_equal(json_str(j, "class"), "ACK");
    json_decref(j);

    /* Released: MQTT commands go again. */
    json_decref(tclient_request(c, "{\"cmd\":\"release\",\"robot\":\"rob1\"}", "CONTROL", NULL));
    sub_publish(s, "e2e/cell/rob1/cmd",
                "{\"type\":\"SETDO\",\"fields\":{\"name\":\"doA\",\"value\":0},\"id\":5}", false);
    assert_true(trobot_read_line(d, fd, line, sizeof line, MQTT_WAIT_MS));
    assert_memory_equal(line, "SETDO,", 6);
    sub_close(s);
    daemon_stop(state);
}

/* No robot takes MQTT commands: the bridge does not subscribe, nothing is
 * answered, nothing reaches the robot. */
static void test_commands_not_subscribed(void **state)
{
    broker_start(&the_broker, 0);
    struct daemon *d = bridge_start(state, ROBOTS, "");
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/#");
    int fd = trobot_hello(d, "rob1");
    sub_wait(s, NULL, "e2e/cell/rob1/link", "up", MQTT_WAIT_MS);
    sub_publish(s, "e2e/cell/rob1/cmd", "{\"type\":\"PING\",\"id\":1}", false);
    sub_pump(s, QUIET_MS);
    assert_int_equal(sub_count(s, "e2e/cell/rob1/ack", 0), 0);
    char line[128];
    assert_false(trobot_read_line(d, fd, line, sizeof line, 100));
    sub_close(s);
    daemon_stop(state);
}

/* A broker that wants a user and password: the password comes from
 * mqtt.password_file (first line, mode 0600), the bridge connects, and the
 * password is nowhere in its log; a wrong one is refused and retried. */
static void test_password_file(void **state)
{
    char users[] = "/tmp/rb-e2e-users-XXXXXX", pw[] = "/tmp/rb-e2e-pw-XXXXXX";
    int fd = mkstemp(users);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "bridge:Pa55-w0rd\n", 17), 17);
    close(fd);
    /* mosquitto_passwd -U hashes the plain passwords in place */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "mosquitto_passwd -U %s", users);
    assert_int_equal(system(cmd), 0);
    chmod(users, 0644);     /* the broker may read it as its own user */
    snprintf(the_broker.extra, sizeof the_broker.extra,
             "allow_anonymous false\npassword_file %s\n", users);
    broker_start(&the_broker, 0);
    fd = mkstemp(pw);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "Pa55-w0rd\nnot this line\n", 24), 24);
    close(fd);
    chmod(pw, 0600);
    char extra[256];
    snprintf(extra, sizeof extra, "\"username\":\"bridge\",\"password_file\":\"%s\"", pw);
    struct daemon *d = bridge_start(state, ROBOTS, extra);
    if (!daemon_wait_log(d, "mqtt: connected to", MQTT_WAIT_MS)) {
        daemon_print_log_tail(d);
        fail_msg("the bridge did not connect with the password from %s", pw);
    }
    daemon_stop(state);
    /* the wrong password: refused, said so, retried */
    fd = open(pw, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "wrong\n", 6), 6);
    close(fd);
    d = bridge_start(state, ROBOTS, extra);
    if (!daemon_wait_log(d, "mqtt: cannot connect to 127.0.0.1", MQTT_WAIT_MS)) {
        daemon_print_log_tail(d);
        fail_msg("a wrong password was not refused");
    }
    assert_true(daemon_log_has(d, "refused: "));
    assert_false(daemon_log_has(d, "Pa55-w0rd"));
    assert_false(daemon_log_has(d, "wrong\n"));
    daemon_stop(state);
    unlink(pw);
    unlink(users);
}

/* "protocol": "3.1.1" for a broker without MQTT 5: it publishes as with 5
 * and says at start that the broker must bound message sizes, since it
 * cannot: a command over MQTT_PACKET_MAX does reach it (and is refused). */
static void test_protocol_311(void **state)
{
    broker_start(&the_broker, 0);
    struct daemon *d = bridge_start(state, "[{\"name\":\"rob1\",\"commands\":[\"PING\"],"
                                           "\"mqtt_commands\":true}]",
                                    "\"protocol\":\"3.1.1\"");
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/#");
    sub_wait(s, NULL, "e2e/cell/bridge/status", "online", MQTT_WAIT_MS);
    trobot_hello(d, "rob1");
    sub_wait(s, NULL, "e2e/cell/rob1/link", "up", MQTT_WAIT_MS);
    assert_true(daemon_log_has(d, "with MQTT 3.1.1 as rb-e2e"));
    assert_true(daemon_log_has(d, "limit the broker's max_packet_size"));
    size_t big = 2 * MQTT_PACKET_MAX;
    char *cmd = malloc(big);
    assert_non_null(cmd);
    memset(cmd, ' ', big);
    cmd[0] = '{';
    cmd[big - 1] = '}';
    assert_int_equal(mosquitto_publish(s->m, NULL, "e2e/cell/rob1/cmd", (int)big, cmd, 1, false),
                     MOSQ_ERR_SUCCESS);
    free(cmd);
    json_t *j = rx_json(sub_wait(s, NULL, "e2e/cell/rob1/ack", NULL, MQTT_WAIT_MS));
    assert_json_eq(j, "{\"class\":\"ERROR\",\"code\":\"bad_request\"}",
                   (const char *const[]){"message", NULL});
    json_decref(j);
    sub_close(s);
    daemon_stop(state);
}

/* How often the daemon's log has this text so far. */
static unsigned log_count(struct daemon *d, const char *needle)
{
    daemon_pump(d);
    unsigned n = 0;
    for (const char *p = d->log; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Two bridges on one host with the same configuration apart from their
 * listeners, and no client_id: their default ids differ, so neither takes
 * the other's session. Each connects once and stays connected (before, both
 * used "rapidbridge-<host>" and the broker dropped one at every connect). */
static void test_two_bridges_default_id(void **state)
{
    broker_start(&the_broker, 0);
    char text[512];
    snprintf(text, sizeof text,
             "{\"robots\":[{\"name\":\"rob1\"}],\"mqtt\":{\"host\":\"127.0.0.1\","
             "\"port\":%u,\"prefix\":\"e2e/cell\"}}", the_broker.port);
    struct daemon *a = daemon_start(state, text);
    struct daemon *b = daemon_start(&second_bridge, text);
    assert_true(daemon_wait_log(a, "mqtt: connected to", MQTT_WAIT_MS));
    assert_true(daemon_wait_log(b, "mqtt: connected to", MQTT_WAIT_MS));
    long long deadline = mono_ms() + TWO_BRIDGES_MS;
    while (mono_ms() < deadline) {
        daemon_sleep(a, 100);
        daemon_pump(b);
        if (log_count(a, "mqtt: connected to") > 1 || log_count(b, "mqtt: connected to") > 1)
            break;
    }
    for (int i = 0; i < 2; i++) {
        struct daemon *d = i ? b : a;
        unsigned connects = log_count(d, "mqtt: connected to");
        unsigned losses = log_count(d, "mqtt: connection to");
        if (connects != 1 || losses != 0) {
            daemon_print_log_tail(d);
            fail_msg("bridge %d connected %u times and lost the broker %u times in %d ms", i + 1,
                     connects, losses, TWO_BRIDGES_MS);
        }
    }
    /* the ids are "rapidbridge-<host>-<robot port>-<json port>" */
    char id[64];
    snprintf(id, sizeof id, "-%u-%u\n", a->robot_port, a->client_port);
    assert_true(daemon_log_has(a, id));
    snprintf(id, sizeof id, "-%u-%u\n", b->robot_port, b->client_port);
    assert_true(daemon_log_has(b, id));
    daemon_stop(&second_bridge);
    daemon_stop(state);
}

/* Two bridges given the same client_id take the session from each other at
 * every connect. A CONNACK followed by being dropped must not reset the
 * back-off: both back off (0.5, 1, 2, 4 s ...) instead of reconnecting
 * every 0.5 s: about 8 connects in 10 s rather than 40. */
static void test_same_id_backs_off(void **state)
{
    broker_start(&the_broker, 0);
    char text[512];
    snprintf(text, sizeof text,
             "{\"robots\":[{\"name\":\"rob1\"}],\"mqtt\":{\"host\":\"127.0.0.1\","
             "\"port\":%u,\"prefix\":\"e2e/cell\",\"client_id\":\"rb-e2e-twice\"}}",
             the_broker.port);
    struct daemon *a = daemon_start(state, text);
    struct daemon *b = daemon_start(&second_bridge, text);
    long long deadline = mono_ms() + SAME_ID_MS;
    while (mono_ms() < deadline) {
        daemon_sleep(a, 100);
        daemon_pump(b);
    }
    unsigned connects = log_count(a, "mqtt: connected to") + log_count(b, "mqtt: connected to");
    print_message("%u connects in %d ms\n", connects, SAME_ID_MS);
    if (connects > SAME_ID_CONNECTS_MAX) {
        daemon_print_log_tail(a);
        fail_msg("%u connects of two bridges with one id in %d ms, more than %d", connects,
                 SAME_ID_MS, SAME_ID_CONNECTS_MAX);
    }
    assert_true(connects >= 3);              /* they did take turns */
    daemon_stop(&second_bridge);
    daemon_stop(state);
}

/* The peak resident memory of a process, in KiB (VmHWM). */
static long peak_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    assert_true(kib > 0);
    return kib;
}

/* A command far larger than MQTT_CMD_MAX never enters the daemon's memory:
 * its CONNECT tells the broker the largest packet it takes (MQTT 5), so the
 * broker drops it. The next command is answered as usual. */
static void test_oversized_command(void **state)
{
    broker_start(&the_broker, 0);
    struct daemon *d = bridge_start(state, "[{\"name\":\"rob1\",\"commands\":[\"PING\"],"
                                           "\"mqtt_commands\":true}]", "\"qos\":1");
    struct sub *s = sub_open(d, the_broker.port, "e2e/cell/rob1/ack");
    assert_true(daemon_wait_log(d, "mqtt: connected to", MQTT_WAIT_MS));
    size_t at = 0;
    /* a first command, so that everything a command needs has been used */
    sub_publish(s, "e2e/cell/rob1/cmd", "{\"type\":\"PING\",\"id\":1}", false);
    sub_wait(s, &at, "e2e/cell/rob1/ack", NULL, MQTT_WAIT_MS);
    long before = peak_rss_kib(d->pid);

    char *huge = malloc(HUGE_CMD_BYTES);
    assert_non_null(huge);
    memset(huge, ' ', HUGE_CMD_BYTES);
    memcpy(huge, "{\"type\":\"PING\",\"id\":2,\"pad\":\"", 29);
    memcpy(huge + HUGE_CMD_BYTES - 2, "\"}", 2);
    int published = s->published;
    assert_int_equal(mosquitto_publish(s->m, NULL, "e2e/cell/rob1/cmd", (int)HUGE_CMD_BYTES, huge,
                                       1, false), MOSQ_ERR_SUCCESS);
    free(huge);
    long long deadline = mono_ms() + HUGE_SEND_MS;
    while (s->published == published && mono_ms() < deadline)
        sub_pump(s, SLICE_MS);
    assert_true(s->published > published);
    /* Commands on one topic are delivered in order: when this one is
     * answered, the large one has been delivered or dropped. */
    sub_publish(s, "e2e/cell/rob1/cmd", "{\"type\":\"PING\",\"id\":3}", false);
    unsigned others = 0;
    for (;;) {
        json_t *j = rx_json(sub_wait(s, &at, "e2e/cell/rob1/ack", NULL, MQTT_WAIT_MS));
        json_t *id = json_object_get(j, "id");
        bool last = json_is_integer(id) && json_integer_value(id) == 3;
        json_decref(j);
        if (last)
            break;
        others++;
    }
    long after = peak_rss_kib(d->pid);
    print_message("peak RSS %ld KiB before, %ld KiB after a %u-byte command; %u other answer(s)\n",
                  before, after, HUGE_CMD_BYTES, others);
    assert_true(after - before <= RSS_GROWTH_MAX_KIB);
    assert_int_equal(others, 0);             /* the large one never reached the bridge */
    sub_close(s);
    daemon_stop(state);
}

/* The longest prefix the configuration takes: every topic is whole, the
 * ack of a command on the longest robot level answered comes on exactly
 * <prefix>/<level>/ack. */
static void test_long_prefix(void **state)
{
    broker_start(&the_broker, 0);
    char prefix[MQTT_PREFIX_MAX + 1], level[MQTT_LEVEL_MAX + 1];
    for (size_t i = 0; i < MQTT_PREFIX_MAX; i++)
        prefix[i] = i % 16 == 15 ? '/' : (char)('a' + i % 26);
    prefix[MQTT_PREFIX_MAX] = '\0';
    if (prefix[MQTT_PREFIX_MAX - 1] == '/')
        prefix[MQTT_PREFIX_MAX - 1] = 'z';
    memset(level, 'r', MQTT_LEVEL_MAX);
    level[MQTT_LEVEL_MAX] = '\0';
    char text[1024];
    snprintf(text, sizeof text,
             "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"PING\"],\"mqtt_commands\":true}],"
             "\"mqtt\":{\"host\":\"127.0.0.1\",\"port\":%u,\"prefix\":\"%s\"}}",
             the_broker.port, prefix);
    struct daemon *d = daemon_start(state, text);
    struct sub *s = sub_open(d, the_broker.port, "#");
    char topic[1024];
    snprintf(topic, sizeof topic, "%s/bridge/status", prefix);
    sub_wait(s, NULL, topic, "online", MQTT_WAIT_MS);
    snprintf(topic, sizeof topic, "%s/rob1/link", prefix);
    sub_wait(s, NULL, topic, "down", MQTT_WAIT_MS);
    snprintf(topic, sizeof topic, "%s/%s/cmd", prefix, level);
    sub_publish(s, topic, "{\"type\":\"PING\",\"id\":1}", false);
    snprintf(topic, sizeof topic, "%s/%s/ack", prefix, level);
    json_t *j = rx_json(sub_wait(s, NULL, topic, NULL, MQTT_WAIT_MS));
    assert_json_eq(j, "{\"class\":\"ERROR\",\"id\":1,\"code\":\"unknown_robot\"}",
                   (const char *const[]){"message", NULL});
    json_decref(j);
    snprintf(topic, sizeof topic, "%s/rob1/cmd", prefix);
    sub_publish(s, topic, "{\"type\":\"PING\",\"id\":2}", false);
    snprintf(topic, sizeof topic, "%s/rob1/ack", prefix);
    j = rx_json(sub_wait(s, NULL, topic, NULL, MQTT_WAIT_MS));
    assert_json_eq(j, "{\"class\":\"ERROR\",\"id\":2,\"code\":\"robot_offline\"}",
                   (const char *const[]){"message", NULL});
    json_decref(j);
    /* every message went to a topic under the prefix */
    for (size_t i = 0; i < s->n; i++)
        if (strncmp(s->rx[i].topic, prefix, MQTT_PREFIX_MAX) != 0
            || s->rx[i].topic[MQTT_PREFIX_MAX] != '/')
            fail_msg("a message on %s", s->rx[i].topic);
    sub_close(s);
    daemon_stop(state);
}

int main(void)
{
    mosquitto_lib_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_topics_and_payloads, mqtt_teardown),
        cmocka_unit_test_teardown(test_retained_for_late_subscriber, mqtt_teardown),
        cmocka_unit_test_teardown(test_rate_cap, mqtt_teardown),
        cmocka_unit_test_teardown(test_last_will, mqtt_teardown),
        cmocka_unit_test_teardown(test_offline_on_shutdown, mqtt_teardown),
        cmocka_unit_test_teardown(test_broker_restart, mqtt_teardown),
        cmocka_unit_test_teardown(test_broker_stopped, mqtt_teardown),
        cmocka_unit_test_teardown(test_commands, mqtt_teardown),
        cmocka_unit_test_teardown(test_commands_not_subscribed, mqtt_teardown),
        cmocka_unit_test_teardown(test_commands_lease, mqtt_teardown),
        cmocka_unit_test_teardown(test_reload_removes_robot, mqtt_teardown),
        cmocka_unit_test_teardown(test_long_prefix, mqtt_teardown),
        cmocka_unit_test_teardown(test_oversized_command, mqtt_teardown),
        cmocka_unit_test_teardown(test_two_bridges_default_id, mqtt_teardown),
        cmocka_unit_test_teardown(test_same_id_backs_off, mqtt_teardown),
        cmocka_unit_test_teardown(test_password_file, mqtt_teardown),
        cmocka_unit_test_teardown(test_protocol_311, mqtt_teardown),
    };
    const char *only = getenv("RB_E2E_FILTER");    /* e.g. test_password_file, or test_two* */
    if (only && *only)
        cmocka_set_test_filter(only);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    mosquitto_lib_cleanup();
    return rc;
}
