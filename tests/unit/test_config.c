/* test_config.c - configuration loading: defaults, the shipped files, and
 * every kind of error reported at its file:line:column. Run from the repo
 * root (the shipped files are opened by relative path). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* ---- errors ---------------------------------------------------------------- */

struct error_case {
    const char *name;
    const char *text;
    const char *want;       /* the error starts with this */
};

static const struct error_case error_cases[] = {
    /* syntax, from jansson, positioned in bytes */
    { "syntax error", "{\"robots\": [}",
      "t.json:1:13: unexpected token near '}'" },
    { "syntax error on a later line", "{\n \"record\": \"a\",\n}",
      "t.json:3:1: string or '}' expected" },
    { "syntax error column in bytes", "{\"\xC3\xA4\": x}",
      "t.json:1:8: invalid token" },
    { "duplicate key", "{\"record\": \"a\", \"record\": \"b\"}",
      "t.json:1:24: duplicate object key" },
    { "syntax error quoting a line break stays one line", "{\"x\\\n\"}",
      "t.json:1:5: invalid escape near '\"x\\?'" },
    { "syntax error quoting a control byte stays printable", "{\"a\":1,\x01}",
      "t.json:1:8: " },
    { "a member name with a control byte stays printable",
      "{\"mqtt\":{\"host\":\"b\",\"rate\":{\"J\\f\":10}}}", "t.json:1:" },
    { "empty text", "",
      "t.json:1:1: '[' or '{' expected" },
    { "not an object", " [1]",
      "t.json:1:2: the configuration must be a JSON object" },
    /* unknown members */
    { "unknown top-level member", "{\"robot\": 1}",
      "t.json:1:11: unknown member \"robot\"" },
    { "unknown member with a dot is shown at its object", "{\"a.b\": 1}",
      "t.json:1:1: unknown member \"a.b\"" },
    { "unknown robot member", "{\"robots\": [{\"name\": \"a\", \"chksum\": true}]}",
      "t.json:1:37: unknown member \"chksum\" in robots[0]" },
    { "unknown robot member with a bracket is shown at its robot",
      "{\"robots\": [{\"name\": \"a\", \"x[0]\": 1}]}",
      "t.json:1:13: unknown member \"x[0]\" in robots[0]" },
    { "unknown limit", "{\"limits\": {\"max_client\": 5}}",
      "t.json:1:27: unknown member \"max_client\" in limits" },
    /* listeners */
    { "listen address not a string", "{\"robot_listen\": 1025}",
      "t.json:1:18: robot_listen must be a string" },
    { "listen address with a host name", "{\"json_listen\": \"localhost:7025\"}",
      "t.json:1:17: json_listen \"localhost:7025\" is not a numeric HOST:PORT" },
    { "listen port out of range", "{\"robot_listen\": \"0.0.0.0:65536\"}",
      "t.json:1:18: robot_listen \"0.0.0.0:65536\" is not a numeric HOST:PORT" },
    { "http_listen with a host name", "{\"http_listen\": \"localhost:8025\"}",
      "t.json:1:17: http_listen \"localhost:8025\" is not a numeric HOST:PORT" },
    { "http_root empty", "{\"http_root\": \"\"}",
      "t.json:1:15: http_root must be a directory path of 1 to 255 bytes" },
    /* robots */
    { "robots not an array", "{\"robots\": {}}",
      "t.json:1:12: robots must be an array" },
    { "robots empty", "{\"robots\": []}",
      "t.json:1:12: robots must have 1 to 32 entries, not 0" },
    { "robot not an object", "{\"robots\": [\"rob1\"]}",
      "t.json:1:13: robots[0] must be an object" },
    { "robot without a name", "{\"robots\": [{\"peer\": \"127.0.0.1\"}]}",
      "t.json:1:13: robots[0] has no \"name\"" },
    { "robot name wrong type", "{\"robots\": [{\"name\": 5}]}",
      "t.json:1:22: robots[0].name must be a string" },
    { "robot name not an identifier", "{\"robots\": [{\"name\": \"1rob\"}]}",
      "t.json:1:22: robots[0].name \"1rob\" is not an identifier" },
    { "duplicate robot",
      "{\"robots\": [\n  {\"name\": \"rob1\"},\n  {\"name\": \"rob1\"}\n]}",
      "t.json:3:12: robots[1].name \"rob1\" is already the name of robots[0]" },
    { "peer a host name", "{\"robots\": [{\"name\": \"a\", \"peer\": \"robot.local\"}]}",
      "t.json:1:35: robots[0].peer \"robot.local\" is not a numeric IPv4 or IPv6 address" },
    { "peer with a port", "{\"robots\": [{\"name\": \"a\", \"peer\": \"127.0.0.1:80\"}]}",
      "t.json:1:35: robots[0].peer \"127.0.0.1:80\" is not a numeric" },
    { "peer in brackets", "{\"robots\": [{\"name\": \"a\", \"peer\": \"[::1]\"}]}",
      "t.json:1:35: robots[0].peer \"[::1]\" is not a numeric" },
    { "peer wrong type", "{\"robots\": [{\"name\": \"a\", \"peer\": null}]}",
      "t.json:1:35: robots[0].peer must be a string" },
    { "commands not an array", "{\"robots\": [{\"name\": \"a\", \"commands\": \"PING\"}]}",
      "t.json:1:39: robots[0].commands must be an array" },
    { "command not a string", "{\"robots\": [{\"name\": \"a\", \"commands\": [\"PING\", 5]}]}",
      "t.json:1:48: robots[0].commands[1] must be a string" },
    { "command an input type", "{\"robots\": [{\"name\": \"a\", \"commands\": [\"PING\", \"JT\"]}]}",
      "t.json:1:48: robots[0].commands[1] \"JT\" is not a command type" },
    { "command unknown", "{\"robots\": [{\"name\": \"a\", \"commands\": [\"PING\", \"FLY\"]}]}",
      "t.json:1:48: robots[0].commands[1] \"FLY\" is not a command type" },
    { "command NO is the bridge's own", "{\"robots\": [{\"name\": \"a\", \"commands\": [\"PING\", \"NO\"]}]}",
      "t.json:1:48: robots[0].commands[1] \"NO\" is not a command type" },
    { "command listed twice", "{\"robots\": [{\"name\": \"a\", \"commands\": [\"PING\", \"PING\"]}]}",
      "t.json:1:48: robots[0].commands[1] \"PING\" is listed twice" },
    { "custom input type is not a command",
      "{\"frames\": [{\"type\": \"WD\", \"direction\": \"in\", \"fields\": []}],\n"
      " \"robots\": [{\"name\": \"a\", \"commands\": [\"WD\"]}]}",
      "t.json:2:40: robots[0].commands[0] \"WD\" is not a command type" },
    { "checksum not a bool", "{\"robots\": [{\"name\": \"a\", \"checksum\": \"yes\"}]}",
      "t.json:1:39: robots[0].checksum must be true or false" },
    /* frames: the schema's error path, located */
    { "frames not an array", "{\"frames\": {}}",
      "t.json:1:12: frames must be an array" },
    { "custom frame error",
      "{\"frames\": [\n"
      "  {\"type\": \"WD\", \"direction\": \"in\", \"fields\": [\n"
      "    {\"name\": \"a\", \"kind\": \"float\"}]}\n"
      "]}",
      "t.json:3:27: frames[0].fields[0].kind" },
    { "custom frame reusing a built-in type",
      "{\"frames\": [\n  {\"type\": \"JT\", \"direction\": \"in\", \"fields\": []}\n]}",
      "t.json:2:12: frames[0].type" },
    { "request naming no frame",
      "{\"frames\": [\n  {\"type\": \"JB\", \"direction\": \"in\", \"request\": \"JA\", \"fields\": []}\n]}",
      "t.json:2:48: frames[0].request: request names \"JA\", which is not a frame with direction "
      "\"out\" defined in frames" },
    { "request naming an in frame",
      "{\"frames\": [{\"type\": \"JA\", \"direction\": \"in\", \"fields\": []},\n"
      "  {\"type\": \"JB\", \"direction\": \"in\", \"request\": \"JA\", \"fields\": []}]}",
      "t.json:2:48: frames[1].request" },
    { "a reply type in a robot's commands",
      "{\"frames\": [{\"type\": \"JB\", \"direction\": \"in\", \"request\": \"JA\", \"fields\": []},"
      "{\"type\": \"JA\", \"direction\": \"out\", \"fields\": []}],\n"
      "\"robots\": [{\"name\": \"rob1\", \"commands\": [\"JA\"]}]}",
      "t.json:2:42: robots[0].commands[0] \"JA\" is the reply of a request frame" },
    /* limits */
    { "limits not an object", "{\"limits\": 5}",
      "t.json:1:12: limits must be an object" },
    { "timeout zero", "{\"limits\": {\"idle_timeout\": 0}}",
      "t.json:1:29: limits.idle_timeout must be more than 0 and at most 3600 seconds" },
    { "timeout too long", "{\"limits\": {\"ack_timeout\": 3601}}",
      "t.json:1:28: limits.ack_timeout must be more than 0 and at most 3600 seconds" },
    { "robot_request_timeout zero", "{\"limits\": {\"robot_request_timeout\": 0}}",
      "t.json:1:38: limits.robot_request_timeout must be more than 0 and at most 3600 seconds" },
    { "timeout wrong type", "{\"limits\": {\"hello_timeout\": \"5\"}}",
      "t.json:1:30: limits.hello_timeout must be a number" },
    { "max_clients zero", "{\"limits\": {\"max_clients\": 0}}",
      "t.json:1:28: limits.max_clients must be from 1 to 65536" },
    { "max_clients not an integer", "{\"limits\": {\"max_clients\": 1.5}}",
      "t.json:1:28: limits.max_clients must be an integer" },
    { "client_queue_bytes too small", "{\"limits\": {\"client_queue_bytes\": 4095}}",
      "t.json:1:35: limits.client_queue_bytes must be from 4096 to 1073741824" },
    { "command_queue too long", "{\"limits\": {\"command_queue\": 1025}}",
      "t.json:1:30: limits.command_queue must be from 0 to 1024" },
    { "max_clients_per_address zero", "{\"limits\": {\"max_clients_per_address\": 0}}",
      "t.json:1:40: limits.max_clients_per_address must be from 1 to 65536" },
    { "max_clients_per_address not an integer",
      "{\"limits\": {\"max_clients_per_address\": \"8\"}}",
      "t.json:1:40: limits.max_clients_per_address must be an integer" },
    { "max_pending_per_address zero", "{\"limits\": {\"max_pending_per_address\": 0}}",
      "t.json:1:40: limits.max_pending_per_address must be from 1 to 64" },
    { "max_pending_per_address over the global 64",
      "{\"limits\": {\"max_pending_per_address\": 65}}",
      "t.json:1:40: limits.max_pending_per_address must be from 1 to 64" },
    { "first_request_timeout zero", "{\"limits\": {\"first_request_timeout\": 0}}",
      "t.json:1:38: limits.first_request_timeout must be more than 0 and at most 3600 seconds" },
    { "request_timeout negative", "{\"limits\": {\"request_timeout\": -1}}",
      "t.json:1:32: limits.request_timeout must be more than 0 and at most 3600 seconds" },
    { "request_timeout wrong type", "{\"limits\": {\"request_timeout\": true}}",
      "t.json:1:32: limits.request_timeout must be a number" },
    /* mqtt */
    { "mqtt not an object", "{\"mqtt\": 5}",
      "t.json:1:10: mqtt must be an object" },
    { "mqtt without a host", "{\"mqtt\": {\"port\": 1883}}",
      "t.json:1:10: mqtt has no \"host\"" },
    { "unknown mqtt member", "{\"mqtt\": {\"host\": \"b\", \"qso\": 1}}",
      "t.json:1:31: unknown member \"qso\" in mqtt" },
    { "mqtt host empty", "{\"mqtt\": {\"host\": \"\"}}",
      "t.json:1:19: mqtt.host must not be empty" },
    { "mqtt host with a space", "{\"mqtt\": {\"host\": \"a b\"}}",
      "t.json:1:19: mqtt.host must be a host name or a numeric address" },
    { "mqtt host not a string", "{\"mqtt\": {\"host\": 1883}}",
      "t.json:1:19: mqtt.host must be a string" },
    { "mqtt port zero", "{\"mqtt\": {\"host\": \"b\", \"port\": 0}}",
      "t.json:1:32: mqtt.port must be an integer from 1 to 65535" },
    { "mqtt port too large", "{\"mqtt\": {\"host\": \"b\", \"port\": 65536}}",
      "t.json:1:32: mqtt.port must be an integer from 1 to 65535" },
    { "mqtt port a string", "{\"mqtt\": {\"host\": \"b\", \"port\": \"1883\"}}",
      "t.json:1:32: mqtt.port must be an integer" },
    { "mqtt qos 3", "{\"mqtt\": {\"host\": \"b\", \"qos\": 3}}",
      "t.json:1:31: mqtt.qos must be 0, 1 or 2" },
    { "mqtt qos a real", "{\"mqtt\": {\"host\": \"b\", \"qos\": 1.0}}",
      "t.json:1:31: mqtt.qos must be 0, 1 or 2" },
    { "mqtt client_id empty", "{\"mqtt\": {\"host\": \"b\", \"client_id\": \"\"}}",
      "t.json:1:37: mqtt.client_id must not be empty" },
    { "mqtt client_id not printable", "{\"mqtt\": {\"host\": \"b\", \"client_id\": \"a\\tb\"}}",
      "t.json:1:37: mqtt.client_id must be printable ASCII" },
    { "mqtt username not a string", "{\"mqtt\": {\"host\": \"b\", \"username\": 7}}",
      "t.json:1:36: mqtt.username must be a string" },
    { "mqtt password without username", "{\"mqtt\": {\"host\": \"b\", \"password\": \"pw\"}}",
      "t.json:1:36: mqtt.password needs mqtt.username" },
    { "mqtt password and password_file",
      "{\"mqtt\": {\"host\": \"b\", \"username\": \"u\", \"password\": \"p\", \"password_file\": \"/x\"}}",
      "t.json:1:75: mqtt.password and mqtt.password_file exclude each other" },
    { "mqtt password_file without username",
      "{\"mqtt\": {\"host\": \"b\", \"password_file\": \"/x\"}}",
      "t.json:1:41: mqtt.password_file needs mqtt.username" },
    { "mqtt password_file missing",
      "{\"mqtt\": {\"host\": \"b\", \"username\": \"u\", \"password_file\": \"/nonexistent/pw\"}}",
      "t.json:1:58: mqtt.password_file /nonexistent/pw: No such file or directory" },
    { "mqtt password_file a directory",
      "{\"mqtt\": {\"host\": \"b\", \"username\": \"u\", \"password_file\": \"/\"}}",
      "t.json:1:58: mqtt.password_file / is not a regular file" },
    { "mqtt protocol a number", "{\"mqtt\": {\"host\": \"b\", \"protocol\": 5}}",
      "t.json:1:36: mqtt.protocol must be \"5\" or \"3.1.1\"" },
    { "mqtt protocol unknown", "{\"mqtt\": {\"host\": \"b\", \"protocol\": \"3.1\"}}",
      "t.json:1:36: mqtt.protocol must be \"5\" or \"3.1.1\"" },
    { "mqtt cert without key",
      "{\"mqtt\": {\"host\": \"b\", \"ca\": \"ca.pem\", \"cert\": \"c.pem\"}}",
      "t.json:1:48: mqtt.cert and mqtt.key go together" },
    { "mqtt key without cert",
      "{\"mqtt\": {\"host\": \"b\", \"ca\": \"ca.pem\", \"key\": \"k.pem\"}}",
      "t.json:1:47: mqtt.cert and mqtt.key go together" },
    { "mqtt client certificate without ca",
      "{\"mqtt\": {\"host\": \"b\", \"cert\": \"c.pem\", \"key\": \"k.pem\"}}",
      "t.json:1:32: mqtt.cert needs mqtt.ca" },
    { "mqtt prefix with a wildcard", "{\"mqtt\": {\"host\": \"b\", \"prefix\": \"plant/+/x\"}}",
      "t.json:1:34: mqtt.prefix must be topic levels separated by /" },
    { "mqtt prefix with a trailing slash", "{\"mqtt\": {\"host\": \"b\", \"prefix\": \"plant/\"}}",
      "t.json:1:34: mqtt.prefix must be topic levels separated by /" },
    { "mqtt prefix with an empty level", "{\"mqtt\": {\"host\": \"b\", \"prefix\": \"a//b\"}}",
      "t.json:1:34: mqtt.prefix must be topic levels separated by /" },
    { "mqtt prefix empty", "{\"mqtt\": {\"host\": \"b\", \"prefix\": \"\"}}",
      "t.json:1:34: mqtt.prefix must not be empty" },
    { "mqtt types not an array", "{\"mqtt\": {\"host\": \"b\", \"types\": \"JT\"}}",
      "t.json:1:33: mqtt.types must be an array of frame types" },
    { "mqtt type unknown", "{\"mqtt\": {\"host\": \"b\", \"types\": [\"JT\", \"XX\"]}}",
      "t.json:1:40: mqtt.types[1] \"XX\" is not a frame type the robot sends" },
    { "mqtt type a command", "{\"mqtt\": {\"host\": \"b\", \"types\": [\"SETDO\"]}}",
      "t.json:1:34: mqtt.types[0] \"SETDO\" is not a frame type the robot sends" },
    { "mqtt type never published", "{\"mqtt\": {\"host\": \"b\", \"types\": [\"HB\"]}}",
      "t.json:1:34: mqtt.types[0] \"HB\" is never published" },
    { "mqtt type listed twice", "{\"mqtt\": {\"host\": \"b\", \"types\": [\"ST\", \"ST\"]}}",
      "t.json:1:40: mqtt.types[1] \"ST\" is listed twice" },
    { "mqtt rate not an object", "{\"mqtt\": {\"host\": \"b\", \"rate\": 10}}",
      "t.json:1:32: mqtt.rate must be an object" },
    { "mqtt rate zero", "{\"mqtt\": {\"host\": \"b\", \"rate\": {\"JT\": 0}}}",
      "t.json:1:39: mqtt.rate.JT must be more than 0 and at most 1000 Hz" },
    { "mqtt rate too high", "{\"mqtt\": {\"host\": \"b\", \"rate\": {\"JT\": 1000.5}}}",
      "t.json:1:39: mqtt.rate.JT must be more than 0 and at most 1000 Hz" },
    { "mqtt rate a string", "{\"mqtt\": {\"host\": \"b\", \"rate\": {\"JT\": \"10\"}}}",
      "t.json:1:39: mqtt.rate.JT must be a number (Hz)" },
    { "mqtt rate of an unknown type", "{\"mqtt\": {\"host\": \"b\", \"rate\": {\"XY\": 5}}}",
      "t.json:1:39: mqtt.rate.XY \"XY\" is not a frame type the robot sends" },
    { "mqtt rate of a type not published",
      "{\"mqtt\": {\"host\": \"b\", \"types\": [\"ST\"], \"rate\": {\"JT\": 5}}}",
      "t.json:1:56: mqtt.rate.JT: JT is not published to MQTT (see mqtt.types)" },
    { "mqtt queue_messages zero", "{\"mqtt\": {\"host\": \"b\", \"queue_messages\": 0}}",
      "t.json:1:42: mqtt.queue_messages must be an integer from 1 to 100000" },
    { "mqtt queue_messages too many", "{\"mqtt\": {\"host\": \"b\", \"queue_messages\": 100001}}",
      "t.json:1:42: mqtt.queue_messages must be an integer from 1 to 100000" },
    { "mqtt_commands not a bool", "{\"robots\": [{\"name\": \"a\", \"mqtt_commands\": 1}]}",
      "t.json:1:44: robots[0].mqtt_commands must be true or false" },
    { "mqtt_commands without an mqtt section",
      "{\"robots\": [{\"name\": \"a\"}, {\"name\": \"b\", \"mqtt_commands\": true}]}",
      "t.json:1:59: robots[1].mqtt_commands needs an mqtt section" },
    /* json_tls */
    { "json_tls not an object", "{\"json_tls\": true}",
      "t.json:1:14: json_tls must be an object with \"cert\" and \"key\"" },
    { "json_tls unknown member", "{\"json_tls\": {\"cert\": \"c\", \"key\": \"k\", \"cafile\": \"x\"}}",
      "t.json:1:50: unknown member \"cafile\" in json_tls" },
    { "json_tls without a key", "{\"json_tls\": {\"cert\": \"c\"}}",
      "t.json:1:23: json_tls needs \"key\" (the server's private key PEM file)" },
    { "json_tls without a cert", "{\"json_tls\": {\"key\": \"k\"}}",
      "t.json:1:14: json_tls needs \"cert\" (the server's certificate PEM file)" },
    { "json_tls cert empty", "{\"json_tls\": {\"cert\": \"\", \"key\": \"k\"}}",
      "t.json:1:23: json_tls.cert must not be empty" },
    { "json_tls key not a string", "{\"json_tls\": {\"cert\": \"c\", \"key\": 1}}",
      "t.json:1:35: json_tls.key must be a string" },
    { "json_tls ca not printable", "{\"json_tls\": {\"cert\": \"c\", \"key\": \"k\", \"ca\": \"a\\nb\"}}",
      "t.json:1:46: json_tls.ca must be printable ASCII" },
    { "json_tls require_client_cert not a bool",
      "{\"json_tls\": {\"cert\": \"c\", \"key\": \"k\", \"ca\": \"a\", \"require_client_cert\": 1}}",
      "t.json:1:74: json_tls.require_client_cert must be true or false" },
    { "json_tls require_client_cert without a ca",
      "{\"json_tls\": {\"cert\": \"c\", \"key\": \"k\", \"require_client_cert\": true}}",
      "t.json:1:63: json_tls.require_client_cert needs json_tls.ca" },
    /* http_tls: the same object as json_tls, for http_listen */
    { "http_tls not an object", "{\"http_listen\": \"127.0.0.1:0\", \"http_tls\": []}",
      "t.json:1:44: http_tls must be an object with \"cert\" and \"key\"" },
    { "http_tls require_client_cert without a ca",
      "{\"http_listen\": \"127.0.0.1:0\", \"http_tls\": {\"cert\": \"c\", \"key\": \"k\", "
      "\"require_client_cert\": true}}",
      "t.json:1:93: http_tls.require_client_cert needs http_tls.ca" },
    { "http_tls without http_listen", "{\"http_tls\": {\"cert\": \"c\", \"key\": \"k\"}}",
      "t.json:1:14: http_tls needs http_listen (the HTTP port it secures)" },
    /* record */
    { "record not a string", "{\"record\": 1}",
      "t.json:1:12: record must be a string" },
};

static void test_errors(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        struct config cfg;
        char err[CONFIG_ERR_MAX] = "";
        int rc = config_load_text(&cfg, "t.json", c->text, strlen(c->text), err);
        if (rc != -1 || strncmp(err, c->want, strlen(c->want)) != 0) {
            print_error("%s: rc %d, error \"%s\"\n    want \"%s...\"\n", c->name, rc, err,
                        c->want);
            failures++;
        }
        /* A failed load leaves nothing to release, and freeing is safe. */
        if (cfg.schema != NULL || cfg.nrobots != 0) {
            print_error("%s: config not left empty\n", c->name);
            failures++;
        }
        for (const char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                print_error("%s: error is not one printable line\n", c->name);
                failures++;
                break;
            }
        config_free(&cfg);
    }
    assert_int_equal(failures, 0);
}

static void test_too_many_robots(void **state)
{
    (void)state;
    char text[4096] = "{\"robots\": [";
    for (int i = 0; i <= ROBOTS_MAX; i++) {
        char one[64];
        snprintf(one, sizeof one, "%s{\"name\": \"r%d\"}", i ? ", " : "", i);
        strcat(text, one);
    }
    strcat(text, "]}");
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_load_text(&cfg, "t.json", text, strlen(text), err), -1);
    assert_string_equal(err, "t.json:1:12: robots must have 1 to 32 entries, not 33");
    config_free(&cfg);
}

/* ---- what loads ------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(config_defaults(&cfg), 0);
    assert_string_equal(cfg.robot_listen.host, "0.0.0.0");
    assert_int_equal(cfg.robot_listen.port, 1025);
    assert_string_equal(cfg.json_listen.host, "127.0.0.1");
    assert_int_equal(cfg.json_listen.port, 7025);
    assert_int_equal(cfg.nrobots, 0);
    assert_true(cfg.limits.hello_timeout == DEFAULT_HELLO_TIMEOUT);
    assert_true(cfg.limits.idle_timeout == DEFAULT_IDLE_TIMEOUT);
    assert_true(cfg.limits.ack_timeout == DEFAULT_ACK_TIMEOUT);
    assert_true(cfg.limits.robot_request_timeout == DEFAULT_ROBOT_REQUEST_TIMEOUT);
    assert_true(DEFAULT_ROBOT_REQUEST_TIMEOUT == 5.0);
    assert_int_equal(cfg.limits.max_clients, DEFAULT_MAX_CLIENTS);
    assert_int_equal(cfg.limits.client_queue_bytes, DEFAULT_CLIENT_QUEUE_BYTES);
    assert_int_equal(cfg.limits.command_queue, DEFAULT_COMMAND_QUEUE);
    assert_int_equal(cfg.limits.max_clients_per_address, 32);
    assert_int_equal(cfg.limits.max_pending_per_address, 8);
    assert_true(cfg.limits.first_request_timeout == 10.0);
    assert_true(cfg.limits.request_timeout == 30.0);
    assert_string_equal(cfg.record, "");
    assert_non_null(cfg.schema);
    assert_non_null(schema_find(cfg.schema, DIR_OUT, "SETDO", 5));
    assert_null(config_robot(&cfg, "rob1"));
    config_free(&cfg);
    assert_null(cfg.schema);
    config_free(&cfg);                  /* twice is harmless */

    /* An empty object is the defaults. */
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_load_text(&cfg, "t.json", "{}", 2, err), 0);
    assert_int_equal(cfg.robot_listen.port, 1025);
    assert_int_equal(cfg.limits.max_clients, DEFAULT_MAX_CLIENTS);
    assert_int_equal(cfg.nrobots, 0);
    config_free(&cfg);
}

static bool same_limits(const struct limits *a, const struct limits *b)
{
    return a->hello_timeout == b->hello_timeout && a->idle_timeout == b->idle_timeout
           && a->ack_timeout == b->ack_timeout && a->max_clients == b->max_clients
           && a->client_queue_bytes == b->client_queue_bytes
           && a->command_queue == b->command_queue
           && a->max_clients_per_address == b->max_clients_per_address
           && a->max_pending_per_address == b->max_pending_per_address
           && a->first_request_timeout == b->first_request_timeout
           && a->request_timeout == b->request_timeout
           && a->robot_request_timeout == b->robot_request_timeout;
}

static void test_shipped_default(void **state)
{
    (void)state;
    struct config cfg, def;
    char err[CONFIG_ERR_MAX] = "";
    int rc = config_load_file(&cfg, "config/bridge.json", err);
    if (rc != 0)
        fail_msg("config/bridge.json: %s", err);
    assert_int_equal(config_defaults(&def), 0);
    assert_true(same_limits(&cfg.limits, &def.limits));
    assert_string_equal(cfg.robot_listen.host, def.robot_listen.host);
    assert_int_equal(cfg.robot_listen.port, def.robot_listen.port);
    assert_string_equal(cfg.json_listen.host, def.json_listen.host);
    assert_int_equal(cfg.json_listen.port, def.json_listen.port);
    config_free(&def);

    assert_int_equal(cfg.nrobots, 1);
    const struct robot_cfg *r = config_robot(&cfg, "rob1");
    assert_non_null(r);
    assert_true(r->has_peer);
    assert_string_equal(r->peer, "127.0.0.1");
    assert_false(r->checksum);
    assert_int_equal(r->ncommands, 6);
    static const char *const builtins[] = { "PING", "SETDO", "SETREG", "SPEED", "CALL", "STOP" };
    for (size_t i = 0; i < 6; i++)
        assert_true(robot_cfg_allows(r, builtins[i]));
    assert_false(robot_cfg_allows(r, "JT"));
    config_free(&cfg);
}

static void test_shipped_cell_example(void **state)
{
    (void)state;
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "";
    int rc = config_load_file(&cfg, "config/cell-example.json", err);
    if (rc != 0)
        fail_msg("config/cell-example.json: %s", err);
    assert_int_equal(cfg.nrobots, 2);
    const struct robot_cfg *weld = config_robot(&cfg, "weld1");
    const struct robot_cfg *handler = config_robot(&cfg, "handler");
    assert_non_null(weld);
    assert_non_null(handler);
    assert_true(weld->checksum);
    assert_false(handler->checksum);
    assert_string_equal(weld->peer, "192.168.125.1");
    assert_true(robot_cfg_allows(weld, "WDSET"));
    assert_false(robot_cfg_allows(weld, "SPEED"));
    assert_true(robot_cfg_allows(handler, "SPEED"));
    assert_false(robot_cfg_allows(handler, "SETDO"));
    assert_string_equal(cfg.record, "");
    const struct frame_def *wd = schema_find(cfg.schema, DIR_IN, "WD", 2);
    assert_non_null(wd);
    assert_int_equal(wd->nfields, 4);
    assert_int_equal(wd->fields[2].count, 3);
    assert_true(wd->fields[3].optional);
    assert_non_null(schema_find(cfg.schema, DIR_OUT, "WDSET", 5));
    assert_false(weld->mqtt_commands);
    assert_true(cfg.mqtt.enabled);
    assert_string_equal(cfg.mqtt.host, "10.20.0.5");
    assert_int_equal(cfg.mqtt.port, 8883);
    assert_string_equal(cfg.mqtt.prefix, "plant1/cell2");
    assert_string_equal(cfg.mqtt.ca, "/etc/rapidbridge/mqtt-ca.pem");
    assert_int_equal(cfg.mqtt.qos, 1);
    config_free(&cfg);
}

/* Index of an IN type in the schema (the order mqtt.types/rate use). */
static unsigned type_at(const struct config *cfg, const char *type)
{
    const struct frame_def *d;
    for (unsigned i = 0; (d = schema_at(cfg->schema, i)) != NULL; i++)
        if (d->dir == DIR_IN && strcmp(d->type, type) == 0)
            return i;
    fail_msg("no IN type %s", type);
    return 0;
}

static void test_mqtt_defaults(void **state)
{
    (void)state;
    static const char text[] = "{\"mqtt\": {\"host\": \"broker\"}}";
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "";
    if (config_load_text(&cfg, "t.json", text, sizeof text - 1, err) != 0)
        fail_msg("%s", err);
    const struct mqtt_cfg *m = &cfg.mqtt;
    assert_true(m->enabled);
    assert_string_equal(m->host, "broker");
    assert_int_equal(m->port, DEFAULT_MQTT_PORT);
    assert_int_equal(m->qos, 0);
    assert_string_equal(m->prefix, DEFAULT_MQTT_PREFIX);
    assert_int_equal(m->queue_messages, DEFAULT_MQTT_QUEUE);
    assert_string_equal(m->client_id, "");      /* made by mqtt_open from the bound ports */
    assert_int_equal(m->protocol, MQTT_V5);
    assert_string_equal(m->password_file, "");
    assert_false(m->has_username);
    assert_false(m->has_password);
    assert_string_equal(m->ca, "");
    /* every published IN type, nothing else; no rate cap */
    static const char *const published[] = { "HI", "JT", "EJ", "PS", "CF", "ST", "IO", "EV", "AK" };
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++)
        assert_true(m->types[type_at(&cfg, published[i])]);
    assert_false(m->types[type_at(&cfg, "HB")]);
    const struct frame_def *d;
    for (unsigned i = 0; (d = schema_at(cfg.schema, i)) != NULL; i++) {
        if (d->dir == DIR_OUT)
            assert_false(m->types[i]);
        assert_true(m->rate[i] == 0);
    }
    config_free(&cfg);

    /* No section: MQTT off. */
    assert_int_equal(config_load_text(&cfg, "t.json", "{}", 2, err), 0);
    assert_false(cfg.mqtt.enabled);
    config_free(&cfg);
}

static void test_mqtt_section(void **state)
{
    (void)state;
    static const char text[] =
        "{\"frames\": [{\"type\": \"WD\", \"direction\": \"in\", \"fields\": []}],\n"
        " \"robots\": [{\"name\": \"a\", \"mqtt_commands\": true}, {\"name\": \"b\"}],\n"
        " \"mqtt\": {\"comment\": \"x\", \"host\": \"::1\", \"port\": 8883, \"client_id\": \"cell-2\",\n"
        "   \"username\": \"u\", \"password\": \"\", \"ca\": \"/ca\", \"cert\": \"/c\", \"key\": \"/k\",\n"
        "   \"qos\": 2, \"prefix\": \"plant/cell_2\", \"types\": [\"JT\", \"WD\", \"AK\"],\n"
        "   \"rate\": {\"JT\": 10, \"WD\": 0.5, \"_AK\": \"no cap\"}, \"queue_messages\": 1}}";
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "";
    if (config_load_text(&cfg, "t.json", text, sizeof text - 1, err) != 0)
        fail_msg("%s", err);
    const struct mqtt_cfg *m = &cfg.mqtt;
    assert_true(config_robot(&cfg, "a")->mqtt_commands);
    assert_false(config_robot(&cfg, "b")->mqtt_commands);
    assert_string_equal(m->host, "::1");
    assert_int_equal(m->port, 8883);
    assert_string_equal(m->client_id, "cell-2");
    assert_true(m->has_username);
    assert_string_equal(m->username, "u");
    assert_true(m->has_password);
    assert_string_equal(m->password, "");
    assert_string_equal(m->ca, "/ca");
    assert_string_equal(m->cert, "/c");
    assert_string_equal(m->key, "/k");
    assert_int_equal(m->qos, 2);
    assert_string_equal(m->prefix, "plant/cell_2");
    assert_int_equal(m->queue_messages, 1);
    unsigned jt = type_at(&cfg, "JT"), wd = type_at(&cfg, "WD"), ak = type_at(&cfg, "AK");
    unsigned n = 0;
    for (unsigned i = 0; i < FRAME_TYPES_MAX; i++)
        n += m->types[i];
    assert_int_equal(n, 3);
    assert_true(m->types[jt] && m->types[wd] && m->types[ak]);
    assert_true(m->rate[jt] == 10);
    assert_true(m->rate[wd] == 0.5);
    assert_true(m->rate[ak] == 0);
    config_free(&cfg);
}

static void test_json_tls(void **state)
{
    (void)state;
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "";
    static const char none[] = "{}";
    if (config_load_text(&cfg, "t.json", none, sizeof none - 1, err) != 0)
        fail_msg("%s", err);
    assert_false(cfg.json_tls.enabled);
    config_free(&cfg);

    static const char full[] =
        "{\"json_tls\": {\"comment\": \"x\", \"cert\": \"/etc/s.pem\", \"key\": \"/etc/s.key\",\n"
        "  \"ca\": \"/etc/ca.pem\", \"require_client_cert\": true}}";
    if (config_load_text(&cfg, "t.json", full, sizeof full - 1, err) != 0)
        fail_msg("%s", err);
    const struct tls_cfg *t = &cfg.json_tls;
    assert_true(t->enabled);
    assert_string_equal(t->cert, "/etc/s.pem");
    assert_string_equal(t->key, "/etc/s.key");
    assert_string_equal(t->ca, "/etc/ca.pem");
    assert_true(t->require_client_cert);
    config_free(&cfg);

    static const char plain[] = "{\"json_tls\": {\"cert\": \"c\", \"key\": \"k\"}}";
    if (config_load_text(&cfg, "t.json", plain, sizeof plain - 1, err) != 0)
        fail_msg("%s", err);
    assert_true(cfg.json_tls.enabled);
    assert_string_equal(cfg.json_tls.ca, "");
    assert_false(cfg.json_tls.require_client_cert);
    config_free(&cfg);

    /* A path of exactly TLS_PATH_MAX bytes fits; one more is refused, not cut. */
    char text[2 * TLS_PATH_MAX + 64], path[TLS_PATH_MAX + 2];
    memset(path, 'p', TLS_PATH_MAX);
    path[TLS_PATH_MAX] = '\0';
    snprintf(text, sizeof text, "{\"json_tls\": {\"cert\": \"%s\", \"key\": \"k\"}}", path);
    if (config_load_text(&cfg, "t.json", text, strlen(text), err) != 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.json_tls.cert, path);
    config_free(&cfg);
    strcat(path, "p");
    snprintf(text, sizeof text, "{\"json_tls\": {\"cert\": \"%s\", \"key\": \"k\"}}", path);
    assert_int_equal(config_load_text(&cfg, "t.json", text, strlen(text), err), -1);
    assert_non_null(strstr(err, "json_tls.cert is longer than 255 bytes"));
    config_free(&cfg);
}

/* Text members longer than their bound are refused, not cut. */
static void test_mqtt_lengths(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        size_t max;
    } cases[] = {
        { "host", MQTT_HOST_MAX }, { "client_id", MQTT_ID_MAX }, { "username", MQTT_USER_MAX },
        { "password", MQTT_USER_MAX }, { "ca", MQTT_PATH_MAX }, { "prefix", MQTT_PREFIX_MAX },
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t len = cases[i].max; len <= cases[i].max + 1; len++) {
            char value[512];
            memset(value, 'x', len);
            value[len] = '\0';
            char text[1200];
            bool is_host = strcmp(cases[i].key, "host") == 0;
            bool needs_user = strcmp(cases[i].key, "password") == 0;
            snprintf(text, sizeof text, "{\"mqtt\": {%s\"%s\": \"%s\"%s}}",
                     is_host ? "" : "\"host\": \"b\", ", cases[i].key, value,
                     needs_user ? ", \"username\": \"u\"" : "");
            struct config cfg;
            char err[CONFIG_ERR_MAX] = "";
            int rc = config_load_text(&cfg, "t.json", text, strlen(text), err);
            int want = len > cases[i].max ? -1 : 0;
            if (rc != want || (rc < 0 && !strstr(err, "is longer than"))) {
                print_error("mqtt.%s of %zu bytes: rc %d (%s), want %d\n", cases[i].key, len, rc,
                            err, want);
                failures++;
            }
            config_free(&cfg);
        }
    }
    assert_int_equal(failures, 0);
}

/* The longest prefix leaves room for the longest robot level and type, so
 * every topic fits MQTT_TOPIC_MAX; one byte more is refused, saying why. */
static void test_mqtt_prefix_fits_topics(void **state)
{
    (void)state;
    assert_true(MQTT_PREFIX_MAX + 1 + MQTT_LEVEL_MAX + 1 + MQTT_LEAF_MAX <= MQTT_TOPIC_MAX);
    assert_true(MQTT_PREFIX_MAX + 1 + MQTT_LEVEL_MAX + 4 <= MQTT_TOPIC_MAX);   /* "/ack" */
    for (size_t len = MQTT_PREFIX_MAX; len <= MQTT_PREFIX_MAX + 1; len++) {
        char prefix[MQTT_PREFIX_MAX + 2], text[512];
        memset(prefix, 'p', len);
        prefix[len] = '\0';
        snprintf(text, sizeof text, "{\"mqtt\": {\"host\": \"b\", \"prefix\": \"%s\"}}", prefix);
        struct config cfg;
        char err[CONFIG_ERR_MAX] = "";
        int rc = config_load_text(&cfg, "t.json", text, strlen(text), err);
        if (len == MQTT_PREFIX_MAX) {
            if (rc != 0)
                fail_msg("%s", err);
            assert_string_equal(cfg.mqtt.prefix, prefix);
        } else {
            assert_int_equal(rc, -1);
            char want[200];
            snprintf(want, sizeof want, "t.json:1:34: mqtt.prefix is longer than %d bytes: with a "
                     "robot level of up to %d", MQTT_PREFIX_MAX, MQTT_LEVEL_MAX);
            if (strncmp(err, want, strlen(want)) != 0)
                fail_msg("got \"%s\", want \"%s...\"", err, want);
        }
        config_free(&cfg);
    }
}

/* A temporary file with this text and mode; its path in path. */
static void temp_file(char path[64], const char *text, mode_t mode)
{
    snprintf(path, 64, "/tmp/rb-test-pw-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

/* password_file: the first line, without LF or CR LF, from a file others
 * cannot read; every refusal names the file and never shows its text. */
static void test_mqtt_password_file(void **state)
{
    (void)state;
    char long_line[MQTT_USER_MAX + 8], longest[MQTT_USER_MAX + 8];
    memset(long_line, 's', MQTT_USER_MAX + 1);
    long_line[MQTT_USER_MAX + 1] = '\0';
    memset(longest, 's', MQTT_USER_MAX);
    strcpy(longest + MQTT_USER_MAX, "\r\n");
    static const char secret[] = "s3cr3t pass";
    const struct {
        const char *name, *text;
        mode_t mode;
        const char *password;     /* NULL: refused with... */
        const char *error;        /* ...this after "t.json:1:COL: mqtt.password_file PATH" */
    } cases[] = {
        { "first line, LF dropped", "s3cr3t pass\nsecond line\n", 0600, secret, NULL },
        { "CR LF dropped", "s3cr3t pass\r\n", 0640, secret, NULL },
        { "no newline at the end", "s3cr3t pass", 0400, secret, NULL },
        { "longest line with CR LF", longest, 0600, NULL, NULL },
        { "readable by others", "s3cr3t pass\n", 0644, NULL, " is open to others (mode 0644)" },
        { "writable by others", "s3cr3t pass\n", 0602, NULL, " is open to others (mode 0602)" },
        { "line too long", long_line, 0600, NULL, ": the first line is longer than 128 bytes" },
        { "empty first line", "\ns3cr3t pass\n", 0600, NULL, ": the first line is empty" },
        { "empty file", "", 0600, NULL, ": the first line is empty" },
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[64], text[256];
        temp_file(path, cases[i].text, cases[i].mode);
        snprintf(text, sizeof text, "{\"mqtt\": {\"host\": \"b\", \"username\": \"u\", "
                 "\"password_file\": \"%s\"}}", path);
        struct config cfg;
        char err[CONFIG_ERR_MAX] = "";
        int rc = config_load_text(&cfg, "t.json", text, strlen(text), err);
        bool refused = cases[i].error != NULL;
        if (rc != (refused ? -1 : 0)) {
            print_error("%s: rc %d (%s)\n", cases[i].name, rc, err);
            failures++;
        } else if (!refused) {
            const char *want = cases[i].password;
            char longest_pw[MQTT_USER_MAX + 1];
            if (!want) {
                memcpy(longest_pw, longest, MQTT_USER_MAX);
                longest_pw[MQTT_USER_MAX] = '\0';
                want = longest_pw;
            }
            if (!cfg.mqtt.has_password || strcmp(cfg.mqtt.password, want) != 0) {
                print_error("%s: password \"%s\"\n", cases[i].name, cfg.mqtt.password);
                failures++;
            }
        } else {
            char want[200];
            snprintf(want, sizeof want, "t.json:1:58: mqtt.password_file %s%s", path,
                     cases[i].error);
            if (strncmp(err, want, strlen(want)) != 0 || strstr(err, "s3cr3t")) {
                print_error("%s: got \"%s\", want \"%s\"\n", cases[i].name, err, want);
                failures++;
            }
        }
        config_free(&cfg);
        unlink(path);
    }
    assert_int_equal(failures, 0);
}

/* "comment" and "_..." members are skipped at every level, whatever their
 * type, including inside frame and field definitions. */
static void test_comments_ignored(void **state)
{
    (void)state;
    static const char text[] =
        "{\"comment\": \"top\", \"_note\": [1, {\"x\": 2}], \"_\": null,\n"
        " \"robots\": [{\"comment\": 5, \"_peer\": \"nonsense\", \"name\": \"rob1\",\n"
        "             \"commands\": [\"PING\", \"XSET\"], \"checksum\": true}],\n"
        " \"frames\": [{\"comment\": \"a custom command\", \"type\": \"XSET\",\n"
        "             \"direction\": \"out\", \"_x\": 1,\n"
        "             \"fields\": [{\"name\": \"v\", \"kind\": \"int\", \"comment\": \"why\"}]}],\n"
        " \"limits\": {\"comment\": {}, \"_max_clients\": -1, \"max_clients\": 3,\n"
        "            \"hello_timeout\": 0.5, \"client_queue_bytes\": 4096, \"command_queue\": 0,\n"
        "            \"max_clients_per_address\": 2, \"max_pending_per_address\": 64,\n"
        "            \"first_request_timeout\": 0.25, \"request_timeout\": 1.5},\n"
        " \"robot_listen\": \"[::1]:0\", \"json_listen\": \"127.0.0.1:65535\",\n"
        " \"record\": \"/tmp/rec.log\",\n"
        " \"http_listen\": \"[::1]:8025\", \"http_root\": \"/srv/www\"}";
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "";
    int rc = config_load_text(&cfg, "t.json", text, sizeof text - 1, err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg.nrobots, 1);
    assert_false(cfg.robots[0].has_peer);
    assert_true(cfg.robots[0].checksum);
    assert_true(robot_cfg_allows(&cfg.robots[0], "XSET"));
    assert_int_equal(cfg.limits.max_clients, 3);
    assert_true(cfg.limits.hello_timeout == 0.5);
    assert_true(cfg.limits.idle_timeout == DEFAULT_IDLE_TIMEOUT);
    assert_int_equal(cfg.limits.client_queue_bytes, 4096);
    assert_int_equal(cfg.limits.command_queue, 0);
    assert_int_equal(cfg.limits.max_clients_per_address, 2);
    assert_int_equal(cfg.limits.max_pending_per_address, 64);
    assert_true(cfg.limits.first_request_timeout == 0.25);
    assert_true(cfg.limits.request_timeout == 1.5);
    assert_string_equal(cfg.robot_listen.host, "::1");
    assert_int_equal(cfg.robot_listen.port, 0);
    assert_int_equal(cfg.json_listen.port, 65535);
    assert_string_equal(cfg.record, "/tmp/rec.log");
    assert_true(cfg.has_http);
    assert_string_equal(cfg.http_listen.host, "::1");
    assert_int_equal(cfg.http_listen.port, 8025);
    assert_string_equal(cfg.http_root, "/srv/www");
    config_free(&cfg);
}

/* Peers are kept in inet_ntop's form, so they compare with a socket's. */
static void test_peer_canonical(void **state)
{
    (void)state;
    static const char text[] =
        "{\"robots\": [{\"name\": \"a\", \"peer\": \"0:0:0:0:0:0:0:1\"},"
        " {\"name\": \"b\", \"peer\": \"FE80::0A\"}]}";
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "";
    int rc = config_load_text(&cfg, "t.json", text, sizeof text - 1, err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_string_equal(config_robot(&cfg, "a")->peer, "::1");
    assert_string_equal(config_robot(&cfg, "b")->peer, "fe80::a");
    assert_null(config_robot(&cfg, "c"));
    assert_false(robot_cfg_allows(config_robot(&cfg, "a"), "PING"));   /* default: none */
    assert_false(robot_cfg_allows(NULL, "PING"));
    config_free(&cfg);
}

/* ---- files -------------------------------------------------------------------- */

static void test_file_errors(void **state)
{
    (void)state;
    struct config cfg;
    char err[CONFIG_ERR_MAX];

    assert_int_equal(config_load_file(&cfg, "no/such/file.json", err), -1);
    assert_string_equal(err, "no/such/file.json: No such file or directory");
    config_free(&cfg);

    assert_int_equal(config_load_file(&cfg, "config", err), -1);
    assert_string_equal(err, "config: Is a directory");
    config_free(&cfg);

    /* Over 1 MiB: refused before parsing, however valid. */
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"comment\": \"", f);
    for (int i = 0; i < 1024 * 1024; i++)
        fputc('x', f);
    fputs("\"}", f);
    fclose(f);
    assert_int_equal(config_load_file(&cfg, path, err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s: larger than 1048576 bytes", path);
    assert_string_equal(err, want);
    config_free(&cfg);

    /* Errors in a file name the file. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\n  \"limits\": {\"max_clients\": 0}\n}\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&cfg, path, err), -1);
    snprintf(want, sizeof want, "%s:2:29: limits.max_clients", path);
    assert_memory_equal(err, want, strlen(want));
    config_free(&cfg);
    unlink(path);
}

/* ---- listen addresses -------------------------------------------------------- */

struct listen_case {
    const char *text;
    int rc;
    const char *host;
    unsigned port;
};

static const struct listen_case listen_cases[] = {
    { "127.0.0.1:7025",      0, "127.0.0.1", 7025 },
    { "0.0.0.0:1025",        0, "0.0.0.0", 1025 },
    { "0.0.0.0:0",           0, "0.0.0.0", 0 },
    { "10.1.2.3:65535",      0, "10.1.2.3", 65535 },
    { "[::1]:7025",          0, "::1", 7025 },
    { "[::]:0",              0, "::", 0 },
    { "[fe80::1:2]:80",      0, "fe80::1:2", 80 },
    { "[::ffff:10.0.0.1]:1", 0, "::ffff:10.0.0.1", 1 },
    { "127.0.0.1:65536",     -1, NULL, 0 },
    { "127.0.0.1:99999",     -1, NULL, 0 },
    { "127.0.0.1:123456",    -1, NULL, 0 },
    { "127.0.0.1:",          -1, NULL, 0 },
    { "127.0.0.1",           -1, NULL, 0 },
    { ":7025",               -1, NULL, 0 },
    { "localhost:7025",      -1, NULL, 0 },
    { "127.1:7025",          -1, NULL, 0 },
    { "256.0.0.1:7025",      -1, NULL, 0 },
    { "127.0.0.1:-1",        -1, NULL, 0 },
    { "127.0.0.1:+80",       -1, NULL, 0 },
    { "127.0.0.1:80x",       -1, NULL, 0 },
    { "127.0.0.1: 80",       -1, NULL, 0 },
    { "::1:7025",            -1, NULL, 0 },
    { "[::1]7025",           -1, NULL, 0 },
    { "[::1]:",              -1, NULL, 0 },
    { "[127.0.0.1]:80",      -1, NULL, 0 },
    { "[::1:80",             -1, NULL, 0 },
    { "[]:80",               -1, NULL, 0 },
    { "[fe80::1%eth0]:80",   -1, NULL, 0 },
    { "",                    -1, NULL, 0 },
};

static void test_listen_addr_parse(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof listen_cases / sizeof listen_cases[0]; i++) {
        const struct listen_case *c = &listen_cases[i];
        struct listen_addr a = { "unchanged", 4242 };
        int rc = listen_addr_parse(c->text, &a);
        bool ok = rc == c->rc;
        if (ok && rc == 0)
            ok = strcmp(a.host, c->host) == 0 && a.port == c->port;
        if (ok && rc != 0)              /* a failed parse leaves addr alone */
            ok = strcmp(a.host, "unchanged") == 0 && a.port == 4242;
        if (!ok) {
            print_error("\"%s\": rc %d host \"%s\" port %u, want rc %d\n", c->text, rc,
                        a.host, a.port, c->rc);
            failures++;
        }
    }
    assert_int_equal(failures, 0);

    /* A host longer than HOST_MAX is refused, not cut. */
    char longhost[HOST_MAX + 16];
    memset(longhost, '1', sizeof longhost);
    memcpy(longhost + sizeof longhost - 4, ":80", 4);
    struct listen_addr a;
    assert_int_equal(listen_addr_parse(longhost, &a), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shipped_default),
        cmocka_unit_test(test_shipped_cell_example),
        cmocka_unit_test(test_comments_ignored),
        cmocka_unit_test(test_mqtt_defaults),
        cmocka_unit_test(test_mqtt_section),
        cmocka_unit_test(test_mqtt_lengths),
        cmocka_unit_test(test_json_tls),
        cmocka_unit_test(test_mqtt_prefix_fits_topics),
        cmocka_unit_test(test_mqtt_password_file),
        cmocka_unit_test(test_peer_canonical),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_many_robots),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_listen_addr_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
