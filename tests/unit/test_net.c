/* test_net.c - the spare descriptor that lets the listeners shed a
 * connection when the process is out of descriptors: it is taken at
 * start, used up at EMFILE and taken again, and a spare that is missing is
 * taken again at the next accept instead of being lost for good. */
#include "testutil.h"

#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_lost_spare_taken_again),
        cmocka_unit_test(test_emfile_sheds_the_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
