/* load_sort — rows into key order, duplicates, and the consent each citizen needs. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"
#include "tc_id.h"
#include "tc_record.h"
#include "tc_time.h"

/* ---- sorting and cross-row checks ---- */

/* Sorting 100-byte entries by key directly would chase scattered memory on every comparison;
 * sorting compact (key prefix, index) pairs keeps the sort in cache. */
typedef struct sort_pair {
    uint64_t prefix; /* first 8 key bytes, big-endian, so integer order is byte order */
    uint32_t idx;
} sort_pair;

static const unsigned char *sort_base;
static size_t sort_stride;

#define PREFETCH_AHEAD 16 /* entries: about the misses a core keeps in flight */

/* Keys are HMAC outputs, so their first 8 bytes are spread evenly and almost never tie: an LSD
 * radix sort on them (8 passes of a byte, stable, so file order holds among equal prefixes)
 * orders n pairs in linear time, and only the rare runs of equal prefixes need a full
 * comparison (sort_ties; qsort with an indirect call per comparison took most of a load's
 * sort). */
static int radix_sort(sort_pair *pairs, size_t n)
{
    sort_pair *tmp = malloc((n + 1) * sizeof *tmp), *from = pairs, *to = tmp;
    if (tmp == NULL)
        return TC_ENOMEM;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((from[i].prefix >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            to[count[(from[i].prefix >> shift) & 0xff]++] = from[i];
        sort_pair *t = from;
        from = to;
        to = t;
    }
    /* eight passes: the result is back in pairs */
    free(tmp);
    return TC_OK;
}

/* Order with cmp each run of items (n of them, size bytes each, in the order of the sorted
 * pairs) whose pairs have equal prefixes. */
static void sort_ties(const sort_pair *pairs, size_t n, void *items, size_t size,
                      int (*cmp)(const void *, const void *))
{
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && pairs[j].prefix == pairs[i].prefix; j++) {
        }
        if (j - i > 1)
            qsort((char *)items + i * size, j - i, size, cmp);
    }
}

static int cmp_pair(const void *a, const void *b)
{
    const sort_pair *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    int c = memcmp(sort_base + (size_t)x->idx * sort_stride,
                   sort_base + (size_t)y->idx * sort_stride, TC_CITIZEN_KEY_LEN);
    return c != 0 ? c : (x->idx > y->idx) - (x->idx < y->idx); /* file order among equals */
}

const unsigned char *load_consent_entry(const load *L, size_t i)
{
    return L->consent_arena.data + L->consent_off[i];
}

/* Consent entries in key order, then line order. */
static int cmp_consent_entries(const unsigned char *x, const unsigned char *y)
{
    size_t lx = x[4], ly = y[4];
    int c = memcmp(x + CE_HDR, y + CE_HDR, lx < ly ? lx : ly);
    if (c != 0)
        return c;
    if (lx != ly)
        return (lx > ly) - (lx < ly);
    uint32_t nx, ny;
    memcpy(&nx, x, 4);
    memcpy(&ny, y, 4);
    return (nx > ny) - (nx < ny);
}

static uint32_t entry_line(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Both rows of a duplicate pair are rejected: the file cannot say which one is right. */
static int duplicate(load *L, const char *file, long line, long other, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof msg, "duplicate %s, also on line %ld: both rows rejected", what, other);
    return load_reject(L, file, line, 0, msg);
}

static uint64_t key_prefix(const unsigned char *k)
{
    uint64_t p = 0;
    for (int b = 0; b < 8; b++)
        p = p << 8 | k[b];
    return p;
}

static const unsigned char *consent_base;

static int cmp_consent_at(const void *a, const void *b) /* offsets into consent_base */
{
    return cmp_consent_entries(consent_base + *(const size_t *)a,
                               consent_base + *(const size_t *)b);
}

int load_sort_consents(load *L, const char *file)
{
    sort_pair *pairs = malloc((L->n_consents + 1) * sizeof *pairs);
    size_t *off = malloc((L->n_consents + 1) * sizeof *off);
    tc_buf sorted = {.first = 1u << 20};
    L->consent_rejected = calloc(L->n_consents + 1, 1);
    if (pairs == NULL || off == NULL || L->consent_rejected == NULL ||
        (tc_buf_grow(&sorted, L->consent_arena.len) == NULL && L->consent_arena.len > 0)) {
        free(pairs);
        free(off);
        free(sorted.data);
        return TC_ENOMEM;
    }
    for (size_t i = 0; i < L->n_consents; i++) {
        pairs[i].prefix = key_prefix(load_consent_entry(L, i) + CE_HDR);
        pairs[i].idx = (uint32_t)i;
    }
    /* Entries with the same prefix, nearly always one citizen's consents, are ordered after
     * they are copied next to each other below: a comparison then reads neighbouring bytes
     * instead of two random places of the arena. */
    if (radix_sort(pairs, L->n_consents) != TC_OK) {
        free(pairs);
        free(off);
        free(sorted.data);
        return TC_ENOMEM;
    }
    /* Rewrite the arena in key order: later passes then read it front to back. */
    size_t o = 0;
    for (size_t i = 0; i < L->n_consents; i++) {
        /* the entries are read in random order: ask for one well ahead, so that the cache
         * misses overlap instead of stalling the copy one after the other */
        if (i + PREFETCH_AHEAD < L->n_consents)
            __builtin_prefetch(load_consent_entry(L, pairs[i + PREFETCH_AHEAD].idx));
        const unsigned char *e = load_consent_entry(L, pairs[i].idx);
        size_t len = CE_HDR + e[4] + e[5];
        memcpy(sorted.data + o, e, len);
        off[i] = o;
        o += len;
    }
    consent_base = sorted.data;
    sort_ties(pairs, L->n_consents, off, sizeof *off, cmp_consent_at);
    free(pairs);
    free(L->consent_off);
    free(L->consent_arena.data);
    L->consent_off = off;
    L->consent_arena = sorted;
    /* Within a run of equal keys (sorted by line), every row is rejected, each naming the
     * first; the first names the second. */
    for (size_t i = 1; i < L->n_consents; i++) {
        const unsigned char *a = load_consent_entry(L, i - 1), *b = load_consent_entry(L, i);
        if (a[4] != b[4] || memcmp(a + CE_HDR, b + CE_HDR, a[4]) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 && load_consent_entry(L, first - 1)[4] == b[4] &&
               memcmp(load_consent_entry(L, first - 1) + CE_HDR, b + CE_HDR, b[4]) == 0)
            first--;
        const char *what = "consent (same citizen ID, institution and purpose)";
        if (!L->consent_rejected[first]) {
            L->consent_rejected[first] = 1;
            if (duplicate(L, file, entry_line(load_consent_entry(L, first)), entry_line(b), what))
                return TC_ENOMEM;
        }
        L->consent_rejected[i] = 1;
        if (duplicate(L, file, entry_line(b), entry_line(load_consent_entry(L, first)), what))
            return TC_ENOMEM;
    }
    return TC_OK;
}

/* Is there a consent valid at now for this citizen key among the consents being loaded? The
 * citizens are asked in key order, so *from walks the sorted consents once, in step with them
 * (one merged pass instead of a binary search per citizen). */
static int consent_in_file(const load *L, const unsigned char key[TC_CITIZEN_KEY_LEN], int64_t now,
                           size_t *from)
{
    size_t lo = *from;
    while (lo < L->n_consents &&
           memcmp(load_consent_entry(L, lo) + CE_HDR, key, TC_CITIZEN_KEY_LEN) < 0)
        lo++;
    *from = lo;
    for (; lo < L->n_consents; lo++) {
        const unsigned char *e = load_consent_entry(L, lo);
        tc_consent c;
        if (memcmp(e + CE_HDR, key, TC_CITIZEN_KEY_LEN) != 0)
            break;
        if (!L->consent_rejected[lo] &&
            tc_consent_decode(e + CE_HDR, e[4], e + CE_HDR + e[4], e[5], &c, NULL) == TC_OK &&
            tc_consent_valid_at(&c, now))
            return 1;
    }
    return 0;
}

int load_sort_population(load *L, const char *file, tc_error *err)
{
    L->pop_order = malloc((L->n_pop + 1) * sizeof *L->pop_order);
    L->pop_rejected = calloc(L->n_pop + 1, 1);
    if (L->pop_order == NULL || L->pop_rejected == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    sort_pair *pairs = malloc((L->n_pop + 1) * sizeof *pairs);
    if (pairs == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    for (size_t i = 0; i < L->n_pop; i++) {
        pairs[i].prefix = key_prefix(L->pop.data + i * L->pop_stride);
        pairs[i].idx = (uint32_t)i;
    }
    sort_base = L->pop.data;
    sort_stride = L->pop_stride;
    if (radix_sort(pairs, L->n_pop) != TC_OK) {
        free(pairs);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    sort_ties(pairs, L->n_pop, pairs, sizeof *pairs, cmp_pair);
    /* Move the entries into key order once, so the passes that follow (duplicates, consent,
     * writing) read memory front to back instead of missing the cache on every row. */
    tc_buf sorted = {.first = 1u << 20};
    if (tc_buf_grow(&sorted, L->n_pop * L->pop_stride) == NULL && L->n_pop > 0) {
        free(pairs);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < L->n_pop; i++) {
        memcpy(sorted.data + i * L->pop_stride, L->pop.data + (size_t)pairs[i].idx * L->pop_stride,
               L->pop_stride);
        L->pop_order[i] = (uint32_t)i;
    }
    free(pairs);
    free(L->pop.data);
    L->pop = sorted;
    /* Duplicates: every later row with the same key names the first one's line. */
    for (size_t i = 1; i < L->n_pop; i++) {
        const unsigned char *a = L->pop.data + (size_t)L->pop_order[i - 1] * L->pop_stride;
        const unsigned char *b = L->pop.data + (size_t)L->pop_order[i] * L->pop_stride;
        if (memcmp(a, b, TC_CITIZEN_KEY_LEN) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 && memcmp(L->pop.data + (size_t)L->pop_order[first - 1] * L->pop_stride, b,
                                   TC_CITIZEN_KEY_LEN) == 0)
            first--;
        const unsigned char *f = L->pop.data + (size_t)L->pop_order[first] * L->pop_stride;
        if (!L->pop_rejected[L->pop_order[first]]) {
            L->pop_rejected[L->pop_order[first]] = 1;
            if (duplicate(L, file, entry_line(f + PE_LINE), entry_line(b + PE_LINE),
                          "citizen ID") != TC_OK)
                return tc_errorf(err, TC_ENOMEM, "out of memory");
        }
        L->pop_rejected[L->pop_order[i]] = 1;
        if (duplicate(L, file, entry_line(b + PE_LINE), entry_line(f + PE_LINE), "citizen ID") !=
            TC_OK)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    /* Attributes are kept only for citizens who consent now: a consent valid today, loaded
     * before or in this run. A lapsed or revoked consent does not let new data in. */
    int64_t now = tc_time_now();
    size_t walk = 0;
    for (size_t i = 0; i < L->n_pop; i++) {
        uint32_t idx = L->pop_order[i];
        if (L->pop_rejected[idx])
            continue;
        const unsigned char *e = L->pop.data + (size_t)idx * L->pop_stride;
        if (consent_in_file(L, e, now, &walk) || tc_reader_has_consent(L->reader, e, now))
            continue;
        L->pop_rejected[idx] = 1;
        if (load_reject(L, file, entry_line(e + PE_LINE), 0,
                        "the citizen has no consent valid now (load their consent first, or in "
                        "the same run with --consents)") != TC_OK)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    return TC_OK;
}
