/* bench_bridge.c - the daemon under load, measured against a byte relay.
 *
 * Runs the real daemon ($RB_BIN) on loopback ports picked by the OS, with a
 * temporary configuration (one robot "rob1", max_clients 2000, all of them
 * allowed from 127.0.0.1), and drives
 * it from this one process: a robot streaming JT frames and N watching
 * clients (load.h). Every scenario runs twice, each time against a fresh
 * process: once against the bridge and once against a minimal relay that
 * copies the robot's bytes to every client unparsed (relay.h), the floor any
 * bridge is measured against. Per scenario and target it prints frames/s,
 * per-client delivery, latency p50/p99/max (robot write -> client read),
 * drops (DROPPED messages and STATS), the process's CPU time and peak RSS,
 * then the bridge's figures as ratios to the relay's.
 *
 * The TLS row runs the 100 x 1 kHz scenario with json_tls on and every
 * client speaking TLS (a self-signed certificate made with the openssl
 * command), alternating with the same scenario on the plain bridge: its
 * figures are ratios to those plain runs (kept in the row's relay slot),
 * not to the relay.
 *
 * Usage: bench_bridge [TEXT] runs only the scenarios whose name holds TEXT
 * (e.g. "flood", for profiling one); RB_BENCH_VERBOSE=1 prints every run.
 *
 * The targets below are printed PASS or MISS; the exit status is 0 whatever
 * they say (a benchmark, not a test) and 1 only when a scenario could not be
 * run at all. The whole bench stops itself after BENCH_TIME_LIMIT seconds;
 * its children die with it.
 */
#include "child.h"
#include "load.h"
#include "relay.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define BENCH_TIME_LIMIT 220          /* s, SIGALRM ends the bench */
#define BENCH_NOFILE 4096             /* descriptors for 1000 clients on each side */
#define QUEUE_DEFAULT (1024 * 1024)   /* the bridge's default client_queue_bytes */
#define LOG_LINES_SHOWN 6             /* daemon warnings shown per run */
#define PATH_MAX_BENCH 256
#define CPU_BENCH 0                   /* with 2+ CPUs: the load here, the target there */
#define CPU_TARGET 1
#define ROUNDS_MAX 3                  /* runs per target and scenario; medians are printed */

enum { SC_FLOOD, SC_100, SC_100_TLS, SC_1000, SC_STALL, SC_IDLE, SC_WS, SC_COUNT };

struct scenario {
    const char *name;
    struct load_spec spec;
    size_t queue_bytes;               /* the bridge's client_queue_bytes = the relay's limit */
    int rounds;                       /* bridge and relay alternate: B R, R B, B R ... */
};

/* This VM's figures for one run vary by tens of percent: every scenario but
 * the idle one runs ROUNDS_MAX times per target and the medians are kept. */
static const struct scenario scenarios[SC_COUNT] = {
    [SC_FLOOD] = {"1 watcher, flood 200k JT", {LOAD_FLOOD, 1, 0, 0, 0, 200000}, QUEUE_DEFAULT,
                  ROUNDS_MAX},
    [SC_100] = {"100 watchers, 1 kHz, 3 s", {LOAD_PACED, 100, 0, 1000, 3, 0}, QUEUE_DEFAULT,
                ROUNDS_MAX},
    [SC_100_TLS] = {"100 watchers, 1 kHz, 3 s, TLS", {LOAD_PACED, 100, 0, 1000, 3, 0, .tls = true},
                    QUEUE_DEFAULT, ROUNDS_MAX},
    [SC_1000] = {"1000 watchers, 250 Hz, 3 s", {LOAD_PACED, 1000, 0, 250, 3, 0}, QUEUE_DEFAULT,
                 ROUNDS_MAX},
    [SC_STALL] = {"100 + 1 stalled, 1 kHz, 3 s", {LOAD_PACED, 100, 1, 1000, 3, 0}, QUEUE_DEFAULT,
                  ROUNDS_MAX},
    [SC_IDLE] = {"100 idle watchers, HB 1/s, 3 s", {LOAD_IDLE, 100, 0, 1, 3, 0}, QUEUE_DEFAULT, 1},
    /* The WebSocket path against the TCP path, in the same run (no relay). */
    [SC_WS] = {"100 TCP + 100 WS, 1 kHz, 3 s", {LOAD_PACED, 100, 0, 1000, 3, 0, .ws_watchers = 100},
               QUEUE_DEFAULT, ROUNDS_MAX},
};

struct outcome {
    bool ran[SC_COUNT];               /* selected on the command line */
    bool ok[SC_COUNT];                /* both targets ran */
    struct load_result bridge[SC_COUNT], relay[SC_COUNT];
};

/* ---- targets ---------------------------------------------------------------- */

static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static double thr_ratio(const struct outcome *o, int sc)
{
    return ratio(o->bridge[sc].thr, o->relay[sc].thr);
}

static double p50_ratio(const struct outcome *o, int sc)
{
    return ratio(o->bridge[sc].p50_ms, o->relay[sc].p50_ms);
}

static double p99_ratio(const struct outcome *o, int sc)
{
    return ratio(o->bridge[sc].p99_ms, o->relay[sc].p99_ms);
}

/* TLS against the plain bridge runs alternating with it (the relay slot). */
static double p50_vs_plain(const struct outcome *o, int sc)
{
    return ratio(o->bridge[sc].p50_ms, o->relay[sc].p50_ms);
}

/* Frames the healthy clients did not get, plus those they were told were lost. */
static double healthy_lost(const struct outcome *o, int sc)
{
    const struct load_result *b = &o->bridge[sc];
    return (double)b->missing + (double)b->told_dropped;
}

static double ws_p50_ratio(const struct outcome *o, int sc)
{
    return ratio(o->bridge[sc].ws_p50_ms, o->bridge[sc].p50_ms);
}

static double ws_p99_ratio(const struct outcome *o, int sc)
{
    return ratio(o->bridge[sc].ws_p99_ms, o->bridge[sc].p99_ms);
}

static double ws_lost(const struct outcome *o, int sc)
{
    const struct load_result *b = &o->bridge[sc];
    return (double)b->ws_missing + (double)b->ws_told_dropped + healthy_lost(o, sc);
}

static double hwm(const struct outcome *o, int sc)
{
    return o->bridge[sc].hwm_mib;
}

static double idle_cpu(const struct outcome *o, int sc)
{
    return o->bridge[sc].sched_ms;
}

struct goal {
    const char *text;
    int sc;
    double (*value)(const struct outcome *o, int sc);
    bool at_most;                     /* value <= limit; else value >= limit */
    double limit;
    const char *unit;
};

static const struct goal goals[] = {
    {"throughput, 1 watcher, vs relay", SC_FLOOD, thr_ratio, false, 0.5, "x"},
    {"p50 latency, 100 x 1 kHz, vs relay", SC_100, p50_ratio, true, 1.5, "x"},
    {"p99 latency, 1000 x 250 Hz, vs relay", SC_1000, p99_ratio, true, 2.0, "x"},
    {"frames lost, 100 x 1 kHz", SC_100, healthy_lost, true, 0, ""},
    {"p50 latency, 100 x 1 kHz, TLS vs plain", SC_100_TLS, p50_vs_plain, true, 1.5, "x"},
    {"frames lost, 100 x 1 kHz, TLS", SC_100_TLS, healthy_lost, true, 0, ""},
    {"frames lost, 1000 x 250 Hz", SC_1000, healthy_lost, true, 0, ""},
    {"frames lost, 100 healthy beside 1 stalled", SC_STALL, healthy_lost, true, 0, ""},
    {"peak RSS, 1000 clients", SC_1000, hwm, true, 16, " MiB"},
    {"idle CPU, 100 watchers, 3 s (on-CPU ms)", SC_IDLE, idle_cpu, true, 10, " ms"},
    {"p50 latency, 100 WS vs 100 TCP, 1 kHz", SC_WS, ws_p50_ratio, true, 1.5, "x"},
    {"p99 latency, 100 WS vs 100 TCP, 1 kHz", SC_WS, ws_p99_ratio, true, 1.5, "x"},
    {"frames lost, 100 WS + 100 TCP, 1 kHz", SC_WS, ws_lost, true, 0, ""},
};

/* ---- printing ---------------------------------------------------------------- */

static void print_header(void)
{
    printf("%-31s %-6s %9s %15s %8s %8s %8s %15s %7s %8s %7s\n", "scenario", "target",
           "frames/s", "deliv min/avg", "p50 ms", "p99 ms", "max ms", "drops told/stat",
           "cpu ms", "sched ms", "RSS MiB");
}

static void print_row(const char *name, const char *target, const struct load_result *r)
{
    char stat[24];
    if (r->stats_drops >= 0)
        snprintf(stat, sizeof stat, "%lld", r->stats_drops);
    else
        snprintf(stat, sizeof stat, "-");
    printf("%-31s %-6s %9.0f %6.2f%%/%6.2f%% %8.3f %8.3f %8.3f %7llu/%-7s %7.0f %8.2f %7.1f\n", name,
           target, r->thr, 100 * r->deliv_min, 100 * r->deliv_avg, r->p50_ms, r->p99_ms, r->max_ms,
           (unsigned long long)r->told_dropped, stat, r->cpu_ms, r->sched_ms, r->hwm_mib);
}

static void print_ratios(const struct outcome *o, int sc, const struct load_result *br,
                         const struct load_result *rl, int rounds)
{
    const struct load_result *b = &o->bridge[sc], *r = &o->relay[sc];
    printf("%-31s %-6s thr %.2fx  p50 %.2fx  p99 %.2fx  max %.2fx  cpu %.2fx  RSS %.2fx\n", "",
           "ratio", ratio(b->thr, r->thr), ratio(b->p50_ms, r->p50_ms), ratio(b->p99_ms, r->p99_ms),
           ratio(b->max_ms, r->max_ms), ratio(b->sched_ms, r->sched_ms),
           ratio(b->hwm_mib, r->hwm_mib));
    if (rounds < 2)
        return;
    printf("%-31s %-6s", "", "rounds");
    static const char *const what[] = {"thr", "p50", "p99"};
    for (int m = 0; m < 3; m++) {
        printf(" %s", what[m]);
        for (int k = 0; k < rounds; k++) {
            double x = m == 0 ? ratio(br[k].thr, rl[k].thr)
                     : m == 1 ? ratio(br[k].p50_ms, rl[k].p50_ms) : ratio(br[k].p99_ms, rl[k].p99_ms);
            printf("%s%.2f", k ? "/" : " ", x);
        }
    }
    printf("\n");
}

/* The daemon's warnings and errors of this run: a slow client cut off, etc. */
static void print_log_warnings(const char *log_path, bool all_tail)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return;
    char line[512];
    char tail[LOG_LINES_SHOWN][512];
    unsigned n = 0, shown = 0;
    while (fgets(line, sizeof line, f)) {
        bool bad = strstr(line, " warn: ") || strstr(line, " error: ");
        if (all_tail) {
            snprintf(tail[n % LOG_LINES_SHOWN], sizeof tail[0], "%s", line);
            n++;
        } else if (bad && shown++ < LOG_LINES_SHOWN) {
            printf("    daemon: %s", line);
        }
    }
    fclose(f);
    for (unsigned i = n > LOG_LINES_SHOWN ? n - LOG_LINES_SHOWN : 0; i < n; i++)
        printf("    daemon: %s", tail[i % LOG_LINES_SHOWN]);
    if (shown > LOG_LINES_SHOWN)
        printf("    daemon: ... %u more warnings\n", shown - LOG_LINES_SHOWN);
}

/* ---- running ------------------------------------------------------------------ */

/* A self-signed certificate and key for the TLS row, in dir. */
static int make_cert(const char *dir)
{
    char cmd[3 * PATH_MAX_BENCH];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=127.0.0.1 -keyout %s/tls.key -out %s/tls.pem 2>/dev/null", dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* tls_dir: json_tls with the certificate made there, or NULL. */
static int write_config(const char *path, size_t queue_bytes, const char *tls_dir)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"robot_listen\":\"127.0.0.1:0\",\"json_listen\":\"127.0.0.1:0\",\n"
            " \"http_listen\":\"127.0.0.1:0\",\n"
            " \"robots\":[{\"name\":\"rob1\",\"peer\":\"127.0.0.1\"}],\n"
            " \"limits\":{\"hello_timeout\":5,\"idle_timeout\":30,\"ack_timeout\":5,\n"
            "   \"max_clients\":2000,\"max_clients_per_address\":2000,\n"
            "   \"client_queue_bytes\":%zu,\"command_queue\":16}",
            queue_bytes);
    if (tls_dir)
        fprintf(f, ",\n \"json_tls\":{\"cert\":\"%s/tls.pem\",\"key\":\"%s/tls.key\"}", tls_dir,
                tls_dir);
    fprintf(f, "}\n");
    return fclose(f);
}

static int run_bridge(const char *bin, const char *cfg, const char *log, const struct scenario *sc,
                      bool pin, struct load_result *res, const char *dir)
{
    char err[CHILD_ERR_MAX > LOAD_ERR_MAX ? CHILD_ERR_MAX : LOAD_ERR_MAX];
    struct daemon_child d;
    if (write_config(cfg, sc->queue_bytes, sc->spec.tls ? dir : NULL) < 0) {
        printf("%-31s bridge: cannot write %s: %s\n", sc->name, cfg, strerror(errno));
        return -1;
    }
    if (child_start_daemon(bin, cfg, log, &d, err) < 0) {
        printf("%-31s bridge: %s\n", sc->name, err);
        print_log_warnings(log, true);
        return -1;
    }
    if (pin)
        child_pin(d.pid, CPU_TARGET);
    struct load_spec spec = sc->spec;
    spec.http_port = d.http_port;
    int rc = load_run(TARGET_BRIDGE, d.pid, d.robot_port, d.client_port, &spec, res, err);
    child_stop(d.pid);
    if (rc < 0) {
        printf("%-31s bridge: %s\n", sc->name, err);
        print_log_warnings(log, true);
        return -1;
    }
    print_log_warnings(log, false);
    return 0;
}

static int run_relay(const struct scenario *sc, bool pin, struct load_result *res)
{
    char err[RELAY_ERR_MAX > LOAD_ERR_MAX ? RELAY_ERR_MAX : LOAD_ERR_MAX];
    struct relay_child rc;
    if (relay_start(sc->queue_bytes, &rc, err) < 0) {
        printf("%-31s relay: %s\n", "", err);
        return -1;
    }
    if (pin)
        child_pin(rc.pid, CPU_TARGET);
    int r = load_run(TARGET_RELAY, rc.pid, rc.robot_port, rc.client_port, &sc->spec, res, err);
    child_stop(rc.pid);
    if (r < 0) {
        printf("%-31s relay: %s\n", "", err);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of the field at offset off over n results. */
static double median_of(const struct load_result *rs, int n, size_t off)
{
    double v[ROUNDS_MAX];
    for (int k = 0; k < n; k++)
        memcpy(&v[k], (const char *)&rs[k] + off, sizeof v[k]);
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Rounds -> one result: medians of rates, latencies and CPU; the worst of
 * delivery and memory; losses added up. */
static void combine(const struct load_result *rs, int n, struct load_result *out)
{
    static const size_t medians[] = {
        offsetof(struct load_result, elapsed), offsetof(struct load_result, thr),
        offsetof(struct load_result, deliv_avg), offsetof(struct load_result, p50_ms),
        offsetof(struct load_result, p99_ms), offsetof(struct load_result, max_ms),
        offsetof(struct load_result, cpu_ms), offsetof(struct load_result, sched_ms),
        offsetof(struct load_result, ws_p50_ms), offsetof(struct load_result, ws_p99_ms),
        offsetof(struct load_result, ws_max_ms),
    };
    *out = rs[0];
    for (size_t i = 0; i < sizeof medians / sizeof medians[0]; i++) {
        double m = median_of(rs, n, medians[i]);
        memcpy((char *)out + medians[i], &m, sizeof m);
    }
    for (int k = 1; k < n; k++) {
        const struct load_result *r = &rs[k];
        out->deliv_min = r->deliv_min < out->deliv_min ? r->deliv_min : out->deliv_min;
        out->hwm_mib = r->hwm_mib > out->hwm_mib ? r->hwm_mib : out->hwm_mib;
        out->missing += r->missing;
        out->ws_missing += r->ws_missing;
        out->ws_told_dropped += r->ws_told_dropped;
        if (r->ws_deliv_min < out->ws_deliv_min)
            out->ws_deliv_min = r->ws_deliv_min;
        out->told_dropped += r->told_dropped;
        out->stalled_got += r->stalled_got;
        out->samples += r->samples;
        out->stats_drops = r->stats_drops > out->stats_drops ? r->stats_drops : out->stats_drops;
        out->stalled_drops =
            r->stalled_drops < out->stalled_drops ? r->stalled_drops : out->stalled_drops;
    }
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= BENCH_NOFILE)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > BENCH_NOFILE ? BENCH_NOFILE
                                                                            : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < BENCH_NOFILE)
        printf("note: RLIMIT_NOFILE is %llu; 1000 clients may not fit\n",
               (unsigned long long)rl.rlim_cur);
}

static void print_goals(const struct outcome *o)
{
    printf("\ntargets\n");
    for (size_t i = 0; i < sizeof goals / sizeof goals[0]; i++) {
        const struct goal *g = &goals[i];
        if (!o->ok[g->sc]) {
            printf("  %-45s  not measured (%s %s)\n", g->text, scenarios[g->sc].name,
                   o->ran[g->sc] ? "failed" : "not run");
            continue;
        }
        double v = g->value(o, g->sc);
        bool pass = !isnan(v) && (g->at_most ? v <= g->limit : v >= g->limit);
        printf("  %-45s %9.2f%-4s %s %.2f%-4s %s\n", g->text, v, g->unit, g->at_most ? "<=" : ">=",
               g->limit, g->unit, pass ? "PASS" : "MISS");
    }
}

int main(int argc, char **argv)
{
    relay_main_args(argc, argv); /* returns unless this process is the relay */
    bool verbose = getenv("RB_BENCH_VERBOSE") != NULL; /* every run's row, not only medians */
    const char *only = argc > 1 ? argv[1] : NULL; /* run the scenarios whose name holds this */
    const char *bin = getenv("RB_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "bench_bridge: set RB_BIN to the rapidbridge binary (make bench does)\n");
        return 1;
    }
    alarm(BENCH_TIME_LIMIT);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    raise_nofile();
    char dir[] = "/tmp/rb-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_bridge: mkdtemp");
        return 1;
    }
    char cfg[PATH_MAX_BENCH], log[PATH_MAX_BENCH];
    snprintf(cfg, sizeof cfg, "%s/bridge.json", dir);
    snprintf(log, sizeof log, "%s/bridge.log", dir);

    /* One CPU each, so the two processes do not trade places and caches
     * between runs: the figures vary much less from run to run. */
    bool pin = sysconf(_SC_NPROCESSORS_ONLN) > CPU_TARGET && child_pin(0, CPU_BENCH) == 0;
    printf("bench_bridge: %s against a byte relay, loopback, %ld CPUs%s\n", bin,
           sysconf(_SC_NPROCESSORS_ONLN),
           pin ? "; load on CPU 0, target on CPU 1" : "; not pinned");
    printf("latency = robot write -> client read; cpu ms = utime+stime (10 ms ticks); "
           "sched ms = on-CPU time (ns)\n"
           "each row: the median of %d runs (idle: 1); deliv min and RSS: the worst run; "
           "drops: all runs\n\n", ROUNDS_MAX);
    print_header();
    static struct outcome o;
    int failures = 0;
    bool have_cert = false;
    for (int i = 0; i < SC_COUNT; i++) {
        const struct scenario *sc = &scenarios[i];
        if (only && !strstr(sc->name, only))
            continue;
        o.ran[i] = true;
        struct load_result br[ROUNDS_MAX], rl[ROUNDS_MAX];
        bool b = true, r = true;
        if (sc->spec.tls) {
            /* Against the plain bridge's figures, not the relay's. */
            struct scenario plain = *sc;
            plain.spec.tls = false;
            bool ok = (have_cert || (have_cert = make_cert(dir) == 0));
            if (!ok)
                printf("%-31s cannot make a certificate with the openssl command\n", sc->name);
            for (int k = 0; k < sc->rounds && ok; k++) {
                if (k % 2 == 0)
                    ok = run_bridge(bin, cfg, log, sc, pin, &br[k], dir) == 0;
                ok = ok && run_bridge(bin, cfg, log, &plain, pin, &rl[k], dir) == 0;
                if (k % 2 == 1)
                    ok = ok && run_bridge(bin, cfg, log, sc, pin, &br[k], dir) == 0;
            }
            o.ok[i] = ok;
            failures += !ok;
            if (!ok)
                continue;
            combine(br, sc->rounds, &o.bridge[i]);
            combine(rl, sc->rounds, &o.relay[i]);
            print_row(sc->name, "tls", &o.bridge[i]);
            print_row("", "plain", &o.relay[i]);
            printf("%-31s %-6s tls/plain: thr %.2fx  p50 %.2fx  p99 %.2fx  max %.2fx  cpu %.2fx  "
                   "RSS %.2fx\n", "", "ratio", thr_ratio(&o, i), p50_ratio(&o, i),
                   p99_ratio(&o, i), ratio(o.bridge[i].max_ms, o.relay[i].max_ms),
                   ratio(o.bridge[i].sched_ms, o.relay[i].sched_ms),
                   ratio(o.bridge[i].hwm_mib, o.relay[i].hwm_mib));
            continue;
        }
        for (int k = 0; k < sc->rounds && b && r; k++) {
            /* Alternate who goes first, so a drift of the machine favours neither. */
            if (k % 2 == 0)
                b = run_bridge(bin, cfg, log, sc, pin, &br[k], dir) == 0;
            if (sc->spec.ws_watchers) {
                /* Compared with its own TCP watchers: no relay. */
                memset(&rl[k], 0, sizeof rl[k]);
                if (k % 2 == 1)
                    b = b && run_bridge(bin, cfg, log, sc, pin, &br[k], dir) == 0;
                continue;
            }
            r = r && run_relay(sc, pin, &rl[k]) == 0;
            if (k % 2 == 1)
                b = b && run_bridge(bin, cfg, log, sc, pin, &br[k], dir) == 0;
        }
        o.ok[i] = b && r;
        failures += !o.ok[i];
        for (int k = 0; verbose && k < sc->rounds && o.ok[i]; k++) {
            print_row("  one run", "bridge", &br[k]);
            print_row("  one run", "relay", &rl[k]);
        }
        if (!o.ok[i])
            continue;
        combine(br, sc->rounds, &o.bridge[i]);
        combine(rl, sc->rounds, &o.relay[i]);
        if (sc->spec.ws_watchers) {
            const struct load_result *w = &o.bridge[i];
            struct load_result ws = *w;
            ws.deliv_min = ws.deliv_avg = w->ws_deliv_min;
            ws.p50_ms = w->ws_p50_ms;
            ws.p99_ms = w->ws_p99_ms;
            ws.max_ms = w->ws_max_ms;
            ws.told_dropped = w->ws_told_dropped;
            print_row(sc->name, "tcp", w);
            print_row("", "ws", &ws);
            printf("%-31s %-6s p50 %.2fx  p99 %.2fx  max %.2fx  (WebSocket / TCP, same run)\n", "",
                   "ratio", ratio(w->ws_p50_ms, w->p50_ms), ratio(w->ws_p99_ms, w->p99_ms),
                   ratio(w->ws_max_ms, w->max_ms));
            continue;
        }
        print_row(sc->name, "bridge", &o.bridge[i]);
        print_row("", "relay", &o.relay[i]);
        if (sc->spec.mode != LOAD_IDLE)
            print_ratios(&o, i, br, rl, sc->rounds);
        if (sc->spec.stalled)
            printf("%-31s stalled: at its limit before each stream; got %llu frames, the bridge "
                   "dropped >= %lld of %u per run\n",
                   "", (unsigned long long)o.bridge[i].stalled_got, o.bridge[i].stalled_drops,
                   o.bridge[i].sent);
    }
    print_goals(&o);
    unlink(cfg);
    unlink(log);
    char path[PATH_MAX_BENCH + 16];
    snprintf(path, sizeof path, "%s/tls.pem", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/tls.key", dir);
    unlink(path);
    rmdir(dir);
    return failures ? 1 : 0;
}
