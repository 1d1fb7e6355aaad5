/* access.c - grants and token authentication (see access.h). */
#include "access.h"

#include "audit.h"
#include "bridge.h"
#include "client.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

bool access_who_matches(const char *w, const struct principal *p)
{
    if (strcmp(w, "*") == 0)
        return p->kind != PRINCIPAL_ANONYMOUS;
    if (strcmp(w, "anonymous") == 0)
        return p->kind == PRINCIPAL_ANONYMOUS;
    if (strcmp(w, "mqtt") == 0)
        return p->kind == PRINCIPAL_MQTT;
    if (strncmp(w, "group:", 6) == 0)
        return principal_in_group(p, w + 6);
    static const struct {
        const char *prefix;
        enum principal_kind kind;
    } named[] = {
        {"token:", PRINCIPAL_TOKEN}, {"user:", PRINCIPAL_USER}, {"cert:", PRINCIPAL_CERT},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t n = strlen(named[i].prefix);
        if (strncmp(w, named[i].prefix, n) == 0)
            return p->kind == named[i].kind && strcmp(p->name, w + n) == 0;
    }
    return false;
}

static bool rule_matches(const struct access_rule *rule, const struct principal *p)
{
    for (unsigned i = 0; i < rule->nwho; i++)
        if (access_who_matches(rule->who[i], p))
            return true;
    return false;
}

/* The grant bit of `what`, or 0 with *type_index set for a command type
 * (-1: neither). */
static unsigned grant_bit(const struct bridge *b, const char *what, int *type_index)
{
    *type_index = -1;
    if (strcmp(what, "watch") == 0)
        return GRANT_WATCH;
    if (strcmp(what, "control") == 0)
        return GRANT_CONTROL;
    if (strcmp(what, "takeover") == 0)
        return GRANT_TAKEOVER;
    if (strcmp(what, "serve") == 0)
        return GRANT_SERVE;
    const struct frame_def *d = schema_find(b->cfg.schema, DIR_OUT, what, strlen(what));
    if (d && !d->from_bridge)
        *type_index = schema_index(b->cfg.schema, d);
    return 0;
}

bool access_may(const struct bridge *b, const struct principal *who, int robot_index,
                const char *what)
{
    if (!b->cfg.has_access)
        return true;
    int type_index;
    unsigned bit = grant_bit(b, what, &type_index);
    if (!bit && type_index < 0)
        return false;
    uint32_t rmask = robot_index < 0 ? UINT32_MAX : UINT32_C(1) << robot_index;
    for (unsigned i = 0; i < b->cfg.naccess; i++) {
        const struct access_rule *rule = &b->cfg.access[i];
        if (!(rule->robots & rmask) || !rule_matches(rule, who))
            continue;
        if (bit ? (rule->may & bit) : (rule->commands & (UINT64_C(1) << type_index)))
            return true;
    }
    return false;
}

json_t *access_grants(const struct bridge *b, const struct principal *who)
{
    static const char *const words[] = { "watch", "control", "takeover", "serve" };
    json_t *all = json_object();
    for (unsigned i = 0; i < b->nrobots && all; i++) {
        const struct robot_cfg *rc = &b->cfg.robots[i];
        json_t *list = json_array();
        for (size_t w = 0; w < sizeof words / sizeof words[0] && list; w++) {
            /* Without access there is no lease: control and takeover mean nothing. */
            if (!b->cfg.has_access && w > 0 && w < 3)
                continue;
            if (access_may(b, who, (int)i, words[w]))
                json_array_append_new(list, json_string(words[w]));
        }
        for (unsigned k = 0; k < rc->ncommands && list; k++)
            if (access_may(b, who, (int)i, rc->commands[k]))
                json_array_append_new(list, json_string(rc->commands[k]));
        if (list && json_array_size(list))
            json_object_set_new(all, rc->name, list);
        else
            json_decref(list);
    }
    return all;
}

/* ---- failed-auth back-off ---- */

static struct auth_failures *auth_find(const struct auth_table *t, const char *key)
{
    for (unsigned i = 0; i < AUTH_TABLE_MAX; i++)
        if (t->entry[i].key[0] && strcmp(t->entry[i].key, key) == 0)
            return (struct auth_failures *)&t->entry[i];
    return NULL;
}

bool auth_blocked(const struct auth_table *t, const char *key, double now)
{
    const struct auth_failures *e = auth_find(t, key);
    return e && now < e->blocked_until;
}

void auth_failed(struct auth_table *t, const char *key, double now)
{
    struct auth_failures *e = auth_find(t, key);
    if (!e) {
        /* A free slot, or the one seen least recently. */
        e = &t->entry[0];
        for (unsigned i = 0; i < AUTH_TABLE_MAX; i++) {
            if (!t->entry[i].key[0]) {
                e = &t->entry[i];
                break;
            }
            if (t->entry[i].seen < e->seen)
                e = &t->entry[i];
        }
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    e->seen = now;
    if (e->block > 0) {
        e->block = e->block * 2 > AUTH_BLOCK_MAX ? AUTH_BLOCK_MAX : e->block * 2;
        e->blocked_until = now + e->block;
    } else if (++e->fails >= AUTH_FAILS_BEFORE_BLOCK) {
        e->block = AUTH_BLOCK_FIRST;
        e->blocked_until = now + e->block;
    }
}

void auth_succeeded(struct auth_table *t, const char *key)
{
    struct auth_failures *e = auth_find(t, key);
    if (e)
        memset(e, 0, sizeof *e);
}

/* The back-off key of a connection: its address without the port
 * ("10.0.0.5", "::1"), or for a Unix socket client "unix:uid=N". */
static void auth_key(const char *peer, char key[ADDR_TEXT_MAX])
{
    if (strncmp(peer, "unix:", 5) == 0) {
        size_t n = strcspn(peer, ",");
        snprintf(key, ADDR_TEXT_MAX, "%.*s", (int)n, peer);
        return;
    }
    if (peer[0] == '[') {
        size_t n = strcspn(peer + 1, "]");
        snprintf(key, ADDR_TEXT_MAX, "%.*s", (int)n, peer + 1);
        return;
    }
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    snprintf(key, ADDR_TEXT_MAX, "%.*s", (int)n, peer);
}

/* The index of the token whose digest matches, or -1. Every entry is
 * compared, whatever matched before. */
static int token_lookup(const struct config *cfg, const char *token, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(token, len, md, &n, EVP_sha256(), NULL) || n != TOKEN_DIGEST_LEN)
        return -1;
    int found = -1;
    for (unsigned i = 0; i < cfg->ntokens; i++) {
        int same = CRYPTO_memcmp(md, cfg->tokens[i].digest, TOKEN_DIGEST_LEN) == 0;
        found = same && found < 0 ? (int)i : found;
    }
    OPENSSL_cleanse(md, sizeof md);
    return found;
}

bool access_authenticate_peer(struct bridge *b, struct principal *who, const char *peer,
                             const char *token, size_t len)
{
    char key[ADDR_TEXT_MAX];
    auth_key(peer, key);
    double now = ev_now(b->loop);
    int found = -1;
    bool blocked = auth_blocked(&b->auth, key, now);
    if (!blocked) {
        found = len > 0 && len <= AUTH_TOKEN_MAX ? token_lookup(&b->cfg, token, len) : -1;
        if (found < 0) {
            auth_failed(&b->auth, key, now);
            if (auth_blocked(&b->auth, key, now))
                log_warn(&b->log, "client %s: %u failed auth attempts: %s blocked for %.0f s",
                         peer, AUTH_FAILS_BEFORE_BLOCK, key,
                         auth_find(&b->auth, key)->block);
        }
    }
    if (found < 0) {
        log_debug(&b->log, "client %s: auth failed%s", peer, blocked ? " (blocked)" : "");
        json_t *rec = audit_event("auth_failed", who, peer);
        if (rec && blocked)
            json_object_set_new(rec, "blocked", json_true());
        audit_record(b, rec);
        return false;
    }
    auth_succeeded(&b->auth, key);
    principal_token(who, b->cfg.tokens[found].name);
    char text[PRINCIPAL_TEXT_MAX];
    log_info(&b->log, "client %s: authenticated as %s", peer, principal_text(who, text));
    audit_record(b, audit_event("auth", who, peer));
    return true;
}

bool access_authenticate(struct bridge *b, struct client *c, const char *token, size_t len)
{
    return access_authenticate_peer(b, &c->who, c->peer, token, len);
}
