/* sim_ask.c - --ask: the robot asks, as rapid-examples' RbAsk does.
 *
 * Every --ask-every seconds while linked, and only when no ask is out, the
 * request frame TYPE,seq[,FIELDS] goes to the bridge. The answer is the
 * first line from the bridge with that seq that is not a command the
 * simulator knows: the reply frame (any type the built-in table does not
 * have as a command) or RX,seq,CODE,TEXT. Each answer, or SIM_ASK_TIME
 * without one, is printed on stdout; a lost link loses the ask out. After
 * --ask-count answers the simulator closes cleanly: exit status 0 when every
 * answer was a reply, 3 when any was not.
 */
#include "sim.h"

#include "sim_frame.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ASK_EXIT_FAILED 3

static void answered(struct sim *s, bool reply, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void answered(struct sim *s, bool reply, const char *fmt, ...)
{
    char type[FRAME_TYPE_MAX + 1];
    snprintf(type, sizeof type, "%.*s", (int)strcspn(s->opt->ask, ","), s->opt->ask);
    printf("ask %s seq %u: ", type, (unsigned)s->ask_seq);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    s->ask_out = false;
    ev_timer_stop(s->loop, &s->t_ask_limit);
    s->ask_failed |= !reply;
    s->ask_answers++;
    if (s->opt->ask_count && s->ask_answers >= s->opt->ask_count) {
        if (s->ask_failed)
            s->exit_code = ASK_EXIT_FAILED;
        link_finish(s, "--ask-count answers");
    }
}

static void on_ask(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    if (s->ask_out || s->finishing)
        return;
    const char *comma = strchr(s->opt->ask, ',');
    char type[FRAME_TYPE_MAX + 1];
    snprintf(type, sizeof type, "%.*s", (int)strcspn(s->opt->ask, ","), s->opt->ask);
    struct sim_frame f;
    s->ask_seq = sim_next_seq(s);
    sim_frame_begin(&f, type, s->ask_seq);
    if (comma)
        sim_frame_str(&f, comma + 1);
    size_t len = sim_frame_end(&f, s->opt->checksum);
    if (!sim_send(s, f.text, len, SEND_ACK))
        return;
    s->ask_out = true;
    ev_timer_set(&s->t_ask_limit, SIM_ASK_TIME, 0);
    ev_timer_start(s->loop, &s->t_ask_limit);
}

static void on_ask_limit(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sim *s = w->data;
    if (s->ask_out)
        answered(s, false, "no answer within %.0f s", SIM_ASK_TIME);
}

void ask_init(struct sim *s)
{
    ev_timer_init(&s->t_ask, on_ask, 0, 0);
    ev_timer_init(&s->t_ask_limit, on_ask_limit, 0, 0);
    s->t_ask.data = s->t_ask_limit.data = s;
}

void ask_up(struct sim *s)
{
    if (!s->opt->ask[0])
        return;
    ev_timer_set(&s->t_ask, s->opt->ask_every, s->opt->ask_every);
    ev_timer_start(s->loop, &s->t_ask);
}

void ask_down(struct sim *s)
{
    ev_timer_stop(s->loop, &s->t_ask);
    if (s->ask_out && !s->finishing)
        answered(s, false, "no answer: link lost");
    s->ask_out = false;
    ev_timer_stop(s->loop, &s->t_ask_limit);
}

bool ask_line(struct sim *s, const char *line, size_t len)
{
    if (!s->ask_out)
        return false;
    size_t t = 0;
    while (t < len && line[t] != ',')
        t++;
    const struct frame_def *d = t < len ? schema_find(s->schema, DIR_OUT, line, t) : NULL;
    if (t == len || (d && d->role == ROLE_COMMAND))
        return false; /* a command: cmd_line answers it */
    const char *p = line + t + 1, *end = line + len;
    uint32_t seq = 0;
    size_t digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 6) {
        seq = seq * 10 + (uint32_t)(*p++ - '0');
        digits++;
    }
    if (digits == 0 || digits > 5 || seq != s->ask_seq || (p < end && *p != ','))
        return false;
    if (t == 2 && memcmp(line, "RX", 2) == 0) {
        /* RX,seq,CODE,TEXT */
        const char *code = p < end ? p + 1 : end;
        const char *comma = memchr(code, ',', (size_t)(end - code));
        int cl = (int)((comma ? comma : end) - code);
        int tl = comma ? (int)(end - comma - 1) : 0;
        answered(s, false, "RX %.*s %.*s", cl, code, tl, comma ? comma + 1 : "");
    } else {
        answered(s, true, "reply %.*s", (int)len, line);
    }
    return true;
}
