/* preflight.h - what --check-config checks beyond loading the file.
 *
 * config_load_file() already checks everything inside the file. At start
 * the daemon also opens files the configuration names; preflight_check()
 * tries the same access without creating, binding or connecting anything:
 * the record file and the audit file must be appendable (or creatable in
 * their directory), the mqtt ca, cert and key readable, json_tls's and http_tls's files
 * loadable as at start (PEM, the key matching the certificate). (The tokens
 * file is read, and its mode checked, by the loader itself.) Run under
 * systemd's ExecStartPre= it sees
 * the same user and sandbox the daemon will.
 *
 * Not checked, because only doing it tells: whether a listen address can be
 * bound (port taken, address not on this host) or the broker reached.
 *
 * Errors: one line in err, "FILE:LINE:COLUMN: message" pointing at the key
 * in the configuration file, or "--record FILE: message" when the path came
 * from the command line.
 */
#ifndef RB_PREFLIGHT_H
#define RB_PREFLIGHT_H

#include "config.h"

#include <stdbool.h>

/* path: the configuration file cfg was loaded from (NULL: built-in
 * defaults); record_from_cli: cfg->record came from --record. Returns 0 or
 * -1 with err set. */
int preflight_check(const struct config *cfg, const char *path, bool record_from_cli,
                    char err[CONFIG_ERR_MAX]);

#endif
