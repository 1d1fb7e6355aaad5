/* sim_cmd.c - commands from the bridge, as the RAPID example would run them,
 * and their AK replies (see sim.h).
 *
 * Every command that decodes is answered once: AK OK, or AK ERR with a
 * code and a text. A line that does not decode is answered
 * "ERR,1,bad command" when its seq can be read, else ignored (there is no
 * seq to answer). CALL is sim_call.c's; a CALL RemoteHome answers when the
 * arm is home. STOP ends a running CALL and, with --stop-mode cycle (the
 * default, rbStopMode "CYCLE"), the cycle: the arm stands still until the
 * next CALL, while the motion task (ST exec) keeps running. --ack-delay holds
 * the replies back in order; --drop-acks swallows them.
 */
#include "sim.h"

#include "decode.h"
#include "sim_frame.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void sim_reply_err(struct sim_reply *r, int code, const char *what, const char *name, size_t len)
{
    r->ok = false;
    r->code = code;
    snprintf(r->text, sizeof r->text, "%s%.*s", what, (int)len, name);
}

/* --- the AK queue -------------------------------------------------------- */

static void send_ak(struct sim *s, const struct sim_ack *a)
{
    struct sim_frame f;
    sim_frame_begin(&f, "AK", sim_next_seq(s));
    sim_frame_int(&f, a->cmd_seq);
    sim_frame_str(&f, a->ok ? "OK" : "ERR");
    if (!a->ok) {
        sim_frame_int(&f, a->code);
        sim_frame_str(&f, a->text);
    }
    size_t len = sim_frame_end(&f, s->opt->checksum);
    sim_send(s, f.text, len, SEND_ACK);
}

static void arm_ack_timer(struct sim *s)
{
    ev_timer_stop(s->loop, &s->t_ack);
    if (s->ack_n == 0)
        return;
    double wait = s->acks[s->ack_head].due - ev_now(s->loop);
    ev_timer_set(&s->t_ack, wait > 0 ? wait : 0, 0);
    ev_timer_start(s->loop, &s->t_ack);
}

static void on_ack_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct sim *s = w->data;
    double now = ev_now(loop);
    while (s->ack_n > 0 && s->acks[s->ack_head].due <= now + 1e-6) {
        struct sim_ack a = s->acks[s->ack_head];
        s->ack_head = (s->ack_head + 1) % ACKS_MAX;
        s->ack_n--;
        send_ak(s, &a);
    }
    arm_ack_timer(s);
}

/* Replies keep the order of the commands: a later one never overtakes. */
void sim_ack(struct sim *s, uint32_t cmd_seq, bool ok, int code, const char *text)
{
    if (s->opt->drop_acks)
        return;
    struct sim_ack a = {.due = ev_now(s->loop) + s->opt->ack_delay, .cmd_seq = cmd_seq,
                        .ok = ok, .code = code};
    snprintf(a.text, sizeof a.text, "%s", text ? text : "");
    if (s->ack_n == 0 && s->opt->ack_delay <= 0) {
        send_ak(s, &a);
        return;
    }
    if (s->ack_n == ACKS_MAX) {
        sim_log(s, "AK queue full (%d): the AK for command %u is dropped", ACKS_MAX, cmd_seq);
        return;
    }
    if (s->ack_n > 0) {
        const struct sim_ack *last = &s->acks[(s->ack_head + s->ack_n - 1) % ACKS_MAX];
        if (a.due < last->due)
            a.due = last->due;
    }
    s->acks[(s->ack_head + s->ack_n) % ACKS_MAX] = a;
    if (++s->ack_n == 1)
        arm_ack_timer(s);
}

void acks_clear(struct sim *s)
{
    ev_timer_stop(s->loop, &s->t_ack);
    s->ack_head = s->ack_n = 0;
    s->home_pending = false;
}

/* --- robot state ---------------------------------------------------------- */

bool robot_running(const struct sim *s)
{
    return !s->prog_stopped;
}

bool arm_moving(const struct sim *s)
{
    return s->motion.state != MOTION_HOLD;
}

struct sim_signal *sim_find_signal(struct sim *s, const char *name, size_t len)
{
    for (unsigned i = 0; i < s->nsignals; i++)
        if (strlen(s->signals[i].name) == len && strncasecmp(s->signals[i].name, name, len) == 0)
            return &s->signals[i];
    return NULL;
}

void sim_set_output(struct sim *s, struct sim_signal *sig, double value)
{
    sig->value = value;
    stream_send_io(s, sig);
}

void robot_init(struct sim *s)
{
    static const struct sim_signal signals[] = {
        {"doGrip", true, true, 0},
        {"doVacuum", true, true, 0},
        {"aiPressure", false, false, 6.0},
    };
    _Static_assert(sizeof signals / sizeof signals[0] <= SIM_SIGNALS_MAX, "too many signals");
    memcpy(s->signals, signals, sizeof signals);
    s->nsignals = sizeof signals / sizeof signals[0];
    s->speed = 100;
    motion_init(&s->motion);
    ev_timer_init(&s->t_ack, on_ack_timer, 0, 0);
    s->t_ack.data = s;
    call_init(s);
}

/* --- one handler per command type ----------------------------------------- */

typedef void cmd_fn(struct sim *s, const struct frame_values *v, struct sim_reply *r);

static void do_ping(struct sim *s, const struct frame_values *v, struct sim_reply *r)
{
    (void)s;
    (void)v;
    (void)r;
}

static void do_setdo(struct sim *s, const struct frame_values *v, struct sim_reply *r)
{
    struct sim_signal *sig = sim_find_signal(s, v->v[0].str, v->v[0].len);
    if (!sig)
        sim_reply_err(r, AKERR_UNKNOWN_SIGNAL, "unknown signal ", v->v[0].str, v->v[0].len);
    else if (!sig->output)
        sim_reply_err(r, AKERR_UNKNOWN_SIGNAL, "not an output: ", v->v[0].str, v->v[0].len);
    else
        sim_set_output(s, sig, v->v[1].num != 0);
}

static void do_setreg(struct sim *s, const struct frame_values *v, struct sim_reply *r)
{
    int index = (int)v->v[0].num;
    if (index < 1 || index > SIM_REGS) { /* the schema checks it; stay safe */
        sim_reply_err(r, AKERR_BAD_COMMAND, "bad command", "", 0);
        return;
    }
    s->regs[index - 1] = v->v[1].num;
}

static void do_speed(struct sim *s, const struct frame_values *v, struct sim_reply *r)
{
    if (s->prog_stopped) {
        sim_reply_err(r, AKERR_NOMOTION, "motion task not running", "", 0);
        return;
    }
    s->speed = (int)v->v[0].num;
    stream_send_st(s);
}

/* RbStopTrap: stop, clear the path, end a running CALL; then the cycle
 * ends (--stop-mode cycle), or the program goes on with its next move
 * (path). A stopped motion task has nothing to stop. */
static void do_stop(struct sim *s, const struct frame_values *v, struct sim_reply *r)
{
    (void)v;
    (void)r;
    bool in_call = call_stop(s);
    if (s->prog_stopped || !arm_moving(s))
        return;
    if (in_call || !s->opt->stop_path) {
        motion_stop(&s->motion);
        sim_log(s, "STOP: %s", in_call ? "CALL ended, cycle ended" : "cycle ended, arm still");
    } else {
        sim_log(s, "STOP: path cleared, the program goes on (--stop-mode path)");
    }
}

static void do_call(struct sim *s, const struct frame_values *v, struct sim_reply *r)
{
    call_command(s, v->seq, v->v[0].str, v->v[0].len, r);
}

static const struct {
    const char *type;
    cmd_fn *run;
} commands[] = {
    {"PING", do_ping},
    {"SETDO", do_setdo},
    {"SETREG", do_setreg},
    {"SPEED", do_speed},
    {"STOP", do_stop},
    {"CALL", do_call},
};

/* "TYPE,SEQ..." -> SEQ when it is 1..5 digits ending the field. */
static bool read_seq(const char *line, size_t len, uint32_t *seq)
{
    const char *comma = memchr(line, ',', len);
    if (!comma)
        return false;
    const char *p = comma + 1, *end = line + len;
    uint32_t v = 0;
    size_t digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 6) {
        v = v * 10 + (uint32_t)(*p++ - '0');
        digits++;
    }
    if (digits == 0 || digits > 5 || (p < end && *p != ','))
        return false;
    *seq = v;
    return true;
}

#define LOG_LINE_MAX 100 /* characters of a command shown in the log */

int cmd_line(void *ctx, const char *line, size_t len)
{
    struct sim *s = ctx;
    int shown = (int)(len < LOG_LINE_MAX ? len : LOG_LINE_MAX);
    struct frame_values v;
    struct decode_error derr;
    if (ask_line(s, line, len))
        return 0; /* the answer to --ask */
    if (frame_decode(s->schema, DIR_OUT, line, len, &v, &derr) < 0) {
        uint32_t seq;
        if (!read_seq(line, len, &seq)) {
            sim_log(s, "command %.*s: %s, no seq to answer, ignored", shown, line,
                    frame_err_name(derr.err));
            return 0;
        }
        sim_log(s, "command %.*s -> ERR %d bad command (%s, field %u)", shown, line,
                AKERR_BAD_COMMAND, frame_err_name(derr.err), derr.field);
        sim_ack(s, seq, false, AKERR_BAD_COMMAND, "bad command");
        return 0;
    }
    if (v.def->role == ROLE_REFUSAL) {
        /* NO: the bridge refused our HI and closes the link; say why. */
        sim_log(s, "refused by the bridge: NO %.0f: %.*s", v.v[0].num, (int)v.v[1].len,
                v.v[1].str);
        return 0;
    }
    struct sim_reply r = {.ok = true};
    size_t i;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].type, v.def->type) == 0)
            break;
    if (i == sizeof commands / sizeof commands[0])
        sim_reply_err(&r, AKERR_BAD_COMMAND, "bad command", "", 0);
    else
        commands[i].run(s, &v, &r);
    if (r.later) {
        sim_log(s, "command %.*s -> AK when done", shown, line);
        return 0;
    }
    if (r.ok)
        sim_log(s, "command %.*s -> OK%s", shown, line, s->opt->drop_acks ? " (AK dropped)" : "");
    else
        sim_log(s, "command %.*s -> ERR %d %s%s", shown, line, r.code, r.text,
                s->opt->drop_acks ? " (AK dropped)" : "");
    sim_ack(s, v.seq, r.ok, r.code, r.text);
    return 0;
}

int cmd_frame_error(void *ctx, enum frame_err err)
{
    sim_log(ctx, "dropped a command line: %s", frame_err_name(err));
    return 0;
}
