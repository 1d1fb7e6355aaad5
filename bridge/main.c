/* rapidbridge - robot controller frames in, JSON for the cell out.
 * Options and configuration: see usage() and README.md. */
#include "bridge.h"
#include "config.h"
#include "preflight.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/rapidbridge/bridge.json"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rapidbridge [-c FILE] [--robot-listen HOST:PORT] [--json-listen HOST:PORT]\n"
            "                   [--http-listen HOST:PORT] [--http-root DIR] [--record FILE]\n"
            "                   [-v] [-q] [-h] [--version]\n"
            "       rapidbridge --check-config [-c FILE] [--record FILE]\n"
            "\n"
            "Bridges ABB RAPID robot programs (ASCII frames over TCP) to JSON clients.\n"
            "\n"
            "  -c, --config FILE        JSON configuration (default %s if it exists)\n"
            "      --robot-listen H:P   where controllers connect (default %s)\n"
            "      --json-listen H:P    where JSON clients connect (default %s)\n"
            "      --http-listen H:P    serve the operator page, /ws and /metrics (default off)\n"
            "      --http-root DIR      the operator page's files (default http_root, or\n"
            "                           PREFIX/share/rapidbridge/www)\n"
            "                           port 0 picks a free port; the bound ports are logged\n"
            "      --record FILE        append every robot frame with its receive time\n"
            "      --check-config       check the configuration as a start would, start\n"
            "                           nothing; exit 0, or 1 with FILE:LINE:COL: why\n"
            "  -v, --verbose            log debug messages too\n"
            "  -q, --quiet              log warnings and errors only\n"
            "  -h, --help               this help\n"
            "      --version            print the release and wire protocol version\n",
            DEFAULT_CONFIG, DEFAULT_ROBOT_LISTEN, DEFAULT_JSON_LISTEN);
}

/* --check-config: what a start would refuse, found without starting. */
static int check_config(struct config *cfg, const char *path, bool record_from_cli)
{
    char err[CONFIG_ERR_MAX];
    int rc = preflight_check(cfg, path, record_from_cli, err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    else if (path)
        printf("%s: configuration valid, %u robot(s)\n", path, cfg->nrobots);
    else
        printf("no configuration file (%s is not readable): the built-in defaults are valid\n",
               DEFAULT_CONFIG);
    config_free(cfg);
    return rc < 0 ? 1 : 0;
}

enum { OPT_ROBOT_LISTEN = 256, OPT_JSON_LISTEN, OPT_RECORD, OPT_VERSION, OPT_CHECK_CONFIG,
       OPT_HTTP_LISTEN, OPT_HTTP_ROOT };

static const struct option options[] = {
    {"config", required_argument, NULL, 'c'},
    {"robot-listen", required_argument, NULL, OPT_ROBOT_LISTEN},
    {"json-listen", required_argument, NULL, OPT_JSON_LISTEN},
    {"http-listen", required_argument, NULL, OPT_HTTP_LISTEN},
    {"http-root", required_argument, NULL, OPT_HTTP_ROOT},
    {"record", required_argument, NULL, OPT_RECORD},
    {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    static struct bridge b;
    b.log.level = LOG_INFO;
    const char *config_path = NULL, *robot_listen = NULL, *json_listen = NULL, *record = NULL;
    const char *http_listen = NULL, *http_root = NULL;
    bool check_only = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:vqh", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case OPT_ROBOT_LISTEN: robot_listen = optarg; break;
        case OPT_JSON_LISTEN: json_listen = optarg; break;
        case OPT_HTTP_LISTEN: http_listen = optarg; break;
        case OPT_HTTP_ROOT: http_root = optarg; break;
        case OPT_RECORD: record = optarg; break;
        case OPT_CHECK_CONFIG: check_only = true; break;
        case 'v': b.log.level = LOG_DEBUG; break;
        case 'q': b.log.level = LOG_WARN; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION:
            printf("rapidbridge %s (wire protocol %d.%d)\n", RB_RELEASE, RB_PROTO_MAJOR,
                   RB_PROTO_MINOR);
            return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rapidbridge: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    char err[CONFIG_ERR_MAX];
    int rc;
    if (!config_path && access(DEFAULT_CONFIG, R_OK) == 0)
        config_path = DEFAULT_CONFIG;
    if (config_path)
        rc = config_load_file(&b.cfg, config_path, err);
    else
        rc = config_defaults(&b.cfg);
    if (rc < 0) {
        /* --check-config prints the bare FILE:LINE:COL line, as compilers do. */
        fprintf(stderr, "%s%s\n", check_only ? "" : "rapidbridge: ",
                config_path ? err : "out of memory");
        config_free(&b.cfg);
        return 1;
    }
    const char *bad = NULL;
    if (robot_listen && listen_addr_parse(robot_listen, &b.cfg.robot_listen) < 0)
        bad = robot_listen;
    else if (json_listen && listen_addr_parse(json_listen, &b.cfg.json_listen) < 0)
        bad = json_listen;
    else if (http_listen && listen_addr_parse(http_listen, &b.cfg.http_listen) < 0)
        bad = http_listen;
    if (http_listen && !bad)
        b.cfg.has_http = true;
    if (http_root && !bad && (!http_root[0] || strlen(http_root) > HTTP_ROOT_MAX)) {
        fprintf(stderr, "rapidbridge: --http-root wants a directory path of 1 to %d bytes\n",
                HTTP_ROOT_MAX);
        config_free(&b.cfg);
        return 2;
    }
    if (http_root)
        snprintf(b.cfg.http_root, sizeof b.cfg.http_root, "%s", http_root);
    if (bad) {
        fprintf(stderr, "rapidbridge: bad listen address \"%s\" (want HOST:PORT, e.g. 127.0.0.1:7025)\n",
                bad);
        config_free(&b.cfg);
        return 2;
    }
    if (record)
        snprintf(b.cfg.record, sizeof b.cfg.record, "%s", record);
    if (check_only)
        return check_config(&b.cfg, config_path, record != NULL);
    if (b.cfg.record[0]) {
        b.record = fopen(b.cfg.record, "a");
        if (!b.record) {
            fprintf(stderr, "rapidbridge: cannot open record file %s: %s\n", b.cfg.record,
                    strerror(errno));
            config_free(&b.cfg);
            return 1;
        }
        setvbuf(b.record, NULL, _IOLBF, 0);
    }
    b.config_path = config_path;
    b.listen_overridden = robot_listen || json_listen || http_listen;
    if (!config_path)
        log_warn(&b.log, "no configuration file: no robots are configured (see -c)");

    signal(SIGPIPE, SIG_IGN);
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    char neterr[NET_ERR_MAX];
    rc = bridge_open(&b, loop, neterr);
    if (rc < 0)
        log_error(&b.log, "%s", neterr);
    else {
        log_info(&b.log, "ready: %u robot(s) configured, release %s", b.cfg.nrobots, RB_RELEASE);
        notify_open(&b);
        ev_run(loop, 0);
        notify_close(&b);
    }
    bridge_close(&b);
    if (b.record)
        fclose(b.record);
    config_free(&b.cfg);
    ev_loop_destroy(loop);
    log_info(&b.log, "stopped");
    return rc < 0 ? 1 : 0;
}
