/* e2e_replay.c - recorded robot sessions as regression tests.
 *
 * For every NAME.log in the replay folder (tests/replay, or $RB_REPLAY_DIR),
 * one test starts the daemon (configured by NAME.json when present, else
 * with the robots the log names), subscribes a watcher to everything, and
 * replays the log with `robot-sim --replay NAME.log --speed 0 --once`, one
 * robot after the other in the order the log names them. The watcher's
 * stream up to each robot's LINK down, without the volatile members, must
 * equal NAME.golden line by line (one JSON object per line; members compared
 * as JSON values, so their order does not matter). The first difference is
 * printed with both lines.
 *
 * RB_REPLAY_UPDATE=1 writes NAME.golden from what the daemon emitted
 * instead of comparing (`make replay-update`); review the diff before
 * committing it. See tests/replay/README.md.
 */
#include "harness.h"
#include "render.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define REPLAY_DIR_DEFAULT "tests/replay"
#define REPLAY_LOGS_MAX 256
#define REPLAY_ROBOTS_MAX 8       /* robots in one log, replayed one after the other */
#define REPLAY_NAME_MAX 33        /* a RAPID identifier (32) and its NUL */
#define REPLAY_PATH_MAX 4096
#define REPLAY_CONFIG_MAX 65536   /* NAME.json */
#define REPLAY_ROBOT_MS 20000     /* longest wait for the next object while a log plays */
#define SIM_EXIT_MS 5000          /* LINK down until the simulator has exited */
#define REPLAY_MSGS_MAX 200000    /* stream objects of one log */

/* Members that differ from run to run: the receive time, the robot's
 * ephemeral TCP port, the time of the last link change. */
static const char *const VOLATILE[] = {"time", "peer", "since", NULL};

struct replay_case {
    char name[256];               /* the log's file name, e.g. "motion.log" */
    struct daemon *d;             /* the cmocka state while the test runs */
};

static const char *replay_dir(void)
{
    const char *dir = getenv("RB_REPLAY_DIR");
    return dir != NULL && *dir != '\0' ? dir : REPLAY_DIR_DEFAULT;
}

static bool updating(void)
{
    const char *u = getenv("RB_REPLAY_UPDATE");
    return u != NULL && strcmp(u, "1") == 0;
}

/* dir/NAME with the ".log" suffix replaced by ext. */
static void sibling(const char *log_name, const char *ext, char *out, size_t n)
{
    size_t base = strlen(log_name) - strlen(".log");
    int w = snprintf(out, n, "%s/%.*s%s", replay_dir(), (int)base, log_name, ext);
    assert_true(w > 0 && (size_t)w < n);
}

/* --- the log's robots ------------------------------------------------------- */

static bool ident_ok(const char *p, size_t n)
{
    if (n == 0 || n >= REPLAY_NAME_MAX ||
        !((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
              (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
            return false;
    return true;
}

/* The robot column of one log line, as robot-sim reads it: after the time, a
 * word that is an identifier and has more text after it. A log without the
 * column is played whatever the name: it is rob1 here. */
static void line_robot(const char *line, char robot[REPLAY_NAME_MAX])
{
    snprintf(robot, REPLAY_NAME_MAX, "rob1");
    const char *p = line + strcspn(line, " \t");
    p += strspn(p, " \t");
    size_t word = strcspn(p, " \t\r\n");
    const char *rest = p + word;
    rest += strspn(rest, " \t");
    if (*rest != '\0' && *rest != '\r' && *rest != '\n' && ident_ok(p, word))
        snprintf(robot, REPLAY_NAME_MAX, "%.*s", (int)word, p);
}

/* Distinct robots of the log in the order of their first frame. */
static size_t log_robots(const char *path, char robots[REPLAY_ROBOTS_MAX][REPLAY_NAME_MAX])
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("%s: %s", path, strerror(errno));
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\r')
            continue;
        char r[REPLAY_NAME_MAX];
        line_robot(line, r);
        size_t i = 0;
        while (i < n && strcmp(robots[i], r) != 0)
            i++;
        if (i < n)
            continue;
        if (n == REPLAY_ROBOTS_MAX)
            fail_msg("%s names more than %d robots", path, REPLAY_ROBOTS_MAX);
        memcpy(robots[n++], r, REPLAY_NAME_MAX);
    }
    free(line);
    fclose(f);
    if (n == 0)
        fail_msg("%s has no frames", path);
    return n;
}

/* NAME.json when it exists, else the robots of the log with defaults.
 * Caller frees. */
static char *replay_config(const char *log_name, char robots[][REPLAY_NAME_MAX], size_t nrobots)
{
    char path[REPLAY_PATH_MAX];
    sibling(log_name, ".json", path, sizeof path);
    char *text = calloc(1, REPLAY_CONFIG_MAX);
    assert_non_null(text);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(text, 1, REPLAY_CONFIG_MAX - 1, f);
        bool whole = feof(f);
        fclose(f);
        if (!whole)
            fail_msg("%s: longer than %d bytes", path, REPLAY_CONFIG_MAX - 1);
        text[n] = '\0';
        return text;
    }
    size_t len = (size_t)snprintf(text, REPLAY_CONFIG_MAX, "{\"robots\":[");
    for (size_t i = 0; i < nrobots; i++)
        len += (size_t)snprintf(text + len, REPLAY_CONFIG_MAX - len, "%s{\"name\":\"%s\"}",
                                i ? "," : "", robots[i]);
    snprintf(text + len, REPLAY_CONFIG_MAX - len, "]}");
    return text;
}

/* --- the stream --------------------------------------------------------------- */

static json_t *without_volatile(const json_t *m)
{
    json_t *c = json_deep_copy(m);
    assert_non_null(c);
    for (size_t i = 0; VOLATILE[i] != NULL; i++)
        json_object_del(c, VOLATILE[i]);
    return c;
}

/* Replay one robot's frames; append the watcher's stream up to and including
 * its LINK down to out. */
static void replay_robot(struct daemon *d, struct tclient *w, const char *log_path,
                         const char *robot, json_t *out)
{
    pid_t sim = sim_start(d, (const char *const[]){"--replay", log_path, "--speed", "0", "--name",
                                                   robot, "--once", NULL});
    bool down = false;
    while (!down) {
        json_t *m = tclient_try_recv(w, REPLAY_ROBOT_MS);
        if (m == NULL) {
            daemon_print_log_tail(d);
            fail_msg("replay of %s for %s: no LINK down within %d ms (%s, %zu objects so far)",
                     log_path, robot, REPLAY_ROBOT_MS, w->eof ? "watcher closed" : "timeout",
                     json_array_size(out));
        }
        const char *robot_of = json_str(m, "robot");
        const char *st = json_str(m, "state");
        down = strcmp(json_str(m, "class"), "LINK") == 0 && robot_of != NULL &&
               strcmp(robot_of, robot) == 0 && st != NULL && strcmp(st, "down") == 0;
        json_array_append_new(out, without_volatile(m));
        json_decref(m);
        if (json_array_size(out) > REPLAY_MSGS_MAX)
            fail_msg("replay of %s: more than %d stream objects", log_path, REPLAY_MSGS_MAX);
    }
    int status = sim_wait(d, sim, SIM_EXIT_MS);
    if (status != 0)
        fail_msg("robot-sim --replay %s --name %s exited with %d", log_path, robot, status);
}

/* --- goldens ----------------------------------------------------------------- */

/* As the daemon writes it (15 significant digits), so a golden line reads
 * like the daemon's own output. Caller frees. */
static char *golden_text(const json_t *m)
{
    char *t = json_dumps(m, RB_JSON_FLAGS);
    assert_non_null(t);
    return t;
}

static void golden_write(const char *path, const json_t *got)
{
    char tmp[REPLAY_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        fail_msg("%s: %s", tmp, strerror(errno));
    size_t i;
    json_t *m;
    json_array_foreach(got, i, m)
    {
        char *t = golden_text(m);
        fprintf(f, "%s\n", t);
        free(t);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        fail_msg("writing %s: %s", path, strerror(errno));
    print_message("wrote %s (%zu lines)\n", path, json_array_size(got));
}

static void mismatch(const char *path, size_t lineno, const char *want, const json_t *got,
                     const char *prev)
{
    char *g = got != NULL ? golden_text(got) : NULL;
    print_error("%s:%zu: first difference (after %zu equal lines)\n"
                "  previous: %s\n"
                "  expected: %s\n"
                "  got:      %s\n"
                "(run `make replay-update` if the change is intended, and review the diff)\n",
                path, lineno, lineno - 1, prev != NULL ? prev : "(none)",
                want != NULL ? want : "(end of the golden file)",
                g != NULL ? g : "(end of the stream: the link went down)");
    free(g);
    fail_msg("%s differs at line %zu", path, lineno);
}

static void golden_compare(const char *path, const json_t *got)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("%s: %s (new log? run `make replay-update` and review the golden file)", path,
                 strerror(errno));
    char *line = NULL, *prev = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        lineno++;
        json_t *g = json_array_get(got, lineno - 1);
        json_error_t err;
        json_t *want = json_loads(line, 0, &err);
        if (want == NULL)
            fail_msg("%s:%zu: not JSON: %s", path, lineno, err.text);
        bool eq = g != NULL && json_equal(want, g);
        json_decref(want);
        if (!eq)
            mismatch(path, lineno, line, g, prev);
        free(prev);
        prev = strdup(line);
    }
    if (json_array_size(got) > lineno)
        mismatch(path, lineno + 1, NULL, json_array_get(got, lineno), prev);
    free(prev);
    free(line);
    fclose(f);
}

/* --- the test ---------------------------------------------------------------------- */

static void test_replay(void **state)
{
    struct replay_case *rc = *state;
    /* The simulator gets an absolute path: its working directory is not ours
     * to rely on. */
    char cwd[REPLAY_PATH_MAX / 2] = "";
    if (replay_dir()[0] != '/')
        assert_non_null(getcwd(cwd, sizeof cwd));
    char log_path[REPLAY_PATH_MAX], golden[REPLAY_PATH_MAX];
    int w = snprintf(log_path, sizeof log_path, "%s%s%s/%s", cwd, *cwd ? "/" : "", replay_dir(),
                     rc->name);
    assert_true(w > 0 && (size_t)w < sizeof log_path);
    sibling(rc->name, ".golden", golden, sizeof golden);

    char robots[REPLAY_ROBOTS_MAX][REPLAY_NAME_MAX];
    size_t nrobots = log_robots(log_path, robots);
    char *config = replay_config(rc->name, robots, nrobots);
    struct daemon *d = daemon_start((void **)&rc->d, config);
    free(config);
    struct tclient *watcher = tclient_connect(d);
    json_decref(tclient_request(watcher, "{\"cmd\":\"watch\"}", "WATCH", NULL));

    json_t *got = json_array();
    for (size_t i = 0; i < nrobots; i++)
        replay_robot(d, watcher, log_path, robots[i], got);
    daemon_stop((void **)&rc->d);

    if (updating())
        golden_write(golden, got);
    else
        golden_compare(golden, got);
    json_decref(got);
}

static int replay_teardown(void **state)
{
    struct replay_case *rc = *state;
    return daemon_teardown((void **)&rc->d);
}

static void test_no_logs(void **state)
{
    (void)state;
    fail_msg("no *.log files in %s (set RB_REPLAY_DIR or run from the repository root)",
             replay_dir());
}

static int is_log(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && e->d_name[0] != '.' && strcmp(e->d_name + n - 4, ".log") == 0;
}

int main(void)
{
    struct dirent **list = NULL;
    int n = scandir(replay_dir(), &list, is_log, alphasort);
    if (n < 0)
        n = 0;
    if (n > REPLAY_LOGS_MAX) {
        fprintf(stderr, "more than %d logs in %s\n", REPLAY_LOGS_MAX, replay_dir());
        return 1;
    }
    struct replay_case *cases = calloc(REPLAY_LOGS_MAX, sizeof *cases);
    struct CMUnitTest *tests = calloc(REPLAY_LOGS_MAX, sizeof *tests);
    if (cases == NULL || tests == NULL)
        return 1;
    size_t ntests = 0;
    for (int i = 0; i < n; i++) {
        snprintf(cases[i].name, sizeof cases[i].name, "%s", list[i]->d_name);
        tests[ntests++] = (struct CMUnitTest){.name = cases[i].name,
                                              .test_func = test_replay,
                                              .teardown_func = replay_teardown,
                                              .initial_state = &cases[i]};
        free(list[i]);
    }
    free(list);
    if (ntests == 0)
        tests[ntests++] = (struct CMUnitTest){.name = "replay logs", .test_func = test_no_logs};
    int failed = _cmocka_run_group_tests("e2e_replay", tests, ntests, NULL, NULL);
    free(tests);
    free(cases);
    return failed;
}
