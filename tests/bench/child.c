#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_SCAN_MAX (64 * 1024) /* bytes of the daemon log read at start-up */
#define POLL_STEP_NS (10 * 1000 * 1000)

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(void)
{
    struct timespec ts = {0, POLL_STEP_NS};
    nanosleep(&ts, NULL);
}

/* In the child, right after fork: die with the parent. */
static void die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1); /* the parent died before prctl took effect */
}

pid_t child_fork(int (*fn)(void *), void *arg)
{
    pid_t parent = getpid();
    fflush(NULL); /* the child must not write the parent's buffered output */
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    die_with_parent(parent);
    _exit(fn(arg));
}

/* The port at the end of the log line that starts with what. */
static int port_after(const char *log, const char *what)
{
    const char *p = strstr(log, what);
    if (!p)
        return -1;
    const char *eol = strchr(p, '\n');
    if (!eol)
        return -1; /* line not complete yet */
    const char *colon = NULL;
    for (const char *q = p; q < eol; q++)
        if (*q == ':')
            colon = q;
    if (!colon)
        return -1;
    long port = strtol(colon + 1, NULL, 10);
    return port > 0 && port < 65536 ? (int)port : -1;
}

int child_start_daemon(const char *bin, const char *config, const char *log_path,
                       struct daemon_child *d, char err[CHILD_ERR_MAX])
{
    /* Emptied before the fork: the old run's ports must not be read back. */
    int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0) {
        snprintf(err, CHILD_ERR_MAX, "%s: %s", log_path, strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, CHILD_ERR_MAX, "fork: %s", strerror(errno));
        close(log);
        return -1;
    }
    if (pid == 0) {
        die_with_parent(parent);
        int null = open("/dev/null", O_RDWR);
        if (null < 0)
            _exit(126);
        dup2(null, 0);
        dup2(null, 1);
        dup2(log, 2);
        execl(bin, bin, "-c", config, (char *)NULL);
        _exit(127);
    }
    close(log);
    d->pid = pid;
    static const char robots[] = "listening for robots on ";
    static const char clients[] = "listening for clients on ";
    char *text = malloc(LOG_SCAN_MAX + 1);
    double deadline = mono() + CHILD_START_TIMEOUT;
    int rp = -1, cp = -1;
    while (text && (rp < 0 || cp < 0) && mono() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            snprintf(err, CHILD_ERR_MAX, "%s exited (status 0x%x) at start-up; see %s", bin,
                     (unsigned)status, log_path);
            free(text);
            return -1;
        }
        FILE *f = fopen(log_path, "r");
        size_t n = f ? fread(text, 1, LOG_SCAN_MAX, f) : 0;
        if (f)
            fclose(f);
        text[n] = '\0';
        rp = port_after(text, robots);
        cp = port_after(text, clients);
        if (!strstr(text, "ready:"))
            rp = -1; /* the HTTP listener comes after the others: wait for all */
        if (rp < 0 || cp < 0)
            nap();
    }
    if (rp < 0 || cp < 0) {
        free(text);
        snprintf(err, CHILD_ERR_MAX, "%s did not log its listeners within %.0f s; see %s", bin,
                 CHILD_START_TIMEOUT, log_path);
        child_stop(pid);
        return -1;
    }
    d->robot_port = (uint16_t)rp;
    d->client_port = (uint16_t)cp;
    d->http_port = 0;
    const char *h = strstr(text, "HTTP and WebSocket on ");
    const char *colon = h ? strchr(h + 22, ' ') : NULL; /* the address ends at a space */
    while (colon && colon > h && *colon != ':')
        colon--;
    if (colon && *colon == ':')
        d->http_port = (uint16_t)strtol(colon + 1, NULL, 10);
    free(text);
    return 0;
}

void child_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    double deadline = mono() + CHILD_STOP_TIMEOUT;
    while (mono() < deadline) {
        pid_t w = waitpid(pid, NULL, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD))
            return;
        nap();
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int child_pin(pid_t pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(pid, sizeof set, &set);
}

double child_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields start after
     * the last ')'. utime and stime are fields 14 and 15. */
    const char *p = strrchr(buf, ')');
    unsigned long ut, st;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

double child_sched_ms(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long ns;
    int ok = fscanf(f, "%llu", &ns) == 1;
    fclose(f);
    return ok ? (double)ns / 1e6 : -1;
}

double child_hwm_mib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    double mib = -1;
    unsigned long kib;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lu kB", &kib) == 1)
            mib = (double)kib / 1024.0;
    fclose(f);
    return mib;
}
