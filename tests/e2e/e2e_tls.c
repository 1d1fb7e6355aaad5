/* e2e_tls.c - TLS on the JSON listener (interface 1.1, section A: json_tls).
 *
 * The certificates are made at run time with the openssl command (group
 * setup): a CA, two server certificates for 127.0.0.1/localhost signed by it
 * (CN rb-server-1 and rb-server-2, to tell them apart after a reload), a
 * client certificate signed by it (CN panel-3), and a self-signed client
 * certificate (CN rogue) that no CA vouches for.
 *
 * The test client speaks TLS with OpenSSL over a non-blocking socket; every
 * wait is a poll bounded in time that also drains the daemon's log. In TLS
 * 1.3 the client's handshake ends before the server has checked the client's
 * certificate, so a refusal shows as the connection ending with no
 * application data, which is what the refusal tests assert.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS 5000
#define TC_BUF_MAX (1u << 20)    /* bytes of unread lines a test client holds */
#define SLOW_FRAMES 3000         /* frames in the slow-client test */
#define SLOW_TEXT 900            /* EV text per frame: ~1 KB per FRAME */
#define SLOW_WINDOW 32           /* frames written ahead of the fast watcher */

static char dir[] = "/tmp/rb-tls-XXXXXX";

static const char *file(const char *name)
{
    static char paths[8][PATH_MAX];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, PATH_MAX, "%s/%s", dir, name);
    return p;
}

/* ---- certificates ------------------------------------------------------------ */

__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "failed (%d): %s\n", rc, cmd);
    return rc;
}

#define KEYOPT "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

static int make_certs(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    const char *d = dir;
    if (run("cd %s && openssl req -x509 " KEYOPT " -keyout ca.key -out ca.pem -days 2 "
            "-subj /CN=rb-test-ca 2>/dev/null", d)
        || run("cd %s && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext", d))
        return -1;
    const char *signed_by_ca[] = {"server1", "rb-server-1", "server2", "rb-server-2", "client",
                                  "panel-3"};
    for (int i = 0; i < 6; i += 2) {
        const char *n = signed_by_ca[i], *cn = signed_by_ca[i + 1];
        bool server = strncmp(n, "server", 6) == 0;
        if (run("cd %s && openssl req " KEYOPT " -keyout %s.key -out %s.csr -subj /CN=%s "
                "2>/dev/null && openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key "
                "-CAcreateserial -out %s.pem -days 2 %s 2>/dev/null",
                d, n, n, cn, n, n, server ? "-extfile san.ext" : ""))
            return -1;
    }
    if (run("cd %s && openssl req -x509 " KEYOPT " -keyout rogue.key -out rogue.pem -days 2 "
            "-subj /CN=rogue 2>/dev/null", d))
        return -1;
    return 0;
}

static int remove_certs(void **state)
{
    (void)state;
    return run("rm -rf %s", dir) ? -1 : 0;
}

/* ---- a TLS test client ------------------------------------------------------------ */

struct tc {
    struct daemon *d;
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    bool eof;                   /* the connection ended (close, reset or TLS alert) */
    size_t got;                 /* application bytes received in all */
    char buf[TC_BUF_MAX];
    size_t len;
};

static int tcp_to(uint16_t port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (rcvbuf)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Wait for fd (or just drain the log) up to ms; returns poll revents. */
static short wait_io(struct daemon *d, int fd, short events, int ms)
{
    long long end = mono_ms() + ms;
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = d->err_fd, .events = POLLIN}};
        long long left = end - mono_ms();
        int r = poll(p, d->err_fd >= 0 && !d->err_eof ? 2 : 1, left < 0 ? 0 : (int)left);
        if (r > 0 && p[1].revents)
            daemon_pump(d);
        if (r > 0 && p[0].revents)
            return p[0].revents;
        if (mono_ms() >= end)
            return 0;
    }
}

/* Drive SSL_connect until done; false when the handshake fails or ms pass. */
static bool tc_handshake(struct tc *c, int ms)
{
    long long end = mono_ms() + ms;
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(c->ssl);
        if (rc == 1)
            return true;
        int e = SSL_get_error(c->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return false;
        long long left = end - mono_ms();
        if (left <= 0 || !wait_io(c->d, c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                                  (int)left))
            return false;
    }
}

/* A TLS client that trusts the test CA and checks the server is 127.0.0.1;
 * cert/key: its own certificate, or NULL. Returns with the handshake done,
 * or NULL when it failed (the client is freed then). */
static struct tc *tc_open(struct daemon *d, const char *cert, const char *key, int rcvbuf)
{
    struct tc *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->d = d;
    c->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(c->ctx);
    assert_int_equal(SSL_CTX_load_verify_file(c->ctx, file("ca.pem")), 1);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (cert) {
        assert_int_equal(SSL_CTX_use_certificate_file(c->ctx, cert, SSL_FILETYPE_PEM), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM), 1);
    }
    c->ssl = SSL_new(c->ctx);
    assert_non_null(c->ssl);
    assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1"), 1);
    c->fd = tcp_to(d->client_port, rcvbuf);
    SSL_set_fd(c->ssl, c->fd);
    return c;
}

static void tc_free(struct tc *c)
{
    if (!c)
        return;
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
    free(c);
}

/* Read what is there (one SSL_read) into buf; false when nothing came
 * within ms. Sets eof at the end of the connection. */
static bool tc_read_some(struct tc *c, int ms)
{
    for (;;) {
        if (c->len == sizeof c->buf)
            fail_msg("test client buffer full");
        ERR_clear_error();
        int n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len));
        if (n > 0) {
            c->len += (size_t)n;
            c->got += (size_t)n;
            return true;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_io(c->d, c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, ms))
                return false;
            continue;
        }
        c->eof = true;
        return false;
    }
}

/* The next JSON line, or NULL after ms or at the end. */
static json_t *tc_try_recv(struct tc *c, int ms)
{
    long long end = mono_ms() + ms;
    for (;;) {
        char *lf = memchr(c->buf, '\n', c->len);
        if (lf) {
            json_error_t je;
            json_t *j = json_loadb(c->buf, (size_t)(lf - c->buf), 0, &je);
            if (!j)
                fail_msg("not JSON: %.*s", (int)(lf - c->buf), c->buf);
            c->len -= (size_t)(lf + 1 - c->buf);
            memmove(c->buf, lf + 1, c->len);
            return j;
        }
        long long left = end - mono_ms();
        if (c->eof || left <= 0 || !tc_read_some(c, (int)left))
            return NULL;
    }
}

static json_t *tc_expect(struct tc *c, const char *cls)
{
    json_t *j = tc_try_recv(c, WAIT_MS);
    if (!j) {
        daemon_print_log_tail(c->d);
        fail_msg("no %s (%s)", cls, c->eof ? "connection ended" : "timed out");
    }
    if (!json_str(j, "class") || strcmp(json_str(j, "class"), cls) != 0) {
        char *t = json_text(j);
        fail_msg("want %s, got %s", cls, t);
    }
    return j;
}

/* Skip stream objects up to the first of class cls. */
static json_t *tc_wait(struct tc *c, const char *cls)
{
    long long end = mono_ms() + WAIT_MS;
    for (;;) {
        long long left = end - mono_ms();
        json_t *j = left > 0 ? tc_try_recv(c, (int)left) : NULL;
        if (!j) {
            daemon_print_log_tail(c->d);
            fail_msg("no %s (%s)", cls, c->eof ? "connection ended" : "timed out");
        }
        if (strcmp(json_str(j, "class"), cls) == 0)
            return j;
        json_decref(j);
    }
}

/* Write n bytes as one SSL_write (one record up to 16 KiB), waiting as needed. */
static void tc_write_all(struct tc *c, const char *p, size_t n)
{
    for (;;) {
        ERR_clear_error();
        int w = SSL_write(c->ssl, p, (int)n);
        if (w == (int)n)
            return;
        int e = SSL_get_error(c->ssl, w);
        if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
            || !wait_io(c->d, c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, WAIT_MS))
            fail_msg("TLS write failed");
    }
}

/* Send a line; false when the connection broke. */
static bool tc_try_send(struct tc *c, const char *line)
{
    char text[1024];
    int len = snprintf(text, sizeof text, "%s\n", line);
    size_t off = 0;
    while (off < (size_t)len) {
        ERR_clear_error();
        int w = SSL_write(c->ssl, text + off, len - (int)off);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        int e = SSL_get_error(c->ssl, w);
        if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
            || !wait_io(c->d, c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, WAIT_MS))
            return false;
    }
    return true;
}

static void tc_send(struct tc *c, const char *line)
{
    if (!tc_try_send(c, line))
        fail_msg("TLS write failed");
}

static json_t *tc_request(struct tc *c, const char *req, const char *cls)
{
    tc_send(c, req);
    return tc_wait(c, cls);
}

/* Connected, handshake done, VERSION first: a working TLS client. */
static struct tc *tc_connect(struct daemon *d, const char *cert, const char *key)
{
    struct tc *c = tc_open(d, cert, key, 0);
    if (!tc_handshake(c, WAIT_MS)) {
        daemon_print_log_tail(d);
        fail_msg("TLS handshake failed: %s", ERR_reason_error_string(ERR_peek_last_error()));
    }
    json_decref(tc_expect(c, "VERSION"));
    return c;
}

/* The bridge refuses this client: the handshake fails, or the connection
 * ends before any application byte arrives. */
static void assert_refused(struct daemon *d, const char *cert, const char *key)
{
    struct tc *c = tc_open(d, cert, key, 0);
    if (tc_handshake(c, WAIT_MS)) {
        /* The write may already fail: the bridge's alert came first. */
        json_t *j = NULL;
        if (tc_try_send(c, "{\"cmd\":\"version\"}"))
            j = tc_try_recv(c, WAIT_MS);
        else
            c->eof = true;
        if (j) {
            char *t = json_text(j);
            fail_msg("a refused client got %s", t);
        }
        assert_true(c->eof);
    }
    assert_int_equal(c->got, 0);
    tc_free(c);
    assert_true(daemon_wait_log(d, "TLS handshake failed", WAIT_MS));
}

/* The subject CN of the server's certificate. */
static void server_cn(struct tc *c, char out[64])
{
    X509 *x = SSL_get0_peer_certificate(c->ssl);
    assert_non_null(x);
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, 64) > 0);
}

/* ---- configurations ------------------------------------------------------------- */

static char *config(const char *tls_extra, const char *cert, const char *key)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "{\"robots\":[{\"name\":\"rob1\"}],\"limits\":{\"hello_timeout\":1,"
             "\"client_queue_bytes\":65536},"
             "\"json_tls\":{\"cert\":\"%s\",\"key\":\"%s\"%s}}",
             file(cert), file(key), tls_extra);
    return text;
}

static struct daemon *start(void **state, const char *tls_extra)
{
    struct daemon *d = daemon_start(state, config(tls_extra, "server1.pem", "server1.key"));
    assert_true(daemon_wait_log(d, "clients must speak TLS", WAIT_MS));
    return d;
}

/* ---- tests ------------------------------------------------------------------------------ */

/* VERSION comes after the handshake; watch and state work over TLS. */
static void test_watch_and_state(void **state)
{
    struct daemon *d = start(state, "");
    struct tc *w = tc_connect(d, NULL, NULL);
    char cn[64];
    server_cn(w, cn);
    assert_string_equal(cn, "rb-server-1");
    json_t *v = tc_request(w, "{\"cmd\":\"version\",\"id\":7}", "VERSION");
    assert_int_equal(json_int_member(v, "id"), 7);
    json_decref(v);
    json_decref(tc_request(w, "{\"cmd\":\"watch\",\"types\":[\"JT\"]}", "WATCH"));

    int rob = trobot_hello(d, "rob1");
    json_decref(tc_wait(w, "LINK"));
    trobot_send(d, rob, "JT,5,10,20.5,-30,40.25,0,-180\n");
    json_t *f = tc_wait(w, "FRAME");
    assert_json_has(f, "{\"robot\":\"rob1\",\"type\":\"JT\",\"seq\":5}");
    json_decref(f);

    json_t *s = tc_request(w, "{\"cmd\":\"state\",\"robot\":\"rob1\"}", "STATE");
    char *t = json_text(s);
    assert_non_null(strstr(t, "\"JT\""));
    free(t);
    json_decref(s);
    tc_free(w);
    daemon_stop(state);
}

static struct daemon *start_with_ca(void **state, bool required)
{
    char extra[PATH_MAX + 64];
    snprintf(extra, sizeof extra, ",\"ca\":\"%s\"%s", file("ca.pem"),
             required ? ",\"require_client_cert\":true" : "");
    return start(state, extra);
}

/* ca + require_client_cert: the CA's client gets in (its CN is logged);
 * no certificate, or one from elsewhere, is refused at the handshake. */
static void test_required(void **state)
{
    struct daemon *d = start_with_ca(state, true);
    struct tc *ok = tc_connect(d, file("client.pem"), file("client.key"));
    assert_true(daemon_wait_log(d, "TLS client certificate CN \"panel-3\" verified", WAIT_MS));
    json_decref(tc_request(ok, "{\"cmd\":\"robots\"}", "ROBOTS"));
    assert_refused(d, NULL, NULL);
    assert_true(daemon_wait_log(d, "TLS handshake failed: peer did not return a certificate",
                                WAIT_MS));
    assert_refused(d, file("rogue.pem"), file("rogue.key"));
    assert_true(daemon_wait_log(d, "client certificate: self-signed certificate", WAIT_MS));
    /* The refusals did not disturb the client that got in. */
    json_decref(tc_request(ok, "{\"cmd\":\"version\"}", "VERSION"));
    tc_free(ok);
    daemon_stop(state);
}

/* ca without require_client_cert: a certificate is optional, but verified
 * when sent. */
static void test_optional(void **state)
{
    struct daemon *d = start_with_ca(state, false);
    struct tc *anon = tc_connect(d, NULL, NULL);
    struct tc *cert = tc_connect(d, file("client.pem"), file("client.key"));
    assert_true(daemon_wait_log(d, "CN \"panel-3\" verified", WAIT_MS));
    assert_refused(d, file("rogue.pem"), file("rogue.key"));
    json_decref(tc_request(anon, "{\"cmd\":\"version\"}", "VERSION"));
    json_decref(tc_request(cert, "{\"cmd\":\"version\"}", "VERSION"));
    tc_free(anon);
    tc_free(cert);
    daemon_stop(state);
}

/* A verified certificate is the principal cert:CN (interface 1.1 A): the
 * access rules grant it what they grant cert:panel-3; a client without a
 * certificate stays anonymous, whom these rules grant nothing. */
static void test_cert_principal(void **state)
{
    char extra[PATH_MAX + 64];
    snprintf(extra, sizeof extra, ",\"ca\":\"%s\"", file("ca.pem"));
    char text[4 * PATH_MAX];
    snprintf(text, sizeof text,
             "{\"robots\":[{\"name\":\"rob1\",\"commands\":[\"SETDO\"]}],"
             "\"limits\":{\"hello_timeout\":1},"
             "\"access\":[{\"who\":[\"cert:panel-3\"],\"may\":[\"watch\",\"control\"]}],"
             "\"json_tls\":{\"cert\":\"%s\",\"key\":\"%s\"%s}}",
             file("server1.pem"), file("server1.key"), extra);
    struct daemon *d = daemon_start(state, text);
    assert_true(daemon_wait_log(d, "clients must speak TLS", WAIT_MS));
    struct tc *panel = tc_connect(d, file("client.pem"), file("client.key"));
    struct tc *anon = tc_connect(d, NULL, NULL);
    json_decref(tc_request(panel, "{\"cmd\":\"robots\"}", "ROBOTS"));
    json_t *c = tc_request(panel, "{\"cmd\":\"control\",\"robot\":\"rob1\"}", "CONTROL");
    assert_json_has(c, "{\"robot\":\"rob1\",\"state\":\"taken\",\"holder\":\"cert:panel-3\"}");
    json_decref(c);
    json_t *e = tc_request(anon, "{\"cmd\":\"robots\"}", "ERROR");
    assert_json_has(e, "{\"code\":\"unauthorized\"}");
    json_decref(e);
    tc_free(anon);
    tc_free(panel);
    daemon_stop(state);
}

/* Receive until the connection ends; the byte count, or -1 on timeout. */
static long plain_drain(struct daemon *d, int fd, int ms)
{
    long got = 0;
    long long end = mono_ms() + ms;
    for (;;) {
        long long left = end - mono_ms();
        if (left <= 0 || !wait_io(d, fd, POLLIN, (int)left))
            return -1;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            got += n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return got;
    }
}

/* A plain-text client on the TLS port is sent nothing and closed, whether
 * it talks (the handshake fails at once) or waits for a banner (the
 * handshake bound, hello_timeout 1 s here, closes it). */
static void test_plain_client(void **state)
{
    struct daemon *d = start(state, "");
    int talker = tcp_to(d->client_port, 0);
    static const char req[] = "{\"cmd\":\"version\"}\n";
    assert_int_equal(send(talker, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
    assert_int_equal(plain_drain(d, talker, WAIT_MS), 0);
    assert_true(daemon_wait_log(d, "TLS handshake failed: wrong version number", WAIT_MS));
    close(talker);

    int waiter = tcp_to(d->client_port, 0);
    long long t0 = mono_ms();
    assert_int_equal(plain_drain(d, waiter, WAIT_MS), 0);
    assert_true(mono_ms() - t0 >= 900);
    assert_true(daemon_wait_log(d, "TLS handshake not done within 1.0 s", WAIT_MS));
    close(waiter);

    /* The listener still serves TLS clients. */
    tc_free(tc_connect(d, NULL, NULL));
    daemon_stop(state);
}

/* A full bridge closes a TLS connection without the plain-text busy line. */
static void test_busy_sends_nothing(void **state)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"limits\":{\"max_clients\":1},\"json_tls\":{\"cert\":\"%s\",\"key\":\"%s\"}}",
             file("server1.pem"), file("server1.key"));
    struct daemon *d = daemon_start(state, text);
    struct tc *in = tc_connect(d, NULL, NULL);
    int extra = tcp_to(d->client_port, 0);
    assert_int_equal(plain_drain(d, extra, WAIT_MS), 0);
    assert_true(daemon_wait_log(d, "refused: 1 clients already connected", WAIT_MS));
    close(extra);
    json_decref(tc_request(in, "{\"cmd\":\"version\"}", "VERSION"));
    tc_free(in);
    daemon_stop(state);
}

static void copy_file(const char *from, const char *to)
{
    assert_int_equal(run("cp %s %s", from, to), 0);
}

/* SIGHUP reads the certificate files again: a new connection gets the new
 * certificate, an established one keeps working; files that do not load
 * leave the running certificate in force. */
static void test_reload(void **state)
{
    copy_file(file("server1.pem"), file("live.pem"));
    copy_file(file("server1.key"), file("live.key"));
    char cfg_path[PATH_MAX];
    snprintf(cfg_path, sizeof cfg_path, "%s", file("bridge.json"));
    FILE *f = fopen(cfg_path, "w");
    assert_non_null(f);
    fputs(config("", "live.pem", "live.key"), f);
    fclose(f);
    const char *extra[] = {"-c", cfg_path, NULL};
    struct daemon *d = daemon_start_args(state, config("", "live.pem", "live.key"), extra);

    struct tc *old = tc_connect(d, NULL, NULL);
    char cn[64];
    server_cn(old, cn);
    assert_string_equal(cn, "rb-server-1");

    copy_file(file("server2.pem"), file("live.pem"));
    copy_file(file("server2.key"), file("live.key"));
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(daemon_wait_log(d, "in force for new connections", WAIT_MS));
    struct tc *fresh = tc_connect(d, NULL, NULL);
    server_cn(fresh, cn);
    assert_string_equal(cn, "rb-server-2");
    json_decref(tc_request(old, "{\"cmd\":\"version\"}", "VERSION"));
    json_decref(tc_request(fresh, "{\"cmd\":\"version\"}", "VERSION"));

    /* A key that does not match: refused, server 2 stays. */
    copy_file(file("server1.key"), file("live.key"));
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(daemon_wait_log(d, "TLS certificates not reloaded, the running ones stay", WAIT_MS));
    assert_true(daemon_log_has(d, "does not match the certificate"));
    struct tc *third = tc_connect(d, NULL, NULL);
    server_cn(third, cn);
    assert_string_equal(cn, "rb-server-2");
    json_decref(tc_request(old, "{\"cmd\":\"version\"}", "VERSION"));

    /* Taking json_tls out takes a restart: the port stays TLS. */
    copy_file(file("server2.key"), file("live.key"));
    f = fopen(cfg_path, "w");
    assert_non_null(f);
    fputs("{\"robots\":[{\"name\":\"rob1\"}]}", f);
    fclose(f);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(daemon_wait_log(d, "json_tls on or off changes only with a restart", WAIT_MS));
    struct tc *fourth = tc_connect(d, NULL, NULL);
    json_decref(tc_request(fourth, "{\"cmd\":\"version\"}", "VERSION"));
    tc_free(fourth);
    tc_free(old);
    tc_free(fresh);
    tc_free(third);
    daemon_stop(state);
    unlink(cfg_path);
}

/* The README's example: openssl s_client with a request on stdin. */
static void test_s_client(void **state)
{
    struct daemon *d = start(state, "");
    char connect[32];
    snprintf(connect, sizeof connect, "127.0.0.1:%u", d->client_port);
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        close(in[1]);
        close(out[0]);
        execlp("timeout", "timeout", "10", "openssl", "s_client", "-quiet", "-connect", connect,
               "-CAfile", file("ca.pem"), "-verify_return_error", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    static const char req[] = "{\"cmd\":\"robots\"}\n";
    assert_int_equal(write(in[1], req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    close(in[1]);
    char text[4096];
    size_t len = 0;
    long long end = mono_ms() + WAIT_MS;
    while (!strstr(text, "\"ROBOTS\"") && mono_ms() < end && len < sizeof text - 1) {
        if (!wait_io(d, out[0], POLLIN, (int)(end - mono_ms())))
            break;
        ssize_t n = read(out[0], text + len, sizeof text - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        text[len] = '\0';
    }
    text[len] = '\0';
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(out[0]);
    if (!strstr(text, "{\"class\":\"VERSION\"") || !strstr(text, "{\"class\":\"ROBOTS\""))
        fail_msg("s_client printed: %s", text);
    assert_true(strstr(text, "VERSION") < strstr(text, "ROBOTS"));
    daemon_stop(state);
}

/* rapidbridge-cli --tls-*: verifies the bridge, presents a client certificate. */
static void test_cli(void **state)
{
    struct daemon *d = start_with_ca(state, true);
    char connect[32], out[4096];
    snprintf(connect, sizeof connect, "127.0.0.1:%u", d->client_port);
    const char *ok[] = {"--connect", connect, "--tls-ca", file("ca.pem"), "--tls-cert",
                        file("client.pem"), "--tls-key", file("client.key"), "-j", "version", NULL};
    assert_int_equal(cli_run(d, ok, NULL, false, out, sizeof out), 0);
    assert_non_null(strstr(out, "{\"class\":\"VERSION\""));
    assert_true(daemon_wait_log(d, "CN \"panel-3\" verified", WAIT_MS));
    /* "localhost" resolves to 127.0.0.1 and is in the certificate too. */
    char by_name[32];
    snprintf(by_name, sizeof by_name, "localhost:%u", d->client_port);
    const char *named[] = {"--connect", by_name, "--tls-ca", file("ca.pem"), "--tls-cert",
                           file("client.pem"), "--tls-key", file("client.key"), "-j", "version",
                           NULL};
    assert_int_equal(cli_run(d, named, NULL, false, out, sizeof out), 0);
    /* The wrong name, no client certificate, or no --tls at all: exit 2, no reply. */
    const char *wrong_name[] = {"--connect", connect, "--tls-ca", file("ca.pem"), "--tls-name",
                                "bridge.example", "--tls-cert", file("client.pem"), "--tls-key",
                                file("client.key"), "version", NULL};
    assert_int_equal(cli_run(d, wrong_name, NULL, false, out, sizeof out), 2);
    const char *no_cert[] = {"--connect", connect, "--tls-ca", file("ca.pem"), "version", NULL};
    assert_int_equal(cli_run(d, no_cert, NULL, false, out, sizeof out), 2);
    assert_null(strstr(out, "VERSION"));
    const char *untrusted[] = {"--connect", connect, "--tls-ca", file("rogue.pem"), "--tls-cert",
                               file("client.pem"), "--tls-key", file("client.key"), "version",
                               NULL};
    assert_int_equal(cli_run(d, untrusted, NULL, false, out, sizeof out), 2);
    assert_null(strstr(out, "VERSION"));
    daemon_stop(state);
}

/* --check-config loads json_tls's files as the start would, and names the
 * member at fault. */
static void test_check_config(void **state)
{
    struct daemon *d = start(state, "");
    const char *bin = getenv("RB_BIN");
    char cfg_path[PATH_MAX], out[4096];
    snprintf(cfg_path, sizeof cfg_path, "%s", file("check.json"));
    static const struct {
        const char *cert, *key, *extra;
        int status;
        const char *want;
    } cases[] = {
        {"server1.pem", "server1.key", "", 0, "configuration valid"},
        {"server1.pem", "server2.key", "", 1, "json_tls.key "},
        {"server1.pem", "missing.key", "", 1, "missing.key: No such file or directory"},
        {"server1.key", "server1.key", "", 1, "json_tls.cert "},
        {"server1.pem", "server1.key", ",\"ca\":\"/nonexistent/ca.pem\"", 1,
         "json_tls.ca /nonexistent/ca.pem: No such file or directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(cfg_path, "w");
        assert_non_null(f);
        fputs(config(cases[i].extra, cases[i].cert, cases[i].key), f);
        fclose(f);
        const char *args[] = {"--check-config", "-c", cfg_path, NULL};
        int st = prog_run(d, bin, args, NULL, true, out, sizeof out);
        if (st != cases[i].status || !strstr(out, cases[i].want))
            fail_msg("case %zu: status %d, output: %s", i, st, out);
        if (st == 1 && strncmp(out, cfg_path, strlen(cfg_path)) != 0)
            fail_msg("case %zu: not FILE:LINE:COL: %s", i, out);
    }
    assert_non_null(strstr(out, "json_tls.ca"));
    unlink(cfg_path);
    daemon_stop(state);
}

/* Many requests in one TLS record, and a long line over several: every
 * reply comes, in order (nothing stays stranded inside OpenSSL). */
static void test_pipelined(void **state)
{
    struct daemon *d = start(state, "");
    struct tc *c = tc_connect(d, NULL, NULL);
    /* Two records back to back: the bridge's one read takes both, and
     * OpenSSL hands out one record per SSL_read; the second must not wait
     * for more bytes that never come. */
    for (int i = 0; i < 20; i++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "{\"cmd\":\"version\",\"id\":%d}\n", 2 * i);
        snprintf(b, sizeof b, "{\"cmd\":\"version\",\"id\":%d}\n", 2 * i + 1);
        tc_write_all(c, a, strlen(a));
        tc_write_all(c, b, strlen(b));
        for (int k = 0; k < 2; k++) {
            json_t *v = tc_expect(c, "VERSION");
            assert_int_equal(json_int_member(v, "id"), 2 * i + k);
            json_decref(v);
        }
    }
    enum { N = 400 };
    static char burst[N * 40 + 1];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(burst + len, sizeof burst - len, "{\"cmd\":\"version\",\"id\":%d}\n", i);
    tc_write_all(c, burst, len); /* one record */
    for (int i = 0; i < N; i++) {
        json_t *v = tc_expect(c, "VERSION");
        assert_int_equal(json_int_member(v, "id"), i);
        json_decref(v);
    }
    /* 60000 bytes: four records of up to 16 KiB make one line. */
    static char longline[60100];
    int n = snprintf(longline, sizeof longline, "{\"cmd\":\"version\",\"id\":\"");
    memset(longline + n, 'a', 60000);
    n += 60000;
    n += snprintf(longline + n, sizeof longline - (size_t)n, "\"}\n");
    for (int off = 0; off < n; off += 16384)
        tc_write_all(c, longline + off, (size_t)(n - off > 16384 ? 16384 : n - off));
    json_t *v = tc_expect(c, "VERSION");
    assert_int_equal(strlen(json_str(v, "id")), 60000);
    json_decref(v);
    tc_free(c);
    daemon_stop(state);
}

/* A TLS watcher that does not read does not hold up one that does: the fast
 * one gets every frame in order while the slow one's stream is dropped. */
static void test_slow_tls_client(void **state)
{
    struct daemon *d = start(state, "");
    struct tc *fast = tc_connect(d, NULL, NULL);
    struct tc *slow = tc_open(d, NULL, NULL, 4096);
    assert_true(tc_handshake(slow, WAIT_MS));
    json_decref(tc_expect(slow, "VERSION"));
    json_decref(tc_request(slow, "{\"cmd\":\"watch\",\"types\":[\"EV\"]}", "WATCH"));
    json_decref(tc_request(fast, "{\"cmd\":\"watch\",\"types\":[\"EV\"]}", "WATCH"));
    int rob = trobot_hello(d, "rob1");

    char text[SLOW_TEXT + 1], frame[SLOW_TEXT + 64];
    memset(text, 'x', SLOW_TEXT);
    text[SLOW_TEXT] = '\0';
    long long next = 1;
    for (long long want = 1; want <= SLOW_FRAMES; want++) {
        while (next <= SLOW_FRAMES && next < want + SLOW_WINDOW) {
            snprintf(frame, sizeof frame, "EV,%lld,I,%lld,%s\n", next, next, text);
            trobot_send(d, rob, frame);
            next++;
        }
        json_t *f = tc_wait(fast, "FRAME");
        assert_int_equal(json_int_member(f, "seq"), want);
        json_decref(f);
    }
    json_t *s = tc_request(fast, "{\"cmd\":\"stats\"}", "STATS");
    char *t = json_text(s);
    json_t *drops = json_object_get(s, "drops");
    if (!json_is_integer(drops) || json_integer_value(drops) <= 0)
        fail_msg("no drops for the slow client: %s", t);
    free(t);
    json_decref(s);
    /* The slow one reads at last: whole lines in order, then its DROPPED
     * notice (writes OpenSSL had to retry came out right). */
    long long last = 0;
    bool told = false;
    long long end = mono_ms() + 4 * WAIT_MS;
    while (!told && mono_ms() < end) {
        json_t *j = tc_try_recv(slow, WAIT_MS);
        assert_non_null(j);
        const char *cls = json_str(j, "class");
        if (strcmp(cls, "FRAME") == 0) {
            long long seq = json_int_member(j, "seq");
            assert_true(seq > last);
            last = seq;
        }
        told = strcmp(cls, "DROPPED") == 0;
        json_decref(j);
    }
    assert_true(told);
    tc_free(slow);
    tc_free(fast);
    daemon_stop(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_watch_and_state, daemon_teardown),
        cmocka_unit_test_teardown(test_required, daemon_teardown),
        cmocka_unit_test_teardown(test_optional, daemon_teardown),
        cmocka_unit_test_teardown(test_cert_principal, daemon_teardown),
        cmocka_unit_test_teardown(test_plain_client, daemon_teardown),
        cmocka_unit_test_teardown(test_busy_sends_nothing, daemon_teardown),
        cmocka_unit_test_teardown(test_reload, daemon_teardown),
        cmocka_unit_test_teardown(test_s_client, daemon_teardown),
        cmocka_unit_test_teardown(test_slow_tls_client, daemon_teardown),
        cmocka_unit_test_teardown(test_cli, daemon_teardown),
        cmocka_unit_test_teardown(test_check_config, daemon_teardown),
        cmocka_unit_test_teardown(test_pipelined, daemon_teardown),
    };
    return cmocka_run_group_tests_name("e2e_tls", tests, make_certs, remove_certs);
}
