/* sim_stream.c - everything the simulated controller sends on its own:
 * the hello, the motion stream, IO and EV reports, heartbeats, malformed
 * frames for tests, and replayed logs (see sim.h). */
#include "sim.h"

#include "sim_frame.h"

#include <math.h>
#include <string.h>

#define SW_VERSION "robot-sim 0.1"
#define EV_CODE_INFO 10001

uint32_t sim_next_seq(struct sim *s)
{
    uint32_t seq = s->seq;
    s->seq = seq >= SEQ_MAX ? 0 : seq + 1;
    return seq;
}

static bool want(const struct sim *s, unsigned bit)
{
    return (s->opt->stream & bit) != 0;
}

static void send_frame(struct sim *s, struct sim_frame *f, enum send_kind kind)
{
    size_t len = sim_frame_end(f, s->opt->checksum);
    sim_send(s, f->text, len, kind);
}

/* --bad-every: one malformed frame, each kind in turn. Each is wrong for
 * exactly one reason, so the bridge's error counters can be checked. */
static void send_bad(struct sim *s)
{
    struct sim_frame f;
    unsigned kind = s->bad_kind++ % 5;
    switch (kind) {
    case 0: /* unknown type */
        sim_frame_begin(&f, "XQ", sim_next_seq(s));
        sim_frame_str(&f, "1");
        break;
    case 1: /* wrong field count: JT with two joints */
        sim_frame_begin(&f, "JT", sim_next_seq(s));
        sim_frame_num(&f, 1, 2);
        sim_frame_num(&f, 2, 2);
        break;
    case 2: { /* bad checksum, whatever --checksum says */
        sim_frame_begin(&f, "HB", sim_next_seq(s));
        char tail[8];
        snprintf(tail, sizeof tail, "*%02X\n", frame_checksum(f.text, f.len) ^ 0x5A);
        memcpy(f.text + f.len, tail, 5);
        sim_send(s, f.text, f.len + 4, SEND_BAD);
        return;
    }
    case 3: /* non-printable byte inside a text field */
        sim_frame_begin(&f, "EV", sim_next_seq(s));
        sim_frame_str(&f, "I");
        sim_frame_int(&f, 1);
        sim_frame_str(&f, "bad\x01" "byte");
        break;
    default: /* value out of range: speed 150 % */
        sim_frame_begin(&f, "ST", sim_next_seq(s));
        sim_frame_str(&f, "RUNNING");
        sim_frame_str(&f, "AUTO");
        sim_frame_str(&f, "ON");
        sim_frame_int(&f, 150);
        break;
    }
    send_frame(s, &f, SEND_BAD);
}

bool sim_send(struct sim *s, const char *text, size_t len, enum send_kind kind)
{
    if (s->link != LINK_UP || s->silent || s->finishing)
        return false;
    if (kind == SEND_STREAM && s->opt->count && s->sent >= s->opt->count)
        return false;
    if (!out_push(&s->out, text, len)) {
        /* Log the first drop of a run of drops, then every power of two. */
        s->dropped++;
        if ((s->dropped & (s->dropped - 1)) == 0)
            sim_log(s, "output queue full: %lu frames dropped so far", s->dropped);
        return false;
    }
    s->last_send = ev_now(s->loop);
    if (s->opt->verbose)
        sim_log(s, "> %.*s", (int)(len - 1), text);
    link_kick(s);
    if (kind != SEND_STREAM)
        return true;
    s->sent++;
    if (s->opt->bad_every && ++s->bad_since >= s->opt->bad_every) {
        s->bad_since = 0;
        send_bad(s);
    }
    if (s->opt->count && s->sent >= s->opt->count)
        link_finish(s, "--count frames sent");
    return true;
}

void stream_send_st(struct sim *s)
{
    if (!want(s, STREAM_ST))
        return;
    struct sim_frame f;
    sim_frame_begin(&f, "ST", sim_next_seq(s));
    sim_frame_str(&f, robot_running(s) ? "RUNNING" : "STOPPED");
    sim_frame_str(&f, "AUTO");
    sim_frame_str(&f, "ON");
    sim_frame_int(&f, s->speed);
    send_frame(s, &f, SEND_STREAM);
}

void stream_send_io(struct sim *s, const struct sim_signal *sig)
{
    if (!want(s, STREAM_IO))
        return;
    struct sim_frame f;
    sim_frame_begin(&f, "IO", sim_next_seq(s));
    sim_frame_str(&f, sig->name);
    sim_frame_num(&f, sig->value, sig->digital ? 0 : 2);
    send_frame(s, &f, SEND_STREAM);
}

/* One motion cycle: joints, pose, configuration, state (and extax). */
static void send_cycle(struct sim *s)
{
    const double *j = s->motion.joints;
    struct sim_frame f;
    if (want(s, STREAM_JT)) {
        sim_frame_begin(&f, "JT", sim_next_seq(s));
        for (int i = 0; i < SIM_JOINTS; i++)
            sim_frame_num(&f, j[i], 2);
        send_frame(s, &f, SEND_STREAM);
    }
    if (want(s, STREAM_PS)) {
        double pos[3], q[4];
        motion_pose(j, pos, q);
        sim_frame_begin(&f, "PS", sim_next_seq(s));
        for (int i = 0; i < 3; i++)
            sim_frame_num(&f, pos[i], 1);
        for (int i = 0; i < 4; i++)
            sim_frame_num(&f, q[i], 6);
        send_frame(s, &f, SEND_STREAM);
    }
    if (want(s, STREAM_CF)) {
        int conf[4];
        motion_conf(j, conf);
        sim_frame_begin(&f, "CF", sim_next_seq(s));
        for (int i = 0; i < 4; i++)
            sim_frame_int(&f, conf[i]);
        sim_frame_str(&f, "tool0");
        sim_frame_str(&f, "wobj0");
        send_frame(s, &f, SEND_STREAM);
    }
    stream_send_st(s);
    if (want(s, STREAM_EJ)) {
        /* One track axis; RAPID reports an axis that is not there as 9E+09. */
        sim_frame_begin(&f, "EJ", sim_next_seq(s));
        sim_frame_num(&f, motion_track(&s->motion), 1);
        for (int i = 1; i < 6; i++)
            sim_frame_str(&f, "9E+09");
        send_frame(s, &f, SEND_STREAM);
    }
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct sim *s = w->data;
    double now = ev_now(loop);
    double dt = now - s->last_tick;
    s->last_tick = now;
    if (motion_advance(&s->motion, dt, now, s->speed))
        cmd_home_done(s);
    if (arm_moving(s))
        send_cycle(s);
}

static void send_hb(struct sim *s)
{
    struct sim_frame f;
    sim_frame_begin(&f, "HB", sim_next_seq(s));
    send_frame(s, &f, SEND_STREAM);
}

/* Stopped: ST and HB every period. Running: HB only when nothing else went
 * out for a period (a replay gap, or --stream without periodic types). */
static void on_hb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct sim *s = w->data;
    if (!s->replay && !arm_moving(s)) {
        stream_send_st(s);
        send_hb(s);
    } else if (ev_now(loop) - s->last_send >= HB_PERIOD * 0.9) {
        send_hb(s);
    }
}

static void on_io(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    for (unsigned i = 0; i < s->nsignals; i++) {
        struct sim_signal *sig = &s->signals[i];
        if (!sig->output && !sig->digital) /* the analog input drifts */
            sig->value = 6.0 + 0.25 * sin(s->motion.phase / 3.0);
        stream_send_io(s, sig);
    }
}

static void on_ev(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    if (!want(s, STREAM_EV))
        return;
    char text[64];
    snprintf(text, sizeof text, "status report %u, speed %d%%", ++s->ev_count, s->speed);
    struct sim_frame f;
    sim_frame_begin(&f, "EV", sim_next_seq(s));
    sim_frame_str(&f, "I");
    sim_frame_int(&f, EV_CODE_INFO);
    sim_frame_str(&f, text);
    send_frame(s, &f, SEND_STREAM);
}

/* A recorded frame goes out as recorded (it may be malformed on purpose);
 * --checksum adds "*HH" only where it has none. */
static bool send_recorded(struct sim *s, const struct replay_frame *rf, enum send_kind kind)
{
    char buf[REPLAY_LINE_MAX + 8];
    memcpy(buf, rf->text, rf->len);
    size_t n = rf->len;
    if (s->opt->checksum && !memchr(rf->text, '*', rf->len))
        n += (size_t)snprintf(buf + n, 4, "*%02X", frame_checksum(rf->text, rf->len));
    buf[n++] = '\n';
    return sim_send(s, buf, n, kind);
}

static size_t replay_start(const struct sim *s)
{
    return s->replay->starts_with_hi ? 1 : 0;
}

/* --loop: the pause between the end of the log and its start again, the
 * mean gap of the log, or 1 s when it has none to measure. */
static double loop_gap(const struct sim_replay *r, size_t start)
{
    size_t m = r->n - start;
    double mean = m > 1 ? (r->frames[r->n - 1].time - r->frames[start].time) / (double)(m - 1) : 0;
    return mean > 0 ? mean : 1.0;
}

/* Send every replayed frame that is due, keeping the log's gaps divided by
 * --speed; stop early while the output queue is above OUT_HIGH. */
static void replay_pump(struct sim *s)
{
    const struct sim_replay *r = s->replay;
    double now = ev_now(s->loop);
    s->replay_waiting = false;
    for (;;) {
        if (s->link != LINK_UP || s->finishing || s->silent)
            return; /* silent: the log pauses; it never resumes on this link */
        if (s->replay_pos >= r->n) {
            if (!s->opt->loop || replay_start(s) >= r->n) {
                link_finish(s, "end of the replayed log");
                return;
            }
            s->replay_pos = replay_start(s);
            if (s->opt->speed > 0)
                s->replay_due += loop_gap(r, replay_start(s)) / s->opt->speed;
            continue;
        }
        if (s->out.len >= OUT_HIGH) {
            s->replay_waiting = true;
            return;
        }
        if (s->replay_due > now + 0.0005) {
            ev_timer_stop(s->loop, &s->t_replay);
            ev_timer_set(&s->t_replay, s->replay_due - now, 0);
            ev_timer_start(s->loop, &s->t_replay);
            return;
        }
        const struct replay_frame *rf = &r->frames[s->replay_pos++];
        send_recorded(s, rf, SEND_STREAM);
        if (s->replay_pos < r->n && s->opt->speed > 0) {
            double gap = r->frames[s->replay_pos].time - rf->time;
            s->replay_due += gap > 0 ? gap / s->opt->speed : 0;
        }
    }
}

static void on_replay(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    replay_pump(w->data);
}

void stream_drained(struct sim *s)
{
    if (s->replay && s->replay_waiting)
        replay_pump(s);
}

static void send_hello(struct sim *s)
{
    if (s->opt->no_hello)
        return;
    if (s->replay && s->replay->starts_with_hi) {
        send_recorded(s, &s->replay->frames[0], SEND_HELLO);
        return;
    }
    struct sim_frame f;
    sim_frame_begin(&f, "HI", sim_next_seq(s));
    sim_frame_str(&f, s->opt->hello_name[0] ? s->opt->hello_name : s->opt->name);
    sim_frame_int(&f, 1);
    sim_frame_str(&f, SW_VERSION);
    send_frame(s, &f, SEND_HELLO);
}

void stream_up(struct sim *s)
{
    double now = ev_now(s->loop);
    s->last_send = now;
    send_hello(s);
    ev_timer_set(&s->t_hb, HB_PERIOD, HB_PERIOD);
    ev_timer_start(s->loop, &s->t_hb);
    if (s->replay) {
        /* After a reconnect the log goes on where it stopped. */
        s->replay_due = now;
        ev_timer_set(&s->t_replay, 0, 0);
        ev_timer_start(s->loop, &s->t_replay);
        return;
    }
    double period = 1.0 / s->opt->rate;
    s->last_tick = now;
    ev_timer_set(&s->t_tick, 0, period);
    ev_timer_start(s->loop, &s->t_tick);
    ev_timer_set(&s->t_io, period / 2, IO_PERIOD);
    ev_timer_start(s->loop, &s->t_io);
    ev_timer_set(&s->t_ev, EV_PERIOD / 2, EV_PERIOD);
    ev_timer_start(s->loop, &s->t_ev);
}

void stream_down(struct sim *s)
{
    ev_timer_stop(s->loop, &s->t_tick);
    ev_timer_stop(s->loop, &s->t_hb);
    ev_timer_stop(s->loop, &s->t_io);
    ev_timer_stop(s->loop, &s->t_ev);
    ev_timer_stop(s->loop, &s->t_replay);
    s->replay_waiting = false;
}

void stream_init(struct sim *s)
{
    s->seq = s->opt->seq_start;
    s->replay_pos = s->replay ? replay_start(s) : 0;
    ev_timer_init(&s->t_tick, on_tick, 0, 0);
    ev_timer_init(&s->t_hb, on_hb, 0, 0);
    ev_timer_init(&s->t_io, on_io, 0, 0);
    ev_timer_init(&s->t_ev, on_ev, 0, 0);
    ev_timer_init(&s->t_replay, on_replay, 0, 0);
    s->t_tick.data = s->t_hb.data = s->t_io.data = s->t_ev.data = s->t_replay.data = s;
}
