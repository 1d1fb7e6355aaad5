/* web.h - http_listen: the operator page, the JSON API over WebSocket (/ws)
 * and Prometheus metrics (/metrics), on one port (interface 1.1 F).
 *
 * HTTP and WebSocket are libwebsockets', on the daemon's own libev loop
 * (a foreign loop: no second thread, no second poll). The page is a fixed
 * set of static files under the http_root directory (default RB_WWWDIR,
 * PREFIX/share/rapidbridge/www); nothing else on disk is ever served.
 *
 * /ws: each WebSocket connection is one struct client (client.h) with fd -1:
 * text messages in are requests, one whole JSON object each; replies and
 * stream messages go out one per text message, through the client's own
 * queue, so the hub, the limits and the slow-client policy are those of TCP
 * clients. A message over CLIENT_LINE_MAX bytes gets ERROR line_too_long and
 * the connection is closed with status 1009; a binary message gets ERROR
 * bad_request. Upgrades anywhere but /ws are refused (HTTP 403). Over
 * limits.max_clients: HTTP 503 to the upgrade.
 *
 * http_tls: the port speaks only TLS (libwebsockets' OpenSSL, TLS 1.2 at
 * least), the files checked first with tls_server_new for a clear error. A
 * verified client certificate's CN (tls_verified_cn, tls.h) makes a /ws
 * client and a /metrics request cert:CN. The files are read at start only.
 *
 * Ownership: web_open starts the context, web_close destroys it (closing
 * every WebSocket client); both do nothing when http_listen is not set.
 */
#ifndef RB_WEB_H
#define RB_WEB_H

#include "net.h"

struct bridge;
struct client;

#define WEB_HEADER_MAX 4096     /* bytes of request headers libwebsockets keeps */
#define WEB_TOKEN_MAX 512       /* an Authorization: Bearer token, longer is refused */
#define WEB_RX_CHUNK 16384      /* bytes libwebsockets hands over per receive */

int web_open(struct bridge *b, char err[NET_ERR_MAX]);
void web_close(struct bridge *b);

/* client.c calls these for WebSocket clients (fd -1): the client has output
 * (or must close); the client is being freed. */
void web_client_flush(struct client *c);
void web_client_closed(struct client *c);

#endif
