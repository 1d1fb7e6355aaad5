/* peers.c - per-address counters (see peers.h). */
#include "peers.h"

#include "bridge.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static uint64_t hash(const struct peers *p, const struct net_addr *a)
{
    /* FNV-1a, seeded: the seed keeps the probe chains unpredictable. */
    uint64_t h = UINT64_C(14695981039346656037) ^ p->seed;
    h = (h ^ a->family) * UINT64_C(1099511628211);
    for (size_t i = 0; i < sizeof a->bytes; i++)
        h = (h ^ a->bytes[i]) * UINT64_C(1099511628211);
    return h ^ (h >> 32);
}

static bool slot_free(const struct peer_entry *e)
{
    for (int k = 0; k < PEER_KINDS; k++)
        if (e->n[k])
            return false;
    return true;
}

/* The slot holding a, or the free slot where it would go. cap > 0. */
static size_t find(const struct peers *p, const struct net_addr *a)
{
    size_t mask = p->cap - 1;
    size_t i = (size_t)hash(p, a) & mask;
    while (!slot_free(&p->slots[i]) && !net_addr_equal(&p->slots[i].addr, a))
        i = (i + 1) & mask;
    return i;
}

static bool grow(struct peers *p)
{
    if (!p->seed && getrandom(&p->seed, sizeof p->seed, GRND_NONBLOCK) != sizeof p->seed)
        p->seed = (uint64_t)(uintptr_t)p ^ UINT64_C(0x9e3779b97f4a7c15);
    size_t cap = p->cap ? p->cap * 2 : PEERS_SLOTS_MIN;
    struct peer_entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    struct peers bigger = {slots, cap, 0, p->seed};
    for (size_t i = 0; i < p->cap; i++)
        if (!slot_free(&p->slots[i]))
            bigger.slots[find(&bigger, &p->slots[i].addr)] = p->slots[i];
    bigger.used = p->used;
    free(p->slots);
    *p = bigger;
    return true;
}

bool peers_add(struct peers *p, const struct net_addr *a, enum peer_kind kind, unsigned limit)
{
    if (a->family == 0)
        return true;
    if (p->cap) {
        struct peer_entry *e = &p->slots[find(p, a)];
        if (!slot_free(e)) {
            if (e->n[kind] >= limit)
                return false;
            e->n[kind]++;
            return true;
        }
    }
    if (limit == 0)
        return false;
    if ((p->used + 1) * 2 > p->cap && !grow(p))
        return false;
    struct peer_entry *e = &p->slots[find(p, a)];
    e->addr = *a;
    e->n[kind] = 1;
    p->used++;
    return true;
}

void peers_remove(struct peers *p, const struct net_addr *a, enum peer_kind kind)
{
    if (a->family == 0 || !p->cap)
        return;
    size_t mask = p->cap - 1;
    size_t i = find(p, a);
    struct peer_entry *e = &p->slots[i];
    if (slot_free(e) || !e->n[kind])
        return; /* not counted: a caller's bug, but never an underflow */
    e->n[kind]--;
    if (!slot_free(e))
        return;
    p->used--;
    /* Backward-shift deletion: move later entries of the chain into the
     * hole, so lookups never need tombstones. */
    for (size_t j = (i + 1) & mask; !slot_free(&p->slots[j]); j = (j + 1) & mask) {
        size_t home = (size_t)hash(p, &p->slots[j].addr) & mask;
        /* Move j to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        p->slots[i] = p->slots[j];
        memset(&p->slots[j], 0, sizeof p->slots[j]);
        i = j;
    }
}

unsigned peers_count(const struct peers *p, const struct net_addr *a, enum peer_kind kind)
{
    if (!p->cap)
        return 0;
    const struct peer_entry *e = &p->slots[find(p, a)];
    return slot_free(e) ? 0 : e->n[kind];
}

void peers_free(struct peers *p)
{
    free(p->slots);
    memset(p, 0, sizeof *p);
}

static bool admit(struct bridge *b, const struct sockaddr_storage *sa, enum peer_kind kind,
                  unsigned limit)
{
    struct net_addr a;
    net_addr_of(sa, &a);
    return peers_add(&b->peers, &a, kind, limit);
}

static void release(struct bridge *b, const struct sockaddr_storage *sa, enum peer_kind kind)
{
    struct net_addr a;
    net_addr_of(sa, &a);
    peers_remove(&b->peers, &a, kind);
}

bool peers_admit_client(struct bridge *b, const struct sockaddr_storage *sa)
{
    return admit(b, sa, PEER_CLIENT, b->cfg.limits.max_clients_per_address);
}

void peers_release_client(struct bridge *b, const struct sockaddr_storage *sa)
{
    release(b, sa, PEER_CLIENT);
}

bool peers_admit_pending(struct bridge *b, const struct sockaddr_storage *sa)
{
    return admit(b, sa, PEER_PENDING, b->cfg.limits.max_pending_per_address);
}

void peers_release_pending(struct bridge *b, const struct sockaddr_storage *sa)
{
    release(b, sa, PEER_PENDING);
}
