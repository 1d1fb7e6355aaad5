/* test_admission.c - the queue-or-drop decisions of admission.h, edge by
 * edge: the client soft and hard limits, replies never dropped, the DROPPED
 * notice's hysteresis, STOP beside the command in flight, a full command
 * queue, and the MQTT queue. */
#include "admission.h"

#include "testutil.h"

#define SOFT 4096 /* the smallest limits.client_queue_bytes */
#define HARD (SOFT * CLIENT_HARD_FACTOR)

static const char *admit_name(enum admit a)
{
    switch (a) {
    case ADMIT_QUEUE: return "queue";
    case ADMIT_DROP: return "drop";
    case ADMIT_DROP_OLDEST: return "drop oldest";
    case ADMIT_CUT_OFF: return "cut off";
    }
    return "?";
}

static const struct client_case {
    const char *name;
    size_t queued;
    bool stream;
    size_t soft;
    enum admit want;
} client_cases[] = {
    { "empty queue, stream",                 0, true, SOFT, ADMIT_QUEUE },
    { "empty queue, reply (of any size)",    0, false, SOFT, ADMIT_QUEUE },
    { "stream just under the soft limit",    SOFT - 1, true, SOFT, ADMIT_QUEUE },
    { "stream at the soft limit: dropped",   SOFT, true, SOFT, ADMIT_DROP },
    { "stream past the soft limit: dropped", SOFT + 100, true, SOFT, ADMIT_DROP },
    { "stream at the hard limit: dropped, not cut off", HARD, true, SOFT, ADMIT_DROP },
    { "reply at the soft limit: never dropped", SOFT, false, SOFT, ADMIT_QUEUE },
    { "reply filling the queue to the hard limit", HARD - 100, false, SOFT, ADMIT_QUEUE },
    { "reply on a queue at the hard limit",  HARD, false, SOFT, ADMIT_QUEUE },
    { "reply on a queue one byte over the hard limit", HARD + 1, false, SOFT, ADMIT_CUT_OFF },
    { "stream on a queue over the hard limit: dropped", HARD + 1, true, SOFT, ADMIT_DROP },
    /* Only what is queued counts: a STATE reply larger than the hard limit
     * still reaches a client that reads (PROTOCOL.md 5.6). */
    { "default 1 MiB soft limit, reply", 1048576, false, 1048576, ADMIT_QUEUE },
};

static void test_client_admit(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(client_cases); i++) {
        const struct client_case *c = &client_cases[i];
        enum admit got = client_admit(c->queued, c->stream, c->soft);
        TU_CHECK(failures, c->name, got == c->want, "got %s, want %s", admit_name(got),
                 admit_name(c->want));
    }
    assert_int_equal(failures, 0);
}

static const struct drops_case {
    const char *name;
    uint64_t dropped;
    size_t queued, soft;
    bool want;
} drops_cases[] = {
    { "nothing lost",                         0, 0, SOFT, false },
    { "lost, queue empty",                    3, 0, SOFT, true },
    { "lost, queue just under half",          3, SOFT / 2 - 1, SOFT, true },
    { "lost, queue at half: still behind",    3, SOFT / 2, SOFT, false },
    { "lost, queue at the soft limit",        3, SOFT, SOFT, false },
    { "odd soft limit: half rounds down",     1, 2048, 4097, false },
    { "odd soft limit, just under half",      1, 2047, 4097, true },
};

static void test_client_drops_due(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(drops_cases); i++) {
        const struct drops_case *c = &drops_cases[i];
        bool got = client_drops_due(c->dropped, c->queued, c->soft);
        TU_CHECK(failures, c->name, got == c->want, "got %d", got);
    }
    assert_int_equal(failures, 0);
}

static const char *command_name(enum command_admit a)
{
    switch (a) {
    case COMMAND_OFFLINE: return "offline";
    case COMMAND_BUSY: return "busy";
    case COMMAND_QUEUE: return "queue";
    case COMMAND_URGENT: return "urgent";
    }
    return "?";
}

/* slots: linked, normal_busy, urgent_busy, queued, queue_max */
static const struct command_case {
    const char *name;
    struct command_slots slots;
    bool urgent;
    enum command_admit want;
} command_cases[] = {
    { "not linked",                            { false, false, false, 0, 16 }, false,
      COMMAND_OFFLINE },
    { "STOP, not linked",                      { false, true, false, 0, 16 }, true,
      COMMAND_OFFLINE },
    { "idle robot",                            { true, false, false, 0, 16 }, false,
      COMMAND_QUEUE },
    { "one in flight, room behind it",         { true, true, false, 15, 16 }, false,
      COMMAND_QUEUE },
    { "queue full: busy",                      { true, true, false, 16, 16 }, false,
      COMMAND_BUSY },
    { "command_queue 0, one in flight: busy",  { true, true, false, 0, 0 }, false,
      COMMAND_BUSY },
    { "command_queue 0, idle: sent at once",   { true, false, false, 0, 0 }, false,
      COMMAND_QUEUE },
    { "STOP beside the command in flight",     { true, true, false, 3, 16 }, true,
      COMMAND_URGENT },
    { "STOP beside it even with the queue full", { true, true, false, 16, 16 }, true,
      COMMAND_URGENT },
    { "STOP on an idle robot: queued, so sent at once", { true, false, false, 0, 16 }, true,
      COMMAND_QUEUE },
    { "second STOP while one is unanswered: queued", { true, true, true, 3, 16 }, true,
      COMMAND_QUEUE },
    { "second STOP, queue full: busy",         { true, true, true, 16, 16 }, true,
      COMMAND_BUSY },
    { "command while a STOP alone is in flight", { true, false, true, 0, 16 }, false,
      COMMAND_QUEUE },
};

static void test_command_admit(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(command_cases); i++) {
        const struct command_case *c = &command_cases[i];
        enum command_admit got = command_admit(&c->slots, c->urgent);
        TU_CHECK(failures, c->name, got == c->want, "got %s, want %s", command_name(got),
                 command_name(c->want));
    }
    assert_int_equal(failures, 0);
}

static const struct mqtt_case {
    const char *name;
    bool connected;
    size_t queued, cap;
    enum admit want;
} mqtt_cases[] = {
    { "not connected: dropped",              false, 0, 1000, ADMIT_DROP },
    { "not connected, queue full: dropped",  false, 1000, 1000, ADMIT_DROP },
    { "connected, empty",                    true, 0, 1000, ADMIT_QUEUE },
    { "connected, one slot left",            true, 999, 1000, ADMIT_QUEUE },
    { "connected, full: the oldest goes",    true, 1000, 1000, ADMIT_DROP_OLDEST },
    { "queue of one, full",                  true, 1, 1, ADMIT_DROP_OLDEST },
};

static void test_mqtt_admit(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(mqtt_cases); i++) {
        const struct mqtt_case *c = &mqtt_cases[i];
        enum admit got = mqtt_admit(c->connected, c->queued, c->cap);
        TU_CHECK(failures, c->name, got == c->want, "got %s, want %s", admit_name(got),
                 admit_name(c->want));
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_admit),
        cmocka_unit_test(test_client_drops_due),
        cmocka_unit_test(test_command_admit),
        cmocka_unit_test(test_mqtt_admit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
