/* A failed call's google.rpc.Status; see tc_api_error.h. */
#include "tc_api_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define TYPE_URL_PREFIX "type.googleapis.com/"

void tc_api_error_vset(tc_api_error *e, int code, tc_api_reason reason, const char *fmt,
                       va_list ap)
{
    e->code = code;
    e->reason = reason;
    e->n_meta = 0;
    e->n_violations = 0;
    e->retry_ms = 0;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

void tc_api_error_set(tc_api_error *e, int code, tc_api_reason reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tc_api_error_vset(e, code, reason, fmt, ap);
    va_end(ap);
}

void tc_api_error_meta(tc_api_error *e, const char *key, const char *fmt, ...)
{
    if (e->n_meta == TC_API_ERROR_META_MAX)
        return;
    e->meta[e->n_meta].key = key;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->meta[e->n_meta].value, sizeof e->meta[e->n_meta].value, fmt, ap);
    va_end(ap);
    e->n_meta++;
}

void tc_api_error_violation(tc_api_error *e, const char *field, const char *fmt, ...)
{
    size_t i = e->n_violations++;
    if (i >= TC_API_ERROR_VIOLATIONS_MAX)
        return;
    snprintf(e->violations[i].field, sizeof e->violations[i].field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->violations[i].why, sizeof e->violations[i].why, fmt, ap);
    va_end(ap);
}

const char *tc_api_reason_name(tc_api_reason reason)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&tinchap__v1__error_reason__descriptor, reason);
    return v != NULL ? v->name : "ERROR_REASON_UNSPECIFIED";
}

/* One detail as an Any: the message packed into buf at *used, its type URL from the
 * descriptor. */
static int any_of(const ProtobufCMessage *m, Google__Protobuf__Any *any, char *url, size_t url_size,
                  uint8_t *buf, size_t size, size_t *used)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (*used + n > size)
        return -1;
    google__protobuf__any__init(any);
    snprintf(url, url_size, TYPE_URL_PREFIX "%s", m->descriptor->name);
    any->type_url = url;
    any->value.data = buf + *used;
    any->value.len = protobuf_c_message_pack(m, buf + *used);
    *used += n;
    return 0;
}

size_t tc_api_error_pack(const tc_api_error *e, uint8_t *out, size_t size)
{
    /* the details, packed first into a scratch buffer, then wrapped */
    uint8_t scratch[TC_API_ERROR_PACKED_MAX];
    size_t used = 0, n_any = 0;
    Google__Protobuf__Any any[3], *anys[3];
    char urls[3][96];

    Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
    Google__Rpc__ErrorInfo__MetadataEntry entries[TC_API_ERROR_META_MAX], *ep[TC_API_ERROR_META_MAX];
    info.reason = (char *)tc_api_reason_name(e->reason);
    info.domain = TC_API_ERROR_DOMAIN;
    for (size_t i = 0; i < e->n_meta; i++) {
        google__rpc__error_info__metadata_entry__init(&entries[i]);
        entries[i].key = (char *)e->meta[i].key;
        entries[i].value = (char *)e->meta[i].value;
        ep[i] = &entries[i];
    }
    info.n_metadata = e->n_meta;
    info.metadata = ep;
    if (any_of(&info.base, &any[n_any], urls[n_any], sizeof urls[0], scratch, sizeof scratch,
               &used) == 0)
        n_any++;

    size_t nv = e->n_violations < TC_API_ERROR_VIOLATIONS_MAX ? e->n_violations
                                                             : TC_API_ERROR_VIOLATIONS_MAX;
    Google__Rpc__BadRequest bad = GOOGLE__RPC__BAD_REQUEST__INIT;
    Google__Rpc__BadRequest__FieldViolation fv[TC_API_ERROR_VIOLATIONS_MAX],
        *fvp[TC_API_ERROR_VIOLATIONS_MAX];
    for (size_t i = 0; i < nv; i++) {
        google__rpc__bad_request__field_violation__init(&fv[i]);
        fv[i].field = (char *)e->violations[i].field;
        fv[i].description = (char *)e->violations[i].why;
        fvp[i] = &fv[i];
    }
    bad.n_field_violations = nv;
    bad.field_violations = fvp;
    if (nv > 0 && any_of(&bad.base, &any[n_any], urls[n_any], sizeof urls[0], scratch,
                         sizeof scratch, &used) == 0)
        n_any++;

    Google__Rpc__RetryInfo retry = GOOGLE__RPC__RETRY_INFO__INIT;
    Google__Protobuf__Duration delay = GOOGLE__PROTOBUF__DURATION__INIT;
    delay.seconds = e->retry_ms / 1000;
    delay.nanos = (int32_t)(e->retry_ms % 1000) * 1000000;
    retry.retry_delay = &delay;
    if (e->retry_ms > 0 && any_of(&retry.base, &any[n_any], urls[n_any], sizeof urls[0],
                                  scratch, sizeof scratch, &used) == 0)
        n_any++;

    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = e->code;
    st.message = (char *)e->message;
    for (size_t i = 0; i < n_any; i++)
        anys[i] = &any[i];
    st.n_details = n_any;
    st.details = anys;
    if (google__rpc__status__get_packed_size(&st) > size)
        return 0;
    return google__rpc__status__pack(&st, out);
}
