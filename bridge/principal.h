/* principal.h - who is on the other end of a connection.
 *
 * Every JSON connection has one principal at a time (interface 1.1 A):
 * anonymous (a TCP client), user:NAME (a Unix socket client, from its
 * SO_PEERCRED uid, with its groups), cert:CN (a verified TLS client
 * certificate), token:NAME (after a successful auth) and mqtt (commands
 * from the broker). Grants (access.h) are decided on this alone.
 *
 * Bounds: a name longer than PRINCIPAL_NAME_MAX bytes is cut (user and
 * group names are far shorter on Debian; token names are checked at load);
 * at most PRINCIPAL_GROUPS_MAX groups are kept, the rest are not known and
 * so never match a group: rule. No allocation: a principal is plain data.
 */
#ifndef RB_PRINCIPAL_H
#define RB_PRINCIPAL_H

#include <stdbool.h>
#include <sys/types.h>

#define PRINCIPAL_NAME_MAX 64       /* bytes of NAME / CN, without the NUL */
#define PRINCIPAL_TEXT_MAX (PRINCIPAL_NAME_MAX + 8)  /* "token:" NAME NUL */
#define PRINCIPAL_GROUPS_MAX 32     /* supplementary groups of a user: kept */
#define PRINCIPAL_GROUP_NAME_MAX 32 /* bytes of a group name kept for matching */

enum principal_kind {
    PRINCIPAL_ANONYMOUS,
    PRINCIPAL_USER,
    PRINCIPAL_CERT,
    PRINCIPAL_TOKEN,
    PRINCIPAL_MQTT,
};

struct principal {
    enum principal_kind kind;
    char name[PRINCIPAL_NAME_MAX + 1];  /* user, CN or token name; "" otherwise */
    uid_t uid;                          /* PRINCIPAL_USER only */
    unsigned ngroups;                   /* PRINCIPAL_USER only */
    char groups[PRINCIPAL_GROUPS_MAX][PRINCIPAL_GROUP_NAME_MAX + 1];
};

/* anonymous, user:NAME, cert:CN, token:NAME, mqtt; returns buf. */
const char *principal_text(const struct principal *p, char buf[PRINCIPAL_TEXT_MAX]);

void principal_anonymous(struct principal *p);
void principal_mqtt(struct principal *p);
void principal_token(struct principal *p, const char *name);
void principal_cert(struct principal *p, const char *cn);

/* user:NAME for a uid and its primary gid: the name from getpwuid_r (the
 * uid in decimal when it has none), the groups from getgrouplist. */
void principal_user(struct principal *p, uid_t uid, gid_t gid);

/* Is group NAME one of the principal's (user principals only)? */
bool principal_in_group(const struct principal *p, const char *group);

#endif
