/* args.h - rapidbridge-cli's command line -> a checked struct cli_args.
 *
 * Options may come before or after the command and its arguments; "--" ends
 * the options. Nothing here touches the network or prints: a problem comes
 * back as -1 with a one-line sentence for the user in err.
 *
 * Ownership: every string in struct cli_args points into argv (or is a
 * literal default) and lives as long as argv does.
 */
#ifndef RB_CLI_ARGS_H
#define RB_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_DEFAULT_CONNECT "127.0.0.1:7025"
#define CLI_FILTER_MAX 64     /* --robot or --type options of one watch; more is a usage error */
#define CLI_FIELDS_MAX 64     /* NAME=VALUE arguments of one send; more is a usage error */
#define CLI_TIMEOUT_MAX_S 3600.0 /* --timeout above this is a usage error */

enum cli_cmd { CLI_WATCH, CLI_STATE, CLI_ROBOTS, CLI_STATS, CLI_VERSION, CLI_SEND, CLI_DOCTOR,
               CLI_CONTROL, CLI_RELEASE, CLI_TOKEN_NEW, CLI_AUDIT_VERIFY,
               CLI_SERVE };

struct cli_args {
    enum cli_cmd cmd;
    bool help;                 /* -h: print usage, do nothing else */
    bool json;                 /* print lines raw, as received */
    const char *connect;       /* HOST:PORT */
    const char *id;            /* --id text, NULL when not given */
    double timeout_s;          /* --timeout, 0 = the command's default */
    const char *robot;         /* state, send, serve ("*": every robot); doctor: NULL for every robot */
    const char *config;        /* doctor -c FILE, NULL when not given */
    const char *type;          /* send, serve */
    const char *exec;          /* serve --exec COMMAND (run with /bin/sh -c) */
    unsigned nrobots, ntypes, nfields;
    const char *robots[CLI_FILTER_MAX];  /* watch --robot */
    const char *types[CLI_FILTER_MAX];   /* watch --type */
    const char *fields[CLI_FIELDS_MAX];  /* send: "NAME=VALUE" or "NAME:=JSON" */

    const char *unix_path;     /* --unix PATH: the bridge's Unix socket instead of --connect */
    const char *token;         /* --token TEXT (visible in ps: a warning is printed) */
    const char *token_file;    /* --token-file FILE: the token is its first line */
    bool takeover;             /* control --takeover */
    bool control;              /* send --control: take the robot's lease first */
    const char *name;          /* token new NAME */
    const char *file;          /* audit verify FILE */
    bool tls;                  /* --tls or any --tls-* option */
    const char *tls_ca;        /* --tls-ca FILE, NULL: the system's CAs */
    const char *tls_cert, *tls_key; /* --tls-cert, --tls-key: both or neither */
    const char *tls_name;      /* --tls-name, NULL: the host of --connect */
};

/* The --tls-* options as conn_start_tls takes them (conn.h). */
#define cli_args_tls(a)                                                                     \
    ((struct conn_tls){.ca = (a)->tls_ca, .cert = (a)->tls_cert, .key = (a)->tls_key,       \
                       .name = (a)->tls_name})

/* "rapidbridge-cli: TEXT" and a line end on stderr: the CLI's one way to
 * tell the user something. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns 0 and fills a, or -1 with err set. Resets getopt's state, so it
 * may be called more than once (tests). */
int cli_args_parse(int argc, char **argv, struct cli_args *a, char *err, size_t errlen);

/* The command word of cmd, as the bridge's "cmd" member spells it. */
const char *cli_cmd_name(enum cli_cmd cmd);

/* The usage text, README-ready. */
extern const char cli_usage[];

#endif
