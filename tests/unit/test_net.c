/* test_net.c - the spare descriptor that lets the listeners shed a
 * connection when the process is out of descriptors: it is taken at
 * start, used up at EMFILE and taken again, and a spare that is missing is
 * taken again at the next accept instead of being lost for good; and a
 * configured peer address that matches a connection in any spelling,
 * IPv4-mapped IPv6 on either side included. */
#include "testutil.h"

#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>

static int listener(void)
{
    struct listen_addr addr = {.host = "127.0.0.1", .port = 0};
    char bound[ADDR_TEXT_MAX], err[NET_ERR_MAX];
    int fd = net_listen(&addr, bound, err);
    if (fd < 0)
        fail_msg("listen: %s", err);
    return fd;
}

/* A blocking connection to the listener; the kernel completes it before any accept. */
static int connect_to(int lfd)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sl), 0);
    return fd;
}

static void test_reserve(void **state)
{
    (void)state;
    int spare = -1;
    assert_int_equal(net_spare_reserve(&spare), 0);
    assert_true(spare >= 0);
    int first = spare;
    assert_int_equal(net_spare_reserve(&spare), 0);
    assert_int_equal(spare, first); /* one spare, not one per call */
    close(spare);
}

static void test_lost_spare_taken_again(void **state)
{
    (void)state;
    int lfd = listener();
    int spare = -1; /* as after an open that failed */
    struct sockaddr_storage sa;
    errno = 0;
    assert_int_equal(net_accept(lfd, &spare, &sa), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    assert_true(spare >= 0);
    close(spare);
    close(lfd);
}

static void test_emfile_sheds_the_connection(void **state)
{
    (void)state;
    int lfd = listener();
    int spare = -1;
    assert_int_equal(net_spare_reserve(&spare), 0);
    int cfd = connect_to(lfd);
    /* No descriptor left: the lowest free one becomes the limit. */
    int lowest = dup(0);
    assert_true(lowest >= 0);
    close(lowest);
    struct rlimit saved, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    struct sockaddr_storage sa;
    errno = 0;
    int rc = net_accept(lfd, &spare, &sa);
    int err = errno;
    int spare_after = spare;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_int_equal(rc, -1);
    assert_int_equal(err, EMFILE);
    assert_true(spare_after >= 0); /* ready for the next time */
    /* The pending connection was accepted and closed: the peer sees it. */
    char c;
    ssize_t n = read(cfd, &c, 1);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    close(cfd);
    close(spare);
    close(lfd);
}

static struct sockaddr_storage sockaddr_of(const char *numeric)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, numeric, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(4000);
    } else {
        assert_int_equal(inet_pton(AF_INET6, numeric, &s6->sin6_addr), 1);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(4000);
    }
    return ss;
}

static void test_peer_spellings(void **state)
{
    (void)state;
    static const struct {
        const char *from, *peer;
        bool match;
    } rows[] = {
        {"192.168.125.1", "192.168.125.1", true},
        {"192.168.125.1", "::ffff:192.168.125.1", true},   /* the lock-out */
        {"192.168.125.1", "::FFFF:c0a8:7d01", true},
        {"::ffff:192.168.125.1", "192.168.125.1", true},   /* dual-stack listener */
        {"::ffff:192.168.125.1", "::ffff:192.168.125.1", true},
        {"192.168.125.1", "192.168.125.2", false},
        {"192.168.125.1", "::ffff:192.168.125.2", false},
        {"::1", "0:0:0:0:0:0:0:1", true},
        {"fe80::a", "FE80::0A", true},
        {"::1", "127.0.0.1", false},
        {"127.0.0.1", "::1", false},
        {"::192.168.125.1", "192.168.125.1", false},       /* IPv4-compatible is not mapped */
        {"192.168.125.1", "not an address", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sockaddr_storage ss = sockaddr_of(rows[i].from);
        if (net_peer_matches(&ss, rows[i].peer) != rows[i].match)
            fail_msg("from %s, peer %s: expected %s", rows[i].from, rows[i].peer,
                     rows[i].match ? "a match" : "no match");
    }
}

static void test_addr_keys(void **state)
{
    (void)state;
    struct sockaddr_storage v4 = sockaddr_of("10.0.0.5"), mapped = sockaddr_of("::ffff:10.0.0.5");
    struct net_addr a, b, c;
    net_addr_of(&v4, &a);
    net_addr_of(&mapped, &b);
    assert_true(net_addr_equal(&a, &b));
    assert_memory_equal(&a, &b, sizeof a); /* hashable as bytes */
    assert_int_equal(net_addr_parse("::ffff:10.0.0.5", &c), 0);
    assert_true(net_addr_equal(&a, &c));
    assert_int_equal(net_addr_parse("10.0.0.6", &c), 0);
    assert_false(net_addr_equal(&a, &c));
    assert_int_equal(net_addr_parse("10.0.0", &c), -1);
    struct sockaddr_storage unix_sa = {.ss_family = AF_UNIX};
    net_addr_of(&unix_sa, &c);
    assert_int_equal(c.family, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_lost_spare_taken_again),
        cmocka_unit_test(test_emfile_sheds_the_connection),
        cmocka_unit_test(test_peer_spellings),
        cmocka_unit_test(test_addr_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
