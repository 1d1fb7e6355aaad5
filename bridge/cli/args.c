/* args.c - parse rapidbridge-cli's command line; see args.h. */
#include "args.h"

#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_usage[] =
"Usage:\n"
"  rapidbridge-cli [OPTIONS] [watch]          stream frames and link changes\n"
"  rapidbridge-cli [OPTIONS] state ROBOT      latest frames and I/O of one robot\n"
"  rapidbridge-cli [OPTIONS] robots           configured robots and their links\n"
"  rapidbridge-cli [OPTIONS] stats            the bridge's counters\n"
"  rapidbridge-cli [OPTIONS] version          the bridge's release and protocol\n"
"  rapidbridge-cli [OPTIONS] send ROBOT TYPE [NAME=VALUE | NAME:=JSON]...\n"
"                                             send a command, print the ACK\n"
"  rapidbridge-cli [OPTIONS] doctor [ROBOT]   why a robot does not link, and what to do\n"
"  rapidbridge-cli [OPTIONS] control ROBOT [--takeover]\n"
"                                             take the robot's control lease and hold\n"
"                                             it until Ctrl-C (or until taken over)\n"
"  rapidbridge-cli [OPTIONS] release ROBOT    release the lease (of this connection)\n"
"  rapidbridge-cli token new NAME             print a new random token and the line for\n"
"                                             the bridge's tokens file\n"
"  rapidbridge-cli audit verify FILE          check an audit file's hash chain\n"
"  rapidbridge-cli [OPTIONS] serve ROBOT TYPE --exec COMMAND\n"
"                                             answer the robot's TYPE requests with\n"
"                                             COMMAND (ROBOT * = every robot)\n"
"\n"
"Options:\n"
"      --connect HOST:PORT  the bridge's client port (default " CLI_DEFAULT_CONNECT ",\n"
"                           IPv6 as [::1]:7025)\n"
"  -j, --json               print the bridge's lines exactly as received\n"
"  -r, --robot NAME         watch: only this robot (repeatable)\n"
"  -t, --type TYPE          watch: only this frame type (repeatable;\n"
"                           LINK changes are always shown)\n"
"      --id X               request id, echoed in the reply (JSON if X parses\n"
"                           as JSON, else a string)\n"
"      --timeout SECONDS    wait this long for a reply (default 10, send 15;\n"
"                           serve: the time COMMAND may take, default 4)\n"
"      --exec COMMAND       serve: run COMMAND (with /bin/sh -c) for each request\n"
"      --tls                speak TLS (json_tls), verifying the bridge's\n"
"                           certificate against the system's CAs\n"
"      --tls-ca FILE        ... against the CA certificates in FILE instead\n"
"      --tls-cert FILE      a client certificate (PEM) to present, with\n"
"      --tls-key FILE       its private key (PEM)\n"
"      --tls-name NAME      the name the bridge's certificate must carry\n"
"                           (default: the host of --connect)\n"
"                           Any --tls-* option implies --tls.\n"
"  -c, --config FILE        doctor: the bridge's configuration, to name the key\n"
"                           to change (default /etc/rapidbridge/bridge.json\n"
"                           when readable)\n"
"      --unix PATH          connect to the bridge's Unix socket (json_unix) instead\n"
"      --token-file FILE    authenticate with the token in FILE's first line\n"
"      --token TOKEN        authenticate with TOKEN (visible in ps: prefer\n"
"                           --token-file or the RAPIDBRIDGE_TOKEN variable)\n"
"      --takeover           control: take the lease even when another holds it\n"
"      --control            send: take the robot's lease first (access rules)\n"
"  -h, --help               this text\n"
"\n"
"send: NAME=VALUE sends VALUE as a JSON number when it looks like one, else as\n"
"a string; NAME:=JSON sends any JSON value (zones:=[1,2,3], note:='\"42\"').\n"
"Type codes may be given in lower case.\n"
"\n"
"serve: for each request COMMAND gets the request's fields as a JSON object on\n"
"its standard input and in the environment (RB_ROBOT, RB_TYPE, RB_SEQ and\n"
"RB_FIELD_<NAME>, the name in upper case), and prints the reply's fields as a\n"
"JSON object on its standard output. A non-zero exit, a time-out or output\n"
"that is not a JSON object is answered as an error with its message (the\n"
"first line of its standard error). One request at a time, in order; serve\n"
"reconnects when the bridge goes away and runs until Ctrl-C.\n"
"\n"
"watch prints one line per message; stop it with Ctrl-C. One-shot commands\n"
"print the reply as indented JSON (--json: the raw line).\n"
"\n"
"Exit status: 0 success (send: ACK with status OK; watch: stopped by Ctrl-C;\n"
"doctor: every robot, or ROBOT, is linked), 1 the bridge answered ERROR or the\n"
"ACK status is not OK, or the bridge ended the watch (doctor: something is\n"
"wrong); 2 usage error, cannot connect, no banner, no reply in time or the\n"
"connection lost before the reply; 130 interrupted while waiting for a reply.\n";

/* The commands: name, the one they select, how many words follow them. */
static const struct {
    const char *name;
    enum cli_cmd cmd;
    unsigned min_args, max_args;
    const char *synopsis;
} commands[] = {
    { "watch",   CLI_WATCH,   0, 0, "watch" },
    { "state",   CLI_STATE,   1, 1, "state ROBOT" },
    { "robots",  CLI_ROBOTS,  0, 0, "robots" },
    { "stats",   CLI_STATS,   0, 0, "stats" },
    { "version", CLI_VERSION, 0, 0, "version" },
    { "send",    CLI_SEND,    2, 2 + CLI_FIELDS_MAX, "send ROBOT TYPE [NAME=VALUE]..." },
    { "doctor",  CLI_DOCTOR,  0, 1, "doctor [ROBOT]" },
    { "control", CLI_CONTROL, 1, 1, "control ROBOT [--takeover]" },
    { "release", CLI_RELEASE, 1, 1, "release ROBOT" },
    { "token",   CLI_TOKEN_NEW, 2, 2, "token new NAME" },
    { "audit",   CLI_AUDIT_VERIFY, 2, 2, "audit verify FILE" },
    { "serve",   CLI_SERVE,   2, 2, "serve ROBOT TYPE --exec COMMAND" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])
#define POSITIONAL_MAX (3 + CLI_FIELDS_MAX) /* command word, ROBOT, TYPE, fields */

enum { OPT_CONNECT = 256, OPT_ID, OPT_TIMEOUT, OPT_UNIX, OPT_TOKEN, OPT_TOKEN_FILE, OPT_TAKEOVER,
       OPT_CONTROL, OPT_TLS, OPT_TLS_CA, OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_NAME, OPT_EXEC };

static const struct option long_options[] = {
    { "connect", required_argument, NULL, OPT_CONNECT },
    { "json",    no_argument,       NULL, 'j' },
    { "robot",   required_argument, NULL, 'r' },
    { "type",    required_argument, NULL, 't' },
    { "id",      required_argument, NULL, OPT_ID },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "exec",    required_argument, NULL, OPT_EXEC },
    { "config",  required_argument, NULL, 'c' },
    { "unix",    required_argument, NULL, OPT_UNIX },
    { "token",   required_argument, NULL, OPT_TOKEN },
    { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
    { "takeover", no_argument,      NULL, OPT_TAKEOVER },
    { "control", no_argument,       NULL, OPT_CONTROL },
    { "tls",      no_argument,       NULL, OPT_TLS },
    { "tls-ca",   required_argument, NULL, OPT_TLS_CA },
    { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
    { "tls-key",  required_argument, NULL, OPT_TLS_KEY },
    { "tls-name", required_argument, NULL, OPT_TLS_NAME },
    { "help",    no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int fail(char *err, size_t errlen, const char *what, const char *arg)
{
    snprintf(err, errlen, "%s%s%s%s", what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return -1;
}

static int add_filter(const char **list, unsigned *n, const char *value,
                      const char *opt, char *err, size_t errlen)
{
    if (*value == '\0')
        return fail(err, errlen, "empty value for", opt);
    if (*n == CLI_FILTER_MAX) {
        snprintf(err, errlen, "at most %d %s options", CLI_FILTER_MAX, opt);
        return -1;
    }
    list[(*n)++] = value;
    return 0;
}

static int parse_timeout(const char *s, double *out, char *err, size_t errlen)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > CLI_TIMEOUT_MAX_S) {
        snprintf(err, errlen, "--timeout wants seconds, more than 0 and at most %.0f, not '%s'",
                 CLI_TIMEOUT_MAX_S, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Options, in any order with the positional words, which are collected in
 * pos. getopt's "-" mode hands positionals over in order without
 * permuting argv. */
static int parse_options(int argc, char **argv, struct cli_args *a,
                         const char **pos, unsigned *npos, char *err, size_t errlen)
{
    optind = 0;     /* glibc: full re-initialisation */
    opterr = 0;     /* our own messages */
    for (;;) {
        int c = getopt_long(argc, argv, "-:jr:t:hc:", long_options, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 1:
            if (*npos == POSITIONAL_MAX)
                return fail(err, errlen, "too many arguments, from", optarg);
            pos[(*npos)++] = optarg;
            break;
        case OPT_CONNECT: a->connect = optarg; break;
        case 'j': a->json = true; break;
        case 'h': a->help = true; break;
        case OPT_ID: a->id = optarg; break;
        case 'c': a->config = optarg; break;
        case OPT_UNIX: a->unix_path = optarg; break;
        case OPT_TOKEN: a->token = optarg; break;
        case OPT_TOKEN_FILE: a->token_file = optarg; break;
        case OPT_TAKEOVER: a->takeover = true; break;
        case OPT_CONTROL: a->control = true; break;
        case OPT_TLS: a->tls = true; break;
        case OPT_TLS_CA: a->tls = true; a->tls_ca = optarg; break;
        case OPT_TLS_CERT: a->tls = true; a->tls_cert = optarg; break;
        case OPT_TLS_KEY: a->tls = true; a->tls_key = optarg; break;
        case OPT_TLS_NAME: a->tls = true; a->tls_name = optarg; break;
        case OPT_EXEC: a->exec = optarg; break;
        case 'r':
            if (add_filter(a->robots, &a->nrobots, optarg, "--robot", err, errlen) != 0)
                return -1;
            break;
        case 't':
            if (add_filter(a->types, &a->ntypes, optarg, "--type", err, errlen) != 0)
                return -1;
            break;
        case OPT_TIMEOUT:
            if (parse_timeout(optarg, &a->timeout_s, err, errlen) != 0)
                return -1;
            break;
        case ':':
            return fail(err, errlen, "missing value for option", argv[optind - 1]);
        default:
            return fail(err, errlen, "unknown option", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) {   /* everything after "--" */
        if (*npos == POSITIONAL_MAX)
            return fail(err, errlen, "too many arguments, from", argv[i]);
        pos[(*npos)++] = argv[i];
    }
    return 0;
}

static int check_field(const char *f, char *err, size_t errlen)
{
    const char *eq = strchr(f, '=');
    if (!eq || eq == f || (eq == f + 1 && f[0] == ':'))
        return fail(err, errlen, "a field is NAME=VALUE or NAME:=JSON, not", f);
    return 0;
}

const char *cli_cmd_name(enum cli_cmd cmd)
{
    for (size_t k = 0; k < NCOMMANDS; k++)
        if (commands[k].cmd == cmd)
            return commands[k].name;
    return "?";
}

int cli_args_parse(int argc, char **argv, struct cli_args *a, char *err, size_t errlen)
{
    const char *pos[POSITIONAL_MAX];
    unsigned npos = 0;

    memset(a, 0, sizeof *a);
    a->connect = CLI_DEFAULT_CONNECT;
    if (parse_options(argc, argv, a, pos, &npos, err, errlen) != 0)
        return -1;
    if (a->help)
        return 0;

    size_t k = 0;
    if (npos > 0) {
        while (k < NCOMMANDS && strcmp(commands[k].name, pos[0]) != 0)
            k++;
        if (k == NCOMMANDS)
            return fail(err, errlen, "unknown command", pos[0]);
    }
    unsigned nargs = npos > 0 ? npos - 1 : 0;
    if (nargs < commands[k].min_args || nargs > commands[k].max_args) {
        snprintf(err, errlen, "usage: rapidbridge-cli [OPTIONS] %s", commands[k].synopsis);
        return -1;
    }
    a->cmd = commands[k].cmd;
    if (a->cmd != CLI_WATCH && (a->nrobots > 0 || a->ntypes > 0))
        return fail(err, errlen, "--robot and --type apply to watch only", NULL);
    if (a->config && a->cmd != CLI_DOCTOR)
        return fail(err, errlen, "-c applies to doctor only", NULL);
    if (a->takeover && a->cmd != CLI_CONTROL)
        return fail(err, errlen, "--takeover applies to control only", NULL);
    if (a->control && a->cmd != CLI_SEND)
        return fail(err, errlen, "--control applies to send only", NULL);
    if (a->token && a->token_file)
        return fail(err, errlen, "--token and --token-file exclude each other", NULL);
    if (a->cmd == CLI_TOKEN_NEW || a->cmd == CLI_AUDIT_VERIFY) {
        const char *verb = a->cmd == CLI_TOKEN_NEW ? "new" : "verify";
        if (strcmp(pos[1], verb) != 0) {
            snprintf(err, errlen, "usage: rapidbridge-cli %s", commands[k].synopsis);
            return -1;
        }
        if (a->cmd == CLI_TOKEN_NEW)
            a->name = pos[2];
        else
            a->file = pos[2];
        return 0;
    }
    if (a->cmd == CLI_STATE || a->cmd == CLI_SEND || a->cmd == CLI_CONTROL
        || a->cmd == CLI_RELEASE || a->cmd == CLI_SERVE || (a->cmd == CLI_DOCTOR && nargs == 1))
        a->robot = pos[1];
    if ((a->cmd == CLI_SERVE) != (a->exec != NULL))
        return fail(err, errlen, a->exec ? "--exec applies to serve only" : "serve needs --exec COMMAND",
                    NULL);
    if (a->exec && *a->exec == '\0')
        return fail(err, errlen, "empty --exec command", NULL);
    if (a->cmd == CLI_SERVE)
        a->type = pos[2];
    if (a->cmd == CLI_SEND) {
        a->type = pos[2];
        for (unsigned i = 3; i < npos; i++) {
            if (check_field(pos[i], err, errlen) != 0)
                return -1;
            a->fields[a->nfields++] = pos[i];
        }
    }
    if (!a->tls_cert != !a->tls_key)
        return fail(err, errlen, "--tls-cert and --tls-key go together", NULL);
    if ((a->tls_ca && !*a->tls_ca) || (a->tls_cert && !*a->tls_cert)
        || (a->tls_key && !*a->tls_key) || (a->tls_name && !*a->tls_name))
        return fail(err, errlen, "empty value for a --tls-* option", NULL);
    if ((a->robot && *a->robot == '\0') || (a->type && *a->type == '\0'))
        return fail(err, errlen, "empty robot or type name", NULL);
    return 0;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("rapidbridge-cli: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
