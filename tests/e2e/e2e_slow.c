/* e2e_slow.c - slow and vanishing clients never hold up the robot side or
 * the other clients; a slow client loses stream messages, is told how many,
 * and never sees half a line (interface v1 section 2, client queue bounds). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define STREAM_FRAMES 10000     /* frames the test robot writes */
#define STREAM_MS 20000         /* bound for writing and receiving all of them */
#define DRAIN_MS 20000          /* bound for the stalled client to read its backlog */
#define WINDOW 32               /* frames written ahead of the fast watcher (~32 KB) */
#define TEXT_LEN 900            /* EV text: ~1 KB per FRAME, 10 MB in all, far more
                                   than the kernel buffers of a stalled socket hold */
#define QUEUE_BYTES 65536       /* limits.client_queue_bytes */
#define SMALL_RCVBUF 4096

static const char CONFIG[] =
    "{\"robots\":[{\"name\":\"rob1\"}],\"limits\":{\"client_queue_bytes\":65536}}";

static json_t *stats(struct tclient *c)
{
    return tclient_request(c, "{\"cmd\":\"stats\"}", "STATS", NULL);
}

/* The robot side of the stream test: a non-blocking socket and the frame
 * being written. */
struct writer {
    struct daemon *d;
    int fd;
    char text[TEXT_LEN + 1];
    char frame[TEXT_LEN + 64];
    size_t len, off;            /* current frame and how much of it is written */
    long long next;             /* seq of the next frame to start */
    long long eagain;           /* writes the socket refused */
};

/* Write as much as the socket takes of frames up to seq limit. */
static void writer_step(struct writer *w, long long limit)
{
    for (;;) {
        if (w->off == w->len) {
            if (w->next > limit || w->next > STREAM_FRAMES)
                return;
            w->len = (size_t)snprintf(w->frame, sizeof w->frame, "EV,%lld,I,%lld,%s\n", w->next,
                                      w->next, w->text);
            w->off = 0;
            w->next++;
        }
        ssize_t n = send(w->fd, w->frame + w->off, w->len - w->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            w->off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            w->eagain++;
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        fail_msg("robot write failed: %s", strerror(errno));
    }
}

static void test_stalled_client(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *fast = tclient_connect(d);
    json_decref(tclient_request(fast, "{\"cmd\":\"watch\"}", "WATCH", NULL));
    int fd = trobot_hello(d, "rob1");
    json_decref(tclient_wait_class(fast, "LINK", HARNESS_RECV_MS, NULL));

    /* reads its WATCH reply, then nothing until the robot is done */
    struct tclient *stalled = tclient_connect_rcvbuf(d, SMALL_RCVBUF);
    json_decref(tclient_request(stalled, "{\"cmd\":\"watch\",\"types\":[\"EV\"]}", "WATCH", NULL));

    struct writer w = {.d = d, .fd = fd, .next = 1};
    memset(w.text, 'x', TEXT_LEN);
    for (size_t i = 0; i < TEXT_LEN; i += 37)
        w.text[i] = (char)('a' + i % 26);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    /* the fast watcher must get every frame, in order, while the other stalls */
    long long received = 0;
    double t_end = now_unix() + STREAM_MS / 1000.0;
    while (received < STREAM_FRAMES) {
        if (now_unix() > t_end)
            fail_msg("fast watcher got %lld of %d frames (robot wrote %lld) in %d ms", received,
                     STREAM_FRAMES, w.next - 1, STREAM_MS);
        writer_step(&w, received + WINDOW);
        json_t *m = tclient_try_recv(fast, 100);
        if (m == NULL) {
            if (fast->eof)
                fail_msg("fast watcher disconnected");
            continue;
        }
        if (strcmp(json_str(m, "class"), "FRAME") != 0) {
            char *t = json_text(m);
            print_error("fast watcher got %s\n", t);
            free(t);
            fail_msg("fast watcher got something other than a FRAME");
        }
        if (strcmp(json_str(m, "type"), "HI") != 0) {
            assert_string_equal(json_str(m, "type"), "EV");
            assert_int_equal(json_int_member(m, "seq"), received + 1);
            assert_int_equal(strlen(json_str(m, "text")), TEXT_LEN);
            received++;
        }
        json_decref(m);
    }
    assert_int_equal(w.next - 1, STREAM_FRAMES);
    assert_int_equal(w.off, w.len);
    /* the robot socket was never refused: the daemon kept reading the robot */
    assert_int_equal(w.eagain, 0);

    json_t *s = stats(fast);
    long long drops = json_int_member(s, "drops");
    assert_true(drops > 0); /* the stalled client's queue did fill */
    assert_int_equal(json_int_member(s, "disconnects"), 0);
    assert_int_equal(json_int_member(s, "clients"), 2);
    json_decref(s);

    /* now it reads: frames in order, then DROPPED; frames + dropped = all */
    long long got = 0, dropped = 0, last_seq = 0, dropped_msgs = 0;
    double t_drain = now_unix() + DRAIN_MS / 1000.0;
    while (got + dropped < STREAM_FRAMES) {
        if (now_unix() > t_drain)
            fail_msg("stalled client: %lld frames + %lld dropped of %d after %d ms", got, dropped,
                     STREAM_FRAMES, DRAIN_MS);
        json_t *m = tclient_try_recv(stalled, 1000);
        if (m == NULL) {
            if (stalled->eof)
                fail_msg("stalled client was disconnected");
            continue;
        }
        const char *cls = json_str(m, "class");
        if (strcmp(cls, "DROPPED") == 0) {
            long long n = json_int_member(m, "count");
            assert_true(n > 0);
            dropped += n;
            dropped_msgs++;
        } else {
            assert_string_equal(cls, "FRAME");
            long long seq = json_int_member(m, "seq");
            assert_true(seq > last_seq);
            last_seq = seq;
            got++;
        }
        json_decref(m);
    }
    print_message("stalled client: %lld frames, %lld dropped, told in %lld DROPPED\n", got,
                  dropped, dropped_msgs);
    assert_int_equal(got + dropped, STREAM_FRAMES);
    assert_true(dropped_msgs > 0);
    assert_true(got > 0);
    /* every drop was this client's, and it was told of every one */
    s = stats(fast);
    assert_int_equal(json_int_member(s, "drops"), dropped);
    json_decref(s);
    /* and it is still served */
    json_decref(tclient_request(stalled, "{\"cmd\":\"version\"}", "VERSION", NULL));
    daemon_stop(state);
}

/* --- clients that go away with output queued ------------------------------------ */

struct count_ctx {
    struct tclient *q;
    long long clients;
};

static bool clients_are(void *ctx)
{
    struct count_ctx *c = ctx;
    json_t *s = stats(c->q);
    bool ok = json_int_member(s, "clients") == c->clients;
    json_decref(s);
    return ok;
}

struct vanish_case {
    const char *name;
    bool watch;             /* also watching the stream */
    bool reset;             /* SO_LINGER 0: the close sends RST */
    int requests;           /* state requests sent before closing */
};

static const struct vanish_case vanish_cases[] = {
    {"close with replies queued", false, false, 2000},
    {"reset with replies queued", false, true, 2000},
    {"watcher closes with stream queued", true, false, 0},
    {"watcher resets with stream and replies queued", true, true, 500},
};

static void test_client_vanishes(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *q = tclient_connect(d);
    json_decref(tclient_request(q, "{\"cmd\":\"watch\"}", "WATCH", NULL));
    int fd = trobot_hello(d, "rob1");
    trobot_send(d, fd, "JT,1,1,2,3,4,5,6\nST,2,RUNNING,AUTO,ON,100\nIO,3,doGrip,1\n");
    json_decref(tclient_wait_frame(q, "IO", 3, HARNESS_RECV_MS, NULL));
    json_decref(tclient_request(q, "{\"cmd\":\"watch\",\"enable\":false}", "WATCH", NULL));

    char *burst = malloc(2000 * 64);
    assert_non_null(burst);
    long long seq = 10;
    for (size_t i = 0; i < sizeof vanish_cases / sizeof vanish_cases[0]; i++) {
        const struct vanish_case *vc = &vanish_cases[i];
        print_message("case: %s\n", vc->name);
        struct tclient *c = tclient_connect_rcvbuf(d, SMALL_RCVBUF);
        if (vc->watch) {
            json_decref(tclient_request(c, "{\"cmd\":\"watch\"}", "WATCH", NULL));
            for (int k = 0; k < 300; k++) {
                char f[64];
                snprintf(f, sizeof f, "JT,%lld,%d,0,0,0,0,0\n", seq++, k);
                trobot_send(d, fd, f);
            }
        }
        size_t n = 0;
        for (int k = 0; k < vc->requests; k++)
            n += (size_t)sprintf(burst + n, "{\"cmd\":\"state\",\"robot\":\"rob1\",\"id\":%d}\n", k);
        tclient_send_raw(c, burst, n);
        if (vc->reset) {
            struct linger lg = {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        tclient_close(c);
        struct count_ctx cc = {q, 1};
        assert_true(wait_until(d, clients_are, &cc, HARNESS_RECV_MS));
        /* the daemon still serves the others and the robot */
        char f[64];
        snprintf(f, sizeof f, "JT,%lld,0,0,0,0,0,0\n", seq++);
        trobot_send(d, fd, f);
        json_t *s = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", "STATE", NULL);
        assert_true(json_is_true(json_object_get(s, "connected")));
        json_decref(s);
    }
    free(burst);
    daemon_stop(state);
}

/* Replies piling up behind a client that does not read: past twice the soft
 * limit the client is cut off; what it did get is whole lines only. */
static void test_replies_past_hard_limit(void **state)
{
    struct daemon *d = daemon_start(state, CONFIG);
    struct tclient *q = tclient_connect(d);
    int fd = trobot_hello(d, "rob1");
    trobot_send(d, fd, "JT,1,1,2,3,4,5,6\nST,2,RUNNING,AUTO,ON,100\nIO,3,doGrip,1\n"
                      "PS,4,1,2,3,1,0,0,0\nCF,5,0,0,0,0,tool0,wobj0\n");
    json_t *s0 = NULL;
    for (int i = 0; i < 100; i++) { /* until the five frames are in the state */
        s0 = tclient_request(q, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", "STATE", NULL);
        if (json_object_size(json_object_get(s0, "frames")) >= 5)
            break;
        json_decref(s0);
        s0 = NULL;
        daemon_sleep(d, 20);
    }
    assert_non_null(s0);
    char *one = json_text(s0);
    size_t reply_len = strlen(one);
    free(one);
    json_decref(s0);

    /* enough requests that the replies exceed 2 x 64 KiB several times */
    int requests = (int)(8 * 2 * QUEUE_BYTES / reply_len) + 100;
    struct tclient *c = tclient_connect_rcvbuf(d, SMALL_RCVBUF);
    char line[64];
    size_t cap = (size_t)requests * 48;
    char *burst = malloc(cap);
    assert_non_null(burst);
    size_t n = 0;
    for (int k = 0; k < requests; k++) {
        int m = snprintf(line, sizeof line, "{\"cmd\":\"state\",\"robot\":\"rob1\",\"id\":%d}\n", k);
        memcpy(burst + n, line, (size_t)m);
        n += (size_t)m;
    }
    tclient_send_raw(c, burst, n);
    free(burst);
    struct count_ctx cc = {q, 1};
    assert_true(wait_until(d, clients_are, &cc, HARNESS_RECV_MS * 2));
    json_t *s = stats(q);
    assert_int_equal(json_int_member(s, "disconnects"), 1);
    json_decref(s);

    /* the replies it got are whole lines, in order (tclient_try_recv fails on
     * a partial line at EOF), and fewer than it asked for */
    long long next_id = 0;
    for (;;) {
        json_t *m = tclient_try_recv(c, HARNESS_RECV_MS);
        if (m == NULL)
            break;
        assert_string_equal(json_str(m, "class"), "STATE");
        assert_int_equal(json_int_member(m, "id"), next_id);
        next_id++;
        json_decref(m);
    }
    assert_true(c->eof);
    assert_true(next_id < requests);
    daemon_stop(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stalled_client, daemon_teardown),
        cmocka_unit_test_teardown(test_client_vanishes, daemon_teardown),
        cmocka_unit_test_teardown(test_replies_past_hard_limit, daemon_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
