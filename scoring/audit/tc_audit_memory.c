/* The request-ID memory held in RAM: which (institution, request ID) keys were answered in the
 * last 24 h, and under which sequence number their answer is kept in the trail's responses
 * table. A key is remembered by a seeded 64-bit hash; the table gives candidates, and the
 * caller confirms one against the key stored with the answer, so a hash collision never
 * replays the wrong answer. Entries live in a ring in sequence order (oldest first), so that
 * forgetting the oldest and taking back the newest (a failed commit) are both cheap. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tc_audit_impl.h"

#define NONE UINT32_MAX
#define INITIAL_CAP 4096u

int idem_memory_init(idem_memory *m)
{
    memset(m, 0, sizeof *m);
    if (getrandom(m->seed, sizeof m->seed, 0) != (ssize_t)sizeof m->seed)
        return -1;
    pthread_mutex_init(&m->mu, NULL);
    return 0;
}

void idem_memory_free(idem_memory *m)
{
    free(m->ring);
    free(m->buckets);
    pthread_mutex_destroy(&m->mu);
    memset(m, 0, sizeof *m);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* Seeded with random bytes at start, so a client cannot choose request IDs that collide. */
uint64_t idem_memory_hash(const idem_memory *m, const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = m->seed[0] ^ (len * 0x9e3779b97f4a7c15ULL);
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = mix(h ^ v ^ m->seed[1]);
    }
    uint64_t v = 0;
    memcpy(&v, p, len);
    return mix(h ^ v ^ m->seed[1] ^ ((uint64_t)len << 56));
}

static idem_slot *slot_at(idem_memory *m, size_t i) /* i-th oldest */
{
    return &m->ring[(m->head + i) & (m->cap - 1)];
}

static uint32_t ring_index(const idem_memory *m, const idem_slot *s)
{
    return (uint32_t)(s - m->ring);
}

/* Rebuild the buckets (cap of them) over the entries, oldest first. */
static void rehash(idem_memory *m)
{
    for (size_t i = 0; i < m->cap; i++)
        m->buckets[i] = NONE;
    for (size_t i = 0; i < m->n; i++) {
        idem_slot *s = slot_at(m, i);
        uint32_t *b = &m->buckets[s->hash & (m->cap - 1)];
        s->next = *b;
        *b = ring_index(m, s);
    }
}

/* Double the ring (and the buckets), laying the entries out from index 0. */
static int grow(idem_memory *m)
{
    size_t cap = m->cap == 0 ? INITIAL_CAP : m->cap * 2;
    if (cap > (size_t)NONE)
        return -1;
    idem_slot *ring = malloc(cap * sizeof *ring);
    uint32_t *buckets = malloc(cap * sizeof *buckets);
    if (ring == NULL || buckets == NULL) {
        free(ring);
        free(buckets);
        return -1;
    }
    for (size_t i = 0; i < m->n; i++)
        ring[i] = *slot_at(m, i);
    free(m->ring);
    free(m->buckets);
    m->ring = ring;
    m->buckets = buckets;
    m->cap = cap;
    m->head = 0;
    rehash(m);
    return 0;
}

/* The sequence numbers remembered under hash, newest first, at most max. m->mu held. */
size_t idem_memory_find(idem_memory *m, uint64_t hash, uint64_t *seqs, size_t max)
{
    size_t n = 0;
    if (m->cap == 0)
        return 0;
    for (uint32_t i = m->buckets[hash & (m->cap - 1)]; i != NONE && n < max; i = m->ring[i].next)
        if (m->ring[i].hash == hash)
            seqs[n++] = m->ring[i].seq;
    return n;
}

/* Remember seq under hash (seq above every one remembered). m->mu held. */
int idem_memory_add(idem_memory *m, uint64_t hash, uint64_t seq, int64_t time_us)
{
    if (m->n == m->cap && grow(m) != 0)
        return -1;
    idem_slot *s = slot_at(m, m->n);
    uint32_t *b = &m->buckets[hash & (m->cap - 1)];
    s->hash = hash;
    s->seq = seq;
    s->time_us = time_us;
    s->next = *b;
    *b = ring_index(m, s);
    m->n++;
    return 0;
}

static void unlink_slot(idem_memory *m, idem_slot *s)
{
    uint32_t me = ring_index(m, s);
    for (uint32_t *p = &m->buckets[s->hash & (m->cap - 1)]; *p != NONE; p = &m->ring[*p].next)
        if (*p == me) {
            *p = s->next;
            return;
        }
}

/* Forget the entries remembered before before_us, oldest first. m->mu held. */
void idem_memory_expire(idem_memory *m, int64_t before_us)
{
    while (m->n > 0 && slot_at(m, 0)->time_us < before_us) {
        unlink_slot(m, slot_at(m, 0));
        m->head = (m->head + 1) & (m->cap - 1);
        m->n--;
    }
}

/* Take back the entries of sequence from_seq and later (a commit that failed). m->mu held. */
void idem_memory_rollback(idem_memory *m, uint64_t from_seq)
{
    while (m->n > 0 && slot_at(m, m->n - 1)->seq >= from_seq) {
        unlink_slot(m, slot_at(m, m->n - 1));
        m->n--;
    }
}
