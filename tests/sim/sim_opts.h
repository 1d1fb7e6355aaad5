/* sim_opts.h - robot-sim's command line -> validated settings.
 *
 * Every option of robot-sim is described once, in sim_usage(); parsing checks
 * each value's range so the rest of the simulator never sees a nonsense
 * setting. Nothing here touches the network.
 */
#ifndef SIM_OPTS_H
#define SIM_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_HOST_MAX 255
#define SIM_NAME_MAX 32          /* a RAPID identifier */
#define SIM_HELLO_NAME_MAX 40    /* --hello-name may be invalid on purpose, but fits a frame */
#define SIM_RATE_MAX 1000.0      /* Hz */
#define SIM_ACK_DELAY_MAX 600000 /* ms */
#define SIM_CALL_STOP_MAX 600.0  /* s, --call-stop-time */
#define SIM_CALL_PREFIX "Remote" /* rbCallPrefix of rapid-examples/RbCommand.mod */
#define SIM_ASK_MAX 60           /* --ask "TYPE[,fields]": fits a frame with seq and *HH */
#define SIM_ASK_TIME 10.0        /* s an ask waits, as RAPID's RbAsk (RB_ASK_TIME) */

/* --call-stop: where in the CALL hand-over (rapid-examples/README.md, "Stop,
 * power failure and warm start") the motion task is stopped. */
enum sim_call_point {
    CALL_STOP_NONE,
    CALL_STOP_BEFORE,   /* before M3: the CALL is not taken */
    CALL_STOP_INSIDE,   /* between M3 and M4: taken, rbCallDrop not yet looked at */
    CALL_STOP_AFTER,    /* after M4: the procedure is started */
};

/* Frame types the stream may carry (--stream). HB and AK are not optional. */
enum sim_stream_bit {
    STREAM_JT = 1u << 0,
    STREAM_PS = 1u << 1,
    STREAM_CF = 1u << 2,
    STREAM_ST = 1u << 3,
    STREAM_EJ = 1u << 4,
    STREAM_IO = 1u << 5,
    STREAM_EV = 1u << 6,
};
#define STREAM_DEFAULT (STREAM_JT | STREAM_PS | STREAM_CF | STREAM_ST | STREAM_IO | STREAM_EV)

struct sim_opts {
    char host[SIM_HOST_MAX + 1];  /* --connect HOST:PORT */
    char port[8];
    char name[SIM_NAME_MAX + 1];  /* --name */
    char hello_name[SIM_HELLO_NAME_MAX + 1]; /* --hello-name, "" = name */
    double rate;                  /* --rate, Hz */
    unsigned stream;              /* --stream, enum sim_stream_bit */
    bool once;                    /* --once */
    bool checksum;                /* --checksum */
    bool split;                   /* --split */
    unsigned bad_every;           /* --bad-every, 0 = never */
    double silent_after;          /* --silent-after, s, < 0 = never */
    double ack_delay;             /* --ack-delay, s */
    bool drop_acks;               /* --drop-acks */
    unsigned long count;          /* --count, 0 = no limit */
    bool no_hello;                /* --no-hello */
    const char *replay;           /* --replay FILE, NULL = live motion */
    double speed;                 /* --speed, 0 = as fast as possible */
    bool loop;                    /* --loop */
    uint32_t seq_start;           /* --seq-start */
    uint64_t seed;                /* --seed, 0 = from time and pid */
    char call_prefix[SIM_NAME_MAX + 1]; /* --call-prefix, "" = any name */
    bool stop_path;               /* --stop-mode path (default cycle) */
    enum sim_call_point call_stop; /* --call-stop */
    double call_stop_time;        /* --call-stop-time, s */
    bool warm_start;              /* --warm-start */
    char ask[SIM_ASK_MAX + 1];    /* --ask TYPE[,FIELDS], "" = never */
    double ask_every;             /* --ask-every, s between asks */
    unsigned long ask_count;      /* --ask-count, 0 = no limit */
    int verbose;                  /* -v: log every frame */
};

enum sim_opts_result { OPTS_RUN, OPTS_HELP, OPTS_ERROR };

/* Parse argv. On OPTS_ERROR, err holds one sentence for the user. */
enum sim_opts_result sim_opts_parse(int argc, char **argv, struct sim_opts *o,
                                    char *err, size_t errlen);

void sim_usage(FILE *out);

#endif
