/* bench_store — random lookup + decode of one citizen, warm, in a loaded database.
 *
 * usage: bench_store --db DIR --key FILE --ids population.csv [--lookups N] [--catalog FILE]
 *                    [--institution I [--purpose P]]
 *
 * Reads the citizen IDs from the population file (first column), hashes them as the service
 * does, then times lookups of citizens drawn at random from the whole database: one read
 * transaction renewed per lookup (as a worker does per request), mdb_get, tc_record_view and a
 * read of every attribute. Each lookup is timed alone; the clock's own cost, measured first, is
 * subtracted. Warm: every citizen is looked up once before timing. Prints JSON.
 *
 * With --institution, each lookup is what a Score reads instead: the consent of that institution
 * for the purpose (default loan-origination) and the record, through tc_reader_view, the
 * consent's validity tested (at its own grant time, so that nothing depends on today's date)
 * and every attribute read. Citizens without such a consent are left out.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tc_catalog.h"
#include "tc_consent.h"
#include "tc_id.h"
#include "tc_key.h"
#include "tc_store.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1));
    return sorted[i];
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;
static unsigned long long rng(void)
{
    /* xorshift64*: reproducible and cheap enough not to disturb the timing */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

typedef unsigned char citizen_key[TC_CITIZEN_KEY_LEN];

/* The keys of every citizen ID in the file (its header skipped), or NULL. */
static citizen_key *read_keys(const char *path, tc_hasher *h, size_t *n_out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    citizen_key *keys = malloc(cap * sizeof *keys);
    char *line = NULL;
    size_t lcap = 0;
    while (keys != NULL && getline(&line, &lcap, f) > 0) {
        if (tc_id_parse(line, 12, 0, NULL, NULL) != TC_OK)
            continue; /* header */
        if (n == cap) {
            citizen_key *more = realloc(keys, (cap *= 2) * sizeof *keys);
            if (more == NULL) {
                free(keys);
                keys = NULL;
                break;
            }
            keys = more;
        }
        tc_hasher_citizen(h, line, keys[n++]);
    }
    fclose(f);
    free(line);
    if (keys == NULL)
        fprintf(stderr, "bench_store: out of memory reading %s\n", path);
    *n_out = n;
    return keys;
}

/* One timed lookup (in a transaction begun by the caller): the record, or with an institution
 * what a Score reads. 1 with *rec set, or 0 for a miss. */
static int lookup(tc_reader *r, const unsigned char *key, const char *institution,
                  const char *purpose, tc_record *rec)
{
    if (institution == NULL)
        return tc_reader_citizen(r, key, rec, NULL) == TC_OK;
    tc_citizen_view v;
    if (tc_reader_view(r, key, institution, purpose, &v, NULL) != TC_OK || !v.has_consent ||
        v.record_rc != TC_OK || !tc_consent_valid_at(&v.consent, v.consent.granted_at))
        return 0;
    *rec = v.record;
    return 1;
}

/* Warm the map with every citizen once, keeping the keys of those present (lapsed consents
 * were not loaded) at the front; how many there are. */
static size_t keep_present(tc_reader *r, citizen_key *keys, size_t n, const char *institution,
                           const char *purpose)
{
    size_t present = 0;
    for (size_t i = 0; i < n; i++) {
        tc_record rec;
        tc_reader_begin(r, NULL);
        if (lookup(r, keys[i], institution, purpose, &rec))
            memmove(keys[present++], keys[i], TC_CITIZEN_KEY_LEN);
        tc_reader_end(r);
    }
    return present;
}

int main(int argc, char **argv)
{
    const char *db = NULL, *keyfile = NULL, *ids = NULL;
    const char *catalog = TC_MODELS_DIR "/catalog.json";
    const char *institution = NULL, *purpose = "loan-origination";
    long lookups = 1000000;
    int one_txn = 0; /* keep one snapshot for all lookups: shows the cost of renewing it */
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"ids", required_argument, NULL, 'i'},
                                         {"lookups", required_argument, NULL, 'n'},
                                         {"catalog", required_argument, NULL, 'c'},
                                         {"one-txn", no_argument, NULL, 'o'},
                                         {"institution", required_argument, NULL, 'I'},
                                         {"purpose", required_argument, NULL, 'P'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'i': ids = optarg; break;
        case 'n': lookups = atol(optarg); break;
        case 'c': catalog = optarg; break;
        case 'o': one_txn = 1; break;
        case 'I':
            institution = optarg;
            break;
        case 'P':
            purpose = optarg;
            break;
        default: return 2;
        }
    }
    if (db == NULL || keyfile == NULL || ids == NULL || lookups < 1) {
        fprintf(stderr, "usage: bench_store --db DIR --key FILE --ids population.csv "
                        "[--lookups N] [--institution I [--purpose P]]\n");
        return 2;
    }
    tc_error err = {0};
    tc_catalog *cat = NULL;
    tc_key *key = NULL;
    tc_store *store = NULL;
    tc_hasher *h = NULL;
    tc_reader *r = NULL;
    if (tc_catalog_load(catalog, &cat, &err) || tc_key_load(keyfile, &key, &err) ||
        tc_hasher_new(key, &h, &err)) {
        fprintf(stderr, "bench_store: %s\n", err.msg);
        return 1;
    }
    tc_store_options so = {.path = db, .catalog = cat, .key = key, .read_only = 1};
    if (tc_store_open(&so, &store, &err) || tc_reader_new(store, &r, &err)) {
        fprintf(stderr, "bench_store: %s\n", err.msg);
        return 1;
    }
    size_t n = 0;
    citizen_key *keys = read_keys(ids, h, &n);
    if (keys == NULL)
        return 1;
    size_t present = keep_present(r, keys, n, institution, purpose);
    double sink = 0;
    if (present == 0) {
        fprintf(stderr, "bench_store: none of the IDs is in the database\n");
        return 1;
    }
    /* the clock's own cost */
    double *t = malloc((size_t)lookups * sizeof *t);
    for (long i = 0; i < lookups; i++) {
        double a = now_ns();
        t[i] = now_ns() - a;
    }
    qsort(t, (size_t)lookups, sizeof *t, cmp_double);
    double clock_ns = percentile(t, (size_t)lookups, 0.5);
    size_t misses = 0;
    if (one_txn)
        tc_reader_begin(r, NULL);
    for (long i = 0; i < lookups; i++) {
        size_t k = (size_t)(rng() % present);
        double a = now_ns();
        tc_record rec;
        if (!one_txn)
            tc_reader_begin(r, NULL);
        if (lookup(r, keys[k], institution, purpose, &rec)) {
            for (size_t j = 0; j < cat->n_attrs; j++)
                sink += tc_record_get(&rec, j).v;
        } else {
            misses++;
        }
        if (!one_txn)
            tc_reader_end(r);
        t[i] = now_ns() - a - clock_ns;
    }
    if (one_txn)
        tc_reader_end(r);
    qsort(t, (size_t)lookups, sizeof *t, cmp_double);
    tc_store_stats st;
    tc_store_stats_get(store, &st, NULL);
    printf("{\"read\": \"%s\", \"format\": %d, \"one_txn\": %s, \"citizens\": %zu, \"lookups\": "
           "%ld, \"misses\": %zu, \"depth\": %u, "
           "\"bytes_per_citizen\": %.1f, \"clock_ns\": %.1f, \"p50_ns\": %.1f, "
           "\"p90_ns\": %.1f, \"p99_ns\": %.1f, \"sink\": %g}\n",
           institution != NULL ? "score" : "record", st.format, one_txn ? "true" : "false",
           st.citizens, lookups, misses, st.citizens_depth,
           (double)(st.citizens_pages * st.page_size) / (double)st.citizens, clock_ns,
           percentile(t, (size_t)lookups, 0.5), percentile(t, (size_t)lookups, 0.9),
           percentile(t, (size_t)lookups, 0.99), sink);
    free(t);
    free(keys);
    tc_reader_free(r);
    tc_store_close(store);
    tc_hasher_free(h);
    tc_key_free(key);
    tc_catalog_free(cat);
    return 0;
}
