/* sim_link.c - the TCP link to the bridge: connect with back-off, read into
 * the framer, write the output queue, clean close (see sim.h). */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 4096

static void retry_later(struct sim *s)
{
    double delay = s->backoff;
    s->backoff = fmin(BACKOFF_MAX, s->backoff * 2);
    s->link = LINK_WAIT;
    ev_timer_set(&s->t_retry, delay, 0);
    ev_timer_start(s->loop, &s->t_retry);
}

static void close_fd(struct sim *s)
{
    ev_io_stop(s->loop, &s->io_read);
    ev_io_stop(s->loop, &s->io_write);
    ev_timer_stop(s->loop, &s->t_connect);
    ev_timer_stop(s->loop, &s->t_silent);
    ev_timer_stop(s->loop, &s->t_close);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static void connect_failed(struct sim *s, const char *reason)
{
    close_fd(s);
    if (s->opt->once) {
        sim_log(s, "connect to %s:%s failed: %s; giving up (--once)", s->opt->host,
                s->opt->port, reason);
        s->exit_code = 1;
        s->link = LINK_WAIT;
        ev_break(s->loop, EVBREAK_ALL);
        return;
    }
    sim_log(s, "connect to %s:%s failed: %s; retry in %.1f s", s->opt->host, s->opt->port,
            reason, s->backoff);
    retry_later(s);
}

static void addr_text(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t size)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV)) {
        snprintf(out, size, "?");
        return;
    }
    snprintf(out, size, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

static void link_up(struct sim *s)
{
    ev_timer_stop(s->loop, &s->t_connect);
    ev_io_stop(s->loop, &s->io_write);
    ev_io_set(&s->io_write, s->fd, EV_WRITE);
    ev_io_set(&s->io_read, s->fd, EV_READ);
    ev_io_start(s->loop, &s->io_read);
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->link = LINK_UP;
    s->up_since = ev_now(s->loop);
    s->silent = false;
    s->shut_wr = false;
    framer_reset(&s->framer);
    out_clear(&s->out);

    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char local[NI_MAXHOST + NI_MAXSERV + 4] = "?";
    if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0)
        addr_text(&ss, len, local, sizeof local);
    sim_log(s, "connected to %s:%s from %s", s->opt->host, s->opt->port, local);

    if (s->opt->silent_after >= 0) {
        ev_timer_set(&s->t_silent, s->opt->silent_after, 0);
        ev_timer_start(s->loop, &s->t_silent);
    }
    stream_up(s);
    ask_up(s);
}

void link_connect(struct sim *s)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(s->opt->host, s->opt->port, &hints, &ai);
    if (rc) {
        connect_failed(s, gai_strerror(rc));
        return;
    }
    s->link = LINK_CONNECTING;
    /* The first address only: a controller is configured with one. */
    s->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        freeaddrinfo(ai);
        connect_failed(s, strerror(errno));
        return;
    }
    rc = connect(s->fd, ai->ai_addr, ai->ai_addrlen);
    int err = errno;
    freeaddrinfo(ai);
    if (rc == 0) {
        link_up(s);
    } else if (err == EINPROGRESS) {
        ev_io_set(&s->io_write, s->fd, EV_WRITE);
        ev_io_start(s->loop, &s->io_write);
        ev_timer_set(&s->t_connect, CONNECT_TIMEOUT, 0);
        ev_timer_start(s->loop, &s->t_connect);
    } else {
        connect_failed(s, strerror(err));
    }
}

void link_down(struct sim *s, const char *reason)
{
    if (s->link != LINK_UP)
        return;
    close_fd(s);
    framer_reset(&s->framer);
    out_clear(&s->out);
    stream_down(s);
    ask_down(s);
    acks_clear(s);
    s->link = LINK_WAIT;
    if (s->finishing || s->opt->once) {
        sim_log(s, "disconnected: %s", reason);
        ev_break(s->loop, EVBREAK_ALL);
        return;
    }
    if (ev_now(s->loop) - s->up_since >= LINK_STABLE)
        s->backoff = BACKOFF_MIN;
    sim_log(s, "disconnected: %s; reconnecting in %.1f s", reason, s->backoff);
    retry_later(s);
}

void link_kick(struct sim *s)
{
    if (s->link == LINK_UP && s->out.len > 0 && !s->silent)
        ev_io_start(s->loop, &s->io_write);
}

static void shut_wr_now(struct sim *s)
{
    shutdown(s->fd, SHUT_WR);
    s->shut_wr = true;
    ev_timer_set(&s->t_close, CLOSE_WAIT, 0);
    ev_timer_start(s->loop, &s->t_close);
}

void link_finish(struct sim *s, const char *why)
{
    if (s->finishing)
        return;
    s->finishing = true;
    stream_down(s);
    ask_down(s);
    acks_clear(s);
    sim_log(s, "finishing: %s", why);
    if (s->link != LINK_UP) {
        ev_break(s->loop, EVBREAK_ALL);
        return;
    }
    /* Send what is queued, then FIN, then wait for the bridge's FIN: closing
     * with unread bytes would reset the connection and could lose frames. */
    if (s->out.len == 0 || s->silent)
        shut_wr_now(s);
    else
        link_kick(s);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    if (s->link == LINK_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err)
            connect_failed(s, strerror(err));
        else
            link_up(s);
        return;
    }
    if (s->silent)
        out_clear(&s->out);
    if (out_write(&s->out, s->fd, s->opt->split, &s->rng) < 0) {
        char reason[128];
        snprintf(reason, sizeof reason, "write error: %s", strerror(errno));
        link_down(s, reason);
        return;
    }
    if (s->out.len == 0) {
        ev_io_stop(s->loop, &s->io_write);
        if (s->finishing && !s->shut_wr)
            shut_wr_now(s);
    }
    if (s->out.len < OUT_HIGH && s->replay_waiting)
        stream_drained(s);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    char buf[READ_CHUNK];
    ssize_t n = recv(s->fd, buf, sizeof buf, 0);
    if (n > 0) {
        if (!s->finishing)
            framer_feed(&s->framer, buf, (size_t)n);
        return;
    }
    if (n == 0) {
        link_down(s, "closed by the bridge");
        return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return;
    char reason[128];
    snprintf(reason, sizeof reason, "read error: %s", strerror(errno));
    link_down(s, reason);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    link_connect(w->data);
}

static void on_connect_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    connect_failed(w->data, "timed out");
}

static void on_close_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    link_down(w->data, "the bridge did not close within 2 s; closed");
}

static void on_silent(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    s->silent = true;
    out_clear(&s->out);
    ev_io_stop(s->loop, &s->io_write);
    sim_log(s, "silent from now on (--silent-after %g), socket kept open", s->opt->silent_after);
    if (s->finishing && !s->shut_wr)
        shut_wr_now(s);
}

void link_init(struct sim *s)
{
    s->fd = -1;
    s->link = LINK_WAIT;
    s->backoff = BACKOFF_MIN;
    framer_init(&s->framer, cmd_line, cmd_frame_error, s);
    ev_io_init(&s->io_read, on_read, -1, EV_READ);
    ev_io_init(&s->io_write, on_write, -1, EV_WRITE);
    ev_timer_init(&s->t_retry, on_retry, 0, 0);
    ev_timer_init(&s->t_connect, on_connect_timeout, 0, 0);
    ev_timer_init(&s->t_close, on_close_wait, 0, 0);
    ev_timer_init(&s->t_silent, on_silent, 0, 0);
    s->io_read.data = s->io_write.data = s;
    s->t_retry.data = s->t_connect.data = s->t_close.data = s->t_silent.data = s;
}

void link_shutdown(struct sim *s)
{
    close_fd(s);
    ev_timer_stop(s->loop, &s->t_retry);
    s->link = LINK_WAIT;
}
