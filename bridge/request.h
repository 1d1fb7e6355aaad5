/* request.h - one client request line -> one reply (or a later ACK).
 *
 * The line is a JSON object with "cmd" and an optional "id" that every
 * reply echoes. Unknown members are ignored. Whitespace-only lines are
 * skipped. Every problem becomes an ERROR reply with the contract's code;
 * the connection stays open.
 */
#ifndef RB_REQUEST_H
#define RB_REQUEST_H

#include "client.h"

#include <stddef.h>

void request_handle(struct client *c, const char *line, size_t len);

#endif
