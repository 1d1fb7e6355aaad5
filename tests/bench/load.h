/* load.h - one robot and many watching clients against one target, all in
 * this process: the load side of the bridge bench.
 *
 * The target is the bridge (clients send watch, read JSON lines) or the
 * floor relay (clients read the robot's own lines). One epoll, non-blocking
 * sockets, and a deadline on every wait.
 *
 * A run: connect the clients (at most LOAD_WAVE handshakes in flight, under
 * the bridge's listen backlog) and wait until each is registered; connect
 * the robot, send HI and wait until every client has seen it; then stream:
 *  - LOAD_FLOOD: `frames` JT frames, written in batches whenever the robot
 *    socket takes them (as fast as the target reads);
 *  - LOAD_PACED: JT at rate_hz for `seconds`, one write per frame (timerfd);
 *  - LOAD_IDLE:  HB at rate_hz for `seconds`, nothing published.
 * then wait until every healthy client has every frame, or nothing arrived
 * for LOAD_DRAIN_IDLE s.
 *
 * WebSocket watchers (ws_watchers, bridge only) connect to http_port, upgrade
 * at /ws with a minimal client of their own (test code: the masked frame
 * writer and frame reader of RFC 6455, nothing more), send the same watch,
 * and are counted apart (ws_* results), in the same run as the TCP ones and
 * alternating with them in connection order.
 *
 * Stalled clients read their handshake and HI, then never read again (their
 * receive buffer is shrunk to LOAD_STALLED_RCVBUF). They connect before the
 * healthy ones, and the robot first floods a prefill that only they watch,
 * until the target holds all it will for them and drops the rest (the
 * bridge: STATS shows drops); the healthy clients connect after it, so the
 * measured stream runs with the stalled ones already at their limit.
 *
 * Latency: every JT frame carries its send time in its first joint (ms since
 * the run's epoch, written as RAPID's NumToStr(v, 3) would; ~55 bytes per
 * frame, realistic), read back from the FRAME's "joints" or the raw line;
 * one sample per frame per healthy client, from just before the robot's
 * write to just after the client's read returned it. Both sides share this
 * process, so a client read late because the bench was busy adds to the
 * figure, for either target alike.
 *
 * With spec->tls each client to the bridge does a TLS handshake first (it
 * counts as connection set-up) and then reads and writes through OpenSSL;
 * the certificate is not verified (this measures the cost, not the trust).
 *
 * The target process is measured over the stream and drain only (not the
 * connection set-up): CPU from /proc, and its peak RSS at the end. Against
 * the bridge, a separate control client asks for STATS at the end.
 */
#ifndef RB_BENCH_LOAD_H
#define RB_BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LOAD_ERR_MAX 256
#define LOAD_WAVE 64               /* client handshakes in flight at once */
#define LOAD_STALLED_RCVBUF 4096   /* SO_RCVBUF of a stalled client */
#define LOAD_DRAIN_IDLE 1.0        /* s without progress that ends the drain */

enum load_target { TARGET_BRIDGE, TARGET_RELAY };
enum load_mode { LOAD_FLOOD, LOAD_PACED, LOAD_IDLE };

struct load_spec {
    enum load_mode mode;
    unsigned watchers;   /* healthy clients */
    unsigned stalled;    /* clients that stop reading after HI */
    double rate_hz;      /* PACED: JT per s; IDLE: HB per s */
    double seconds;      /* PACED, IDLE: how long */
    unsigned frames;     /* FLOOD: how many */
    bool tls;            /* bridge only: every client speaks TLS (json_tls), no verification */
    unsigned ws_watchers; /* healthy WebSocket clients (bridge with http_listen) */
    uint16_t http_port;  /* where they connect; set by the caller per run */
};

struct load_result {
    unsigned sent;          /* JT frames the robot wrote */
    double elapsed;         /* s, first write to the last frame any client read */
    double thr;             /* frames/s that reached the slowest healthy client */
    double deliv_min;       /* healthy clients: least received/sent, 0..1 */
    double deliv_avg;
    uint64_t missing;       /* frames the healthy clients never received */
    uint64_t told_dropped;  /* sum of DROPPED counts the healthy clients got */
    uint64_t stalled_got;   /* frames the stalled clients received in total */
    long long stats_drops;  /* bridge STATS "drops" at the end; -1 for the relay */
    long long stalled_drops; /* bridge: drops during the stream itself (the stalled
                              * clients' share); -1 for the relay or without them */
    size_t samples;
    double p50_ms, p99_ms, max_ms;
    double cpu_ms;          /* target: utime+stime over stream and drain */
    double sched_ms;        /* target: on-CPU time, ns resolution, same span */
    double hwm_mib;         /* target: peak RSS at the end */
    /* The WebSocket watchers alone (the figures above are the TCP ones). */
    double ws_deliv_min;
    uint64_t ws_missing, ws_told_dropped;
    size_t ws_samples;
    double ws_p50_ms, ws_p99_ms, ws_max_ms;
};

/* pid: the target process, for /proc. 0, or -1 with err. */
int load_run(enum load_target target, pid_t pid, uint16_t robot_port, uint16_t client_port,
             const struct load_spec *spec, struct load_result *res, char err[LOAD_ERR_MAX]);

#endif
