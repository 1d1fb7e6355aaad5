/* sim_call.c - CALL as rapid-examples' RbCommand.mod and RbMotion.mod run it
 * (see sim.h).
 *
 * Checks in the order of RbCmdCall: a name without --call-prefix, main or
 * Rb... is refused (46); a CALL while one runs is busy (44); a stopped
 * motion task does not take it (45). Then the motion task runs it: an
 * unknown name is 41, RemoteHome answers when the arm is home, the others
 * at once. STOP ends a running CALL with 43.
 *
 * --call-stop catches the first CALL in the hand-over with the motion task
 * stopped at one point (rapid-examples/README.md, "Stop, power failure and
 * warm start"), and plays both tasks' steps: the link task withdraws a CALL
 * not taken after CALL_TAKE_TIME (rbCallDrop, answered 45 when it was not
 * taken); --warm-start restarts the link task at once (the link drops, no
 * AK, a CALL not taken is withdrawn); after --call-stop-time the motion task
 * goes on where it stopped, and runs the CALL only when it was taken and not
 * withdrawn before it looked (M4), answering only while the link task still
 * waits for it.
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef void proc_fn(struct sim *s, uint32_t seq, struct sim_reply *r);

/* A running procedure ends the hold, as the RAPID main loop would go on. */
static void resume(struct sim *s)
{
    if (arm_moving(s))
        return;
    motion_resume(&s->motion);
    stream_send_st(s);
}

static void proc_home(struct sim *s, uint32_t seq, struct sim_reply *r)
{
    if (s->replay) /* no motion while replaying: home at once */
        return;
    resume(s);
    double dur = motion_home(&s->motion, ev_now(s->loop));
    s->home_pending = true;
    s->home_seq = seq;
    r->later = true;
    sim_log(s, "moving home, %.1f s", dur);
}

static void proc_pick(struct sim *s, uint32_t seq, struct sim_reply *r)
{
    (void)seq;
    (void)r;
    resume(s);
    sim_set_output(s, sim_find_signal(s, "doGrip", 6), 1);
}

static void proc_place(struct sim *s, uint32_t seq, struct sim_reply *r)
{
    (void)seq;
    (void)r;
    resume(s);
    sim_set_output(s, sim_find_signal(s, "doGrip", 6), 0);
}

/* The procedures of the simulated motion task; RAPID names ignore case. */
static const struct {
    const char *name;
    proc_fn *run;
} procs[] = {
    {"RemoteHome", proc_home},
    {"RemotePickPart", proc_pick},
    {"RemotePlacePart", proc_place},
};
#define NPROCS (sizeof procs / sizeof procs[0])

static bool has_prefix_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(s, prefix, n) == 0;
}

/* RbProcAllowed: never main or Rb..., else only names with the prefix. */
static bool allowed(const struct sim *s, const char *name, size_t len)
{
    if ((len == 4 && strncasecmp(name, "main", 4) == 0) || has_prefix_ci(name, len, "rb"))
        return false;
    return has_prefix_ci(name, len, s->opt->call_prefix);
}

static size_t find_proc(const char *name, size_t len)
{
    for (size_t i = 0; i < NPROCS; i++)
        if (strlen(procs[i].name) == len && strncasecmp(procs[i].name, name, len) == 0)
            return i;
    return NPROCS;
}

bool call_busy(const struct sim *s)
{
    return s->motion.state == MOTION_HOMING || (s->ho.active && s->ho.taken);
}

/* Run a procedure whose answer the link task may no longer wait for: then
 * its effect happens, and no AK goes out. */
static void run_proc(struct sim *s, size_t proc, uint32_t seq, bool awaited)
{
    struct sim_reply r = {.ok = true};
    procs[proc].run(s, seq, &r);
    if (r.later) {
        if (!awaited)
            s->home_pending = false;
        return;
    }
    if (awaited)
        sim_ack(s, seq, r.ok, r.code, r.text);
}

/* --- the hand-over with a stopped motion task ------------------------------ */

static const char *point_name(enum sim_call_point p)
{
    return p == CALL_STOP_BEFORE ? "before" : p == CALL_STOP_INSIDE ? "inside" : "after";
}

/* L4: not taken in time: withdraw (rbCallDrop), then look at rbCallTaken. */
static void on_take_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    struct sim_handover *h = &s->ho;
    if (!h->active || h->dropped)
        return;
    h->dropped = true;
    if (h->taken) {
        sim_log(s, "CALL %s withdrawn, but already taken: waiting for it", procs[h->proc].name);
        return;
    }
    h->awaited = false;
    sim_log(s, "CALL %s not taken in %.0f s: withdrawn, ERR %d", procs[h->proc].name,
            CALL_TAKE_TIME, AKERR_NOMOTION);
    sim_ack(s, h->seq, false, AKERR_NOMOTION, "motion task did not take the CALL");
}

/* --warm-start: the link task starts again from main (RbCallStart). Runs
 * from a timer, never under the framer's feet. */
static void on_warm_start(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    struct sim_handover *h = &s->ho;
    ev_timer_stop(s->loop, &h->t_take);
    h->awaited = false;
    if (h->active && !h->taken)
        h->dropped = true;
    sim_log(s, "warm start: link task restarts%s", h->active && !h->taken
                                                     ? ", CALL not taken is withdrawn"
                                                     : ", the CALL was taken");
    link_down(s, "warm start (--warm-start)");
}

/* The motion task goes on where it stopped (PP kept). */
static void on_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    struct sim_handover *h = &s->ho;
    enum sim_call_point p = s->opt->call_stop;
    s->prog_stopped = false;
    motion_resume(&s->motion);
    ev_timer_stop(s->loop, &h->t_take);
    sim_log(s, "motion task goes on (stopped %s the hand-over)", point_name(p));
    stream_send_st(s);
    h->active = false;
    if (p == CALL_STOP_BEFORE && h->dropped) {
        sim_log(s, "CALL %s was withdrawn: not run", procs[h->proc].name);
        return; /* M1: no longer a request to take */
    }
    if (p != CALL_STOP_AFTER && h->dropped) {
        /* M4: taken, then found withdrawn */
        sim_log(s, "CALL %s taken but withdrawn: not run, ERR %d", procs[h->proc].name,
                AKERR_NOMOTION);
        if (h->awaited)
            sim_ack(s, h->seq, false, AKERR_NOMOTION, "withdrawn: not taken in time");
        return;
    }
    sim_log(s, "CALL %s runs%s", procs[h->proc].name, h->awaited ? "" : " (no AK: not awaited)");
    run_proc(s, h->proc, h->seq, h->awaited);
}

static void catch_call(struct sim *s, size_t proc, uint32_t seq, struct sim_reply *r)
{
    struct sim_handover *h = &s->ho;
    enum sim_call_point p = s->opt->call_stop;
    s->call_stop_armed = false;
    h->active = true;
    h->taken = p != CALL_STOP_BEFORE;
    h->dropped = false;
    h->awaited = true;
    h->seq = seq;
    h->proc = proc;
    r->later = true;
    s->prog_stopped = true;
    motion_stop(&s->motion);
    stream_send_st(s);
    sim_log(s, "CALL %s: motion task stopped %s the hand-over for %.1f s%s", procs[proc].name,
            point_name(p), s->opt->call_stop_time, s->opt->warm_start ? ", warm start" : "");
    ev_timer_set(&h->t_resume, s->opt->call_stop_time, 0);
    ev_timer_start(s->loop, &h->t_resume);
    if (s->opt->warm_start) {
        ev_timer_set(&h->t_warm, 0, 0);
        ev_timer_start(s->loop, &h->t_warm);
    } else {
        ev_timer_set(&h->t_take, CALL_TAKE_TIME, 0);
        ev_timer_start(s->loop, &h->t_take);
    }
}

/* --- the interface ------------------------------------------------------------ */

void call_init(struct sim *s)
{
    struct sim_handover *h = &s->ho;
    ev_timer_init(&h->t_take, on_take_timeout, 0, 0);
    ev_timer_init(&h->t_warm, on_warm_start, 0, 0);
    ev_timer_init(&h->t_resume, on_resume, 0, 0);
    h->t_take.data = h->t_warm.data = h->t_resume.data = s;
    s->call_stop_armed = s->opt->call_stop != CALL_STOP_NONE && !s->replay;
}

void call_shutdown(struct sim *s)
{
    ev_timer_stop(s->loop, &s->ho.t_take);
    ev_timer_stop(s->loop, &s->ho.t_warm);
    ev_timer_stop(s->loop, &s->ho.t_resume);
}

void call_command(struct sim *s, uint32_t seq, const char *name, size_t len, struct sim_reply *r)
{
    if (!allowed(s, name, len)) {
        sim_reply_err(r, AKERR_DENIED, "not callable: ", name, len);
        return;
    }
    if (call_busy(s)) {
        sim_reply_err(r, AKERR_BUSY, "busy: CALL ", s->call_proc, strlen(s->call_proc));
        snprintf(r->text + strlen(r->text), sizeof r->text - strlen(r->text), " running");
        return;
    }
    if (s->prog_stopped) {
        sim_reply_err(r, AKERR_NOMOTION, "motion task not running", "", 0);
        return;
    }
    snprintf(s->call_proc, sizeof s->call_proc, "%.*s", (int)len, name);
    size_t proc = find_proc(name, len);
    if (proc == NPROCS) {
        sim_reply_err(r, AKERR_UNKNOWN_PROC, "unknown procedure ", name, len);
        return;
    }
    if (s->call_stop_armed) {
        catch_call(s, proc, seq, r);
        return;
    }
    procs[proc].run(s, seq, r);
}

bool call_stop(struct sim *s)
{
    if (s->motion.state != MOTION_HOMING)
        return false;
    if (s->home_pending) {
        s->home_pending = false;
        sim_ack(s, s->home_seq, false, AKERR_INTERRUPTED, "interrupted by STOP");
    }
    return true;
}

void cmd_home_done(struct sim *s)
{
    if (!s->home_pending)
        return;
    s->home_pending = false;
    sim_log(s, "Home reached: AK for command %u", s->home_seq);
    sim_ack(s, s->home_seq, true, 0, NULL);
}
