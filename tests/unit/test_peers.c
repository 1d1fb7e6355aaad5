/* test_peers.c - the per-address counters (peers.h) and the log rate limit
 * (lograte.h): limits per address and kind, spellings of one host counted
 * together, entries freed at zero and the table still finding the others
 * after deletions and growth; one log line per cause per period, the rest
 * folded into a count that the next line or a flush carries. */
#include "testutil.h"

#include "lograte.h"
#include "peers.h"

#include <arpa/inet.h>

static struct net_addr addr(const char *text)
{
    struct net_addr a;
    assert_int_equal(net_addr_parse(text, &a), 0);
    return a;
}

static void test_limit_per_address(void **state)
{
    (void)state;
    struct peers p = {0};
    struct net_addr a = addr("10.0.0.5"), mapped = addr("::ffff:10.0.0.5"), b = addr("10.0.0.6");
    for (int i = 0; i < 3; i++)
        assert_true(peers_add(&p, &a, PEER_CLIENT, 3));
    assert_false(peers_add(&p, &a, PEER_CLIENT, 3));
    assert_false(peers_add(&p, &mapped, PEER_CLIENT, 3)); /* the same host */
    assert_true(peers_add(&p, &b, PEER_CLIENT, 3));      /* another one still gets in */
    assert_true(peers_add(&p, &a, PEER_PENDING, 1));     /* kinds are counted apart */
    assert_false(peers_add(&p, &a, PEER_PENDING, 1));
    assert_int_equal(peers_count(&p, &a, PEER_CLIENT), 3);
    assert_int_equal(peers_count(&p, &a, PEER_PENDING), 1);
    peers_remove(&p, &mapped, PEER_CLIENT);
    assert_true(peers_add(&p, &a, PEER_CLIENT, 3));
    for (int i = 0; i < 3; i++)
        peers_remove(&p, &a, PEER_CLIENT);
    peers_remove(&p, &a, PEER_PENDING);
    peers_remove(&p, &a, PEER_PENDING);                  /* one too many: ignored */
    assert_int_equal(peers_count(&p, &a, PEER_CLIENT), 0);
    assert_int_equal(p.used, 1);                         /* only b is left */
    assert_false(peers_add(&p, &a, PEER_CLIENT, 0));
    peers_remove(&p, &b, PEER_CLIENT);
    assert_int_equal(p.used, 0);
    struct net_addr none = {0};                          /* not IP: never counted */
    assert_true(peers_add(&p, &none, PEER_CLIENT, 0));
    assert_int_equal(p.used, 0);
    peers_free(&p);
}

/* Many addresses: growth and backward-shift deletion keep every count. */
static void test_many_addresses(void **state)
{
    (void)state;
    enum { N = 3000 };
    struct peers p = {0};
    struct net_addr a[N];
    for (int i = 0; i < N; i++) {
        char text[64];
        if (i % 2)
            snprintf(text, sizeof text, "10.%d.%d.1", i / 256, i % 256);
        else
            snprintf(text, sizeof text, "2001:db8::%x", i);
        a[i] = addr(text);
        for (int k = 0; k <= i % 3; k++)
            assert_true(peers_add(&p, &a[i], PEER_CLIENT, 3));
    }
    assert_int_equal(p.used, N);
    assert_true(p.cap >= 2 * N);
    /* Remove every third, then check them all. */
    for (int i = 0; i < N; i += 3)
        for (int k = 0; k <= i % 3; k++)
            peers_remove(&p, &a[i], PEER_CLIENT);
    int failures = 0;
    for (int i = 0; i < N; i++) {
        unsigned want = i % 3 == 0 ? 0 : (unsigned)(i % 3 + 1);
        if (peers_count(&p, &a[i], PEER_CLIENT) != want)
            failures++;
    }
    assert_int_equal(failures, 0);
    assert_int_equal(p.used, N - (N + 2) / 3);
    peers_free(&p);
    assert_null(p.slots);
}

static void test_lograte(void **state)
{
    (void)state;
    struct lograte lr = {0};
    struct logger lg = {LOG_ERROR}; /* warn lines are skipped: nothing printed */
    assert_true(lograte_log(&lr, &lg, 100.0, LOGRATE_ROBOT_BAD_HELLO, LOG_WARN, "first"));
    for (int i = 0; i < 500; i++)
        assert_false(lograte_log(&lr, &lg, 100.0 + i * 0.001, LOGRATE_ROBOT_BAD_HELLO, LOG_WARN,
                                 "folded %d", i));
    assert_int_equal(lograte_folded(&lr, LOGRATE_ROBOT_BAD_HELLO), 500);
    /* Another cause has its own period. */
    assert_true(lograte_log(&lr, &lg, 100.5, LOGRATE_CLIENT_BUSY, LOG_WARN, "busy"));
    /* Next period: a line with the count, which starts again at 0. */
    assert_true(lograte_log(&lr, &lg, 101.0, LOGRATE_ROBOT_BAD_HELLO, LOG_WARN, "again"));
    assert_int_equal(lograte_folded(&lr, LOGRATE_ROBOT_BAD_HELLO), 0);
    assert_false(lograte_log(&lr, &lg, 101.2, LOGRATE_ROBOT_BAD_HELLO, LOG_WARN, "x"));
    /* A flush inside the period keeps the count; after it, writes it. */
    lograte_flush(&lr, &lg, 101.5);
    assert_int_equal(lograte_folded(&lr, LOGRATE_ROBOT_BAD_HELLO), 1);
    lograte_flush(&lr, &lg, 102.0);
    assert_int_equal(lograte_folded(&lr, LOGRATE_ROBOT_BAD_HELLO), 0);
    assert_false(lograte_log(&lr, &lg, 102.5, LOGRATE_ROBOT_BAD_HELLO, LOG_WARN, "x"));
    /* A clock that went back does not silence a cause for long. */
    assert_true(lograte_log(&lr, &lg, 50.0, LOGRATE_ROBOT_BAD_HELLO, LOG_WARN, "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_per_address),
        cmocka_unit_test(test_many_addresses),
        cmocka_unit_test(test_lograte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
