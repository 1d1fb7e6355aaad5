/* test_hub.c - the one door out: which registered outputs get a frame, a
 * link change, a broadcast; unregistering; and robot masks under a reload's
 * index map (hub_remap_robots). */
#include "testutil.h"

#include "bridge.h"
#include "hub.h"

struct seen {
    struct hub_output out;
    unsigned frames, links, broadcasts, remaps, notices;
    const void *last_except;
    unsigned last_robot, last_type;
    bool last_up;
};

static void seen_frame(struct hub_output *o, unsigned robot, unsigned type, struct msg *m)
{
    (void)m;
    struct seen *s = o->ctx;
    s->frames++;
    s->last_robot = robot;
    s->last_type = type;
}

static void seen_link(struct hub_output *o, unsigned robot, bool up, struct msg *m)
{
    (void)m;
    struct seen *s = o->ctx;
    s->links++;
    s->last_robot = robot;
    s->last_up = up;
}

static void seen_broadcast(struct hub_output *o, struct msg *m)
{
    (void)m;
    ((struct seen *)o->ctx)->broadcasts++;
}

static void seen_remap(struct hub_output *o, const struct hub_remap *map)
{
    (void)map;
    ((struct seen *)o->ctx)->remaps++;
}

static void seen_notice(struct hub_output *o, unsigned robot, struct msg *m, const void *except)
{
    (void)m;
    struct seen *s = o->ctx;
    s->notices++;
    s->last_robot = robot;
    s->last_except = except;
}

static const struct hub_output_ops full_ops = {seen_frame, seen_link, seen_broadcast, seen_remap,
                                               seen_notice};
static const struct hub_output_ops frame_link_ops = {.frame = seen_frame, .link = seen_link};

static void output(struct seen *s, const struct hub_output_ops *ops, uint32_t robots,
                   uint64_t types)
{
    memset(s, 0, sizeof *s);
    s->out = (struct hub_output){.ops = ops, .ctx = s, .robots = robots, .types = types};
}

static void test_masks(void **state)
{
    (void)state;
    struct bridge b;
    memset(&b, 0, sizeof b);
    struct seen all, rob1_jt, none;
    output(&all, &full_ops, HUB_ALL_ROBOTS, HUB_ALL_TYPES);
    output(&rob1_jt, &frame_link_ops, UINT32_C(1) << 1, UINT64_C(1) << 1);
    output(&none, &frame_link_ops, 0, HUB_ALL_TYPES);
    hub_register(&b, &all.out);
    hub_register(&b, &rob1_jt.out);
    hub_register(&b, &none.out);
    struct msg *m = msg_new("x", 1, true);
    assert_non_null(m);

    hub_publish_frame(&b, 1, 1, m);      /* robot 1, type 1: both masks match */
    hub_publish_frame(&b, 1, 63, m);     /* the last type bit */
    hub_publish_frame(&b, 31, 1, m);     /* the last robot bit */
    assert_int_equal(all.frames, 3);
    assert_int_equal(all.last_robot, 31);
    assert_int_equal(rob1_jt.frames, 1);
    assert_int_equal(none.frames, 0);

    hub_publish_link(&b, 1, true, m);    /* links ignore the type mask */
    hub_publish_link(&b, 2, false, NULL); /* no notice text: outputs are still told */
    assert_int_equal(all.links, 2);
    assert_false(all.last_up);
    assert_int_equal(rob1_jt.links, 1);
    assert_true(rob1_jt.last_up);
    assert_int_equal(none.links, 0);

    hub_broadcast(&b, m);                /* only outputs with the op */
    assert_int_equal(all.broadcasts, 1);

    hub_unregister(&b, &rob1_jt.out);
    hub_publish_frame(&b, 1, 1, m);
    assert_int_equal(rob1_jt.frames, 1);
    assert_int_equal(all.frames, 4);
    hub_unregister(&b, &all.out);
    hub_unregister(&b, &none.out);
    assert_null(b.outputs);
    msg_unref(m);
}

/* map: nold, then old index -> new index ('-' = removed) */
static const struct remap_case {
    const char *name;
    const char *map;
    uint32_t before, after;
} remap_cases[] = {
    { "every robot stays every robot",  "2:-0",  HUB_ALL_ROBOTS, HUB_ALL_ROBOTS },
    { "kept in place",                  "2:01",  0x2, 0x2 },
    { "moved down",                     "3:-01", 0x4, 0x2 },
    { "swapped",                        "2:10",  0x1, 0x2 },
    { "removed",                        "2:-1",  0x1, 0x0 },
    { "one of two removed",             "2:-0",  0x3, 0x1 },
    { "nothing watched",                "2:01",  0x0, 0x0 },
    { "bits past the old robots drop",  "1:0",   0x6, 0x0 },
};

static void test_remap_robots(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(remap_cases); i++) {
        const struct remap_case *c = &remap_cases[i];
        struct hub_remap map = {.nold = (unsigned)(c->map[0] - '0')};
        for (unsigned k = 0; k < map.nold; k++) {
            char to = c->map[2 + k];
            map.to[k] = to == '-' ? HUB_ROBOT_GONE : to - '0';
        }
        uint32_t got = hub_remap_robots(&map, c->before);
        TU_CHECK(failures, c->name, got == c->after, "got 0x%x, want 0x%x", (unsigned)got,
                 (unsigned)c->after);
    }
    assert_int_equal(failures, 0);
}

static void test_remap_outputs(void **state)
{
    (void)state;
    struct bridge b;
    memset(&b, 0, sizeof b);
    struct seen with_op, without_op;
    output(&with_op, &full_ops, UINT32_C(1) << 2, HUB_ALL_TYPES);
    output(&without_op, &frame_link_ops, HUB_ALL_ROBOTS, HUB_ALL_TYPES);
    hub_register(&b, &with_op.out);
    hub_register(&b, &without_op.out);
    struct hub_remap map = {.nold = 3, .to = {HUB_ROBOT_GONE, 1, 0}};
    hub_remap(&b, &map);
    assert_int_equal(with_op.remaps, 1);
    assert_int_equal(with_op.out.robots, UINT32_C(1) << 0); /* the output's own mask follows */
    assert_int_equal(without_op.out.robots, HUB_ALL_ROBOTS);
}

/* A notice (CONTROL) goes to outputs with a notice op whose robot mask
 * matches, with the connection to leave out. */
static void test_notice(void **state)
{
    (void)state;
    struct bridge b;
    memset(&b, 0, sizeof b);
    struct seen rob2, other, no_op;
    output(&rob2, &full_ops, UINT32_C(1) << 2, 0);
    output(&other, &full_ops, UINT32_C(1) << 3, HUB_ALL_TYPES);
    output(&no_op, &frame_link_ops, HUB_ALL_ROBOTS, HUB_ALL_TYPES);
    hub_register(&b, &rob2.out);
    hub_register(&b, &other.out);
    hub_register(&b, &no_op.out);
    struct msg *m = msg_new("x", 1, false);
    assert_non_null(m);
    int requester;
    hub_publish_notice(&b, 2, m, &requester);
    assert_int_equal(rob2.notices, 1);      /* not filtered by type: types mask 0 */
    assert_int_equal(rob2.last_robot, 2);
    assert_ptr_equal(rob2.last_except, &requester);
    assert_int_equal(other.notices, 0);
    msg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_remap_robots),
        cmocka_unit_test(test_remap_outputs),
        cmocka_unit_test(test_notice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
