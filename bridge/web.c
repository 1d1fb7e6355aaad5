#include "web.h"

#include "access.h"

#include "bridge.h"
#include "client.h"
#include "metrics.h"
#include "tls.h"

#include <libwebsockets.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef RB_WWWDIR
#define RB_WWWDIR "/usr/local/share/rapidbridge/www"
#endif

#define WEB_PROTOCOL "rapidbridge.v1" /* accepted when offered; none needed */
#define WEB_PATH_MAX (HTTP_ROOT_MAX + 32)
#define WEB_WRITE_BUDGET (256 * 1024) /* bytes per writeable turn, as CLIENT_WRITE_BUDGET */

/* The page: these files and nothing else. */
static const struct {
    const char *uri, *file, *mime;
} page_files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
    {"/screenshot.png", "screenshot.png", "image/png"},
};

/* One connection: an HTTP request (body: a /metrics response being
 * written) or, after the upgrade, a WebSocket client. */
struct web_session {
    struct client *c;         /* the WebSocket's client; NULL once it is gone */
    struct lws *wsi;
    char *in;                 /* a text message arriving in fragments */
    size_t in_len;
    bool in_too_long;
    char *out;                /* LWS_PRE + one message, reused */
    size_t out_cap;
    char *body;               /* HTTP response body */
    size_t body_len, body_off;
};

/* /metrics needs the grant watch (on some robot), as `stats` does: 0 when
 * the principal (cert:CN with a verified client certificate cn, else
 * anonymous; a valid Bearer token replaces either) has it, 401 when it
 * comes without valid credentials (none given while anonymous may not
 * watch, or a token that fails), 403 when a valid token's principal may
 * not watch. */
static unsigned metrics_access(struct bridge *b, const char *peer, const char *cn,
                               const char *token, size_t len)
{
    struct principal who;
    if (cn[0])
        principal_cert(&who, cn);
    else
        principal_anonymous(&who);
    if (len > 0 && !access_authenticate_peer(b, &who, peer, token, len))
        return 401;
    if (access_may(b, &who, -1, "watch"))
        return 0;
    return len > 0 ? 403 : 401;
}

/* The Bearer token of the request's Authorization header into tok (bounded),
 * its length, 0 when none; -1 when malformed or too long. */
static int bearer_token(struct lws *wsi, char tok[WEB_TOKEN_MAX + 1])
{
    char hdr[WEB_TOKEN_MAX + 16];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n <= 0)
        return 0;
    if ((size_t)n >= sizeof hdr)
        return -1;
    n = lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_AUTHORIZATION);
    int len = -1;
    if (n > 7 && strncasecmp(hdr, "Bearer ", 7) == 0 && n - 7 <= WEB_TOKEN_MAX) {
        len = n - 7;
        memcpy(tok, hdr + 7, (size_t)len);
        tok[len] = '\0';
    }
    explicit_bzero(hdr, sizeof hdr);
    return len;
}

/* The CN of a verified client certificate (http_tls with a ca) into cn;
 * "" when the connection is plain or has none that counts (tls.h). */
static void verified_cn(struct lws *wsi, char cn[TLS_CN_MAX])
{
    cn[0] = '\0';
    struct ssl_st *ssl = lws_is_ssl(wsi) ? lws_get_ssl(wsi) : NULL;
    if (ssl && !tls_verified_cn(ssl, cn))
        cn[0] = '\0';
}

static void peer_text(struct lws *wsi, char out[ADDR_TEXT_MAX])
{
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&sa, &sl) == 0)
        net_format(&sa, true, out);
    else
        snprintf(out, ADDR_TEXT_MAX, "?");
}

/* ---- HTTP ---------------------------------------------------------------- */

/* Headers for a body we hold, then the body from the writeable callback. */
static int http_respond(struct lws *wsi, struct web_session *s, unsigned status, const char *mime,
                        char *body, size_t len)
{
    unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
    free(s->body);
    s->body = body;
    s->body_len = len;
    s->body_off = 0;
    if (lws_add_http_common_headers(wsi, status, mime, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_text(struct lws *wsi, struct web_session *s, unsigned status, const char *text)
{
    char *body = strdup(text);
    return body ? http_respond(wsi, s, status, "text/plain; charset=utf-8", body, strlen(body))
                : -1;
}

static int http_metrics(struct lws *wsi, struct web_session *s, struct bridge *b)
{
    char tok[WEB_TOKEN_MAX + 1] = "", peer[ADDR_TEXT_MAX], cn[TLS_CN_MAX];
    peer_text(wsi, peer);
    verified_cn(wsi, cn);
    int n = bearer_token(wsi, tok);
    unsigned status = n < 0 ? 401 : metrics_access(b, peer, cn, tok, n > 0 ? (size_t)n : 0);
    explicit_bzero(tok, sizeof tok);
    if (status)
        return http_text(wsi, s, status,
                         status == 403 ? "this principal may not watch\n"
                                       : "credentials needed (Authorization: Bearer TOKEN)\n");
    size_t len = 0;
    char *text = metrics_render(b, &len);
    if (!text)
        return http_text(wsi, s, 503, "out of memory\n");
    return http_respond(wsi, s, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static int http_request(struct lws *wsi, struct web_session *s, struct bridge *b, const char *uri)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return http_text(wsi, s, 405, "only GET\n");
    if (strcmp(uri, "/metrics") == 0)
        return http_metrics(wsi, s, b);
    for (size_t i = 0; i < sizeof page_files / sizeof page_files[0]; i++) {
        if (strcmp(uri, page_files[i].uri) != 0)
            continue;
        char path[WEB_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", b->cfg.http_root[0] ? b->cfg.http_root : RB_WWWDIR,
                 page_files[i].file);
        int n = lws_serve_http_file(wsi, path, page_files[i].mime, NULL, 0);
        if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
            return -1;
        return 0;
    }
    if (strcmp(uri, "/ws") == 0)
        return http_text(wsi, s, 400,
                         "/ws is a WebSocket: it needs an Upgrade: websocket request\n");
    return http_text(wsi, s, 404, "not found\n");
}

static int http_writeable(struct lws *wsi, struct web_session *s)
{
    if (!s->body)
        return 0;
    size_t left = s->body_len - s->body_off;
    size_t n = left < WEB_RX_CHUNK ? left : WEB_RX_CHUNK;
    unsigned char *buf = malloc(LWS_PRE + n + 1);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, s->body + s->body_off, n);
    bool last = n == left;
    int w = lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
    free(buf);
    if (w < (int)n)
        return -1;
    s->body_off += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(s->body);
    s->body = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- WebSocket ------------------------------------------------------------ */

/* Before the upgrade is answered: only /ws, and not past max_clients. */
static int ws_filter(struct lws *wsi, struct bridge *b)
{
    char uri[64];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws") != 0) {
        lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, "WebSocket only at /ws");
        return -1;
    }
    if (b->nclients >= b->cfg.limits.max_clients) {
        char peer[ADDR_TEXT_MAX];
        peer_text(wsi, peer);
        log_warn(&b->log, "WebSocket client %s refused: %u clients already connected", peer,
                 b->nclients);
        lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "too many clients");
        return -1;
    }
    /* limits.max_clients_per_address counts TCP, TLS and WebSocket clients
     * together (peers.h); the count is taken when the client opens. */
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    struct net_addr a;
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&sa, &sl) == 0) {
        net_addr_of(&sa, &a);
        if (peers_count(&b->peers, &a, PEER_CLIENT) >= b->cfg.limits.max_clients_per_address) {
            char peer[ADDR_TEXT_MAX];
            peer_text(wsi, peer);
            lograte_log(&b->lograte, &b->log, ev_now(b->loop), LOGRATE_CLIENT_PER_ADDRESS,
                        LOG_WARN, "WebSocket client %s refused: its address has %u clients "
                        "already (limits.max_clients_per_address)", peer,
                        b->cfg.limits.max_clients_per_address);
            lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                                   "too many clients from this address");
            return -1;
        }
    }
    return 0;
}

static int ws_established(struct lws *wsi, struct web_session *s, struct bridge *b)
{
    char peer[ADDR_TEXT_MAX];
    peer_text(wsi, peer);
    s->wsi = wsi;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    bool counted = getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&sa, &sl) == 0 &&
                   peers_admit_client(b, &sa);
    s->c = client_open_ws(b, s, peer);
    if (!s->c) {
        if (counted)
            peers_release_client(b, &sa);
        return -1;
    }
    if (counted) {
        s->c->peer_sa = sa;
        s->c->peer_counted = true;
    }
    net_sndbuf(lws_get_socket_fd(wsi), CLIENT_SNDBUF);
    verified_cn(wsi, s->c->tls_cn);
    if (s->c->tls_cn[0]) {
        log_info(&b->log, "WebSocket client %s: TLS client certificate CN \"%s\" verified", peer,
                 s->c->tls_cn);
        client_tls_verified(s->c);
    }
    char tok[WEB_TOKEN_MAX + 1] = "";
    int n = bearer_token(wsi, tok);
    if (n > 0)
        access_authenticate(b, s->c, tok, (size_t)n); /* failed: it stays anonymous */
    explicit_bzero(tok, sizeof tok);
    log_debug(&b->log, "WebSocket client %s connected", peer);
    return 0;
}

static void ws_receive(struct lws *wsi, struct web_session *s, const char *data, size_t len)
{
    struct client *c = s->c;
    if (!c)
        return;
    bool first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi);
    if (first) {
        s->in_len = 0;
        s->in_too_long = false;
    }
    if (lws_frame_is_binary(wsi)) {
        if (last)
            client_error(c, NULL, "bad_request", "send requests as text messages");
        return;
    }
    if (s->in_too_long)
        return;
    if (s->in_len + len > CLIENT_LINE_MAX) {
        /* Like a TCP request line over the bound: say so, then close. */
        client_error(c, NULL, "line_too_long", "request message over %d bytes", CLIENT_LINE_MAX);
        c->closing = true;
        s->in_too_long = true;
        free(s->in);
        s->in = NULL;
        s->in_len = 0;
        return;
    }
    if (first && last) {
        client_request_text(c, data, len); /* the usual case: no copy */
        explicit_bzero((void *)data, len); /* it may have held a token (auth) */
        return;
    }
    if (!s->in && !(s->in = malloc(CLIENT_LINE_MAX))) {
        c->closing = true;
        return;
    }
    memcpy(s->in + s->in_len, data, len);
    s->in_len += len;
    if (last) {
        client_request_text(c, s->in, s->in_len);
        explicit_bzero(s->in, s->in_len);
        free(s->in);
        s->in = NULL;
        s->in_len = 0;
    }
}

/* Queued messages out, one WebSocket text message each, while the socket
 * takes them. Returns -1 to close the connection. */
static int ws_writeable(struct lws *wsi, struct web_session *s)
{
    struct client *c = s->c;
    if (!c)
        return -1;
    if (c->doomed) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                         (unsigned char *)"output queue over its limit", 27);
        return -1;
    }
    size_t budget = WEB_WRITE_BUDGET;
    struct msg *m;
    while ((m = client_queue_peek(c)) != NULL && budget) {
        size_t len = m->len - 1; /* without the LF that ends a JSON line */
        if (LWS_PRE + len > s->out_cap) {
            char *out = realloc(s->out, LWS_PRE + len);
            if (!out)
                return -1;
            s->out = out;
            s->out_cap = LWS_PRE + len;
        }
        memcpy(s->out + LWS_PRE, m->data, len);
        if (lws_write(wsi, (unsigned char *)s->out + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len)
            return -1;
        client_queue_consume(c);
        budget = len >= budget ? 0 : budget - len;
        if (lws_send_pipe_choked(wsi))
            break;
    }
    if (client_queue_peek(c)) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->closing) {
        if (s->in_too_long)
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                             (unsigned char *)"request too long", 16);
        return -1;
    }
    return 0;
}

/* Called before the loop sleeps, as TCP clients are written then: ask for
 * a writeable callback and service it now (lws_service_fd, the API for a
 * poll that is not libwebsockets' own) rather than a loop turn later. A
 * socket that is not writable after all keeps the rest for the next
 * POLLOUT, as libwebsockets does for any partial write. The callback may
 * close the connection, and with it free c. */
void web_client_flush(struct client *c)
{
    struct web_session *s = c->ws;
    if (!s || !s->wsi || !(c->q_count || c->closing || c->doomed))
        return;
    lws_callback_on_writable(s->wsi);
    struct lws_pollfd pfd = {
        .fd = lws_get_socket_fd(s->wsi), .events = LWS_POLLOUT, .revents = LWS_POLLOUT,
    };
    lws_service_fd(lws_get_context(s->wsi), &pfd);
}

void web_client_closed(struct client *c)
{
    struct web_session *s = c->ws;
    if (s)
        s->c = NULL;
    c->ws = NULL;
}

static void session_free(struct web_session *s)
{
    if (s->c)
        client_close(s->c); /* calls web_client_closed: s->c is NULL after */
    free(s->in);
    free(s->out);
    free(s->body);
    s->in = s->out = s->body = NULL;
    s->out_cap = 0;
}

static int web_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct web_session *s = user;
    struct lws_context *ctx = lws_get_context(wsi);
    struct bridge *b = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_request(wsi, s, b, in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writeable(wsi, s);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
        /* len is OpenSSL's verdict; 0 here would accept any certificate. */
        return len ? 0 : 1;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return ws_filter(wsi, b);
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(wsi, s, b);
    case LWS_CALLBACK_RECEIVE:
        ws_receive(wsi, s, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(wsi, s);
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (s)
            session_free(s);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    /* First: the protocol of an upgrade that names none, and of plain HTTP. */
    {WEB_PROTOCOL, web_callback, sizeof(struct web_session), WEB_RX_CHUNK, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* libwebsockets' own warnings and errors, in our log's format. */
static void lws_log(int level, const char *line)
{
    static const struct logger lg = {.level = LOG_WARN};
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    log_msg(&lg, level == LLL_ERR ? LOG_ERROR : LOG_WARN, "libwebsockets: %.*s", (int)n, line);
}

int web_open(struct bridge *b, char err[NET_ERR_MAX])
{
    if (!b->cfg.has_http)
        return 0;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    void *loops[1] = {b->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    const struct listen_addr *a = &b->cfg.http_listen;
    info.port = a->port;
    info.iface = a->host;
    info.protocols = protocols;
    info.foreign_loops = loops;
    info.user = b;
    info.max_http_header_data = WEB_HEADER_MAX;
    info.max_http_header_pool = 16;
    info.fd_limit_per_thread = 0;
    info.timeout_secs = 10;
    /* Security headers (CSP that allows only this origin) on every reply;
     * no SIGPIPE handler or other process-wide change: the daemon has its own. */
    info.options = LWS_SERVER_OPTION_LIBEV |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE |
                   LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (!strchr(a->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    const struct tls_cfg *t = &b->cfg.http_tls;
    if (t->enabled) {
        /* Load the files once ourselves first: libwebsockets only says that
         * it failed, this names the file and the reason. */
        char tls_err[TLS_ERR_MAX];
        struct tls_server *probe = tls_server_new(t, "http_tls", tls_err);
        if (!probe) {
            if (strlen(tls_err) >= NET_ERR_MAX)
                log_error(&b->log, "%s", tls_err); /* long paths: the whole line first */
            snprintf(err, NET_ERR_MAX, "%.*s", NET_ERR_MAX - 1, tls_err);
            return -1;
        }
        tls_server_free(probe);
        /* TLS 1.2 at least, as on json_tls; a ca asks for client
         * certificates, require_client_cert refuses a client without one. */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = t->cert;
        info.ssl_private_key_filepath = t->key;
        info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION |
                               SSL_OP_NO_RENEGOTIATION;
        if (t->ca[0]) {
            info.ssl_ca_filepath = t->ca;
            info.options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
            if (!t->require_client_cert)
                info.options |= LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED;
        }
    }
    b->web = lws_create_context(&info);
    if (!b->web) {
        snprintf(err, NET_ERR_MAX, "cannot serve HTTP on %s:%u (in use, or not an address of this "
                 "host?)", a->host, (unsigned)a->port);
        return -1;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(b->web, "default");
    int port = vh ? lws_get_vhost_listen_port(vh) : -1;
    snprintf(b->web_bound, sizeof b->web_bound, strchr(a->host, ':') ? "[%s]:%d" : "%s:%d", a->host,
             port);
    log_info(&b->log, "listening for HTTP and WebSocket on %s%s (page from %s)", b->web_bound,
             t->enabled ? " with TLS" : "", b->cfg.http_root[0] ? b->cfg.http_root : RB_WWWDIR);
    return 0;
}

void web_close(struct bridge *b)
{
    if (!b->web)
        return;
    lws_context_destroy(b->web);
    b->web = NULL;
}
