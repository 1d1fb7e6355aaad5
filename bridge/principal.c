/* principal.c - who is on the other end (see principal.h). */
#include "principal.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* getpwuid_r / getgrgid_r buffers: Debian's entries are far smaller. */
#define PRINCIPAL_PWBUF 4096

static void set_name(struct principal *p, const char *name)
{
    snprintf(p->name, sizeof p->name, "%s", name ? name : "");
}

const char *principal_text(const struct principal *p, char buf[PRINCIPAL_TEXT_MAX])
{
    switch (p->kind) {
    case PRINCIPAL_USER: snprintf(buf, PRINCIPAL_TEXT_MAX, "user:%s", p->name); break;
    case PRINCIPAL_CERT: snprintf(buf, PRINCIPAL_TEXT_MAX, "cert:%s", p->name); break;
    case PRINCIPAL_TOKEN: snprintf(buf, PRINCIPAL_TEXT_MAX, "token:%s", p->name); break;
    case PRINCIPAL_MQTT: snprintf(buf, PRINCIPAL_TEXT_MAX, "mqtt"); break;
    case PRINCIPAL_ANONYMOUS:
    default: snprintf(buf, PRINCIPAL_TEXT_MAX, "anonymous"); break;
    }
    return buf;
}

void principal_anonymous(struct principal *p)
{
    memset(p, 0, sizeof *p);
    p->kind = PRINCIPAL_ANONYMOUS;
}

void principal_mqtt(struct principal *p)
{
    memset(p, 0, sizeof *p);
    p->kind = PRINCIPAL_MQTT;
}

void principal_token(struct principal *p, const char *name)
{
    memset(p, 0, sizeof *p);
    p->kind = PRINCIPAL_TOKEN;
    set_name(p, name);
}

void principal_cert(struct principal *p, const char *cn)
{
    memset(p, 0, sizeof *p);
    p->kind = PRINCIPAL_CERT;
    set_name(p, cn);
}

static void add_group(struct principal *p, gid_t gid)
{
    if (p->ngroups >= PRINCIPAL_GROUPS_MAX)
        return;
    char buf[PRINCIPAL_PWBUF];
    struct group gr, *found = NULL;
    if (getgrgid_r(gid, &gr, buf, sizeof buf, &found) != 0 || !found)
        return;                      /* a gid without a name matches no group: rule */
    if (strlen(found->gr_name) > PRINCIPAL_GROUP_NAME_MAX)
        return;
    for (unsigned i = 0; i < p->ngroups; i++)
        if (strcmp(p->groups[i], found->gr_name) == 0)
            return;
    snprintf(p->groups[p->ngroups++], PRINCIPAL_GROUP_NAME_MAX + 1, "%s", found->gr_name);
}

void principal_user(struct principal *p, uid_t uid, gid_t gid)
{
    memset(p, 0, sizeof *p);
    p->kind = PRINCIPAL_USER;
    p->uid = uid;
    char buf[PRINCIPAL_PWBUF];
    struct passwd pw, *found = NULL;
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) != 0 || !found) {
        snprintf(p->name, sizeof p->name, "%u", (unsigned)uid);
        add_group(p, gid);
        return;
    }
    set_name(p, found->pw_name);
    gid_t gids[PRINCIPAL_GROUPS_MAX];
    for (int i = 0; i < PRINCIPAL_GROUPS_MAX; i++)
        gids[i] = gid;
    int n = PRINCIPAL_GROUPS_MAX;
    /* When the user has more groups than we keep, getgrouplist fills the
     * first n and returns -1: those n are still known. */
    if (getgrouplist(found->pw_name, found->pw_gid, gids, &n) < 0)
        n = PRINCIPAL_GROUPS_MAX;
    add_group(p, gid);
    for (int i = 0; i < n && i < PRINCIPAL_GROUPS_MAX; i++)
        add_group(p, gids[i]);
}

bool principal_in_group(const struct principal *p, const char *group)
{
    if (p->kind != PRINCIPAL_USER)
        return false;
    for (unsigned i = 0; i < p->ngroups; i++)
        if (strcmp(p->groups[i], group) == 0)
            return true;
    return false;
}
