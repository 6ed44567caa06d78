/* chase — the latency of one dependent random memory access on this machine, for context
 * beside the store figures: a lookup in a database of gigabytes is a chain of such accesses
 * (one per B-tree level below the cached top, plus the record), so no lookup can be faster
 * than a few of them.
 *
 * A pointer chase: one 64-byte node per cache line over --mb megabytes, linked in a single
 * random cycle (Sattolo's algorithm), so each load's address depends on the previous load and
 * neither the prefetcher nor out-of-order execution can overlap them. Pages are touched before
 * timing. Prints JSON: the size and the mean nanoseconds per access over --steps accesses.
 *
 *   chase [--mb N] [--steps N]      defaults 2048 MB, 20 M steps
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct node {
    struct node *next;
    char pad[64 - sizeof(struct node *)];
} node;

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long mb = 2048, steps = 20000000;
    static const struct option opts[] = {{"mb", required_argument, NULL, 'm'},
                                         {"steps", required_argument, NULL, 's'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mb = atol(optarg);
            break;
        case 's':
            steps = atol(optarg);
            break;
        default:
            fprintf(stderr, "usage: chase [--mb N] [--steps N]\n");
            return 2;
        }
    }
    if (mb < 1 || steps < 1) {
        fprintf(stderr, "usage: chase [--mb N] [--steps N]\n");
        return 2;
    }
    size_t n = (size_t)mb * 1024 * 1024 / sizeof(node);
    node *nodes = malloc(n * sizeof *nodes);
    size_t *order = malloc(n * sizeof *order);
    if (nodes == NULL || order == NULL) {
        fprintf(stderr, "chase: out of memory for %ld MB\n", mb);
        return 1;
    }
    memset(nodes, 0, n * sizeof *nodes);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n - 1; i > 0; i--) { /* Sattolo: one cycle through every node */
        size_t j = (size_t)(rnd() % i);
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        nodes[order[i]].next = &nodes[order[(i + 1) % n]];
    free(order);
    node *p = &nodes[0];
    for (long i = 0; i < steps / 4; i++) /* warm the TLB and caches as far as they go */
        p = p->next;
    double t0 = now_ns();
    for (long i = 0; i < steps; i++)
        p = p->next;
    double ns = (now_ns() - t0) / (double)steps;
    printf("{\"mb\": %ld, \"steps\": %ld, \"ns_per_access\": %.1f, \"end\": %d}\n", mb, steps, ns,
           p == NULL);
    free(nodes);
    return 0;
}
