/* robot_sim.c - robot-sim: a simulated ABB controller for rapidbridge.
 *
 * main: options, the context, signals, the loop and the clean-up. What the
 * simulator sends is in sim_stream.c, what it answers in sim_cmd.c, the link
 * in sim_link.c; sim_usage() in sim_opts.c lists every option.
 */
#include "sim.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void sim_log(const struct sim *s, const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ robot-sim %s: %s\n", stamp, ts.tv_nsec / 1000000L,
            s->opt->name, msg);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct sim *s = w->data;
    sim_log(s, "%s, exiting", w->signum == SIGINT ? "SIGINT" : "SIGTERM");
    ev_break(loop, EVBREAK_ALL);
}

static uint64_t seed_of(const struct sim_opts *o)
{
    if (o->seed)
        return o->seed;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
    return x ? x : 1;
}

static void cleanup(struct sim *s)
{
    link_shutdown(s);
    stream_down(s);
    ask_down(s);
    acks_clear(s);
    call_shutdown(s);
    ev_signal_stop(s->loop, &s->sig_int);
    ev_signal_stop(s->loop, &s->sig_term);
    replay_free(s->replay);
    schema_free(s->schema);
}

int main(int argc, char **argv)
{
    struct sim_opts opt;
    char err[256];
    switch (sim_opts_parse(argc, argv, &opt, err, sizeof err)) {
    case OPTS_HELP:
        sim_usage(stdout);
        return 0;
    case OPTS_ERROR:
        fprintf(stderr, "robot-sim: %s\n", err);
        return 2;
    case OPTS_RUN:
        break;
    }

    struct sim *s = calloc(1, sizeof *s);
    if (!s || !(s->schema = schema_new())) {
        fprintf(stderr, "robot-sim: out of memory\n");
        free(s);
        return 1;
    }
    if (opt.replay && !(s->replay = replay_load(opt.replay, opt.name, err, sizeof err))) {
        fprintf(stderr, "robot-sim: %s\n", err);
        schema_free(s->schema);
        free(s);
        return 1;
    }
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    if (!loop) {
        fprintf(stderr, "robot-sim: cannot start the event loop\n");
        replay_free(s->replay);
        schema_free(s->schema);
        free(s);
        return 1;
    }
    s->loop = loop;
    s->opt = &opt;
    s->rng = seed_of(&opt);
    robot_init(s);
    link_init(s);
    stream_init(s);
    ask_init(s);
    ev_signal_init(&s->sig_int, on_signal, SIGINT);
    ev_signal_init(&s->sig_term, on_signal, SIGTERM);
    s->sig_int.data = s->sig_term.data = s;
    ev_signal_start(loop, &s->sig_int);
    ev_signal_start(loop, &s->sig_term);
    signal(SIGPIPE, SIG_IGN);

    if (s->replay)
        sim_log(s, "replaying %zu frames from %s", s->replay->n, opt.replay);
    link_connect(s);
    ev_run(loop, 0);

    int code = s->exit_code;
    cleanup(s);
    free(s);
    ev_loop_destroy(loop);
    return code;
}
