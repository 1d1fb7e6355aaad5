/* child.h - the processes the bridge bench runs, and what /proc says of them.
 *
 * Every child is killed with the bench (PR_SET_PDEATHSIG), so a bench that
 * crashes or hits its time limit never leaves a daemon or relay behind.
 * child_stop() sends SIGTERM, waits up to CHILD_STOP_TIMEOUT, then SIGKILL,
 * and always reaps.
 *
 * Readings (Linux /proc):
 *  - child_cpu_ms:   utime + stime of /proc/PID/stat (clock ticks, 10 ms);
 *  - child_sched_ms: time on a CPU of the main thread, /proc/PID/schedstat
 *                    (ns resolution; the daemon and the relay have one thread),
 *                    for the idle figure where ticks are too coarse;
 *  - child_hwm_mib:  VmHWM of /proc/PID/status, the peak resident set.
 * Each returns -1 when the file cannot be read.
 */
#ifndef RB_BENCH_CHILD_H
#define RB_BENCH_CHILD_H

#include <stdint.h>
#include <sys/types.h>

#define CHILD_START_TIMEOUT 5.0 /* s for the daemon to log both listeners */
#define CHILD_STOP_TIMEOUT 2.0  /* s after SIGTERM before SIGKILL */
#define CHILD_ERR_MAX 256

struct daemon_child {
    pid_t pid;
    uint16_t robot_port, client_port;
    uint16_t http_port;       /* 0 when the daemon serves no HTTP */
};

/* Run `bin -c config` with stderr to log_path; wait for its
 * "listening for robots|clients on HOST:PORT" lines. 0, or -1 with err
 * (the child is stopped then). */
int child_start_daemon(const char *bin, const char *config, const char *log_path,
                       struct daemon_child *d, char err[CHILD_ERR_MAX]);

/* Fork; the child runs fn(arg) and _exits with its result. -1 on error. */
pid_t child_fork(int (*fn)(void *), void *arg);

void child_stop(pid_t pid);

/* Keep a process (0 = this one) on one CPU. 0, or -1 (e.g. no such CPU). */
int child_pin(pid_t pid, int cpu);

double child_cpu_ms(pid_t pid);
double child_sched_ms(pid_t pid);
double child_hwm_mib(pid_t pid);

#endif
