/* peers.h - per-address counters, so that one host cannot take every slot.
 *
 * Counts, per host address, the JSON clients (TCP, TLS and WebSocket
 * together) and the robot connections that have not sent HI yet; a new one
 * is admitted while its address holds fewer than limits.max_clients_per_address
 * and limits.max_pending_per_address (interface 1.1, section E). Addresses
 * are keyed normalised (net_addr_of: IPv4-mapped IPv6 folded to IPv4); an
 * address that is not IP (a Unix socket) is always admitted and not counted,
 * but a Unix listener simply does not call these.
 *
 * Contract for every transport: call peers_admit_*() once at accept; when it
 * returns true, call the matching peers_release_*() exactly once when that
 * connection ends (a pending robot connection also when HI promotes it).
 * When it returns false, refuse the connection and release nothing.
 *
 * The table: open addressing with linear probing, a per-process random
 * hash seed (a host with many addresses cannot aim at one chain), entries
 * removed when both counts reach zero, so it holds at most one entry per
 * live connection; it doubles when half full (PEERS_SLOTS_MIN first).
 * Out of memory: the connection is not admitted. O(1) expected per call.
 *
 * Ownership: struct peers lives in struct bridge; peers_free() releases it.
 */
#ifndef RB_PEERS_H
#define RB_PEERS_H

#include "net.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PEERS_SLOTS_MIN 64

struct bridge;

enum peer_kind { PEER_CLIENT, PEER_PENDING, PEER_KINDS };

struct peer_entry {
    struct net_addr addr;
    unsigned n[PEER_KINDS];    /* all zero: the slot is free */
};

struct peers {
    struct peer_entry *slots;
    size_t cap;                /* a power of two, or 0 */
    size_t used;
    uint64_t seed;
};

/* The bridge's accept paths. */
bool peers_admit_client(struct bridge *b, const struct sockaddr_storage *sa);
void peers_release_client(struct bridge *b, const struct sockaddr_storage *sa);
bool peers_admit_pending(struct bridge *b, const struct sockaddr_storage *sa);
void peers_release_pending(struct bridge *b, const struct sockaddr_storage *sa);

/* The table itself (tests use it directly). peers_add admits and counts one
 * connection of this kind when the address holds fewer than limit; returns
 * false when it holds limit already, or when out of memory. */
bool peers_add(struct peers *p, const struct net_addr *a, enum peer_kind kind, unsigned limit);
void peers_remove(struct peers *p, const struct net_addr *a, enum peer_kind kind);
unsigned peers_count(const struct peers *p, const struct net_addr *a, enum peer_kind kind);
void peers_free(struct peers *p);

#endif
