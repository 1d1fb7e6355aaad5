#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_BACKLOG 128

int net_listen(const struct listen_addr *addr, char bound[ADDR_TEXT_MAX], char err[NET_ERR_MAX])
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(addr->port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, addr->host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(addr->port);
        sl = sizeof *s6;
    } else {
        snprintf(err, NET_ERR_MAX, "%s is not a numeric address", addr->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, NET_ERR_MAX, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        snprintf(err, NET_ERR_MAX, "cannot listen on %s:%u: %s", addr->host,
                 (unsigned)addr->port, strerror(errno));
        close(fd);
        return -1;
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    net_format(&ss, true, bound);
    return fd;
}

int net_spare_reserve(int *spare_fd)
{
    if (*spare_fd < 0)
        *spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return *spare_fd < 0 ? -1 : 0;
}

int net_accept(int listen_fd, int *spare_fd, struct sockaddr_storage *sa)
{
    net_spare_reserve(spare_fd);
    socklen_t sl = sizeof *sa;
    int fd = accept4(listen_fd, (struct sockaddr *)sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0 || (errno != EMFILE && errno != ENFILE) || *spare_fd < 0)
        return fd;
    int saved = errno;
    close(*spare_fd);
    *spare_fd = -1;
    int victim = accept(listen_fd, NULL, NULL);
    if (victim >= 0)
        close(victim);
    net_spare_reserve(spare_fd);
    errno = saved;
    return -1;
}

void net_format(const struct sockaddr_storage *sa, bool with_port, char out[ADDR_TEXT_MAX])
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        port = ntohs(s4->sin_port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        port = ntohs(s6->sin6_port);
        /* An IPv4 client of a dual-stack listener: show it as IPv4, so a
         * configured peer "192.168.125.1" matches. */
        if (strncmp(host, "::ffff:", 7) == 0 && strchr(host + 7, '.'))
            memmove(host, host + 7, strlen(host + 7) + 1);
        else if (with_port) {
            snprintf(out, ADDR_TEXT_MAX, "[%s]:%u", host, port);
            return;
        }
    }
    if (with_port)
        snprintf(out, ADDR_TEXT_MAX, "%s:%u", host, port);
    else
        snprintf(out, ADDR_TEXT_MAX, "%s", host);
}

/* An IPv4-mapped IPv6 address becomes its IPv4 form. */
static void addr_fold(struct net_addr *a)
{
    /* ::ffff:a.b.c.d, tested byte by byte: a->bytes has no in6_addr alignment. */
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a->family == AF_INET6 && memcmp(a->bytes, prefix, sizeof prefix) == 0) {
        unsigned char v4[4];
        memcpy(v4, a->bytes + 12, sizeof v4);
        memset(a->bytes, 0, sizeof a->bytes);
        memcpy(a->bytes, v4, sizeof v4);
        a->family = AF_INET;
    }
}

void net_addr_of(const struct sockaddr_storage *sa, struct net_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa->ss_family == AF_INET) {
        out->family = AF_INET;
        memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->ss_family == AF_INET6) {
        out->family = AF_INET6;
        memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        addr_fold(out);
    }
}

int net_addr_parse(const char *numeric, struct net_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, numeric, out->bytes) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, numeric, out->bytes) == 1)
        out->family = AF_INET6;
    else
        return -1;
    addr_fold(out);
    return 0;
}

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

bool net_peer_matches(const struct sockaddr_storage *sa, const char *numeric)
{
    struct net_addr want, got;
    if (net_addr_parse(numeric, &want) < 0)
        return false;
    net_addr_of(sa, &got);
    return net_addr_equal(&want, &got);
}

void net_tune(int fd, int keepalive_idle_s)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (keepalive_idle_s <= 0)
        return;
    int idle = keepalive_idle_s, intvl = 1, cnt = 3;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

void net_sndbuf(int fd, int bytes)
{
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}
