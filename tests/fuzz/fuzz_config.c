/* fuzz_config.c - libFuzzer harness: configuration text -> config_load_text.
 *
 * The input is the text of a configuration file named "fuzz.json". Loading
 * must return 0 or -1. On -1 the error is what config.h promises: one
 * NUL-terminated line (no control byte) "fuzz.json:LINE:COLUMN: message"
 * whose position lies in the text (line 1..lines of the text, column
 * 1..that line's length + 1), with a non-empty message. On 0 the settings hold the documented bounds:
 * robots <= ROBOTS_MAX with distinct valid names, every allowed command a
 * command type of the schema, limits in range, listen hosts numeric,
 * access rules within their bounds, a client port off loopback only with
 * access rules. Loading
 * the same text again gives the same result and message. config_free()
 * always runs, and twice on the same struct is harmless.
 *
 * Any broken invariant is __builtin_trap(), so libFuzzer keeps the input.
 */
#include "fuzz.h"
#include "config.h"
#include "schema.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NAME "fuzz.json"

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Length of line number `line` (1-based) of the text, or -1 past its end. */
static long line_length(const char *text, size_t len, long line)
{
    size_t at = 0;
    for (long l = 1; l < line; l++) {
        const char *lf = memchr(text + at, '\n', len - at);
        if (!lf)
            return -1;
        at = (size_t)(lf - text) + 1;
    }
    const char *lf = memchr(text + at, '\n', len - at);
    return lf ? lf - (text + at) : (long)(len - at);
}

/* One line for a log: no LF, CR or other control byte. */
static bool one_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return false;
    return true;
}

static void check_error(const char *err, const char *text, size_t len)
{
    CHECK(terminated(err, CONFIG_ERR_MAX));
    if (strncmp(err, NAME ":", strlen(NAME ":")) != 0 || !one_line(err))
        fprintf(stderr, "error line: \"%s\"\n", err);
    CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
    CHECK(one_line(err));
    long line = 0, col = 0;
    int used = 0;
    int got = sscanf(err + strlen(NAME ":"), "%ld:%ld: %n", &line, &col, &used);
    if (got != 2 || used == 0)
        fprintf(stderr, "no LINE:COLUMN in \"%s\"\n", err);
    CHECK(got == 2 && used > 0);
    CHECK(err[strlen(NAME ":") + (size_t)used] != '\0'); /* a message follows */
    long ll = line_length(text, len, line);
    if (line < 1 || ll < 0 || col < 1 || col > ll + 1)
        fprintf(stderr, "position %ld:%ld outside the text (line length %ld): \"%s\"\n", line,
                col, ll, err);
    CHECK(line >= 1 && ll >= 0);
    CHECK(col >= 1 && col <= ll + 1);
}

static bool numeric_host(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void check_config(const struct config *cfg)
{
    CHECK(cfg->schema != NULL);
    CHECK(cfg->nrobots <= ROBOTS_MAX);
    CHECK(terminated(cfg->robot_listen.host, sizeof cfg->robot_listen.host));
    CHECK(terminated(cfg->json_listen.host, sizeof cfg->json_listen.host));
    CHECK(numeric_host(cfg->robot_listen.host));
    CHECK(numeric_host(cfg->json_listen.host));
    for (unsigned i = 0; i < cfg->nrobots; i++) {
        const struct robot_cfg *r = &cfg->robots[i];
        CHECK(terminated(r->name, sizeof r->name));
        CHECK(ident_valid(r->name, strlen(r->name)));
        CHECK(config_robot(cfg, r->name) == r); /* names are distinct */
        CHECK(terminated(r->peer, sizeof r->peer));
        CHECK(!r->has_peer || numeric_host(r->peer));
        CHECK(r->ncommands <= FRAME_TYPES_MAX);
        for (unsigned k = 0; k < r->ncommands; k++) {
            const char *t = r->commands[k];
            CHECK(terminated(t, sizeof r->commands[k]));
            CHECK(schema_find(cfg->schema, DIR_OUT, t, strlen(t)) != NULL);
            CHECK(robot_cfg_allows(r, t));
        }
    }
    const struct limits *l = &cfg->limits;
    CHECK(l->hello_timeout > 0 && l->idle_timeout > 0 && l->ack_timeout > 0);
    CHECK(l->max_clients >= 1 && l->max_clients <= 65536);
    CHECK(l->client_queue_bytes > 0);
    CHECK(terminated(cfg->record, sizeof cfg->record));
    if (cfg->mqtt.enabled) {
        const struct mqtt_cfg *m = &cfg->mqtt;
        CHECK(terminated(m->host, sizeof m->host) && m->host[0] != '\0');
        CHECK(terminated(m->client_id, sizeof m->client_id));
        CHECK(terminated(m->prefix, sizeof m->prefix));
        CHECK(m->qos >= 0 && m->qos <= 2);
        CHECK(m->queue_messages <= MQTT_QUEUE_MAX);
        for (unsigned t = 0; t < FRAME_TYPES_MAX; t++)
            CHECK(m->rate[t] >= 0 && m->rate[t] <= MQTT_RATE_MAX);
    }
    /* Interface 1.1: access rules, json_unix, the exposure rule. */
    CHECK(cfg->naccess <= ACCESS_RULES_MAX);
    CHECK(!cfg->naccess || cfg->has_access);
    for (unsigned i = 0; i < cfg->naccess; i++) {
        const struct access_rule *rule = &cfg->access[i];
        CHECK(rule->nwho >= 1 && rule->nwho <= ACCESS_WHO_MAX);
        for (unsigned k = 0; k < rule->nwho; k++)
            CHECK(terminated(rule->who[k], sizeof rule->who[k]) && rule->who[k][0] != '\0');
        CHECK(rule->robots == UINT32_MAX || rule->robots >> cfg->nrobots == 0 || cfg->nrobots == 32);
    }
    CHECK(!cfg->has_unix || cfg->unix_path[0] == '/');
    CHECK(cfg->unix_mode <= 0777);
    CHECK(cfg->has_access || listen_addr_is_loopback(&cfg->json_listen));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    memset(err, 0x5A, sizeof err); /* a stale message must not pass for one */
    int r = config_load_text(&cfg, NAME, text, size, err);
    CHECK(r == 0 || r == -1);
    if (r == 0)
        check_config(&cfg);
    else
        check_error(err, text, size);

    /* The same text, the same verdict. */
    struct config again;
    char err2[CONFIG_ERR_MAX];
    int r2 = config_load_text(&again, NAME, text, size, err2);
    CHECK(r2 == r);
    CHECK(r == 0 || strcmp(err, err2) == 0);
    if (r == 0)
        CHECK(again.nrobots == cfg.nrobots &&
              memcmp(again.robots, cfg.robots, sizeof cfg.robots[0] * cfg.nrobots) == 0);

    config_free(&again);
    config_free(&cfg);
    config_free(&cfg); /* freed (or left empty by an error) twice: harmless */
    return 0;
}
