/* local.c - the Unix socket listener (see local.h). */
#include "local.h"

#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOCAL_BACKLOG 64
#define LOCAL_GRBUF 4096

static void local_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct bridge *b = w->data;
    for (;;) {
        int fd = accept4(b->unix_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn(&b->log, "unix listener: accept: %s", strerror(errno));
            return;
        }
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
            log_warn(&b->log, "unix client: SO_PEERCRED: %s", strerror(errno));
            close(fd);
            continue;
        }
        char peer[ADDR_TEXT_MAX];
        snprintf(peer, sizeof peer, "unix:uid=%u,pid=%d", (unsigned)cred.uid, (int)cred.pid);
        if (b->nclients >= b->cfg.limits.max_clients) {
            static const char busy[] =
                "{\"class\":\"ERROR\",\"code\":\"busy\",\"message\":\"too many clients\"}\n";
            log_warn(&b->log, "client %s refused: %u clients already connected", peer, b->nclients);
            if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                log_debug(&b->log, "client %s: %s", peer, strerror(errno));
            close(fd);
            continue;
        }
        net_sndbuf(fd, CLIENT_SNDBUF);
        struct client *c = client_open(b, fd, peer);
        if (!c)
            continue;
        c->unix_socket = true;
        principal_user(&c->who, cred.uid, cred.gid);
        char text[PRINCIPAL_TEXT_MAX];
        log_debug(&b->log, "client %s connected as %s", peer, principal_text(&c->who, text));
    }
}

/* A socket file at path that nobody answers on is stale: remove it. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char err[NET_ERR_MAX])
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : (snprintf(err, NET_ERR_MAX, "json_unix %s: %s", path,
                                               strerror(errno)), -1);
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, NET_ERR_MAX, "json_unix %s exists and is not a socket", path);
        return -1;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof *sa) == 0) {
        close(probe);
        snprintf(err, NET_ERR_MAX, "json_unix %s is in use by another process", path);
        return -1;
    }
    if (probe >= 0)
        close(probe);
    if (unlink(path) < 0 && errno != ENOENT) {
        snprintf(err, NET_ERR_MAX, "json_unix %s: cannot remove the stale socket: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int local_open(struct bridge *b, char err[NET_ERR_MAX])
{
    b->unix_fd = -1;
    if (!b->cfg.has_unix)
        return 0;
    const char *path = b->cfg.unix_path;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (clear_stale(path, &sa, err) < 0)
        return -1;
    gid_t gid = (gid_t)-1;
    if (b->cfg.unix_group[0]) {
        char buf[LOCAL_GRBUF];
        struct group gr, *found = NULL;
        if (getgrnam_r(b->cfg.unix_group, &gr, buf, sizeof buf, &found) != 0 || !found) {
            snprintf(err, NET_ERR_MAX, "json_unix.group %s: no such group", b->cfg.unix_group);
            return -1;
        }
        gid = found->gr_gid;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, NET_ERR_MAX, "json_unix: socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)&sa, sizeof sa) < 0
        || chmod(path, (mode_t)b->cfg.unix_mode) < 0
        || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)
        || listen(fd, LOCAL_BACKLOG) < 0) {
        snprintf(err, NET_ERR_MAX, "json_unix %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    b->unix_fd = fd;
    ev_io_init(&b->unix_accept, local_accept_cb, fd, EV_READ);
    b->unix_accept.data = b;
    ev_io_start(b->loop, &b->unix_accept);
    log_info(&b->log, "listening for clients on unix:%s (mode %04o)", path, b->cfg.unix_mode);
    return 0;
}

void local_close(struct bridge *b)
{
    if (b->unix_fd < 0)
        return;
    ev_io_stop(b->loop, &b->unix_accept);
    close(b->unix_fd);
    b->unix_fd = -1;
    unlink(b->cfg.unix_path);
}
