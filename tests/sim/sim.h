/* sim.h - robot-sim's one context and the calls between its parts.
 *
 *   robot_sim.c   main: options, signals, the loop, clean-up
 *   sim_link.c    the TCP link: connect, back-off, read, write, clean close
 *   sim_stream.c  what the controller sends: HI, JT PS CF ST EJ IO EV HB,
 *                 malformed frames, replayed logs, the --count limit
 *   sim_cmd.c     commands from the bridge and their AK replies
 *   sim_ask.c     --ask: requests to the bridge and their replies or RX, as
 *                 the RAPID examples' RbAsk sends them
 *   sim_call.c    CALL as the RAPID examples run it: the prefix, one at a
 *                 time, STOP's end of a CALL, and the hand-over to a motion
 *                 task stopped at a chosen point (--call-stop, --warm-start)
 *
 * One struct sim owns every watcher, buffer and piece of robot state; it is
 * allocated by main and passed everywhere, nothing is global. Writes only
 * queue bytes (sim_out.h) and start the write watcher, so no callback ever
 * closes the link under the framer's feet.
 */
#ifndef SIM_H
#define SIM_H

#include "framer.h"
#include "schema.h"
#include "sim_motion.h"
#include "sim_opts.h"
#include "sim_out.h"
#include "sim_replay.h"

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#define BACKOFF_MIN 0.2       /* s: first reconnect delay, doubled per failure */
#define BACKOFF_MAX 5.0       /* s: reconnect delay never grows beyond this */
#define LINK_STABLE 2.0       /* s: a link that lived this long resets the back-off */
#define CONNECT_TIMEOUT 5.0   /* s: a connect still pending then counts as failed */
#define CLOSE_WAIT 2.0        /* s: a clean close waits this long for the bridge's FIN */
#define HB_PERIOD 1.0         /* s: HB (and ST while stopped) when nothing else is sent */
#define IO_PERIOD 2.0         /* s: every signal reported, changed or not */
#define EV_PERIOD 10.0        /* s: an info event */
#define SIM_SIGNALS_MAX 8     /* IO signals the robot has */
#define SIM_REGS 100          /* SETREG indexes 1..SIM_REGS */
#define ACKS_MAX 32           /* AK replies waiting for --ack-delay; more are dropped, logged */
#define ACK_TEXT_MAX 50       /* an AK's text: "AK,99999,99999,ERR,41,<text>*HH" fits 80 */
#define CALL_TAKE_TIME 2.0    /* s: a CALL not taken by then is withdrawn (RB_CALL_TAKE_TIME) */

/* AK error codes, those of rapid-examples/RbShared.sys. */
#define AKERR_BAD_COMMAND 1
#define AKERR_UNKNOWN_PROC 41
#define AKERR_UNKNOWN_SIGNAL 42
#define AKERR_INTERRUPTED 43
#define AKERR_BUSY 44
#define AKERR_NOMOTION 45
#define AKERR_DENIED 46

enum link_state { LINK_WAIT, LINK_CONNECTING, LINK_UP };

/* What a frame is, for counting: the hello and AKs never count toward
 * --count or --bad-every; a malformed frame is sent raw. */
enum send_kind { SEND_HELLO, SEND_STREAM, SEND_ACK, SEND_BAD };

struct sim_signal {
    char name[IDENT_MAX + 1];
    bool output;               /* SETDO may set it */
    bool digital;              /* 0/1, written without decimals */
    double value;
};

/* The answer to one command: at once, or later (r.later) from sim_call.c. */
struct sim_reply {
    bool later;
    bool ok;
    int code;
    char text[ACK_TEXT_MAX + 1];
};

/* --call-stop: the one CALL caught in the hand-over of rapid-examples'
 * RbCommand.mod / RbMotion.mod while the motion task is stopped. */
struct sim_handover {
    bool active;               /* a CALL is caught; the motion task is stopped */
    bool taken;                /* M3 done: the motion task wrote rbCallTaken */
    bool dropped;              /* the link task withdrew it (rbCallDrop) */
    bool awaited;              /* the link task still waits to answer it */
    uint32_t seq;
    size_t proc;               /* index into the procedure table */
    ev_timer t_take, t_warm, t_resume;
};

struct sim_ack {
    double due;                /* ev_now time to send it */
    uint32_t cmd_seq;
    bool ok;
    int code;
    char text[ACK_TEXT_MAX + 1];
};

struct sim {
    struct ev_loop *loop;
    const struct sim_opts *opt;
    struct schema *schema;     /* built-in frames: decodes the commands */
    struct sim_replay *replay; /* NULL: live motion */
    uint64_t rng;
    int exit_code;

    /* link (sim_link.c) */
    int fd;
    enum link_state link;
    double up_since;
    double backoff;
    bool finishing;            /* clean close under way: send nothing new */
    bool shut_wr;
    bool silent;               /* --silent-after reached on this link */
    struct framer framer;
    ev_io io_read, io_write;
    ev_timer t_retry, t_connect, t_close, t_silent;
    ev_signal sig_int, sig_term;

    /* output (sim_stream.c) */
    uint32_t seq;              /* own counter, 0..SEQ_MAX, wraps */
    double last_send;
    unsigned long sent;        /* frames toward --count */
    unsigned long bad_since;   /* frames since the last malformed one */
    unsigned bad_kind;
    unsigned long dropped;     /* frames refused by a full output queue */
    struct sim_out out;
    ev_timer t_tick, t_hb, t_io, t_ev, t_replay;
    double last_tick;
    unsigned ev_count;
    size_t replay_pos;
    double replay_due;         /* ev_now time the next replayed frame is due */
    bool replay_waiting;       /* output above OUT_HIGH: resume when drained */

    /* robot (sim_cmd.c) */
    struct sim_motion motion;
    int speed;                 /* override, percent */
    bool home_pending;         /* a CALL Home's AK waits for its move to end */
    uint32_t home_seq;
    bool prog_stopped;         /* the motion task is stopped (--call-stop): ST STOPPED */
    bool call_stop_armed;      /* the next CALL is the one --call-stop catches */
    char call_proc[IDENT_MAX + 1]; /* the last CALL handed over, for "busy" */
    struct sim_handover ho;
    unsigned nsignals;
    struct sim_signal signals[SIM_SIGNALS_MAX];
    double regs[SIM_REGS];
    ev_timer t_ack;
    size_t ack_head, ack_n;
    struct sim_ack acks[ACKS_MAX];

    /* requests (sim_ask.c, --ask): one out at a time, as RbAsk */
    bool ask_out;
    uint32_t ask_seq;
    unsigned long ask_answers;
    bool ask_failed;           /* an answer was RX or none */
    ev_timer t_ask, t_ask_limit;
};

/* One line to stderr: "2026-11-25T22:30:01.123Z robot-sim rob1: message". */
void sim_log(const struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* sim_link.c */
void link_init(struct sim *s);
void link_connect(struct sim *s);
void link_down(struct sim *s, const char *reason);
void link_kick(struct sim *s);                   /* bytes queued: write soon */
void link_finish(struct sim *s, const char *why); /* clean close, then exit 0 */
void link_shutdown(struct sim *s);               /* stop every watcher now */

/* sim_stream.c */
void stream_init(struct sim *s);
void stream_up(struct sim *s);                    /* link up: HI, start timers */
void stream_down(struct sim *s);                  /* link down: stop timers */
void stream_drained(struct sim *s);               /* output below OUT_HIGH */
uint32_t sim_next_seq(struct sim *s);
/* Queue one frame (text ends with LF). Applies --silent-after, the clean
 * close, --count and --bad-every. Returns false when it was not queued. */
bool sim_send(struct sim *s, const char *text, size_t len, enum send_kind kind);
void stream_send_st(struct sim *s);
void stream_send_io(struct sim *s, const struct sim_signal *sig);

/* sim_cmd.c */
void robot_init(struct sim *s);
int cmd_line(void *ctx, const char *line, size_t len);     /* framer_line_fn */
int cmd_frame_error(void *ctx, enum frame_err err);        /* framer_error_fn */
void acks_clear(struct sim *s);
/* Queue one AK (in order, after --ack-delay; nothing with --drop-acks). */
void sim_ack(struct sim *s, uint32_t cmd_seq, bool ok, int code, const char *text);
void sim_reply_err(struct sim_reply *r, int code, const char *what, const char *name, size_t len);
bool robot_running(const struct sim *s);                   /* ST exec: the motion task runs */
bool arm_moving(const struct sim *s);                      /* not held: JT PS CF each cycle */
struct sim_signal *sim_find_signal(struct sim *s, const char *name, size_t len);
void sim_set_output(struct sim *s, struct sim_signal *sig, double value);

/* sim_ask.c */
void ask_init(struct sim *s);
void ask_up(struct sim *s);                   /* link up: start asking */
void ask_down(struct sim *s);                 /* link down: an ask out is lost */
/* A line from the bridge: true when it answered the ask out (reply or RX). */
bool ask_line(struct sim *s, const char *line, size_t len);

/* sim_call.c */
void call_init(struct sim *s);
void call_shutdown(struct sim *s);                          /* stop its timers */
void call_command(struct sim *s, uint32_t seq, const char *name, size_t len,
                  struct sim_reply *r);
/* STOP: a running CALL ends with ERR 43; true when one was running. */
bool call_stop(struct sim *s);
bool call_busy(const struct sim *s);
void cmd_home_done(struct sim *s);                          /* the Home move ended */

#endif
