/* The consent feed over Redis Streams (see tc_api_feed.h). */
#include "tc_api_feed.h"
#include "tc_api_broker.h"
#include "tc_api_event.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis.h>

#include "tc_json.h"
#include "tc_time.h"

#define PUBLISH_TIMEOUT_MS 1000
#define RETRY_PAUSE_MS 200 /* between attempts to reach an unreachable broker */
#define ERROR_LOG_EVERY_US 1000000

struct tc_api_feed {
    tc_api_broker broker;
    char stream[128];
    char origin[64];
    unsigned retain, max_lag_ms;
    tc_store *store;
    tc_events *events;
    tc_hasher *hasher; /* the consumer thread's */
    tc_api_log *log;
    void (*state_changed)(void *arg);
    void *state_arg;
    pthread_t thread;
    int running;
    atomic_int stop;
    int64_t started_us;
    _Atomic int64_t caught_up_us; /* when the node last saw the end of the stream (0: never) */
    atomic_int gap;               /* the stream lost entries this node never applied */
    int current;                  /* the consumer's last notified state */
    int64_t error_logged_us;      /* the consumer's */
    atomic_uint_fast64_t applied, stale, rejected, broker_errors, published;
    char position[TC_EVENT_POSITION_MAX + 1];       /* the consumer's */
    atomic_uint_fast64_t position_ms, position_seq; /* the same, for the metrics */
    pthread_mutex_t pub_mu;
    redisContext *pub;
};

int tc_api_feed_open(const tc_api_feed_options *opt, tc_api_feed **out, tc_error *err)
{
    int rc;
    tc_api_feed *f = calloc(1, sizeof *f);
    if (f == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    snprintf(f->stream, sizeof f->stream, "%s", opt->stream);
    if (opt->origin != NULL && opt->origin[0] != '\0')
        snprintf(f->origin, sizeof f->origin, "%s", opt->origin);
    else if (gethostname(f->origin, sizeof f->origin) != 0)
        snprintf(f->origin, sizeof f->origin, "tinchapd");
    f->origin[sizeof f->origin - 1] = '\0';
    f->retain = opt->retain;
    f->max_lag_ms = opt->max_lag_ms;
    f->store = opt->store;
    f->log = opt->log;
    f->state_changed = opt->state_changed;
    f->state_arg = opt->state_arg;
    f->started_us = tc_time_now_us();
    pthread_mutex_init(&f->pub_mu, NULL);
    if ((rc = tc_api_broker_init(&f->broker, opt->redis, opt->user, opt->password_file, err)) !=
        TC_OK)
        goto fail;
    if ((rc = tc_events_open(opt->store, &f->events, err)) != TC_OK ||
        (rc = tc_hasher_new(opt->key, &f->hasher, err)) != TC_OK)
        goto fail;
    *out = f;
    return TC_OK;
fail:
    tc_api_feed_close(f);
    return rc;
}

tc_events *tc_api_feed_events(tc_api_feed *f)
{
    return f->events;
}

/* ---- state ---- */

int tc_api_feed_current(tc_api_feed *f, int64_t *lag_ms)
{
    int64_t now = tc_time_now_us(), cu = atomic_load(&f->caught_up_us);
    int64_t lag = (now - (cu != 0 ? cu : f->started_us)) / 1000;
    if (lag < 0)
        lag = 0;
    if (lag_ms != NULL)
        *lag_ms = lag;
    return cu != 0 && !atomic_load(&f->gap) && lag <= (int64_t)f->max_lag_ms;
}

/* Consumer thread: log and announce a change of state (health watchers learn it at once). */
static void check_state(tc_api_feed *f)
{
    int64_t lag;
    int now = tc_api_feed_current(f, &lag);
    if (now == f->current)
        return;
    f->current = now;
    char fields[128];
    snprintf(fields, sizeof fields, "\"lag_ms\":%lld,\"max_lag_ms\":%u", (long long)lag,
             f->max_lag_ms);
    tc_api_log_event(f->log, now ? "info" : "error",
                     now ? "consent_feed_current" : "consent_feed_behind", fields);
    if (f->state_changed != NULL)
        f->state_changed(f->state_arg);
}

static void broker_error(tc_api_feed *f, const char *what, const char *detail)
{
    atomic_fetch_add(&f->broker_errors, 1);
    int64_t now = tc_time_now_us();
    if (now - f->error_logged_us < ERROR_LOG_EVERY_US)
        return;
    f->error_logged_us = now;
    tc_api_log_eventf(f->log, "error", "consent_feed_error", "error", "%s (%s:%d, stream %s): %s",
                      what, f->broker.host, f->broker.port, f->stream, detail);
}

/* ---- publishing ---- */

int tc_api_feed_publish(tc_api_feed *f, const tc_event *e, char *pos, tc_error *err)
{
    unsigned char buf[TC_API_EVENT_MAX_BYTES];
    int rc = tc_event_validate(e, err);
    if (rc != TC_OK)
        return rc;
    size_t len = tc_api_event_encode(e, f->origin, buf, sizeof buf);
    if (len == 0)
        return tc_errorf(err, TC_EINVAL, "the event does not encode in %d bytes",
                         TC_API_EVENT_MAX_BYTES);
    const char *why = "no reply";
    char retain[16];
    snprintf(retain, sizeof retain, "%u", f->retain);
    rc = TC_EIO;
    pthread_mutex_lock(&f->pub_mu);
    /* A second attempt on a new connection when the one kept from an earlier publish failed:
     * the broker may have restarted since. Not when connecting fails: the caller (a worker,
     * holding the database's write lock) waits at most a connect timeout for an unreachable
     * broker. Publishing an event twice is harmless (its version makes the copy stale). */
    for (int attempt = 0; attempt < 2 && rc != TC_OK; attempt++) {
        if (f->pub == NULL &&
            (f->pub = tc_api_broker_connect(&f->broker, PUBLISH_TIMEOUT_MS, &why)) == NULL)
            break;
        redisReply *r =
            redisCommand(f->pub, "XADD %s MAXLEN ~ %s * event %b", f->stream, retain, buf, len);
        if (r != NULL && r->type == REDIS_REPLY_STRING && r->len <= TC_EVENT_POSITION_MAX) {
            if (pos != NULL)
                snprintf(pos, TC_EVENT_POSITION_MAX + 1, "%s", r->str);
            rc = TC_OK;
        } else if (r != NULL) {
            why = r->type == REDIS_REPLY_ERROR ? "the broker refused the entry"
                                               : "an unexpected reply";
        } else {
            why = f->pub->errstr;
        }
        if (r != NULL)
            freeReplyObject(r);
        if (rc != TC_OK) {
            redisFree(f->pub);
            f->pub = NULL;
        }
    }
    if (rc != TC_OK)
        rc = tc_errorf(err, TC_EIO, "the consent feed's broker %s:%d cannot take the event: %s",
                       f->broker.host, f->broker.port, why);
    pthread_mutex_unlock(&f->pub_mu);
    if (rc == TC_OK)
        atomic_fetch_add(&f->published, 1);
    return rc;
}

/* ---- consuming ---- */

/* Apply one stream entry [id, [field, value, ...]]; a malformed one is logged and skipped (it
 * can never become valid, and must not stop every later event). */
static int apply_entry(tc_api_feed *f, tc_writer *w, const redisReply *entry, tc_error *err)
{
    const redisReply *id = entry->element[0], *value = tc_api_broker_field(entry, "event");
    tc_error why;
    tc_event e;
    tc_event_result r;
    int rc = value == NULL ? tc_errorf(&why, TC_EPARSE, "no field 'event'")
                           : tc_api_event_decode(f->hasher, (const unsigned char *)value->str,
                                                 value->len, &e, &why);
    if (rc == TC_OK && (rc = tc_event_validate(&e, &why)) == TC_OK) {
        rc = tc_events_apply(f->events, w, &e, &r, err);
        if (rc != TC_OK)
            return rc; /* the database's fault, not the event's: retried */
        atomic_fetch_add(r.stale ? &f->stale : &f->applied, 1);
        return TC_OK;
    }
    atomic_fetch_add(&f->rejected, 1);
    tc_api_log_eventf(f->log, "error", "consent_event_rejected", "error", "entry %s of %s: %s",
                      id->str, f->stream, why.msg);
    return TC_OK;
}

static void set_position(tc_api_feed *f, const char *pos)
{
    snprintf(f->position, sizeof f->position, "%s", pos);
    char *end;
    atomic_store(&f->position_ms, strtoull(pos, &end, 10));
    atomic_store(&f->position_seq, *end == '-' ? strtoull(end + 1, NULL, 10) : 0);
}

/* Apply a batch of entries and the position after them in one transaction. */
static int apply_batch(tc_api_feed *f, const redisReply *entries, tc_error *err)
{
    tc_writer *w = NULL;
    int rc = tc_writer_begin(f->store, &w, err);
    if (rc != TC_OK)
        return rc;
    const char *last = NULL;
    for (size_t i = 0; i < entries->elements && rc == TC_OK; i++) {
        const redisReply *entry = entries->element[i];
        const char *id = tc_api_broker_entry_id(entry, TC_EVENT_POSITION_MAX);
        if (id == NULL)
            continue; /* not an entry: the broker's reply was not what XREAD returns */
        rc = apply_entry(f, w, entry, err);
        last = id;
    }
    if (rc == TC_OK && last != NULL)
        rc = tc_events_set_position(f->events, w, last, err);
    if (rc != TC_OK) {
        tc_writer_abort(w);
        return rc;
    }
    if ((rc = tc_writer_commit(w, err)) == TC_OK && last != NULL)
        set_position(f, last);
    return rc;
}

/* The value of key in a flat [key, value, ...] reply such as XINFO STREAM's, or NULL. */
static const redisReply *info_field(const redisReply *r, const char *key)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, key) == 0)
            return r->element[i + 1];
    return NULL;
}

/* After (re)connecting: does the stream still hold every entry after our position? Entries
 * trimmed past it (max-deleted-entry-id, Redis 7), or a stream whose last ID is below it (a
 * broker that lost its data), are events this node can never apply. Returns 0, or -1 when the
 * broker could not say (the connection is dropped and the check made again on the next one).
 * Only a stream that is missing ("no such key") is a gap: any other refusal is a passing state
 * of the broker, above all LOADING while a restarted broker reads its append-only file back,
 * and a gap, once found, holds until the node is restored from a snapshot. */
static int check_gap(tc_api_feed *f, redisContext *c)
{
    if (f->position[0] == '\0')
        return 0;
    redisReply *r = redisCommand(c, "XINFO STREAM %s", f->stream);
    if (r == NULL) {
        broker_error(f, "checking the stream", c->errstr);
        return -1;
    }
    const char *problem = NULL;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        if (strstr(r->str, "no such key") != NULL) {
            problem = "the stream no longer exists on the broker";
        } else {
            broker_error(f, "checking the stream", r->str);
            rc = -1;
        }
    } else if (r->type == REDIS_REPLY_ARRAY) {
        const redisReply *last = info_field(r, "last-generated-id");
        const redisReply *deleted = info_field(r, "max-deleted-entry-id");
        if (last != NULL && last->type == REDIS_REPLY_STRING &&
            tc_event_position_cmp(last->str, f->position) < 0)
            problem = "the stream ends before this node's position: the broker lost entries";
        else if (deleted != NULL && deleted->type == REDIS_REPLY_STRING &&
                 tc_event_position_cmp(deleted->str, f->position) > 0)
            problem = "entries after this node's position were trimmed from the stream";
    }
    if (problem != NULL && !atomic_exchange(&f->gap, 1))
        tc_api_log_eventf(f->log, "error", "consent_feed_gap", "error",
                          "%s (position %s of %s):"
                          " this node refuses to score until it is restored from a current "
                          "snapshot",
                          problem, f->position, f->stream);
    freeReplyObject(r);
    return rc;
}

/* One XREAD and what it brought. Returns 0, or -1 when the connection must be dropped. */
static int consume_once(tc_api_feed *f, redisContext *c)
{
    tc_error err;
    int64_t sent_us = tc_time_now_us();
    redisReply *r =
        redisCommand(c, "XREAD COUNT %d BLOCK %d STREAMS %s %s", TC_API_FEED_BATCH,
                     TC_API_FEED_BLOCK_MS, f->stream, f->position[0] != '\0' ? f->position : "0-0");
    if (r == NULL) {
        broker_error(f, "reading the stream", c->errstr);
        return -1;
    }
    int rc = 0;
    size_t n = 0;
    const redisReply *entries;
    if (r->type == REDIS_REPLY_ERROR) {
        broker_error(f, "reading the stream", r->str);
        rc = -1;
    } else if ((entries = tc_api_broker_entries(r)) != NULL) {
        n = entries->elements;
        if (apply_batch(f, entries, &err) != TC_OK) {
            broker_error(f, "applying events to the database", err.msg);
            n = TC_API_FEED_BATCH; /* not caught up: retried from the same position */
            usleep(RETRY_PAUSE_MS * 1000);
        }
    }
    /* fewer than a batch (none: the block timed out): nothing was left when the read was sent */
    if (rc == 0 && n < TC_API_FEED_BATCH && !atomic_load(&f->gap))
        atomic_store(&f->caught_up_us, sent_us);
    freeReplyObject(r);
    return rc;
}

static void *consumer_main(void *arg)
{
    tc_api_feed *f = arg;
    redisContext *c = NULL;
    tc_error err;
    MDB_txn *txn = NULL;
    /* resume after the last entry this database committed */
    char pos[TC_EVENT_POSITION_MAX + 1] = "";
    if (mdb_txn_begin(tc_store_env(f->store), NULL, MDB_RDONLY, &txn) == MDB_SUCCESS) {
        if (tc_events_position(f->events, txn, pos, &err) != TC_OK)
            broker_error(f, "reading the feed position", err.msg);
        mdb_txn_abort(txn);
    }
    set_position(f, pos);
    /* NOT_SERVING until the node has read to the end of the feed: say so, and from where */
    char fields[1024], host[300], stream[300];
    tc_api_log_escape(f->broker.host, host, sizeof host);
    tc_api_log_escape(f->stream, stream, sizeof stream);
    char port[16] = "";
    if (f->broker.port != 0)
        snprintf(port, sizeof port, ":%d", f->broker.port);
    snprintf(fields, sizeof fields,
             "\"broker\":\"%s%.299s%s\",\"stream\":\"%.299s\",\"position\":\"%.48s\","
             "\"max_lag_ms\":%u",
             f->broker.port == 0 ? "unix:" : "", host, port, stream, pos[0] ? pos : "start",
             f->max_lag_ms);
    tc_api_log_event(f->log, "info", "consent_feed_catching_up", fields);
    while (!atomic_load(&f->stop)) {
        if (c == NULL) {
            const char *why = "";
            c = tc_api_broker_connect(&f->broker, TC_API_FEED_BLOCK_MS + PUBLISH_TIMEOUT_MS, &why);
            if (c == NULL) {
                broker_error(f, "connecting", why);
                check_state(f);
                usleep(RETRY_PAUSE_MS * 1000);
                continue;
            }
            if (check_gap(f, c) != 0) {
                redisFree(c);
                c = NULL;
                check_state(f);
                usleep(RETRY_PAUSE_MS * 1000);
                continue;
            }
        }
        if (consume_once(f, c) != 0) {
            redisFree(c);
            c = NULL;
        }
        check_state(f);
    }
    if (c != NULL)
        redisFree(c);
    return NULL;
}

int tc_api_feed_start(tc_api_feed *f, tc_error *err)
{
    if (pthread_create(&f->thread, NULL, consumer_main, f) != 0)
        return tc_errorf(err, TC_ENOMEM, "cannot start the consent feed's consumer");
    f->running = 1;
    return TC_OK;
}

void tc_api_feed_close(tc_api_feed *f)
{
    if (f == NULL)
        return;
    if (f->running) {
        atomic_store(&f->stop, 1);
        pthread_join(f->thread, NULL);
    }
    if (f->pub != NULL)
        redisFree(f->pub);
    tc_hasher_free(f->hasher);
    tc_events_close(f->events);
    tc_api_broker_free(&f->broker);
    pthread_mutex_destroy(&f->pub_mu);
    free(f);
}

void tc_api_feed_metrics(tc_api_feed *f, FILE *out)
{
    int64_t lag;
    int current = tc_api_feed_current(f, &lag);
    fprintf(
        out,
        "# HELP tinchap_consent_lag_seconds Time since this node last saw the end of the "
        "consent feed.\n"
        "# TYPE tinchap_consent_lag_seconds gauge\ntinchap_consent_lag_seconds %.3f\n"
        "# HELP tinchap_consent_max_lag_seconds consent_max_lag_ms: past it, Score is "
        "refused.\n"
        "# TYPE tinchap_consent_max_lag_seconds gauge\ntinchap_consent_max_lag_seconds %.3f\n"
        "# HELP tinchap_consent_feed_current 1 while within the lag bound (Score served).\n"
        "# TYPE tinchap_consent_feed_current gauge\ntinchap_consent_feed_current %d\n"
        "# HELP tinchap_consent_feed_gap 1 when the stream lost entries this node never "
        "applied (restore from a snapshot).\n"
        "# TYPE tinchap_consent_feed_gap gauge\ntinchap_consent_feed_gap %d\n"
        "# HELP tinchap_consent_events_total Consent events read from the feed, by outcome.\n"
        "# TYPE tinchap_consent_events_total counter\n"
        "tinchap_consent_events_total{outcome=\"applied\"} %llu\n"
        "tinchap_consent_events_total{outcome=\"stale\"} %llu\n"
        "tinchap_consent_events_total{outcome=\"rejected\"} %llu\n"
        "# HELP tinchap_consent_feed_position_timestamp_seconds The last stream entry this "
        "node applied: its ID's time part (when the broker took it) ...\n"
        "# TYPE tinchap_consent_feed_position_timestamp_seconds gauge\n"
        "tinchap_consent_feed_position_timestamp_seconds %.3f\n"
        "# HELP tinchap_consent_feed_position_seq ... and its sequence part.\n"
        "# TYPE tinchap_consent_feed_position_seq gauge\ntinchap_consent_feed_position_seq "
        "%llu\n"
        "# HELP tinchap_consent_events_published_total Events this node published.\n"
        "# TYPE tinchap_consent_events_published_total counter\n"
        "tinchap_consent_events_published_total %llu\n"
        "# HELP tinchap_consent_feed_errors_total Feed errors: broker unreachable or refusing, "
        "events that cannot be applied to the database (retried).\n"
        "# TYPE tinchap_consent_feed_errors_total counter\n"
        "tinchap_consent_feed_errors_total %llu\n",
        (double)lag / 1e3, (double)f->max_lag_ms / 1e3, current, atomic_load(&f->gap),
        (unsigned long long)atomic_load(&f->applied), (unsigned long long)atomic_load(&f->stale),
        (unsigned long long)atomic_load(&f->rejected), (double)atomic_load(&f->position_ms) / 1e3,
        (unsigned long long)atomic_load(&f->position_seq),
        (unsigned long long)atomic_load(&f->published),
        (unsigned long long)atomic_load(&f->broker_errors));
}
