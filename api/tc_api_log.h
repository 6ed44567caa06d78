/* tc_api_log — JSON lines on a file descriptor (standard error by default).
 *
 * Each line is one JSON object, valid UTF-8 (text is escaped, bytes that are not UTF-8 become
 * U+FFFD): time, level, event, then the event's fields; gRPC core's own lines too, once
 * captured. Calls are logged as event "call" with method, status, institution, request_id and
 * latency_us — never a citizen ID (a request ID's runs of 12 or more digits are logged as '#',
 * and so are those of every message). Workers write into their own shard, a buffer under a
 * lock only the flusher shares, and a flusher thread writes the shards out every 50 ms: logging
 * a call costs no system call on the worker. A full shard drops lines and counts them rather
 * than block a call.
 */
#ifndef TC_API_LOG_H
#define TC_API_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "tc_error.h"

#define TC_API_LOG_SHARD_BYTES (256u << 10)
#define TC_API_LOG_LINE_MAX 1024

typedef struct tc_api_log tc_api_log;
typedef struct tc_api_log_shard tc_api_log_shard;

int tc_api_log_open(int fd, int debug, size_t shards, tc_api_log **out, tc_error *err);
void tc_api_log_close(tc_api_log *log); /* flushes */

tc_api_log_shard *tc_api_log_shard_of(tc_api_log *log, size_t i);

/* One finished call, from the worker that owns shard. */
void tc_api_log_call(tc_api_log_shard *shard, const char *method, const char *status,
                     const char *institution, const char *request_id, uint64_t latency_us,
                     const char *detail);

/* A service event from any thread: fields is "" or a fragment of JSON members without braces,
 * e.g. "\"port\":50051". Written at once. level: "info", "warn", "error", "debug". log NULL:
 * standard error (before the log is open). */
void tc_api_log_event(tc_api_log *log, const char *level, const char *event, const char *fields);

/* The same with one text member, key, formatted, its digit runs redacted and escaped:
 * tc_api_log_eventf(NULL, "error", "start_refused", "error", "%s", err.msg). */
void tc_api_log_eventf(tc_api_log *log, const char *level, const char *event, const char *key,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* From now on gRPC core's own log lines are written to standard error as JSON objects of event
 * "grpc" (file, line, message), like every other line. Call before grpc_init. */
void tc_api_log_capture_grpc(void);

/* Escape text for a JSON string value into out (always terminated). */
void tc_api_log_escape(const char *text, char *out, size_t size);

#endif
