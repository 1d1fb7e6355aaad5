#include "relay.h"

#include "child.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_BACKLOG 1024
#define RELAY_EVENTS 256
#define RELAY_LINE_MAX 1024 /* a robot frame; a longer unfinished line is thrown away */

struct rclient {
    int fd;
    size_t idx;           /* in relay.clients */
    bool out_armed;       /* EPOLLOUT registered */
    bool dead;            /* closed; freed after the current epoll batch */
    struct rclient *next_dead;
    char *buf;            /* bytes the socket has not taken yet: buf[off..len) */
    size_t off, len, cap;
};

struct relay {
    int ep, robot_lfd, client_lfd, robot_fd;
    size_t queue_bytes;
    struct rclient **clients;
    size_t nclients, cap;
    struct rclient *dead;  /* closed in this batch, still maybe in evs[] */
    size_t carry;         /* start of an unfinished line at the front of in */
    char in[RELAY_LINE_MAX + RELAY_READ_CHUNK];
};

/* epoll user data of the two listeners and the robot; clients use their
 * struct rclient pointer. */
enum { TAG_ROBOT_L, TAG_CLIENT_L, TAG_ROBOT, TAGS };
static const char tags[TAGS];
#define TAG(t) ((void *)&tags[t])

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, RELAY_BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static void client_drop(struct relay *r, struct rclient *c)
{
    close(c->fd); /* also removes it from the epoll set */
    r->clients[c->idx] = r->clients[--r->nclients];
    r->clients[c->idx]->idx = c->idx;
    c->dead = true;
    c->next_dead = r->dead;
    r->dead = c;
}

static void bury_dead(struct relay *r)
{
    while (r->dead) {
        struct rclient *c = r->dead;
        r->dead = c->next_dead;
        free(c->buf);
        free(c);
    }
}

static void arm(struct relay *r, struct rclient *c, bool out)
{
    if (c->out_armed == out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->out_armed = out;
}

/* Write what waits; false when the connection broke. */
static bool client_flush(struct relay *r, struct rclient *c)
{
    while (c->off < c->len) {
        ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return false;
            break;
        }
        c->off += (size_t)w;
    }
    if (c->off == c->len)
        c->off = c->len = 0;
    arm(r, c, c->len > 0);
    return true;
}

static bool client_queue(struct rclient *c, const char *data, size_t n)
{
    if (c->off && c->len + n > c->cap) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : RELAY_READ_CHUNK;
        while (cap < c->len + n)
            cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b)
            return false;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    return true;
}

/* One block of whole lines to one client. false when it must be closed. */
static bool client_send(struct relay *r, struct rclient *c, const char *data, size_t n)
{
    if (c->len - c->off >= r->queue_bytes)
        return true; /* behind: this block is dropped for it */
    if (c->len == c->off) {
        ssize_t w = write(c->fd, data, n);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        if (w > 0) {
            data += w;
            n -= (size_t)w;
        }
        if (n == 0)
            return true;
    }
    if (!client_queue(c, data, n))
        return false;
    arm(r, c, true);
    return true;
}

static void accept_clients(struct relay *r)
{
    static const char banner[] = "RELAY\n";
    for (;;) {
        int fd = accept4(r->client_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as the bridge does */
        struct rclient *c = calloc(1, sizeof *c);
        if (r->nclients == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 64;
            struct rclient **cs = realloc(r->clients, cap * sizeof *cs);
            if (cs) {
                r->clients = cs;
                r->cap = cap;
            }
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (!c || r->nclients == r->cap || epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->idx = r->nclients;
        r->clients[r->nclients++] = c;
        if (!client_send(r, c, banner, sizeof banner - 1))
            client_drop(r, c);
    }
}

static void accept_robot(struct relay *r)
{
    int fd;
    while ((fd = accept4(r->robot_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (r->robot_fd >= 0)
            close(r->robot_fd);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = TAG(TAG_ROBOT)};
        r->robot_fd = fd;
        r->carry = 0;
        epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

static void read_robot(struct relay *r)
{
    ssize_t n = read(r->robot_fd, r->in + r->carry, RELAY_READ_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        close(r->robot_fd);
        r->robot_fd = -1;
        return;
    }
    size_t have = r->carry + (size_t)n;
    const char *lf = memrchr(r->in, '\n', have);
    size_t block = lf ? (size_t)(lf - r->in) + 1 : 0;
    for (size_t i = 0; block && i < r->nclients;) {
        struct rclient *c = r->clients[i];
        if (client_send(r, c, r->in, block))
            i++;
        else
            client_drop(r, c); /* the last client moved into slot i */
    }
    r->carry = have - block;
    if (r->carry > RELAY_LINE_MAX)
        r->carry = 0;
    else
        memmove(r->in, r->in + block, r->carry);
}

static void client_event(struct relay *r, struct rclient *c, uint32_t events)
{
    if (events & EPOLLIN) {
        char sink[4096];
        ssize_t n = read(c->fd, sink, sizeof sink);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            client_drop(r, c);
            return;
        }
    }
    if ((events & (EPOLLOUT | EPOLLERR)) && !client_flush(r, c))
        client_drop(r, c);
}

static int relay_main(void *arg)
{
    struct relay *r = arg;
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = TAG(TAG_ROBOT_L)};
    epoll_ctl(r->ep, EPOLL_CTL_ADD, r->robot_lfd, &ev);
    ev.data.ptr = TAG(TAG_CLIENT_L);
    epoll_ctl(r->ep, EPOLL_CTL_ADD, r->client_lfd, &ev);
    struct epoll_event evs[RELAY_EVENTS];
    for (;;) {
        int n = epoll_wait(r->ep, evs, RELAY_EVENTS, -1);
        if (n < 0 && errno != EINTR)
            return 1;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == TAG(TAG_ROBOT_L))
                accept_robot(r);
            else if (p == TAG(TAG_CLIENT_L))
                accept_clients(r);
            else if (p == TAG(TAG_ROBOT)) {
                if (r->robot_fd >= 0)
                    read_robot(r);
            } else if (!((struct rclient *)p)->dead)
                client_event(r, p, evs[i].events);
        }
        bury_dead(r);
    }
}

/* In the forked child: run this program again as the relay. */
static int exec_relay(void *arg)
{
    const struct relay *r = arg;
    char rfd[16], cfd[16], q[32];
    snprintf(rfd, sizeof rfd, "%d", r->robot_lfd);
    snprintf(cfd, sizeof cfd, "%d", r->client_lfd);
    snprintf(q, sizeof q, "%zu", r->queue_bytes);
    execl("/proc/self/exe", "bench-relay", RELAY_ARG, rfd, cfd, q, (char *)NULL);
    return 127;
}

int relay_main_args(int argc, char **argv)
{
    if (argc != 5 || strcmp(argv[1], RELAY_ARG) != 0)
        return 0;
    struct relay *r = calloc(1, sizeof *r);
    if (!r)
        exit(1);
    r->robot_lfd = atoi(argv[2]);
    r->client_lfd = atoi(argv[3]);
    r->queue_bytes = strtoull(argv[4], NULL, 10);
    r->robot_fd = -1;
    exit(relay_main(r));
}

int relay_start(size_t queue_bytes, struct relay_child *rc, char err[RELAY_ERR_MAX])
{
    struct relay r = {.queue_bytes = queue_bytes, .robot_fd = -1};
    /* Inherited across exec: no close-on-exec on the listeners. */
    r.robot_lfd = listen_loopback(&rc->robot_port);
    r.client_lfd = listen_loopback(&rc->client_port);
    if (r.robot_lfd < 0 || r.client_lfd < 0) {
        snprintf(err, RELAY_ERR_MAX, "relay listen: %s", strerror(errno));
        rc->pid = -1;
    } else {
        rc->pid = child_fork(exec_relay, &r);
        if (rc->pid < 0)
            snprintf(err, RELAY_ERR_MAX, "fork: %s", strerror(errno));
    }
    /* The child has its own copies; the parent keeps nothing of the relay. */
    if (r.robot_lfd >= 0)
        close(r.robot_lfd);
    if (r.client_lfd >= 0)
        close(r.client_lfd);
    return rc->pid < 0 ? -1 : 0;
}
