/* net.h - the socket chores shared by the robot and client listeners.
 *
 * Everything is non-blocking and close-on-exec. Errors come back as -1 with
 * a sentence in err; the caller decides whether that is fatal.
 */
#ifndef RB_NET_H
#define RB_NET_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX 64   /* "[v6 address]:port" */
#define NET_ERR_MAX 160

/* Bind and listen on addr; *bound gets the real "host:port" (port 0 resolved). */
int net_listen(const struct listen_addr *addr, char bound[ADDR_TEXT_MAX], char err[NET_ERR_MAX]);

/* Hold a spare descriptor (/dev/null) in *spare_fd unless it already holds
 * one (>= 0). Returns 0, or -1 with errno when it cannot be opened. */
int net_spare_reserve(int *spare_fd);

/* Accept one connection. Returns the fd, or -1 with errno (EAGAIN: no more).
 * When the process is out of descriptors, the pending connection is
 * accepted and closed at once with the spare descriptor, so a full fd table
 * does not leave the listener ready forever. A spare that could not be
 * opened again afterwards is retried at every later call. */
int net_accept(int listen_fd, int *spare_fd, struct sockaddr_storage *sa);

/* "127.0.0.1:5555", "[::1]:5555"; with_port false gives the address alone. */
void net_format(const struct sockaddr_storage *sa, bool with_port, char out[ADDR_TEXT_MAX]);

/* Does the connection come from this numeric address (IPv4 or IPv6, any
 * spelling; an IPv4-mapped IPv6 address, on either side, matches its IPv4
 * form)? */
bool net_peer_matches(const struct sockaddr_storage *sa, const char *numeric);

/* A host address without port, normalised for comparing and hashing: an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is folded to IPv4, so one host
 * has one key however it reached a listener. Unused bytes are zero, so two
 * keys compare equal with memcmp. family 0: not an IP address (Unix socket). */
struct net_addr {
    unsigned char family;      /* AF_INET, AF_INET6 or 0 */
    unsigned char bytes[16];   /* IPv4: the first 4 */
};

void net_addr_of(const struct sockaddr_storage *sa, struct net_addr *out);
/* From numeric text; -1 when it is neither an IPv4 nor an IPv6 address. */
int net_addr_parse(const char *numeric, struct net_addr *out);
bool net_addr_equal(const struct net_addr *a, const struct net_addr *b);

/* Cap the kernel's send buffer for fd. */
void net_sndbuf(int fd, int bytes);

/* TCP_NODELAY, and for robot links keepalive probes after idle_s seconds. */
void net_tune(int fd, int keepalive_idle_s);

#endif
