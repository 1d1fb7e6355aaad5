/* doctor.h - `rapidbridge-cli doctor [ROBOT]`: what is wrong with the robot
 * links and what to do about it.
 *
 * The report is built from the bridge's VERSION, ROBOTS and STATS replies
 * (last_refused, unknown_hellos, robot_port) and, when one can be read, the
 * configuration file, so that a hint can name the key and its place
 * (robots[1].peer at /etc/rapidbridge/bridge.json:7:31). One line per robot
 * ("ok" or "NOT LINKED"), then indented lines with the cause and the next
 * step. Status: 0 when every robot (or ROBOT) is linked, 1 when not (or
 * ROBOT is not configured in the running bridge). The caller maps "cannot
 * reach the bridge" to 2.
 *
 * Ownership: a doctor_config holds the file's text and parsed JSON; free it
 * with doctor_config_free(). Replies are borrowed.
 */
#ifndef RB_CLI_DOCTOR_H
#define RB_CLI_DOCTOR_H

#include "conn.h"

#include <jansson.h>
#include <stdio.h>

#define DOCTOR_DEFAULT_CONFIG "/etc/rapidbridge/bridge.json"
#define DOCTOR_CONFIG_MAX (1024 * 1024) /* bytes of a configuration file read */

struct doctor_config {
    const char *path;   /* NULL: no configuration read */
    char *text;         /* the file, NUL-terminated */
    size_t len;
    json_t *root;       /* parsed, or NULL when it is not valid JSON */
    char problem[256];  /* why it could not be read or parsed, "" when fine */
};

/* Read path (NULL: the default, only when readable). Never fails: problems
 * are kept in cfg->problem and reported. */
void doctor_config_load(struct doctor_config *cfg, const char *path);
void doctor_config_free(struct doctor_config *cfg);

/* The report. robot NULL: every robot. now: Unix time for "N s ago". */
int doctor_report(FILE *out, const json_t *version, const json_t *robots, const json_t *stats,
                  const struct doctor_config *cfg, const char *robot, double now);

/* Ask the bridge over c (banner already read) and print the report; returns
 * the status, or 2 when a reply does not come (a line on stderr says why). */
int doctor_run(struct conn *c, const char *robot, const char *config_path, double timeout_s);

#endif
