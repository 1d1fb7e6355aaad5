/* test_oom.c - out of memory while setting up robots: at start
 * (robots_init failing part-way) and in a reload that adds a robot
 * (robot_init failing). jansson's allocator is replaced by one that fails
 * from the Nth allocation on, for every N until the call succeeds; after
 * each failure the bridge must be whole (a refused reload leaves the running
 * configuration) and free cleanly (ASan in `make test`). */
#include "testutil.h"

#include "bridge.h"
#include "config.h"
#include "reload.h"
#include "robot.h"

#include <ev.h>
#include <unistd.h>

#define TRIES_MAX 20000

/* Allocations still allowed; -1: no limit. Counted in `taken`. */
static long allowance = -1;
static long taken;

static void *limited_malloc(size_t n)
{
    if (allowance == 0)
        return NULL;
    if (allowance > 0)
        allowance--;
    taken++;
    return malloc(n);
}

static void limit(long n)
{
    allowance = n;
    taken = 0;
}

static void bridge_setup(struct bridge *b, struct ev_loop *loop, const char *cfg_text)
{
    char err[CONFIG_ERR_MAX];
    memset(b, 0, sizeof *b);
    b->loop = loop;
    b->log.level = (enum log_level)(LOG_ERROR + 1); /* quiet */
    b->robot_fd = b->json_fd = b->spare_fd = -1;
    if (config_load_text(&b->cfg, "t.json", cfg_text, strlen(cfg_text), err) != 0)
        fail_msg("test configuration refused: %s", err);
}

static void bridge_teardown(struct bridge *b)
{
    robots_free(b);
    config_free(&b->cfg);
}

/* Every robot set up: it has a state table and an I/O map. */
static bool robots_whole(const struct bridge *b)
{
    for (unsigned i = 0; i < b->nrobots; i++)
        if (!b->robots[i].latest || !b->robots[i].io || b->robots[i].cfg != &b->cfg.robots[i])
            return false;
    return true;
}

static const char three_robots[] =
    "{\"robots\": [{\"name\": \"rob1\"}, {\"name\": \"rob2\"}, {\"name\": \"rob3\"}]}";

static void test_robots_init_part_way(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(loop);
    int failed = 0;
    long n;
    for (n = 0; n < TRIES_MAX; n++) {
        struct bridge b;
        bridge_setup(&b, loop, three_robots);
        limit(n);
        int rc = robots_init(&b);
        limit(-1);
        if (rc == 0) {
            assert_int_equal(b.nrobots, 3);
            assert_true(robots_whole(&b));
            bridge_teardown(&b);
            break;
        }
        failed++;
        bridge_teardown(&b); /* must not touch robots never set up */
    }
    assert_true(n < TRIES_MAX);
    assert_true(failed >= 2); /* the first robot and a later one both failed once */
    ev_loop_destroy(loop);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_reload_adding_a_robot(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(loop);
    char path[] = "/tmp/rb-test-oom-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "{\"robots\": [{\"name\": \"rob2\"}, {\"name\": \"rob1\"},"
                     " {\"name\": \"rob9\"}]}");

    /* How many allocations reading the file takes: the next one is the
     * added robot's. */
    struct config probe;
    char err[CONFIG_ERR_MAX];
    limit(-1);
    assert_int_equal(config_load_file(&probe, path, err), 0);
    long load_allocs = taken;
    config_free(&probe);

    bool refused_after_load = false;
    long n;
    for (n = 0; n < TRIES_MAX; n++) {
        struct bridge b;
        bridge_setup(&b, loop, "{\"robots\": [{\"name\": \"rob1\"}, {\"name\": \"rob2\"}]}");
        b.config_path = path;
        limit(-1);
        assert_int_equal(robots_init(&b), 0);
        limit(n);
        int rc = bridge_reload(&b);
        limit(-1);
        if (rc == 0) {
            assert_int_equal(b.nrobots, 3);
            assert_string_equal(b.robots[2].cfg->name, "rob9");
            assert_true(robots_whole(&b));
            bridge_teardown(&b);
            break;
        }
        /* Refused: the running configuration is untouched. */
        if (n >= load_allocs)
            refused_after_load = true;
        assert_int_equal(b.nrobots, 2);
        assert_int_equal(b.cfg.nrobots, 2);
        assert_string_equal(b.robots[0].cfg->name, "rob1");
        assert_string_equal(b.robots[1].cfg->name, "rob2");
        assert_true(robots_whole(&b));
        bridge_teardown(&b);
    }
    assert_true(n < TRIES_MAX);
    assert_true(refused_after_load);
    unlink(path);
    ev_loop_destroy(loop);
}

static int setup(void **state)
{
    (void)state;
    json_set_alloc_funcs(limited_malloc, free);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_robots_init_part_way),
        cmocka_unit_test(test_reload_adding_a_robot),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
