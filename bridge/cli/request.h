/* request.h - struct cli_args -> the one JSON request the CLI sends.
 *
 *   watch   {"cmd":"watch","enable":true[,"robots":[...]][,"types":[...]]}
 *   state   {"cmd":"state","robot":R}
 *   robots, stats, version   {"cmd":NAME}
 *   control {"cmd":"control","robot":R[,"takeover":true]}
 *   release {"cmd":"release","robot":R}
 *   send    {"cmd":"send","robot":R,"type":T,"fields":{...}}  ("fields" always,
 *           {} for a command without fields)
 *   serve   {"cmd":"serve"[,"robot":R],"types":[T]}  (no "robot" for "*")
 * plus "id" when --id was given. Type codes are upper-cased (they are upper
 * case by definition, so nothing is lost). Nothing is checked against the
 * schema here: the bridge is the one judge and its ERROR says what is wrong.
 *
 * Ownership: request_build returns a new reference (json_decref it), or NULL
 * with a sentence in err (a bad field or id: a usage error).
 */
#ifndef RB_CLI_REQUEST_H
#define RB_CLI_REQUEST_H

#include "args.h"

#include <jansson.h>

json_t *request_build(const struct cli_args *a, char *err, size_t errlen);

/* VALUE of NAME=VALUE: a JSON integer when it is [+-]digits and fits, a JSON
 * real when strtod reads all of it as a finite number (digits, sign, ".",
 * exponent only: no hex, inf or nan), else a JSON string. NULL when the text
 * is not valid UTF-8. */
json_t *request_field_value(const char *text);

#endif
