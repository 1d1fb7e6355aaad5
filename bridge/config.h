/* config.h - the bridge's configuration: JSON file -> validated settings.
 *
 * Keys (interface v1, section 3): robot_listen, json_listen, http_listen and
 * http_root (interface 1.1 F, web.h), robots[],
 * frames[] (custom frame types, see schema.h), limits{}, record, and mqtt{}
 * (the optional MQTT publisher, see mqtt.h), json_tls{} (TLS on
 * json_listen, see tls.h). Members
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

#include "principal.h"
#include "schema.h"
#include "tokens.h"

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
#define DEFAULT_ROBOT_REQUEST_TIMEOUT 5.0 /* s a request frame waits for its reply, then RX 2 */
#define DEFAULT_MAX_CLIENTS 256
#define DEFAULT_CLIENT_QUEUE_BYTES (1024 * 1024)
#define DEFAULT_COMMAND_QUEUE 16
/* No lock-outs (interface 1.1, section E). */
#define DEFAULT_MAX_CLIENTS_PER_ADDRESS 32
#define DEFAULT_MAX_PENDING_PER_ADDRESS 8
#define MAX_PENDING_PER_ADDRESS_MAX 64     /* ROBOT_PENDING_MAX, robot.h */
#define DEFAULT_FIRST_REQUEST_TIMEOUT 10.0
#define DEFAULT_REQUEST_TIMEOUT 30.0

/* The "mqtt" section. Text members longer than their bound are refused. */
#define MQTT_HOST_MAX 253          /* broker host name or numeric address */
#define MQTT_ID_MAX 128            /* client_id */
#define MQTT_USER_MAX 128          /* username, password (or password_file's first line) */
#define MQTT_PATH_MAX 255          /* ca, cert, key, password_file paths */
/* Every topic is <prefix>/<level>/<leaf>: the level a robot name, "bridge",
 * or the robot level of a command topic (echoed in its ack topic, so longer
 * ones are ignored); the leaf a frame type, "link", "status", "cmd" or "ack".
 * The prefix is bounded so that every topic fits MQTT_TOPIC_MAX bytes, far
 * below MQTT's own limit of 65535. */
#define MQTT_TOPIC_MAX 256
#define MQTT_LEVEL_MAX 64
#define MQTT_LEAF_MAX FRAME_TYPE_MAX
#define MQTT_PREFIX_MAX (MQTT_TOPIC_MAX - MQTT_LEVEL_MAX - MQTT_LEAF_MAX - 2)
#define MQTT_QUEUE_MAX 100000      /* queue_messages */
#define MQTT_RATE_MAX 1000.0       /* Hz in rate{} */
#define MQTT_V311 4                /* protocol "3.1.1" (MQTT's protocol level) */
#define MQTT_V5 5                  /* protocol "5", the default */
#define DEFAULT_MQTT_PORT 1883
#define DEFAULT_MQTT_PREFIX "rapidbridge"
#define DEFAULT_MQTT_QUEUE 1000

/* A {"cert","key","ca","require_client_cert"} TLS object (json_tls, http_tls). cert
 * and key are required; ca (a PEM file of CA certificates) makes the server
 * ask for client certificates and verify them; require_client_cert (needs
 * ca) refuses a client without one. Paths are used as given. */
#define TLS_PATH_MAX 255

struct tls_cfg {
    bool enabled;              /* the object is present */
    char cert[TLS_PATH_MAX + 1];  /* PEM: the certificate, then its chain */
    char key[TLS_PATH_MAX + 1];   /* PEM private key, not encrypted */
    char ca[TLS_PATH_MAX + 1];    /* "" = client certificates are not asked for */
    bool require_client_cert;
};

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
    bool mqtt_commands;        /* take commands from <prefix>/<name>/cmd */
};

struct limits {
    double hello_timeout;      /* s, > 0 */
    double idle_timeout;       /* s, > 0 */
    double ack_timeout;        /* s, > 0 */
    unsigned max_clients;      /* 1..65536 */
    size_t client_queue_bytes; /* soft limit of one client's output queue */
    unsigned command_queue;    /* commands waiting per robot behind the one in flight */
    unsigned max_clients_per_address;  /* TCP, TLS and WebSocket clients of one address */
    unsigned max_pending_per_address;  /* robot connections of one address before HI */
    double first_request_timeout;      /* s, > 0: connect until the first whole request */
    double request_timeout;            /* s, > 0: a partial request line until it is whole */
    double robot_request_timeout; /* s, > 0: a robot's request waits this long for its reply */
};

struct mqtt_cfg {
    bool enabled;              /* the file has an "mqtt" section */
    char host[MQTT_HOST_MAX + 1];
    uint16_t port;
    int protocol;                      /* MQTT_V5 (default) or MQTT_V311 */
    char client_id[MQTT_ID_MAX + 1];   /* "" = the default, made by mqtt_open (mqtt.h) */
    bool has_username, has_password;
    char username[MQTT_USER_MAX + 1];
    char password[MQTT_USER_MAX + 1];  /* from "password" or read from password_file */
    char password_file[MQTT_PATH_MAX + 1];  /* "" = none */
    char ca[MQTT_PATH_MAX + 1];        /* "" = plain TCP; a file or a directory */
    char cert[MQTT_PATH_MAX + 1];      /* client certificate and key, both or none */
    char key[MQTT_PATH_MAX + 1];
    int qos;                           /* 0..2, every message the bridge publishes */
    char prefix[MQTT_PREFIX_MAX + 1];
    bool types[FRAME_TYPES_MAX];       /* by schema index: published to MQTT */
    double rate[FRAME_TYPES_MAX];      /* by schema index: Hz at most, 0 = every frame */
    unsigned queue_messages;           /* messages waiting for the broker, then the oldest go */
};

/* Interface 1.1 A-D: tokens_file, audit_file, json_unix, access. */
#define CONFIG_PATH_MAX 255        /* tokens_file, audit_file */
#define UNIX_PATH_MAX 107          /* json_unix path: sun_path less its NUL */
#define DEFAULT_UNIX_MODE 0660
#define ACCESS_RULES_MAX 64        /* access[] entries */
#define ACCESS_WHO_MAX 32          /* who[] entries of one rule */
#define ACCESS_WHO_TEXT_MAX PRINCIPAL_TEXT_MAX /* "group:" NAME NUL fits too */

/* What a rule's "may" grants besides command types. */
enum grant {
    GRANT_WATCH = 1u << 0,     /* version, robots, state, stats, frames, watch */
    GRANT_CONTROL = 1u << 1,   /* take a free control lease */
    GRANT_TAKEOVER = 1u << 2,  /* take a held lease */
    GRANT_SERVE = 1u << 3,     /* answer robot requests (H) */
};

struct access_rule {
    unsigned nwho;
    char who[ACCESS_WHO_MAX][ACCESS_WHO_TEXT_MAX]; /* "token:hmi1", "group:ops", "*" ... */
    uint32_t robots;           /* bit i: cfg->robots[i]; UINT32_MAX: every robot */
    unsigned may;              /* enum grant bits */
    uint64_t commands;         /* bit i: command type schema_at(i) */
};
#define HTTP_ROOT_MAX 255       /* http_root: the operator page's directory */

struct config {
    struct listen_addr robot_listen;
    struct listen_addr json_listen;
    struct tls_cfg json_tls;   /* enabled false: plain TCP */
    bool has_http;             /* http_listen given: serve the page, /ws and /metrics (web.h) */
    struct listen_addr http_listen;
    struct tls_cfg http_tls;   /* enabled false: plain HTTP (web.h) */
    char http_root[HTTP_ROOT_MAX + 1]; /* "" = the compiled-in RB_WWWDIR */
    unsigned nrobots;
    struct robot_cfg robots[ROBOTS_MAX];
    struct limits limits;
    struct schema *schema;     /* built-in + custom frames; owned */
    char record[256];          /* "" = no recording */
    struct mqtt_cfg mqtt;      /* enabled false: no MQTT */

    char tokens_file[CONFIG_PATH_MAX + 1]; /* "" = no tokens: every auth fails */
    unsigned ntokens;
    struct token_entry *tokens;            /* owned; read from tokens_file at load */
    char audit_file[CONFIG_PATH_MAX + 1];  /* "" = no audit trail */
    bool has_unix;                         /* json_unix is configured */
    char unix_path[UNIX_PATH_MAX + 1];
    unsigned unix_mode;                    /* permission bits of the socket file */
    char unix_group[PRINCIPAL_GROUP_NAME_MAX + 1]; /* "" = the daemon's group */
    bool has_access;                       /* access is configured: grants and leases apply */
    unsigned naccess;
    struct access_rule *access;            /* owned */
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

/* Loopback is 127.0.0.0/8 and ::1 (interface 1.1 B). */
bool listen_addr_is_loopback(const struct listen_addr *addr);

/* A listener on a non-loopback address without "access" is refused: -1
 * with a sentence that says what to add. Checks json_listen (and, once the
 * HTTP listener exists, http_listen). */
int config_check_exposure(const struct config *cfg, char err[CONFIG_ERR_MAX]);

const struct robot_cfg *config_robot(const struct config *cfg, const char *name);
bool robot_cfg_allows(const struct robot_cfg *r, const char *type);

#endif
