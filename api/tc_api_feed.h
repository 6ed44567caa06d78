/* tc_api_feed — the consent feed: consent events (tinchap.v1.ConsentEvent) through a Redis
 * stream, consumed by every tinchapd node and published by any node's Steward API.
 *
 * The broker is Redis (Streams, hiredis), run with appendonly yes and appendfsync always, so
 * that an entry it acknowledged survives its restart. One stream carries every event in one
 * total order. Each node reads it with XREAD from the position it last committed, applies each
 * entry to its database (tc_events.h: by version, idempotent, a late older grant never undoes a
 * newer revocation) and commits the new position in the same LMDB transaction: a node killed at
 * any point resumes after the last entry it committed, without loss or double effect. Nodes keep
 * no state on the broker (no consumer group): any number of them can read, and a replica started
 * from a snapshot resumes at the snapshot's position.
 *
 * Fail closed: a node knows when it last saw the end of the stream (a read that returned less
 * than a full batch, or nothing before its block timeout). Its lag is the time since then. While
 * the lag is past consent_max_lag_ms — broker unreachable, consumer stuck, a backlog still being
 * applied, or the node never caught up since it started — tc_api_feed_current is 0: health says
 * NOT_SERVING and Score answers UNAVAILABLE, so balancers and clients go to a current replica.
 * Once it has caught up again it serves again by itself. A stream that no longer holds the
 * entries after this node's position (trimmed past it, or a broker that lost its data and
 * restarted lower) is a gap the node cannot fill: it stays behind, says why, and needs a fresh
 * snapshot. A broker that refuses to say (LOADING its append-only file after a restart) is not
 * a gap: the node reconnects and checks again.
 *
 * Threads: one consumer thread per node, started by tc_api_feed_start; publish may be called
 * from any worker (one connection, under a mutex); the state functions read atomics.
 */
#ifndef TC_API_FEED_H
#define TC_API_FEED_H

#include <stdint.h>
#include <stdio.h>

#include "tc_api_log.h"
#include "tc_error.h"
#include "tc_events.h"
#include "tc_key.h"
#include "tc_store.h"

/* Entries read per XREAD; the consumer's block timeout (its idle heartbeat). */
#define TC_API_FEED_BATCH 1000
#define TC_API_FEED_BLOCK_MS 100

typedef struct tc_api_feed tc_api_feed;

typedef struct tc_api_feed_options {
    const char *redis;         /* "host:port", or "unix:PATH" */
    const char *stream;        /* the stream's key */
    const char *origin;        /* this node's name in events it publishes ("" = host name) */
    const char *user;          /* the broker's ACL user ("" or NULL: Redis's default user) */
    const char *password_file; /* "" or NULL: no AUTH; else a file of mode 0600 or stricter */
    unsigned retain;           /* entries the stream keeps, about (XADD MAXLEN ~) */
    unsigned max_lag_ms;       /* consent_max_lag_ms */
    tc_store *store;           /* borrowed: outlives the feed */
    const tc_key *key;         /* borrowed: protects consent references that hold an ID */
    tc_api_log *log;           /* borrowed */
    void (*state_changed)(void *arg); /* called on the consumer thread when current changes */
    void *state_arg;
} tc_api_feed_options;

/* Open the feed's tables in the store (before any reader or writer of it exists). Connects to
 * nothing yet. */
int tc_api_feed_open(const tc_api_feed_options *opt, tc_api_feed **out, tc_error *err);

/* Start / stop the consumer thread. stop joins it (within about a block timeout). */
int tc_api_feed_start(tc_api_feed *f, tc_error *err);
void tc_api_feed_close(tc_api_feed *f);

/* The events module, for the Steward API to apply what it publishes in its own transaction. */
tc_events *tc_api_feed_events(tc_api_feed *f);

/* Publish one event (validated first): XADD, acknowledged by the broker. pos (may be NULL,
 * TC_EVENT_POSITION_MAX + 1 bytes) receives its stream ID. TC_EIO when the broker is
 * unreachable or refuses it: nothing was published then. */
int tc_api_feed_publish(tc_api_feed *f, const tc_event *e, char *pos, tc_error *err);

/* 1 while the node is within max_lag_ms of the feed; lag_ms (may be NULL) receives the lag. */
int tc_api_feed_current(tc_api_feed *f, int64_t *lag_ms);

/* The feed's Prometheus metrics (tinchap_consent_*). */
void tc_api_feed_metrics(tc_api_feed *f, FILE *out);

#endif
