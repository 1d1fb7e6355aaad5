/* e2e_reload.c - SIGHUP reloads the configuration file of the running
 * daemon: unchanged robots keep their link, allowlists apply at once, added
 * robots can link, removed ones are dropped, a bad file changes nothing. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS 3000

struct reload_case {
    const char *name;
    const char *before;      /* configuration at start */
    const char *after;       /* written before SIGHUP */
    const char *log_line;    /* the daemon must log this */
    bool rob1_stays_up;      /* rob1's link survives the reload */
    const char *send_type;   /* a send to rob1 after the reload ... */
    const char *send_fields;
    const char *send_code;   /* ... gets this ERROR code, or NULL: reaches the robot */
    const char *rob2_hello;  /* NULL, or "up"/"refused": what a HI of rob2 gets after */
};

#define ROB1(cmds) "{\"name\":\"rob1\",\"commands\":" cmds "}"

static const struct reload_case cases[] = {
    {"allowlist grows: link stays, SPEED now allowed",
     "{\"robots\":[" ROB1("[\"PING\"]") "]}", "{\"robots\":[" ROB1("[\"PING\",\"SPEED\"]") "]}",
     "robot rob1 now allows commands: PING SPEED", true, "SPEED", "{\"percent\":50}", NULL, NULL},
    {"allowlist shrinks: link stays, SPEED now forbidden",
     "{\"robots\":[" ROB1("[\"PING\",\"SPEED\"]") "]}", "{\"robots\":[" ROB1("[\"PING\"]") "]}",
     "robot rob1 now allows commands: PING", true, "SPEED", "{\"percent\":50}", "forbidden", NULL},
    {"robot added: rob1 stays, rob2 can link",
     "{\"robots\":[" ROB1("[\"PING\"]") "]}",
     "{\"robots\":[{\"name\":\"rob2\"}," ROB1("[\"PING\"]") "]}", "robot rob2 added", true, "PING",
     NULL, NULL, "up"},
    {"robot removed: its link goes down",
     "{\"robots\":[" ROB1("[\"PING\"]") ",{\"name\":\"rob2\"}]}", "{\"robots\":[{\"name\":\"rob2\"}]}",
     "robot rob1 removed", false, "PING", NULL, "unknown_robot", "up"},
    {"peer changed: the link from the old address is closed",
     "{\"robots\":[" ROB1("[\"PING\"]") "]}",
     "{\"robots\":[{\"name\":\"rob1\",\"peer\":\"127.0.0.2\",\"commands\":[\"PING\"]}]}",
     "robot rob1 must now connect from 127.0.0.2", false, "PING", NULL, "robot_offline", NULL},
    {"file with an error: nothing changes",
     "{\"robots\":[" ROB1("[\"PING\"]") "]}", "{\"robots\":[" ROB1("[\"PING\"") "]}",
     "reload refused, the running configuration stays", true, "SPEED", "{\"percent\":5}",
     "forbidden", "refused"},
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Start the daemon on a configuration file of our own, which the test
 * rewrites before SIGHUP (the harness removes its own file after start). */
static struct daemon *start_with_file(void **state, const char *text, char path[27])
{
    strcpy(path, "/tmp/rb-reload-XXXXXX.json");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, text);
    const char *extra[] = {"-c", path, NULL};
    return daemon_start_args(state, text, extra);
}

/* A watcher of rob2's JT, once rob2 is linked; returns rob2's socket. */
static int watch_rob2(struct daemon *d, struct tclient **w)
{
    *w = tclient_connect(d);
    json_decref(tclient_request(*w, "{\"cmd\":\"watch\",\"robots\":[\"rob2\"],\"types\":[\"JT\"]}",
                                "WATCH", NULL));
    int rob2 = trobot_hello(d, "rob2");
    json_decref(tclient_wait_class(*w, "LINK", WAIT_MS, NULL));
    return rob2;
}

static void run_case(void **state, const struct reload_case *t)
{
    char path[27];
    struct daemon *d = start_with_file(state, t->before, path);

    struct tclient *w = tclient_connect(d);
    json_decref(tclient_request(w, "{\"cmd\":\"watch\",\"types\":[\"HI\"]}", "WATCH", NULL));
    int rob1 = trobot_hello(d, "rob1");
    json_t *up = tclient_wait_class(w, "LINK", WAIT_MS, NULL);
    assert_string_equal(json_str(up, "state"), "up");
    json_decref(up);
    json_decref(tclient_wait_class(w, "FRAME", WAIT_MS, NULL)); /* its HI */

    write_file(path, t->after);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    if (!daemon_wait_log(d, t->log_line, WAIT_MS))
        fail_msg("%s: log line \"%s\" missing", t->name, t->log_line);
    trobot_send(d, rob1, "HB,2\n");

    /* A LINK down for rob1 must come exactly when the case says so. */
    json_t *link = tclient_try_recv(w, HARNESS_QUIET_MS);
    if (t->rob1_stays_up) {
        if (link)
            fail_msg("%s: unexpected %s", t->name, json_text(link));
        json_t *robots = tclient_request(w, "{\"cmd\":\"robots\"}", "ROBOTS", NULL);
        json_t *r0 = NULL, *e;
        size_t i;
        json_array_foreach(json_object_get(robots, "robots"), i, e)
            if (strcmp(json_str(e, "name"), "rob1") == 0)
                r0 = e;
        assert_non_null(r0);
        assert_true(json_is_true(json_object_get(r0, "connected")));
        json_decref(robots);
    } else {
        if (!link)
            fail_msg("%s: rob1's link did not go down", t->name);
        assert_string_equal(json_str(link, "class"), "LINK");
        assert_string_equal(json_str(link, "state"), "down");
        json_decref(link);
        assert_true(fd_wait_closed(d, rob1, WAIT_MS));
    }

    char req[256];
    snprintf(req, sizeof req,
             "{\"cmd\":\"send\",\"robot\":\"rob1\",\"type\":\"%s\",\"fields\":%s,\"id\":9}",
             t->send_type, t->send_fields ? t->send_fields : "{}");
    tclient_send(w, req);
    if (t->send_code) {
        json_t *e = tclient_wait_class(w, "ERROR", WAIT_MS, NULL);
        assert_string_equal(json_str(e, "code"), t->send_code);
        json_decref(e);
    } else {
        char want[64], got[128] = "";
        snprintf(want, sizeof want, "%s,1", t->send_type);
        ssize_t n = 0;
        for (int tries = 0; tries < 100 && n <= 0; tries++) {
            n = recv(rob1, got, sizeof got - 1, MSG_DONTWAIT);
            if (n <= 0)
                daemon_sleep(d, 20);
        }
        assert_true(n > 0);
        got[n] = '\0';
        if (strncmp(got, want, strlen(want)) != 0)
            fail_msg("%s: robot got \"%s\", want \"%s...\"", t->name, got, want);
    }

    if (t->rob2_hello) {
        int rob2 = trobot_hello(d, "rob2");
        if (strcmp(t->rob2_hello, "up") == 0) {
            json_t *l2 = tclient_wait_class(w, "LINK", WAIT_MS, NULL);
            assert_string_equal(json_str(l2, "robot"), "rob2");
            assert_string_equal(json_str(l2, "state"), "up");
            json_decref(l2);
        } else {
            assert_true(fd_wait_closed(d, rob2, WAIT_MS));
        }
    }
    daemon_stop(state);
    unlink(path);
}

static void test_reload_cases(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        run_case(state, &cases[i]);
    }
}

/* Watch filters follow robots by name when indices move. */
static void test_reload_keeps_watch_filters(void **state)
{
    char path[27];
    struct daemon *d =
        start_with_file(state, "{\"robots\":[{\"name\":\"rob1\"},{\"name\":\"rob2\"}]}", path);
    struct tclient *w;
    int rob2 = watch_rob2(d, &w);

    /* rob1 goes away: rob2 moves from index 1 to index 0. */
    write_file(path, "{\"robots\":[{\"name\":\"rob2\"},{\"name\":\"rob3\"}]}");
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(daemon_wait_log(d, "configuration", WAIT_MS) &&
                daemon_wait_log(d, "in force", WAIT_MS));
    int rob3 = trobot_hello(d, "rob3");
    trobot_send(d, rob3, "JT,2,9,9,9,9,9,9\n");
    trobot_send(d, rob2, "JT,5,1,2,3,4,5,6\n");
    json_t *f = tclient_wait_class(w, "FRAME", WAIT_MS, NULL);
    assert_string_equal(json_str(f, "robot"), "rob2");
    assert_int_equal(json_int_member(f, "seq"), 5);
    json_decref(f);
    daemon_stop(state);
    unlink(path);
}

/* A robot that moves to a new index and loses its link for a new peer in
 * the same reload: its watchers still get the LINK down. */
static void test_reload_moved_robot_link_down(void **state)
{
    char path[27];
    struct daemon *d =
        start_with_file(state, "{\"robots\":[{\"name\":\"rob1\"},{\"name\":\"rob2\"}]}", path);
    struct tclient *w;
    int rob2 = watch_rob2(d, &w);
    write_file(path, "{\"robots\":[{\"name\":\"rob2\",\"peer\":\"127.0.0.2\"}]}");
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    json_t *down = tclient_wait_class(w, "LINK", WAIT_MS, NULL);
    assert_string_equal(json_str(down, "robot"), "rob2");
    assert_string_equal(json_str(down, "state"), "down");
    json_decref(down);
    assert_true(fd_wait_closed(d, rob2, WAIT_MS));
    daemon_stop(state);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reload_cases, daemon_teardown),
        cmocka_unit_test_teardown(test_reload_keeps_watch_filters, daemon_teardown),
        cmocka_unit_test_teardown(test_reload_moved_robot_link_down, daemon_teardown),
    };
    return cmocka_run_group_tests_name("e2e_reload", tests, NULL, NULL);
}
