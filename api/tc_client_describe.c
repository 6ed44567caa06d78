/* tc_client_describe: a failed call's google.rpc.Status as a person reads it. Kept apart from
 * the transport (tc_client.c) because it needs the protos and the transport does not. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "tc_client.h"

#define TYPE_PREFIX "type.googleapis.com/"

typedef struct out {
    char *buf;
    size_t size, used;
} out;

static void add(out *o, const char *indent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add(out *o, const char *indent, const char *fmt, ...)
{
    if (o->used + 1 >= o->size)
        return;
    int n = snprintf(o->buf + o->used, o->size - o->used, "%s", indent);
    if (n > 0)
        o->used += (size_t)n < o->size - o->used ? (size_t)n : o->size - o->used - 1;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->used, o->size - o->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used += (size_t)n < o->size - o->used ? (size_t)n : o->size - o->used - 1;
    if (o->used + 1 < o->size)
        o->buf[o->used++] = '\n';
    o->buf[o->used] = '\0';
}

static int is(const Google__Protobuf__Any *a, const ProtobufCMessageDescriptor *d)
{
    size_t n = strlen(TYPE_PREFIX);
    return a->type_url != NULL && strncmp(a->type_url, TYPE_PREFIX, n) == 0 &&
           strcmp(a->type_url + n, d->name) == 0;
}

static void one_detail(out *o, const char *indent, const Google__Protobuf__Any *a)
{
    if (is(a, &google__rpc__error_info__descriptor)) {
        Google__Rpc__ErrorInfo *e =
            google__rpc__error_info__unpack(NULL, a->value.len, a->value.data);
        if (e == NULL)
            return;
        add(o, indent, "reason: %s (%s)", e->reason, e->domain);
        for (size_t i = 0; i < e->n_metadata; i++)
            add(o, indent, "%s: %s", e->metadata[i]->key, e->metadata[i]->value);
        google__rpc__error_info__free_unpacked(e, NULL);
    } else if (is(a, &google__rpc__bad_request__descriptor)) {
        Google__Rpc__BadRequest *b =
            google__rpc__bad_request__unpack(NULL, a->value.len, a->value.data);
        if (b == NULL)
            return;
        for (size_t i = 0; i < b->n_field_violations; i++)
            add(o, indent, "field '%s': %s", b->field_violations[i]->field,
                b->field_violations[i]->description);
        google__rpc__bad_request__free_unpacked(b, NULL);
    } else if (is(a, &google__rpc__retry_info__descriptor)) {
        Google__Rpc__RetryInfo *r =
            google__rpc__retry_info__unpack(NULL, a->value.len, a->value.data);
        if (r == NULL)
            return;
        if (r->retry_delay != NULL)
            add(o, indent, "retry after: %.3f s",
                (double)r->retry_delay->seconds + r->retry_delay->nanos / 1e9);
        google__rpc__retry_info__free_unpacked(r, NULL);
    }
}

size_t tc_client_describe(const unsigned char *details, size_t len, const char *indent, char *buf,
                          size_t size)
{
    if (size == 0)
        return 0;
    buf[0] = '\0';
    Google__Rpc__Status *st = details != NULL ? google__rpc__status__unpack(NULL, len, details)
                                              : NULL;
    if (st == NULL)
        return 0;
    out o = {buf, size, 0};
    for (size_t i = 0; i < st->n_details; i++)
        one_detail(&o, indent, st->details[i]);
    google__rpc__status__free_unpacked(st, NULL);
    return o.used;
}
