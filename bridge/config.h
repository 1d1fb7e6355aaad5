/* config.h - the bridge's configuration: JSON file -> validated settings.
 *
 * Keys (interface v1, section 3): robot_listen, json_listen, robots[],
 * frames[] (custom frame types, see schema.h), limits{}, record. Members
 * named "comment" or starting with "_" are ignored anywhere, so an example
 * file can explain itself; any other unknown member is an error, so a typo
 * never silently falls back to a default.
 *
 * Errors: every problem is reported as one line "FILE:LINE:COLUMN: message"
 * (syntax errors from jansson, semantic ones located with jsonpos.h).
 *
 * Ownership: config_load* fill a struct the caller releases with
 * config_free(); cfg->schema is owned by the config.
 */
#ifndef RB_CONFIG_H
#define RB_CONFIG_H

#include "schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX 512
#define ROBOTS_MAX 32
#define HOST_MAX 64            /* numeric IPv4/IPv6 address text */

/* Defaults of interface v1 and of this bridge. */
#define DEFAULT_ROBOT_LISTEN "0.0.0.0:1025"
#define DEFAULT_JSON_LISTEN "127.0.0.1:7025"
#define DEFAULT_HELLO_TIMEOUT 5.0
#define DEFAULT_IDLE_TIMEOUT 3.0
#define DEFAULT_ACK_TIMEOUT 5.0
#define DEFAULT_MAX_CLIENTS 256
#define DEFAULT_CLIENT_QUEUE_BYTES (1024 * 1024)
#define DEFAULT_COMMAND_QUEUE 16

struct listen_addr {
    char host[HOST_MAX + 1];   /* numeric address, "0.0.0.0", "::" ... */
    uint16_t port;             /* 0 = any free port */
};

struct robot_cfg {
    char name[IDENT_MAX + 1];
    bool has_peer;
    char peer[HOST_MAX + 1];   /* numeric address the link must come from */
    unsigned ncommands;        /* allowed command types, default none */
    char commands[FRAME_TYPES_MAX][FRAME_TYPE_MAX + 1];
    bool checksum;             /* append *HH to frames sent to this robot */
};

struct limits {
    double hello_timeout;      /* s, > 0 */
    double idle_timeout;       /* s, > 0 */
    double ack_timeout;        /* s, > 0 */
    unsigned max_clients;      /* 1..65536 */
    size_t client_queue_bytes; /* soft limit of one client's output queue */
    unsigned command_queue;    /* commands waiting per robot behind the one in flight */
};

struct config {
    struct listen_addr robot_listen;
    struct listen_addr json_listen;
    unsigned nrobots;
    struct robot_cfg robots[ROBOTS_MAX];
    struct limits limits;
    struct schema *schema;     /* built-in + custom frames; owned */
    char record[256];          /* "" = no recording */
};

/* Defaults, no robots, built-in frames. Returns -1 only when out of memory. */
int config_defaults(struct config *cfg);

/* Load a file (name is used in messages). On error returns -1 with a
 * "FILE:LINE:COLUMN: message" line in err and cfg left empty (safe to free). */
int config_load_file(struct config *cfg, const char *path, char err[CONFIG_ERR_MAX]);
int config_load_text(struct config *cfg, const char *name, const char *text, size_t len,
                     char err[CONFIG_ERR_MAX]);

void config_free(struct config *cfg);

/* "HOST:PORT" or "[V6]:PORT" with a numeric host -> addr. Returns 0 or -1. */
int listen_addr_parse(const char *s, struct listen_addr *addr);

const struct robot_cfg *config_robot(const struct config *cfg, const char *name);
bool robot_cfg_allows(const struct robot_cfg *r, const char *type);

#endif
