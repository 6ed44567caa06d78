#include "tc_api_log.h"

#include "tc_text.h"
#include "tc_time.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/support/log.h>

struct tc_api_log_shard {
    pthread_mutex_t mu;
    char *buf;
    size_t len;
    uint64_t dropped;
};

struct tc_api_log {
    int fd;
    int debug;
    size_t n;
    tc_api_log_shard *shards;
    pthread_mutex_t event_mu;
    pthread_t flusher;
    atomic_int stopping;
    char *out; /* the flusher's buffer */
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to report a failing log */
        p += w;
        n -= (size_t)w;
    }
}

static void flush_shards(tc_api_log *log)
{
    for (size_t i = 0; i < log->n; i++) {
        tc_api_log_shard *s = &log->shards[i];
        pthread_mutex_lock(&s->mu);
        size_t n = s->len;
        memcpy(log->out, s->buf, n);
        s->len = 0;
        uint64_t dropped = s->dropped;
        s->dropped = 0;
        pthread_mutex_unlock(&s->mu);
        if (n > 0)
            write_all(log->fd, log->out, n);
        if (dropped > 0) {
            char fields[64];
            snprintf(fields, sizeof fields, "\"dropped_lines\":%llu", (unsigned long long)dropped);
            tc_api_log_event(log, "warn", "log_overflow", fields);
        }
    }
}

static void *flusher_main(void *arg)
{
    tc_api_log *log = arg;
    pthread_setname_np(pthread_self(), "tc-log"); /* for top -H, perf and gdb */
    while (!atomic_load(&log->stopping)) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        flush_shards(log);
    }
    flush_shards(log);
    return NULL;
}

int tc_api_log_open(int fd, int debug, size_t shards, tc_api_log **out, tc_error *err)
{
    tc_api_log *log = calloc(1, sizeof *log);
    if (log == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    log->fd = fd;
    log->debug = debug;
    log->n = shards;
    log->shards = calloc(shards, sizeof *log->shards);
    log->out = malloc(TC_API_LOG_SHARD_BYTES);
    if (log->shards == NULL || log->out == NULL)
        goto fail;
    for (size_t i = 0; i < shards; i++) {
        pthread_mutex_init(&log->shards[i].mu, NULL);
        if ((log->shards[i].buf = malloc(TC_API_LOG_SHARD_BYTES)) == NULL)
            goto fail;
    }
    pthread_mutex_init(&log->event_mu, NULL);
    if (pthread_create(&log->flusher, NULL, flusher_main, log) != 0)
        goto fail;
    *out = log;
    return TC_OK;
fail:
    if (log->shards != NULL)
        for (size_t i = 0; i < shards; i++)
            free(log->shards[i].buf);
    free(log->shards);
    free(log->out);
    free(log);
    return tc_errorf(err, TC_ENOMEM, "cannot start the logger");
}

void tc_api_log_close(tc_api_log *log)
{
    if (log == NULL)
        return;
    atomic_store(&log->stopping, 1);
    pthread_join(log->flusher, NULL);
    for (size_t i = 0; i < log->n; i++) {
        pthread_mutex_destroy(&log->shards[i].mu);
        free(log->shards[i].buf);
    }
    pthread_mutex_destroy(&log->event_mu);
    free(log->shards);
    free(log->out);
    free(log);
}

tc_api_log_shard *tc_api_log_shard_of(tc_api_log *log, size_t i)
{
    return &log->shards[i % log->n];
}

void tc_api_log_escape(const char *text, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t len = strlen(text);
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    for (; p < end && o + 7 < size; p++) {
        size_t seq = tc_utf8_seq(p, (size_t)(end - p));
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[*p >> 4];
            out[o + 5] = hex[*p & 15];
            o += 6;
        } else if (seq == 0) {
            /* not UTF-8: the line must stay valid JSON, which is UTF-8 (RFC 8259 section 8.1) */
            memcpy(out + o, "\\ufffd", 6);
            o += 6;
        } else {
            memcpy(out + o, p, seq); /* o + 7 < size: room for 4 bytes */
            o += seq;
            p += seq - 1;
        }
    }
    out[o] = '\0';
}

static void now_text(char out[TC_TIME_US_TEXT_LEN])
{
    tc_time_format_us(tc_time_now_us(), out);
}

void tc_api_log_call(tc_api_log_shard *shard, const char *method, const char *status,
                     const char *institution, const char *request_id, uint64_t latency_us,
                     const char *detail)
{
    char line[TC_API_LOG_LINE_MAX], t[TC_TIME_US_TEXT_LEN], inst[160], rid[160], det[400];
    now_text(t);
    tc_api_log_escape(institution, inst, sizeof inst);
    tc_api_log_escape(request_id, rid, sizeof rid);
    tc_api_log_escape(detail, det, sizeof det);
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%s\",\"level\":\"info\",\"event\":\"call\",\"method\":\"%s\","
                     "\"status\":\"%s\",\"institution\":\"%s\",\"request_id\":\"%s\","
                     "\"latency_us\":%llu%s%s%s}\n",
                     t, method, status, inst, rid, (unsigned long long)latency_us,
                     det[0] ? ",\"detail\":\"" : "", det, det[0] ? "\"" : "");
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    pthread_mutex_lock(&shard->mu);
    if (shard->len + (size_t)n <= TC_API_LOG_SHARD_BYTES) {
        memcpy(shard->buf + shard->len, line, (size_t)n);
        shard->len += (size_t)n;
    } else {
        shard->dropped++;
    }
    pthread_mutex_unlock(&shard->mu);
}

/* Lines written before the log is open, or for gRPC core, go to standard error under this. */
static pthread_mutex_t stderr_mu = PTHREAD_MUTEX_INITIALIZER;

void tc_api_log_event(tc_api_log *log, const char *level, const char *event, const char *fields)
{
    if (log != NULL && !log->debug && strcmp(level, "debug") == 0)
        return;
    char line[TC_API_LOG_LINE_MAX * 2], t[TC_TIME_US_TEXT_LEN];
    now_text(t);
    int n = snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"event\":\"%s\"%s%s}\n",
                     t, level, event, fields[0] ? "," : "", fields);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    pthread_mutex_t *mu = log != NULL ? &log->event_mu : &stderr_mu;
    pthread_mutex_lock(mu);
    write_all(log != NULL ? log->fd : STDERR_FILENO, line, (size_t)n);
    pthread_mutex_unlock(mu);
}

void tc_api_log_eventf(tc_api_log *log, const char *level, const char *event, const char *key,
                       const char *fmt, ...)
{
    char text[TC_API_LOG_LINE_MAX], esc[TC_API_LOG_LINE_MAX], fields[TC_API_LOG_LINE_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    tc_text_redact_ids(text);
    tc_api_log_escape(text, esc, sizeof esc);
    snprintf(fields, sizeof fields, "\"%s\":\"%s\"", key, esc);
    tc_api_log_event(log, level, event, fields);
}

/* gRPC core's own messages (a failed TLS handshake, a bad HTTP/2 frame), as JSON lines like
 * every other: by default core prints them in a format of its own on standard error. */
static void grpc_line(gpr_log_func_args *a)
{
    const char *file = a->file != NULL ? strrchr(a->file, '/') : NULL;
    file = file != NULL ? file + 1 : a->file != NULL ? a->file : "";
    char msg[TC_API_LOG_LINE_MAX], esc[TC_API_LOG_LINE_MAX], where[160];
    char fields[TC_API_LOG_LINE_MAX + 256];
    snprintf(msg, sizeof msg, "%s", a->message != NULL ? a->message : "");
    tc_text_redact_ids(msg);
    tc_api_log_escape(msg, esc, sizeof esc);
    tc_api_log_escape(file, where, sizeof where);
    snprintf(fields, sizeof fields, "\"file\":\"%s\",\"line\":%d,\"message\":\"%s\"", where,
             a->line, esc);
    tc_api_log_event(NULL,
                     a->severity == GPR_LOG_SEVERITY_ERROR  ? "error"
                     : a->severity == GPR_LOG_SEVERITY_INFO ? "info"
                                                            : "debug",
                     "grpc", fields);
}

void tc_api_log_capture_grpc(void)
{
    gpr_set_log_function(grpc_line);
}
