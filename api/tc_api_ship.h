/* tc_api_ship — "who scored me?" across replicas: every node ships its audit records through
 * the consent feed's broker, and the steward node keeps them all in one consolidated trail,
 * which its ListInquiries (and `tinchap audit --audit DIR/consolidated`) read.
 *
 * Shipping (every node whose consent_feed has an audit_stream): a thread reads the node's own
 * trail in sequence order, up to what is on disk (tc_audit_durable_seq), and appends each record
 * to the audit stream (XADD, acknowledged by a broker that runs with appendfsync always), its
 * origin in it: the node's name, its trail's identity and the record's sequence number there.
 * After each acknowledged batch it records how far it shipped (tc_audit_shipped_set). Killed
 * between the two, it ships the batch again when it restarts: harmless, see below.
 *
 * Collecting (the node with collect_audit): a thread reads the stream from the position its
 * consolidated trail last committed and appends the records to that trail with the position
 * after them in one durable transaction (tc_audit_collect), which drops any record not past the
 * last one taken from its origin trail. So across kill -9 of either side no record is lost and
 * none is kept twice; a record that never arrives (the stream trimmed before it was read) shows
 * as a gap in its origin's sequence numbers: counted, and logged with the node's name.
 *
 * Records are pseudonymous as in every trail (citizen keys, redacted free text): the broker
 * holds no citizen ID. A record reaches the consolidated trail about sync_ms (relaxed) plus one
 * shipping round (50 ms) after its answer, while the broker is reachable; a node that cannot
 * reach it keeps its records and ships them when it can.
 */
#ifndef TC_API_SHIP_H
#define TC_API_SHIP_H

#include <stdio.h>

#include "tc_api_log.h"
#include "tc_audit.h"
#include "tc_error.h"

#define TC_API_SHIP_BATCH 500 /* records per XADD pipeline, and per collecting transaction */
#define TC_API_SHIP_EVERY_MS 50

typedef struct tc_api_ship tc_api_ship;

typedef struct tc_api_ship_options {
    const char *redis, *user, *password_file; /* the broker, as the consent feed's */
    const char *stream;                       /* the audit stream's key */
    const char *node;                         /* this node's name in its records ("" = host name) */
    unsigned retain;                          /* entries the stream keeps, about (XADD MAXLEN ~) */
    tc_audit *trail;                          /* borrowed, started: this node's trail, shipped */
    tc_audit *consolidated; /* borrowed, started, or NULL: the trail this node collects into */
    tc_api_log *log;        /* borrowed */
} tc_api_ship_options;

int tc_api_ship_open(const tc_api_ship_options *opt, tc_api_ship **out, tc_error *err);

/* Start the shipping thread, and the collecting one when there is a consolidated trail. */
int tc_api_ship_start(tc_api_ship *s, tc_error *err);

/* Stop both threads (within about a broker timeout) and free. Before the trails close. */
void tc_api_ship_close(tc_api_ship *s);

/* tinchap_audit_ship* and tinchap_audit_collect* metrics. */
void tc_api_ship_metrics(tc_api_ship *s, FILE *out);

#endif
