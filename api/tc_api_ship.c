/* Audit records shipped to the steward node's consolidated trail (see tc_api_ship.h). */
#include "tc_api_ship.h"
#include "tc_api_broker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tc_time.h"

#define REPLY_TIMEOUT_MS 1000
#define BLOCK_MS 100       /* the collector's XREAD block: how soon it notices a stop */
#define RETRY_PAUSE_MS 200 /* between attempts to reach an unreachable broker */
#define ERROR_LOG_EVERY_US 1000000
#define RECORD_BYTES 2048
#define POSITION_MAX 47

/* One side's thread: its connection, its error log's rate limit. */
typedef struct side {
    pthread_t thread;
    int running;
    redisContext *c;
    int64_t logged_us;
    const char *what; /* "shipping" or "collecting", in the log */
} side;

struct tc_api_ship {
    tc_api_broker broker;
    char stream[128];
    char node[TC_AUDIT_TEXT_MAX + 1];
    char retain[16];
    tc_audit *trail, *consolidated;
    tc_api_log *log;
    atomic_int stop;
    side shipper, collector;
    /* shipping: the shipper's */
    tc_audit_reader *reader;
    uint64_t shipped;
    unsigned char *encoded; /* TC_API_SHIP_BATCH records of RECORD_BYTES */
    size_t *encoded_len;
    uint64_t *encoded_seq;
    size_t n_encoded;
    /* collecting: the collector's */
    tc_audit_record *taken; /* TC_API_SHIP_BATCH */
    char position[POSITION_MAX + 1];
    /* metrics */
    atomic_uint_fast64_t shipped_seq, ship_records, ship_errors;
    atomic_uint_fast64_t appended, duplicates, missing, rejected, collect_errors;
};

static void side_error(tc_api_ship *s, side *d, const char *event, const char *detail)
{
    atomic_fetch_add(d == &s->shipper ? &s->ship_errors : &s->collect_errors, 1);
    int64_t now = tc_time_now_us();
    if (now - d->logged_us < ERROR_LOG_EVERY_US)
        return;
    d->logged_us = now;
    tc_api_log_eventf(s->log, "error", event, "error", "%s audit records (%s:%d, stream %s): %s",
                      d->what, s->broker.host, s->broker.port, s->stream, detail);
}

/* Connected, or 0 after a pause (the error logged). */
static int side_connect(tc_api_ship *s, side *d, unsigned timeout_ms)
{
    const char *why = "";
    if (d->c != NULL)
        return 1;
    if ((d->c = tc_api_broker_connect(&s->broker, timeout_ms, &why)) != NULL)
        return 1;
    side_error(s, d, d == &s->shipper ? "audit_ship_error" : "audit_collect_error", why);
    usleep(RETRY_PAUSE_MS * 1000);
    return 0;
}

static void side_drop(side *d)
{
    if (d->c != NULL)
        redisFree(d->c);
    d->c = NULL;
}

/* ---- shipping ---- */

static int encode_one(const tc_audit_record *rec, void *arg)
{
    tc_api_ship *s = arg;
    tc_audit_record r = *rec;
    snprintf(r.node, sizeof r.node, "%s", s->node);
    snprintf(r.origin_trail, sizeof r.origin_trail, "%s", tc_audit_trail_id(s->trail));
    r.origin_seq = rec->seq;
    size_t len = tc_audit_encode(&r, s->encoded + s->n_encoded * RECORD_BYTES, RECORD_BYTES);
    if (len == 0)
        return 1; /* cannot happen for a record the trail decoded; stop rather than skip it */
    s->encoded_len[s->n_encoded] = len;
    s->encoded_seq[s->n_encoded++] = rec->seq;
    return 0;
}

/* Ship the next batch of durable records. Returns how many were acknowledged, or -1 when the
 * connection must be dropped. */
static long ship_once(tc_api_ship *s)
{
    tc_error err;
    uint64_t upto = tc_audit_durable_seq(s->trail);
    s->n_encoded = 0;
    if (upto <= s->shipped)
        return 0;
    if (tc_audit_records_after(s->reader, s->shipped, upto, TC_API_SHIP_BATCH, encode_one, s,
                               &err) != TC_OK) {
        side_error(s, &s->shipper, "audit_ship_error", err.msg);
        return 0;
    }
    /* pipelined: every XADD sent, then the replies read in order */
    for (size_t i = 0; i < s->n_encoded; i++)
        redisAppendCommand(s->shipper.c, "XADD %s MAXLEN ~ %s * record %b", s->stream, s->retain,
                           s->encoded + i * RECORD_BYTES, s->encoded_len[i]);
    size_t acked = 0;
    const char *why = NULL;
    for (size_t i = 0; i < s->n_encoded; i++) {
        redisReply *r = NULL;
        if (redisGetReply(s->shipper.c, (void **)&r) != REDIS_OK || r == NULL) {
            why = s->shipper.c->errstr;
            break;
        }
        int ok = r->type == REDIS_REPLY_STRING;
        if (!ok && why == NULL)
            why = r->type == REDIS_REPLY_ERROR ? "the broker refused a record"
                                               : "an unexpected reply";
        freeReplyObject(r);
        if (ok && why == NULL)
            acked++;
    }
    if (acked > 0) {
        s->shipped = s->encoded_seq[acked - 1];
        atomic_store(&s->shipped_seq, s->shipped);
        atomic_fetch_add(&s->ship_records, acked);
        if (tc_audit_shipped_set(s->trail, s->shipped, &err) != TC_OK)
            side_error(s, &s->shipper, "audit_ship_error", err.msg); /* shipped again: dropped */
    }
    if (why != NULL) {
        side_error(s, &s->shipper, "audit_ship_error", why);
        return -1;
    }
    return (long)acked;
}

static void *shipper_main(void *arg)
{
    tc_api_ship *s = arg;
    pthread_setname_np(pthread_self(), "tc-audit-ship");
    while (!atomic_load(&s->stop)) {
        if (!side_connect(s, &s->shipper, REPLY_TIMEOUT_MS))
            continue;
        long n = ship_once(s);
        if (n < 0)
            side_drop(&s->shipper);
        if (n < TC_API_SHIP_BATCH) /* caught up: the next round in a while */
            usleep(TC_API_SHIP_EVERY_MS * 1000);
    }
    side_drop(&s->shipper);
    return NULL;
}

/* ---- collecting ---- */

/* The record in a stream entry [id, [field, value, ...]], decoded, with its origin; 0 if the
 * entry holds none (logged, and skipped: it can never become valid). */
static int take_entry(tc_api_ship *s, const redisReply *entry, tc_audit_record *out)
{
    const redisReply *value = tc_api_broker_field(entry, "record");
    tc_error why;
    int rc = value == NULL ? tc_errorf(&why, TC_EPARSE, "no field 'record'")
                           : tc_audit_decode(value->str, value->len, out, &why);
    if (rc == TC_OK && (strlen(out->origin_trail) != TC_AUDIT_TRAIL_ID_LEN || out->origin_seq == 0))
        rc = tc_errorf(&why, TC_EPARSE, "the record names no origin trail");
    if (rc == TC_OK)
        return 1;
    atomic_fetch_add(&s->rejected, 1);
    tc_api_log_eventf(s->log, "error", "audit_record_rejected", "error", "entry %s of %s: %s",
                      entry->element[0]->str, s->stream, why.msg);
    return 0;
}

/* Take a batch of entries into the consolidated trail with the position after them. */
static int collect_batch(tc_api_ship *s, const redisReply *entries, tc_error *err)
{
    size_t n = 0;
    const char *last = NULL;
    for (size_t i = 0; i < entries->elements && n < TC_API_SHIP_BATCH; i++) {
        const redisReply *e = entries->element[i];
        const char *id = tc_api_broker_entry_id(e, POSITION_MAX);
        if (id == NULL)
            continue; /* not an entry: the broker's reply was not what XREAD returns */
        n += take_entry(s, e, &s->taken[n]);
        last = id;
    }
    if (last == NULL)
        return TC_OK;
    tc_audit_collected c;
    int rc = tc_audit_collect(s->consolidated, s->taken, n, last, &c, err);
    if (rc != TC_OK)
        return rc;
    snprintf(s->position, sizeof s->position, "%s", last);
    atomic_fetch_add(&s->appended, c.appended);
    atomic_fetch_add(&s->duplicates, c.duplicates);
    if (c.missing > 0) {
        atomic_fetch_add(&s->missing, c.missing);
        tc_api_log_eventf(s->log, "error", "audit_records_missing", "error",
                          "%llu audit records of node %s never reached the consolidated trail "
                          "(the stream %s was trimmed before they were read)",
                          (unsigned long long)c.missing, c.missing_node, s->stream);
    }
    return TC_OK;
}

/* One XREAD and what it brought. Returns 0, or -1 when the connection must be dropped. */
static int collect_once(tc_api_ship *s)
{
    tc_error err;
    redisReply *r =
        redisCommand(s->collector.c, "XREAD COUNT %d BLOCK %d STREAMS %s %s", TC_API_SHIP_BATCH,
                     BLOCK_MS, s->stream, s->position[0] != '\0' ? s->position : "0-0");
    if (r == NULL) {
        side_error(s, &s->collector, "audit_collect_error", s->collector.c->errstr);
        return -1;
    }
    int rc = 0;
    const redisReply *entries;
    if (r->type == REDIS_REPLY_ERROR) {
        side_error(s, &s->collector, "audit_collect_error", r->str);
        rc = -1;
    } else if ((entries = tc_api_broker_entries(r)) != NULL &&
               collect_batch(s, entries, &err) != TC_OK) {
        side_error(s, &s->collector, "audit_collect_error", err.msg); /* retried from here */
        usleep(RETRY_PAUSE_MS * 1000);
    }
    freeReplyObject(r);
    return rc;
}

static void *collector_main(void *arg)
{
    tc_api_ship *s = arg;
    pthread_setname_np(pthread_self(), "tc-audit-collect");
    while (!atomic_load(&s->stop)) {
        if (side_connect(s, &s->collector, BLOCK_MS + REPLY_TIMEOUT_MS) && collect_once(s) != 0)
            side_drop(&s->collector);
    }
    side_drop(&s->collector);
    return NULL;
}

/* ---- life ---- */

int tc_api_ship_open(const tc_api_ship_options *opt, tc_api_ship **out, tc_error *err)
{
    int rc;
    tc_api_ship *s = calloc(1, sizeof *s);
    if (s == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    snprintf(s->stream, sizeof s->stream, "%s", opt->stream);
    if (opt->node != NULL && opt->node[0] != '\0')
        snprintf(s->node, sizeof s->node, "%s", opt->node);
    else if (gethostname(s->node, sizeof s->node - 1) != 0)
        snprintf(s->node, sizeof s->node, "tinchapd");
    snprintf(s->retain, sizeof s->retain, "%u", opt->retain);
    s->trail = opt->trail;
    s->consolidated = opt->consolidated;
    s->log = opt->log;
    s->shipper.what = "shipping";
    s->collector.what = "collecting";
    if ((rc = tc_api_broker_init(&s->broker, opt->redis, opt->user, opt->password_file, err)) !=
            TC_OK ||
        (rc = tc_audit_reader_new(s->trail, &s->reader, err)) != TC_OK ||
        (rc = tc_audit_shipped_get(s->trail, &s->shipped, err)) != TC_OK)
        goto fail;
    atomic_store(&s->shipped_seq, s->shipped);
    s->encoded = malloc((size_t)TC_API_SHIP_BATCH * RECORD_BYTES);
    s->encoded_len = calloc(TC_API_SHIP_BATCH, sizeof *s->encoded_len);
    s->encoded_seq = calloc(TC_API_SHIP_BATCH, sizeof *s->encoded_seq);
    if (opt->consolidated != NULL &&
        ((s->taken = calloc(TC_API_SHIP_BATCH, sizeof *s->taken)) == NULL ||
         (rc = tc_audit_collect_position(opt->consolidated, s->position, sizeof s->position,
                                         err)) != TC_OK))
        goto fail;
    if (s->encoded == NULL || s->encoded_len == NULL || s->encoded_seq == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto fail;
    }
    *out = s;
    return TC_OK;
fail:
    if (rc == TC_OK)
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
    tc_api_ship_close(s);
    return rc;
}

int tc_api_ship_start(tc_api_ship *s, tc_error *err)
{
    if (pthread_create(&s->shipper.thread, NULL, shipper_main, s) != 0)
        return tc_errorf(err, TC_ENOMEM, "cannot start the audit shipper");
    s->shipper.running = 1;
    if (s->consolidated == NULL)
        return TC_OK;
    if (pthread_create(&s->collector.thread, NULL, collector_main, s) != 0)
        return tc_errorf(err, TC_ENOMEM, "cannot start the audit collector");
    s->collector.running = 1;
    return TC_OK;
}

void tc_api_ship_close(tc_api_ship *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    if (s->shipper.running)
        pthread_join(s->shipper.thread, NULL);
    if (s->collector.running)
        pthread_join(s->collector.thread, NULL);
    tc_audit_reader_free(s->reader);
    tc_api_broker_free(&s->broker);
    free(s->encoded);
    free(s->encoded_len);
    free(s->encoded_seq);
    free(s->taken);
    free(s);
}

void tc_api_ship_metrics(tc_api_ship *s, FILE *out)
{
    uint64_t durable = tc_audit_durable_seq(s->trail), shipped = atomic_load(&s->shipped_seq);
    fprintf(out,
            "# HELP tinchap_audit_ship_backlog Audit records on this node's disk not yet "
            "acknowledged by the broker.\n"
            "# TYPE tinchap_audit_ship_backlog gauge\ntinchap_audit_ship_backlog %llu\n"
            "# HELP tinchap_audit_shipped_records_total Audit records this node shipped.\n"
            "# TYPE tinchap_audit_shipped_records_total counter\n"
            "tinchap_audit_shipped_records_total %llu\n"
            "# HELP tinchap_audit_ship_errors_total Broker unreachable or refusing while "
            "shipping (retried).\n"
            "# TYPE tinchap_audit_ship_errors_total counter\n"
            "tinchap_audit_ship_errors_total %llu\n",
            (unsigned long long)(durable > shipped ? durable - shipped : 0),
            (unsigned long long)atomic_load(&s->ship_records),
            (unsigned long long)atomic_load(&s->ship_errors));
    if (s->consolidated == NULL)
        return;
    fprintf(out,
            "# HELP tinchap_audit_collected_total Shipped audit records read by the "
            "consolidated trail, by outcome.\n"
            "# TYPE tinchap_audit_collected_total counter\n"
            "tinchap_audit_collected_total{outcome=\"appended\"} %llu\n"
            "tinchap_audit_collected_total{outcome=\"duplicate\"} %llu\n"
            "tinchap_audit_collected_total{outcome=\"rejected\"} %llu\n"
            "# HELP tinchap_audit_collect_missing_total Records a node made that never reached "
            "the consolidated trail (gaps in its sequence numbers).\n"
            "# TYPE tinchap_audit_collect_missing_total counter\n"
            "tinchap_audit_collect_missing_total %llu\n"
            "# HELP tinchap_audit_collect_errors_total Broker or consolidated trail errors "
            "while collecting (retried).\n"
            "# TYPE tinchap_audit_collect_errors_total counter\n"
            "tinchap_audit_collect_errors_total %llu\n",
            (unsigned long long)atomic_load(&s->appended),
            (unsigned long long)atomic_load(&s->duplicates),
            (unsigned long long)atomic_load(&s->rejected),
            (unsigned long long)atomic_load(&s->missing),
            (unsigned long long)atomic_load(&s->collect_errors));
}
