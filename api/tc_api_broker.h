/* tc_api_broker — the Redis broker that the consent feed (tc_api_feed.h) and audit shipping
 * (tc_api_ship.h) share: its address, the ACL user and the password, and a connection to it.
 * Each thread that talks to the broker holds a connection of its own. */
#ifndef TC_API_BROKER_H
#define TC_API_BROKER_H

#include <hiredis.h>

#include "tc_error.h"

typedef struct tc_api_broker {
    char host[256]; /* a host name or address, or a socket's path when port is 0 */
    int port;
    char user[64];  /* "": Redis's default user */
    char *password; /* NULL: no AUTH */
} tc_api_broker;

/* From consent_feed.redis ("host:port", or "unix:PATH"), .user and .password_file (a file
 * of mode 0600 or stricter, its first line; "" or NULL: none). */
int tc_api_broker_init(tc_api_broker *b, const char *address, const char *user,
                       const char *password_file, tc_error *err);
void tc_api_broker_free(tc_api_broker *b);

/* Connect (within 500 ms) and authenticate; replies then time out after timeout_ms. NULL with
 * why (the broker's words, never the password) when that fails. */
redisContext *tc_api_broker_connect(const tc_api_broker *b, unsigned timeout_ms, const char **why);

/* ---- reading a stream: what XREAD answers ---- */

/* The entries of an XREAD reply on one stream ([[key, [entry, ...]]]), or NULL when the reply is
 * not that (a nil reply: the block timed out with nothing new). */
const redisReply *tc_api_broker_entries(const redisReply *xread);

/* An entry's ID, when the entry is [ID, [field, value, ...]] with an ID of at most max
 * characters; NULL for anything else. */
const char *tc_api_broker_entry_id(const redisReply *entry, size_t max);

/* The value of the entry's field name, when it is a string; NULL if it has none. */
const redisReply *tc_api_broker_field(const redisReply *entry, const char *name);

#endif
