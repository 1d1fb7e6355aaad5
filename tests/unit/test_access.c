/* test_access.c - the pieces of interface 1.1 A-D that need no socket:
 * the tokens file parser (table), who-entries matching principals (table),
 * grants from configuration text (access_may, access_grants), the
 * failed-auth back-off decisions over time, the access rules' errors in the
 * configuration loader (table), the lease state on a bridge without
 * sockets, and the audit chain written to a temporary file. */
#include "testutil.h"

#include "access.h"
#include "audit.h"
#include "bridge.h"
#include "client.h"
#include "config.h"
#include "lease.h"
#include "robot.h"
#include "tokens.h"

#include <openssl/evp.h>
#include <unistd.h>

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* --- tokens file ---------------------------------------------------------------- */

static const struct token_case {
    const char *name, *text;
    int count;              /* -1: an error */
    const char *error;      /* the message must contain this */
} token_cases[] = {
    {"empty file", "", 0, NULL},
    {"comments and blank lines", "# a comment\n\n   \n\t# indented comment\n", 0, NULL},
    {"one line", "hmi1 " H64 "\n", 1, NULL},
    {"CR LF, tabs, upper-case hex, no final LF", "hmi1\t" "0123456789ABCDEF0123456789ABCDEF"
     "0123456789ABCDEF0123456789ABCDEF\r\nsup.er-2 " H64, 2, NULL},
    {"trailing blanks", "a " H64 "  \n", 1, NULL},
    {"duplicate name", "a " H64 "\nb " H64 "\na " H64 "\n", -1, "t:3: token name \"a\""},
    {"hash too short", "a 0123\n", -1, "t:1: the hash"},
    {"hash too long", "a " H64 "0\n", -1, "t:1: the hash"},
    {"not hex", "a " "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", -1,
     "t:1:"},
    {"name only", "# x\nalone\n", -1, "t:2:"},
    {"bad name character", "a/b " H64 "\n", -1, "t:1:"},
    {"third field", "a " H64 " extra\n", -1, "t:1: the hash"},
    {"name too long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " H64 "\n",
     -1, "longer than 64"},
};

static void test_tokens_parse(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(token_cases); i++) {
        const struct token_case *tc = &token_cases[i];
        struct token_entry *list = NULL;
        char err[TOKENS_ERR_MAX] = "";
        int n = tokens_parse("t", tc->text, strlen(tc->text), &list, err);
        TU_CHECK(failures, tc->name, n == tc->count, "count %d, wanted %d (%s)", n, tc->count, err);
        if (tc->error)
            TU_CHECK(failures, tc->name, strstr(err, tc->error) != NULL, "error \"%s\"", err);
        if (n < 0)
            TU_CHECK(failures, tc->name, list == NULL, "a list after an error");
        free(list);
    }
    /* The digest is the hex decoded. */
    struct token_entry *list = NULL;
    char err[TOKENS_ERR_MAX];
    assert_int_equal(tokens_parse("t", "x " H64, strlen("x " H64), &list, err), 1);
    assert_string_equal(list[0].name, "x");
    assert_int_equal(list[0].digest[0], 0x01);
    assert_int_equal(list[0].digest[31], 0xef);
    free(list);
    assert_int_equal(failures, 0);
}

static void test_tokens_load_mode(void **state)
{
    (void)state;
    char path[] = "/tmp/rb-unit-tokens-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "a " H64 "\n", 67), 67);
    close(fd);
    struct token_entry *list = NULL;
    char err[TOKENS_ERR_MAX];
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(tokens_load(path, &list, err), 1);
    free(list);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(tokens_load(path, &list, err), -1);
    assert_non_null(strstr(err, "open to others"));
    unlink(path);
    assert_int_equal(tokens_load(path, &list, err), -1);
    assert_non_null(strstr(err, "No such file"));
}

/* --- who entries ------------------------------------------------------------------ */

static void test_who_matches(void **state)
{
    (void)state;
    struct principal anon, tok, user, cert, mqtt;
    principal_anonymous(&anon);
    principal_token(&tok, "hmi1");
    principal_cert(&cert, "panel-3");
    principal_mqtt(&mqtt);
    principal_user(&user, 0, 0);    /* root, group root */
    static const struct {
        const char *who;
        bool anon, tok, user, cert, mqtt;
    } rows[] = {
        {"anonymous", true, false, false, false, false},
        {"*", false, true, true, true, true},
        {"mqtt", false, false, false, false, true},
        {"token:hmi1", false, true, false, false, false},
        {"token:hmi", false, false, false, false, false},
        {"token:hmi12", false, false, false, false, false},
        {"user:root", false, false, true, false, false},
        {"group:root", false, false, true, false, false},
        {"group:nogroup", false, false, false, false, false},
        {"cert:panel-3", false, false, false, true, false},
        {"user:hmi1", false, false, false, false, false},
    };
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(rows); i++) {
        TU_CHECK(failures, rows[i].who, access_who_matches(rows[i].who, &anon) == rows[i].anon, "anon");
        TU_CHECK(failures, rows[i].who, access_who_matches(rows[i].who, &tok) == rows[i].tok, "token");
        TU_CHECK(failures, rows[i].who, access_who_matches(rows[i].who, &user) == rows[i].user, "user");
        TU_CHECK(failures, rows[i].who, access_who_matches(rows[i].who, &cert) == rows[i].cert, "cert");
        TU_CHECK(failures, rows[i].who, access_who_matches(rows[i].who, &mqtt) == rows[i].mqtt, "mqtt");
    }
    char text[PRINCIPAL_TEXT_MAX];
    assert_string_equal(principal_text(&user, text), "user:root");
    assert_string_equal(principal_text(&tok, text), "token:hmi1");
    assert_string_equal(principal_text(&cert, text), "cert:panel-3");
    assert_string_equal(principal_text(&anon, text), "anonymous");
    assert_string_equal(principal_text(&mqtt, text), "mqtt");
    assert_int_equal(failures, 0);
}

/* --- grants from configuration text ------------------------------------------------ */

static const char GRANTS_CFG[] =
    "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"SETDO\",\"STOP\"]},"
    "{\"name\":\"rob2\",\"commands\":[\"SETDO\",\"CALL\"]}],"
    "\"access\":["
    "{\"who\":[\"token:hmi1\",\"group:operators\"],\"robots\":[\"rob1\"],\"may\":[\"watch\","
    "\"control\",\"SETDO\"]},"
    "{\"who\":[\"token:hmi1\"],\"robots\":[\"rob2\"],\"may\":[\"CALL\"]},"
    "{\"who\":[\"*\"],\"may\":[\"STOP\"]},"
    "{\"who\":[\"anonymous\"],\"may\":[\"watch\"]}]}";

static void load_bridge(struct bridge *b, const char *text)
{
    memset(b, 0, sizeof *b);
    char err[CONFIG_ERR_MAX];
    if (config_load_text(&b->cfg, "t.json", text, strlen(text), err) < 0)
        fail_msg("%s", err);
    b->nrobots = b->cfg.nrobots;
}

static void test_grants(void **state)
{
    (void)state;
    struct bridge b;
    load_bridge(&b, GRANTS_CFG);
    struct principal hmi, other, anon;
    principal_token(&hmi, "hmi1");
    principal_token(&other, "other");
    principal_anonymous(&anon);
    static const struct {
        const char *name;
        int who;        /* 0 hmi1, 1 other, 2 anonymous */
        int robot;
        const char *what;
        bool may;
    } rows[] = {
        {"hmi1 watches rob1", 0, 0, "watch", true},
        {"hmi1 does not watch rob2", 0, 1, "watch", false},
        {"hmi1 watches some robot", 0, -1, "watch", true},
        {"hmi1 SETDO rob1", 0, 0, "SETDO", true},
        {"hmi1 no SETDO on rob2", 0, 1, "SETDO", false},
        {"hmi1 CALL rob2 (second rule)", 0, 1, "CALL", true},
        {"hmi1 STOP from *", 0, 1, "STOP", true},
        {"hmi1 no takeover", 0, 0, "takeover", false},
        {"other STOP from *", 1, 0, "STOP", true},
        {"other no watch", 1, -1, "watch", false},
        {"anonymous no STOP (* is not anonymous)", 2, 0, "STOP", false},
        {"anonymous watches", 2, 1, "watch", true},
        {"unknown word", 0, 0, "fly", false},
    };
    const struct principal *who[] = {&hmi, &other, &anon};
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(rows); i++)
        TU_CHECK(failures, rows[i].name,
                 access_may(&b, who[rows[i].who], rows[i].robot, rows[i].what) == rows[i].may,
                 "wanted %d", rows[i].may);
    json_t *g = access_grants(&b, &hmi);
    char *text = json_dumps(g, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\"rob1\":[\"watch\",\"control\",\"SETDO\",\"STOP\"],"
                              "\"rob2\":[\"CALL\"]}");
    free(text);
    json_decref(g);
    config_free(&b.cfg);
    /* Without access: everything (the allowlist still decides commands). */
    load_bridge(&b, "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"PING\"]}]}");
    assert_true(access_may(&b, &anon, 0, "CALL"));
    g = access_grants(&b, &anon);
    text = json_dumps(g, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\"rob1\":[\"watch\",\"serve\",\"PING\"]}");
    free(text);
    json_decref(g);
    config_free(&b.cfg);
    assert_int_equal(failures, 0);
}

/* --- configuration errors -------------------------------------------------------------- */

static const struct cfg_case {
    const char *name, *text, *error;   /* error NULL: loads */
} cfg_cases[] = {
    {"access on loopback", "{\"access\":[]}", NULL},
    {"non-loopback without access", "{\"json_listen\":\"0.0.0.0:7025\"}", "add an \"access\""},
    {"non-loopback v6 without access", "{\"json_listen\":\"[::]:7025\"}", "add an \"access\""},
    {"loopback 127.1.2.3", "{\"json_listen\":\"127.1.2.3:7025\"}", NULL},
    {"::1", "{\"json_listen\":\"[::1]:7025\"}", NULL},
    {"non-loopback with access", "{\"json_listen\":\"0.0.0.0:7025\",\"access\":[]}", NULL},
    {"who not a principal", "{\"access\":[{\"who\":[\"root\"],\"may\":[\"watch\"]}]}",
     "access[0].who[0] \"root\" is not a principal"},
    {"who empty name", "{\"access\":[{\"who\":[\"token:\"],\"may\":[\"watch\"]}]}",
     "is not a principal"},
    {"may unknown", "{\"access\":[{\"who\":[\"*\"],\"may\":[\"fly\"]}]}",
     "access[0].may[0] \"fly\" is neither"},
    {"robots unknown", "{\"robots\":[{\"name\":\"rob1\"}],\"access\":[{\"who\":[\"*\"],"
     "\"robots\":[\"rob9\"],\"may\":[\"watch\"]}]}", "\"rob9\" is not a configured robot"},
    {"no may", "{\"access\":[{\"who\":[\"*\"]}]}", "has no \"may\""},
    {"unknown member", "{\"access\":[{\"who\":[\"*\"],\"may\":[\"watch\"],\"mya\":1}]}",
     "unknown member \"mya\""},
    {"json_unix relative", "{\"json_unix\":\"json.sock\"}", "absolute path"},
    {"json_unix bad mode", "{\"json_unix\":{\"path\":\"/run/x.sock\",\"mode\":\"0999\"}}",
     "octal"},
    {"json_unix object", "{\"json_unix\":{\"path\":\"/run/x.sock\",\"mode\":\"0600\","
     "\"group\":\"rb\"}}", NULL},
    {"audit_file empty", "{\"audit_file\":\"\"}", "must not be empty"},
    {"tokens_file missing", "{\"tokens_file\":\"/nonexistent/tokens\"}",
     "tokens_file: /nonexistent/tokens: No such file"},
};

static void test_config_cases(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TU_LEN(cfg_cases); i++) {
        const struct cfg_case *c = &cfg_cases[i];
        struct config cfg;
        char err[CONFIG_ERR_MAX] = "";
        int rc = config_load_text(&cfg, "t.json", c->text, strlen(c->text), err);
        if (c->error)
            TU_CHECK(failures, c->name, rc < 0 && strstr(err, c->error), "got \"%s\"", err);
        else
            TU_CHECK(failures, c->name, rc == 0, "refused: %s", err);
        config_free(&cfg);
    }
    assert_int_equal(failures, 0);
}

/* --- back-off ----------------------------------------------------------------------- */

static void test_backoff(void **state)
{
    (void)state;
    static struct auth_table t;
    memset(&t, 0, sizeof t);
    double now = 100;
    for (int i = 0; i < AUTH_FAILS_BEFORE_BLOCK - 1; i++)
        auth_failed(&t, "10.0.0.5", now);
    assert_false(auth_blocked(&t, "10.0.0.5", now));
    auth_failed(&t, "10.0.0.5", now);                   /* the fifth */
    assert_true(auth_blocked(&t, "10.0.0.5", now + 0.99));
    assert_false(auth_blocked(&t, "10.0.0.6", now));    /* another address */
    assert_false(auth_blocked(&t, "10.0.0.5", now + 1.0));
    /* Each failure after a block doubles the next: 2, 4, ... 60. */
    double expect = 2;
    now += 1.0;
    for (int i = 0; i < 8; i++) {
        auth_failed(&t, "10.0.0.5", now);
        assert_true(auth_blocked(&t, "10.0.0.5", now + expect - 0.01));
        assert_false(auth_blocked(&t, "10.0.0.5", now + expect));
        now += expect;
        expect = expect * 2 > AUTH_BLOCK_MAX ? AUTH_BLOCK_MAX : expect * 2;
    }
    auth_succeeded(&t, "10.0.0.5");
    auth_failed(&t, "10.0.0.5", now);                   /* counting from 0 again */
    assert_false(auth_blocked(&t, "10.0.0.5", now));
    /* The table is bounded: the least recently seen goes. */
    for (int i = 0; i < AUTH_TABLE_MAX + 10; i++) {
        char key[32];
        snprintf(key, sizeof key, "10.1.%d.%d", i / 256, i % 256);
        for (int k = 0; k < AUTH_FAILS_BEFORE_BLOCK; k++)
            auth_failed(&t, key, 1000 + i);
    }
    assert_false(auth_blocked(&t, "10.1.0.0", 1000));   /* evicted */
    assert_true(auth_blocked(&t, "10.1.1.9", 1000 + 265)); /* the newest is kept */
}

/* --- audit chain -------------------------------------------------------------------------- */

static void hash_hex(const char *s, size_t n, char out[65])
{
    audit_hash(s, n, out);
}

static void test_audit_chain(void **state)
{
    (void)state;
    char path[] = "/tmp/rb-unit-audit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* An existing file without a final LF: the chain starts from its last line. */
    const char old[] = "{\"event\":\"x\",\"prev\":\"p\"}\n{\"event\":\"last\"}";
    assert_int_equal(write(fd, old, sizeof old - 1), (ssize_t)(sizeof old - 1));
    close(fd);
    static struct bridge b;
    memset(&b, 0, sizeof b);
    b.loop = ev_default_loop(0);
    b.log.level = LOG_ERROR + 1;
    snprintf(b.cfg.audit_file, sizeof b.cfg.audit_file, "%s", path);
    char err[AUDIT_ERR_MAX];
    assert_int_equal(audit_open(&b, err), 0);
    struct principal p;
    principal_token(&p, "t1");
    assert_int_equal(audit_record(&b, audit_event("auth", &p, "1.2.3.4:5")), 0);
    audit_close(&b, "test");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char lines[5][512];
    int n = 0;
    while (n < 5 && fgets(lines[n], sizeof lines[n], f))
        lines[n][strcspn(lines[n], "\n")] = '\0', n++;
    fclose(f);
    assert_int_equal(n, 5);   /* x, last (now ended by an LF), start, auth, stop */
    char h[65];
    for (int i = 2; i < 5; i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        assert_non_null(j);
        hash_hex(lines[i - 1], strlen(lines[i - 1]), h);
        assert_string_equal(json_string_value(json_object_get(j, "prev")), h);
        assert_true(json_is_number(json_object_get(j, "time")));
        json_decref(j);
    }
    assert_non_null(strstr(lines[3], "\"event\":\"auth\""));
    assert_non_null(strstr(lines[3], "\"principal\":\"token:t1\",\"peer\":\"1.2.3.4:5\""));
    /* A record cannot be written while no file is open. */
    assert_int_equal(audit_record(&b, audit_event("auth", &p, NULL)), -1);
    assert_true(b.audit.failures >= 1);
    unlink(path);
}

/* --- lease state -------------------------------------------------------------------------- */

static struct client *fake_client(struct bridge *b, bool watching, const char *token)
{
    struct client *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->b = b;
    c->fd = -1;
    c->tx = &client_plain_transport;
    snprintf(c->peer, sizeof c->peer, "127.0.0.1:%d", 40000 + (int)b->nclients);
    principal_token(&c->who, token);
    c->watching = watching;
    c->watch_robots = UINT32_MAX;
    c->watch_types = UINT64_MAX;
    c->next = b->clients;
    if (b->clients)
        b->clients->prev = c;
    b->clients = c;
    b->nclients++;
    return c;
}

/* The CONTROL messages queued for c, as one text, and forget them. */
static void take_queue(struct client *c, char *out, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < c->q_count; i++) {
        struct msg *m = c->q[(c->q_head + i) % c->q_cap];
        size_t have = strlen(out);
        assert_true(have + m->len < n);
        memcpy(out + have, m->data, m->len);  /* a msg is not NUL-terminated */
        out[have + m->len] = '\0';
        msg_unref(m);
    }
    c->q_count = 0;
    c->q_bytes = 0;
}

static void test_lease_state(void **state)
{
    (void)state;
    static struct bridge b;
    load_bridge(&b, "{\"robots\":[{\"name\":\"rob1\"}],\"access\":[]}");
    b.loop = ev_default_loop(0);
    b.log.level = LOG_ERROR + 1;
    struct robot robots[1];
    memset(robots, 0, sizeof robots);
    robots[0].b = &b;
    robots[0].cfg = &b.cfg.robots[0];
    b.robots = robots;
    clients_register(&b);
    struct client *w = fake_client(&b, true, "w");
    struct client *a = fake_client(&b, false, "a");
    struct client *s = fake_client(&b, false, "s");
    char prev[PRINCIPAL_TEXT_MAX], q[2048];

    assert_null(lease_holder(&b, "rob1"));
    assert_int_equal(lease_take(&b, &robots[0], a, false, prev), LEASE_TAKEN);
    assert_string_equal(lease_holder(&b, "rob1"), "token:a");
    assert_true(lease_held_by(&b, "rob1", a));
    take_queue(w, q, sizeof q);
    assert_string_equal(q, "{\"class\":\"CONTROL\",\"robot\":\"rob1\",\"state\":\"taken\","
                           "\"holder\":\"token:a\"}\n");
    take_queue(a, q, sizeof q);
    assert_string_equal(q, "");                         /* the requester gets its reply elsewhere */
    assert_int_equal(lease_take(&b, &robots[0], a, false, prev), LEASE_YOURS);
    assert_int_equal(lease_take(&b, &robots[0], s, false, prev), LEASE_HELD);
    assert_false(lease_release(&b, &robots[0], s));
    assert_int_equal(lease_take(&b, &robots[0], s, true, prev), LEASE_TAKEN);
    assert_string_equal(prev, "token:a");
    take_queue(a, q, sizeof q);                          /* the old holder is told */
    assert_string_equal(q, "{\"class\":\"CONTROL\",\"robot\":\"rob1\",\"state\":\"taken\","
                           "\"holder\":\"token:s\",\"previous\":\"token:a\"}\n");
    take_queue(w, q, sizeof q);
    assert_non_null(strstr(q, "\"previous\":\"token:a\""));
    lease_client_gone(&b, s);
    assert_null(lease_holder(&b, "rob1"));
    take_queue(w, q, sizeof q);
    assert_string_equal(q, "{\"class\":\"CONTROL\",\"robot\":\"rob1\",\"state\":\"released\","
                           "\"holder\":\"token:s\",\"reason\":\"disconnect\"}\n");
    assert_int_equal(lease_take(&b, &robots[0], a, false, prev), LEASE_TAKEN);
    assert_true(lease_release(&b, &robots[0], a));
    take_queue(w, q, sizeof q);
    assert_non_null(strstr(q, "\"reason\":\"release\""));
    while (b.clients)
        client_close(b.clients);
    hub_unregister(&b, &b.watchers);
    config_free(&b.cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_parse),
        cmocka_unit_test(test_tokens_load_mode),
        cmocka_unit_test(test_who_matches),
        cmocka_unit_test(test_grants),
        cmocka_unit_test(test_config_cases),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_audit_chain),
        cmocka_unit_test(test_lease_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
