/* test_mqtt_backoff.c - when the MQTT session tries again (session_backoff):
 * doubling from MQTT_RETRY_MIN to MQTT_RETRY_MAX, and back to the minimum
 * only after a connection that stayed up MQTT_STABLE seconds; a CONNACK
 * followed at once by a disconnect (another client took our id, an auth
 * plugin that drops us) keeps backing off. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "mqtt_session.h"

struct backoff_case {
    const char *name;
    double backoff, up_for, want;
};

static const struct backoff_case cases[] = {
    { "first failure",                        0,                  0,                 MQTT_RETRY_MIN },
    { "doubles",                              MQTT_RETRY_MIN,     0,                 2 * MQTT_RETRY_MIN },
    { "doubles again",                        4,                  0,                 8 },
    { "capped",                               MQTT_RETRY_MAX,     0,                 MQTT_RETRY_MAX },
    { "capped when doubling passes it",       20,                 0,                 MQTT_RETRY_MAX },
    { "dropped right after CONNACK",          MQTT_RETRY_MIN,     0.01,              2 * MQTT_RETRY_MIN },
    { "dropped after CONNACK, already long",  16,                 0.5,               MQTT_RETRY_MAX },
    { "up just under MQTT_STABLE",            4,                  MQTT_STABLE - 0.1, 8 },
    { "up MQTT_STABLE: starts again",         MQTT_RETRY_MAX,     MQTT_STABLE,       MQTT_RETRY_MIN },
    { "up for hours",                         MQTT_RETRY_MAX,     36000,             MQTT_RETRY_MIN },
};

static void test_backoff(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = session_backoff(cases[i].backoff, cases[i].up_for);
        if (got != cases[i].want) {
            print_error("%s: backoff %.2f, up %.2f s: got %.2f, want %.2f\n", cases[i].name,
                        cases[i].backoff, cases[i].up_for, got, cases[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* A broker that keeps dropping us right after CONNACK: the waits add up
 * like those of a broker that refuses, reaching MQTT_RETRY_MAX. */
static void test_flapping_reaches_max(void **state)
{
    (void)state;
    double b = 0, total = 0;
    int attempts = 0;
    while (b < MQTT_RETRY_MAX && attempts < 100) {
        b = session_backoff(b, 0.05);
        total += b;
        attempts++;
    }
    assert_true(b == MQTT_RETRY_MAX);
    assert_true(attempts <= 8);
    assert_true(total > 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_flapping_reaches_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
