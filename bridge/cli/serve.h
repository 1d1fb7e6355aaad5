/* serve.h - rapidbridge-cli serve: answer a robot's requests with a command.
 *
 * Connects to the bridge as the other commands do (--connect or --unix,
 * --tls-*), authenticates with the token when one is given (--token,
 * --token-file, RAPIDBRIDGE_TOKEN: it is kept for each new connection and
 * wiped by the caller), sends the serve request (request.h), and for each
 * REQUEST runs the --exec COMMAND with /bin/sh -c, one at a time, in order:
 *  - stdin: the request's "fields" object as one JSON line, then EOF;
 *  - environment: RB_ROBOT, RB_TYPE, RB_SEQ, and RB_FIELD_<NAME> for each
 *    field (NAME upper-cased; strings as they are, anything else as JSON);
 *  - stdout: the reply's fields, one JSON object (at most SERVE_OUTPUT_MAX
 *    bytes); it becomes {"cmd":"reply",...,"fields":...};
 *  - a non-zero exit, a kill, no JSON object on stdout, or more than the
 *    time limit (--timeout, default SERVE_EXEC_TIMEOUT_S; the command's
 *    process group is killed then) becomes {"cmd":"reply",...,"error":TEXT}
 *    with the first line of its stderr (at most SERVE_OUTPUT_MAX bytes kept),
 *    or a sentence saying what went wrong.
 * It says on stderr when it serves, what each request got, and when the
 * connection is lost; it then connects again after 1, 2, 4 ... up to
 * SERVE_BACKOFF_MAX_S seconds, for ever, until SIGINT/SIGTERM (stop_fd).
 * A refused serve (ERROR busy, unknown_type, unknown_robot, unauthorized) ends
 * it with status 1: trying again would be refused again.
 */
#ifndef RB_CLI_SERVE_H
#define RB_CLI_SERVE_H

#include "args.h"

#include <jansson.h>

#define SERVE_EXEC_TIMEOUT_S 4.0     /* below the bridge's robot_request_timeout (5 s) */
#define SERVE_OUTPUT_MAX (64 * 1024) /* bytes kept of the command's stdout and stderr each */
#define SERVE_BACKOFF_MAX_S 30
#define SERVE_CONNECT_TIMEOUT_S 10.0

/* Runs until stopped (returns 0) or refused (1). req is the serve request;
 * token "" = no auth. */
int serve_run(const struct cli_args *a, const json_t *req, const char *token, int stop_fd);

#endif
