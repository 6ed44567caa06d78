/* The proto3 JSON mapping over protobuf-c descriptors; see tc_pb_json.h. */
#include "tc_pb_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "google/protobuf/any.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "tc_json.h"
#include "tc_time.h"

#define TIMESTAMP "google.protobuf.Timestamp"
#define DURATION "google.protobuf.Duration"
#define ANY "google.protobuf.Any"
#define TYPE_URL_PREFIX "type.googleapis.com/"
#define TIMESTAMP_MAX_SECONDS 253402300799LL /* 9999-12-31T23:59:59Z, as the mapping bounds it */

void tc_pb_json_name(const char *proto_name, char *buf, size_t size)
{
    size_t o = 0;
    int upper = 0;
    for (const char *p = proto_name; *p != '\0' && o + 1 < size; p++) {
        if (*p == '_') {
            upper = 1;
            continue;
        }
        buf[o++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper = 0;
    }
    buf[o] = '\0';
}

/* ---- encoding ---- */

static json_t *real_json(double v)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    return json_real(v);
}

static json_t *bytes_json(const ProtobufCBinaryData *b)
{
    if (b->len > (size_t)INT32_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((b->len + 2) / 3) + 1);
    if (out == NULL)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, b->data, (int)b->len);
    json_t *j = json_string(out);
    free(out);
    return j;
}

static json_t *int64_json(int64_t v, unsigned flags)
{
    if (flags & TC_PB_JSON_INT64_NUMBERS)
        return json_integer(v);
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return json_string(buf);
}

static json_t *uint64_json(uint64_t v, unsigned flags)
{
    if ((flags & TC_PB_JSON_INT64_NUMBERS) && v <= INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return json_string(buf);
}

/* RFC 3339 UTC with 0, 3, 6 or 9 fractional digits, as few as the value needs (the
 * mapping's canonical form). */
static json_t *timestamp_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *)msg;
    int64_t sec = *(const int64_t *)(base + d->fields[0].offset);
    int32_t nanos = *(const int32_t *)(base + d->fields[1].offset);
    char buf[TC_TIME_TEXT_LEN + 16];
    tc_time_format(sec, buf);
    if (nanos > 0 && nanos < 1000000000) {
        char frac[16];
        if (nanos % 1000000 == 0)
            snprintf(frac, sizeof frac, ".%03d", nanos / 1000000);
        else if (nanos % 1000 == 0)
            snprintf(frac, sizeof frac, ".%06d", nanos / 1000);
        else
            snprintf(frac, sizeof frac, ".%09d", nanos);
        snprintf(buf + 19, sizeof buf - 19, "%sZ", frac);
    }
    return json_string(buf);
}

/* "1.5s", "0.250s": seconds with 0, 3, 6 or 9 fractional digits. */
static json_t *duration_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *)msg;
    int64_t sec = *(const int64_t *)(base + d->fields[0].offset);
    int32_t nanos = *(const int32_t *)(base + d->fields[1].offset);
    char buf[48];
    int neg = sec < 0 || nanos < 0;
    uint64_t as = (uint64_t)(sec < 0 ? -sec : sec);
    uint32_t an = (uint32_t)(nanos < 0 ? -nanos : nanos);
    if (an == 0)
        snprintf(buf, sizeof buf, "%s%" PRIu64 "s", neg ? "-" : "", as);
    else if (an % 1000000 == 0)
        snprintf(buf, sizeof buf, "%s%" PRIu64 ".%03us", neg ? "-" : "", as, an / 1000000);
    else if (an % 1000 == 0)
        snprintf(buf, sizeof buf, "%s%" PRIu64 ".%06us", neg ? "-" : "", as, an / 1000);
    else
        snprintf(buf, sizeof buf, "%s%" PRIu64 ".%09us", neg ? "-" : "", as, an);
    return json_string(buf);
}

/* The types an Any in an answer can hold: the error details (tc_api_error.h). */
static const ProtobufCMessageDescriptor *any_type(const char *url)
{
    static const ProtobufCMessageDescriptor *const known[] = {
        &google__rpc__error_info__descriptor,
        &google__rpc__bad_request__descriptor,
        &google__rpc__retry_info__descriptor,
    };
    size_t n = strlen(TYPE_URL_PREFIX);
    if (url == NULL || strncmp(url, TYPE_URL_PREFIX, n) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(url + n, known[i]->name) == 0)
            return known[i];
    return NULL;
}

/* {"@type": URL, ...the fields of the message it holds}; a type this API does not know is
 * kept as {"@type": URL, "value": base64}. */
static json_t *any_json(const ProtobufCMessage *msg, unsigned flags)
{
    const Google__Protobuf__Any *any = (const Google__Protobuf__Any *)msg;
    const ProtobufCMessageDescriptor *d = any_type(any->type_url);
    ProtobufCMessage *inner =
        d != NULL ? protobuf_c_message_unpack(d, NULL, any->value.len, any->value.data) : NULL;
    json_t *o = inner != NULL ? tc_pb_json_encode(inner, flags) : json_object();
    if (inner != NULL)
        protobuf_c_message_free_unpacked(inner, NULL);
    if (o == NULL)
        return NULL;
    if (inner == NULL)
        json_object_set_new(o, "value", bytes_json(&any->value));
    json_object_set_new(o, "@type", json_string(any->type_url != NULL ? any->type_url : ""));
    return o;
}

/* protobuf-c writes map<K, V> as a repeated nested message "...Entry" {key = 1; value = 2}. */
static int is_map_entry(const ProtobufCMessageDescriptor *d)
{
    size_t n = strlen(d->name);
    return n > 5 && strcmp(d->name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           d->fields[0].id == 1 && strcmp(d->fields[0].name, "key") == 0 &&
           d->fields[1].id == 2 && strcmp(d->fields[1].name, "value") == 0 &&
           d->fields[0].type == PROTOBUF_C_TYPE_STRING;
}

static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p, unsigned flags);

static json_t *map_json(const ProtobufCFieldDescriptor *f, const char *arr, size_t n,
                        unsigned flags)
{
    const ProtobufCMessageDescriptor *d = f->descriptor;
    json_t *o = json_object();
    for (size_t k = 0; o != NULL && k < n; k++) {
        const char *entry = *(char *const *)(arr + k * sizeof(ProtobufCMessage *));
        const char *key = *(char *const *)(entry + d->fields[0].offset);
        json_object_set_new(o, key != NULL ? key : "",
                            value_json(&d->fields[1], entry + d->fields[1].offset, flags));
    }
    return o;
}

static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p, unsigned flags)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return int64_json(*(const int64_t *)p, flags);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return uint64_json(*(const uint64_t *)p, flags);
    case PROTOBUF_C_TYPE_FLOAT:
        return real_json(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return real_json(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev != NULL ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        /* a peer may send invalid UTF-8, which jansson refuses: show it, do not drop it */
        json_t *j = json_string(s != NULL ? s : "");
        return j != NULL ? j : json_string("(invalid UTF-8)");
    }
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_json(p);
    case PROTOBUF_C_TYPE_MESSAGE:
        return tc_pb_json_encode(*(ProtobufCMessage *const *)p, flags);
    }
    return json_null();
}

static size_t type_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* Whether a singular field has a value to write: a set oneof member, a present message, a
 * present explicit-optional scalar; every other proto3 scalar always. */
static int present(const ProtobufCFieldDescriptor *f, const char *base)
{
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(void *const *)(base + f->offset) != NULL;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
        f->type != PROTOBUF_C_TYPE_STRING)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    return 1;
}

json_t *tc_pb_json_encode(const ProtobufCMessage *msg, unsigned flags)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (strcmp(d->name, TIMESTAMP) == 0)
        return timestamp_json(msg);
    if (strcmp(d->name, DURATION) == 0)
        return duration_json(msg);
    if (strcmp(d->name, ANY) == 0)
        return any_json(msg, flags);
    const char *base = (const char *)msg;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        json_t *v;
        if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
            is_map_entry(f->descriptor)) {
            v = map_json(f, *(char *const *)(base + f->offset),
                         *(const size_t *)(base + f->quantifier_offset), flags);
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *arr = *(char *const *)(base + f->offset);
            v = json_array();
            for (size_t k = 0; v != NULL && k < n; k++)
                json_array_append_new(v, value_json(f, arr + k * type_size(f->type), flags));
        } else {
            if (!present(f, base))
                continue;
            v = value_json(f, base + f->offset, flags);
        }
        char name[TC_PB_JSON_PATH_MAX];
        if (flags & TC_PB_JSON_PROTO_NAMES)
            snprintf(name, sizeof name, "%s", f->name);
        else
            tc_pb_json_name(f->name, name, sizeof name);
        if (v == NULL || json_object_set_new(o, name, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* ---- decoding ---- */

typedef struct dec {
    ProtobufCAllocator *alloc;
    tc_pb_json_violations *why;
    char path[TC_PB_JSON_PATH_MAX];
    int depth;
} dec;

static void violation(dec *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(dec *c, const char *fmt, ...)
{
    size_t i = c->why->n++;
    if (i >= TC_PB_JSON_VIOLATIONS_MAX)
        return;
    snprintf(c->why->v[i].field, sizeof c->why->v[i].field, "%s", c->path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why->v[i].why, sizeof c->why->v[i].why, fmt, ap);
    va_end(ap);
}

/* Extend the path by ".name" or "[i]"; returns the old length, to restore. */
static size_t path_push(dec *c, const char *name, long index)
{
    size_t n = strlen(c->path);
    if (name != NULL)
        snprintf(c->path + n, sizeof c->path - n, "%s%s", n > 0 ? "." : "", name);
    else
        snprintf(c->path + n, sizeof c->path - n, "[%ld]", index);
    return n;
}

static void *alloc_in(dec *c, size_t n)
{
    void *p = c->alloc->alloc(c->alloc->allocator_data, n > 0 ? n : 1);
    if (p == NULL)
        violation(c, "out of memory");
    return p;
}

/* An integer from a JSON number (integral) or a decimal string, within [lo, hi]; the unsigned
 * 64-bit range above INT64_MAX only as a string. */
static int integer_of(dec *c, const json_t *j, int64_t lo, uint64_t hi, int unsig, uint64_t *out)
{
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        if ((unsig && v < 0) || (!unsig && v < lo) || (v >= 0 && (uint64_t)v > hi))
            goto range;
        *out = (uint64_t)v;
        return 0;
    }
    if (json_is_real(j)) {
        double v = json_real_value(j);
        if (v != floor(v) || v < (double)lo || v > (double)hi)
            goto bad;
        *out = (uint64_t)(int64_t)v;
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *end = NULL;
        errno = 0;
        if (s[0] == '\0' || s[0] == ' ' || s[0] == '+')
            goto bad;
        if (unsig) {
            if (s[0] == '-')
                goto range;
            unsigned long long v = strtoull(s, &end, 10);
            if (*end != '\0')
                goto bad;
            if (errno == ERANGE || v > hi)
                goto range;
            *out = v;
        } else {
            long long v = strtoll(s, &end, 10);
            if (*end != '\0')
                goto bad;
            if (errno == ERANGE || v < lo || (v >= 0 && (uint64_t)v > hi))
                goto range;
            *out = (uint64_t)v;
        }
        return 0;
    }
bad:
    violation(c, "expected an integer, got %s", tc_json_type_name(j));
    return -1;
range:
    violation(c, "out of range for this field");
    return -1;
}

static int real_of(dec *c, const json_t *j, double *out)
{
    if (json_is_number(j)) {
        *out = json_number_value(j);
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        if (strcmp(s, "NaN") == 0)
            *out = NAN;
        else if (strcmp(s, "Infinity") == 0)
            *out = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            *out = -INFINITY;
        else {
            char *end = NULL;
            *out = strtod(s, &end);
            if (s[0] == '\0' || *end != '\0' || !isfinite(*out)) {
                violation(c, "expected a number, got the string '%.40s'", s);
                return -1;
            }
        }
        return 0;
    }
    violation(c, "expected a number, got %s", tc_json_type_name(j));
    return -1;
}

static int string_of(dec *c, const json_t *j, char **out)
{
    if (!json_is_string(j)) {
        violation(c, "expected a string, got %s", tc_json_type_name(j));
        return -1;
    }
    size_t n = json_string_length(j);
    const char *s = json_string_value(j);
    if (strlen(s) != n) {
        violation(c, "holds a NUL character");
        return -1;
    }
    char *copy = alloc_in(c, n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, s, n + 1);
    *out = copy;
    return 0;
}

static int bytes_of(dec *c, const json_t *j, ProtobufCBinaryData *out)
{
    if (!json_is_string(j)) {
        violation(c, "expected base64 text, got %s", tc_json_type_name(j));
        return -1;
    }
    size_t n = json_string_length(j);
    char *text = alloc_in(c, n + 4);
    unsigned char *data = alloc_in(c, n + 4);
    if (text == NULL || data == NULL)
        return -1;
    /* the URL-safe alphabet and missing padding are accepted too */
    size_t k = 0;
    for (const char *s = json_string_value(j); *s != '\0'; s++)
        text[k++] = *s == '-' ? '+' : *s == '_' ? '/' : *s;
    while (k % 4 != 0)
        text[k++] = '=';
    text[k] = '\0';
    int len = EVP_DecodeBlock(data, (const unsigned char *)text, (int)k);
    if (len < 0) {
        violation(c, "not base64");
        return -1;
    }
    for (size_t p = k; p > 0 && text[p - 1] == '='; p--)
        len--; /* EVP_DecodeBlock counts padding as zero bytes */
    out->data = data;
    out->len = (size_t)len;
    return 0;
}

static int enum_of(dec *c, const ProtobufCFieldDescriptor *f, const json_t *j, int *out)
{
    const ProtobufCEnumDescriptor *e = f->descriptor;
    const ProtobufCEnumValue *v = NULL;
    if (json_is_string(j))
        v = protobuf_c_enum_descriptor_get_value_by_name(e, json_string_value(j));
    else if (json_is_integer(j) && json_integer_value(j) >= INT32_MIN &&
             json_integer_value(j) <= INT32_MAX)
        v = protobuf_c_enum_descriptor_get_value(e, (int)json_integer_value(j));
    if (v == NULL) {
        violation(c, "not a value of %s", e->name);
        return -1;
    }
    *out = v->value;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|+HH:MM|-HH:MM)" */
static int timestamp_of(dec *c, const json_t *j, ProtobufCMessage *m)
{
    const char *s = json_is_string(j) ? json_string_value(j) : NULL;
    size_t n = s != NULL ? strlen(s) : 0;
    char head[TC_TIME_TEXT_LEN];
    int64_t sec = 0, nanos = 0, offset = 0;
    if (n < 20 || s[10] != 'T')
        goto bad;
    memcpy(head, s, 19);
    head[19] = 'Z';
    head[20] = '\0';
    if (tc_time_parse(head, 20, &sec) != TC_OK)
        goto bad;
    size_t i = 19;
    if (s[i] == '.') {
        int digits = 0;
        for (i++; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (digits == 9)
                goto bad;
            nanos = nanos * 10 + (s[i] - '0');
        }
        if (digits == 0)
            goto bad;
        for (; digits < 9; digits++)
            nanos *= 10;
    }
    if (s[i] == 'Z' && s[i + 1] == '\0') {
        offset = 0;
    } else if ((s[i] == '+' || s[i] == '-') && n - i == 6 && s[i + 3] == ':') {
        int hh = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
        int mm = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');
        if (hh > 23 || mm > 59 || s[i + 1] < '0' || s[i + 2] < '0' || s[i + 4] < '0' ||
            s[i + 5] < '0')
            goto bad;
        offset = (s[i] == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
    } else {
        goto bad;
    }
    sec -= offset;
    if (sec < 0 || sec > TIMESTAMP_MAX_SECONDS)
        goto bad;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    *(int64_t *)((char *)m + d->fields[0].offset) = sec;
    *(int32_t *)((char *)m + d->fields[1].offset) = (int32_t)nanos;
    return 0;
bad:
    violation(c, "expected an RFC 3339 time such as \"2026-01-31T09:00:00Z\"");
    return -1;
}

static int message_of(dec *c, const ProtobufCMessageDescriptor *d, const json_t *j,
                      ProtobufCMessage **out);

/* One value of f's type from j into p (a field, or an element of a repeated field). */
static int value_of(dec *c, const ProtobufCFieldDescriptor *f, const json_t *j, void *p)
{
    uint64_t u = 0;
    double r = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (integer_of(c, j, INT32_MIN, INT32_MAX, 0, &u) != 0)
            return -1;
        *(int32_t *)p = (int32_t)(int64_t)u;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (integer_of(c, j, 0, UINT32_MAX, 1, &u) != 0)
            return -1;
        *(uint32_t *)p = (uint32_t)u;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (integer_of(c, j, INT64_MIN, INT64_MAX, 0, &u) != 0)
            return -1;
        *(int64_t *)p = (int64_t)u;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (integer_of(c, j, 0, UINT64_MAX, 1, &u) != 0)
            return -1;
        *(uint64_t *)p = u;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (real_of(c, j, &r) != 0)
            return -1;
        *(float *)p = (float)r;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return real_of(c, j, (double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(j)) {
            violation(c, "expected true or false, got %s", tc_json_type_name(j));
            return -1;
        }
        *(protobuf_c_boolean *)p = json_is_true(j);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return enum_of(c, f, j, (int *)p);
    case PROTOBUF_C_TYPE_STRING:
        return string_of(c, j, (char **)p);
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_of(c, j, (ProtobufCBinaryData *)p);
    case PROTOBUF_C_TYPE_MESSAGE:
        return message_of(c, f->descriptor, j, (ProtobufCMessage **)p);
    }
    return -1;
}

static int repeated_of(dec *c, const ProtobufCFieldDescriptor *f, const json_t *j, char *base)
{
    if (!json_is_array(j)) {
        violation(c, "expected an array, got %s", tc_json_type_name(j));
        return -1;
    }
    size_t n = json_array_size(j), size = type_size(f->type);
    char *arr = alloc_in(c, n * size);
    if (arr == NULL)
        return -1;
    memset(arr, 0, n * size);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t keep = path_push(c, NULL, (long)i);
        if (value_of(c, f, json_array_get(j, i), arr + i * size) != 0)
            rc = -1;
        c->path[keep] = '\0';
    }
    *(size_t *)(base + f->quantifier_offset) = n;
    *(char **)(base + f->offset) = arr;
    return rc;
}

static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *d,
                                                   const char *key)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
    if (f != NULL)
        return f;
    for (unsigned i = 0; i < d->n_fields; i++) {
        char name[TC_PB_JSON_PATH_MAX];
        tc_pb_json_name(d->fields[i].name, name, sizeof name);
        if (strcmp(name, key) == 0)
            return &d->fields[i];
    }
    return NULL;
}

static int field_of(dec *c, const ProtobufCFieldDescriptor *f, const json_t *v, char *base)
{
    if (json_is_null(v))
        return 0; /* the default: unset */
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return repeated_of(c, f, v, base);
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
        uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
        if (*which != 0 && *which != f->id) {
            violation(c, "another member of its oneof is set too: give one");
            return -1;
        }
        *which = f->id;
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
               f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    }
    return value_of(c, f, v, base + f->offset);
}

static int message_of(dec *c, const ProtobufCMessageDescriptor *d, const json_t *j,
                      ProtobufCMessage **out)
{
    *out = NULL;
    if (strcmp(d->name, ANY) == 0 || strcmp(d->name, DURATION) == 0) {
        violation(c, "a %s is not accepted here", d->name);
        return -1;
    }
    int timestamp = strcmp(d->name, TIMESTAMP) == 0;
    if (!timestamp && !json_is_object(j)) {
        violation(c, "expected an object, got %s", tc_json_type_name(j));
        return -1;
    }
    if (c->depth >= TC_PB_JSON_DEPTH_MAX) {
        violation(c, "nested more than %d deep", TC_PB_JSON_DEPTH_MAX);
        return -1;
    }
    ProtobufCMessage *m = alloc_in(c, d->sizeof_message);
    if (m == NULL)
        return -1;
    protobuf_c_message_init(d, m);
    *out = m;
    if (timestamp)
        return timestamp_of(c, j, m);
    /* which fields this object has set: one field under both of its names is refused */
    unsigned char *seen = alloc_in(c, d->n_fields);
    if (seen == NULL)
        return -1;
    memset(seen, 0, d->n_fields);
    c->depth++;
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        size_t keep = path_push(c, key, 0);
        const ProtobufCFieldDescriptor *f = field_named(d, key);
        if (f == NULL) {
            violation(c, "no such field in %s", d->name);
            rc = -1;
        } else if (seen[f - d->fields]++) {
            violation(c, "the field '%s' is given twice (by its JSON and its .proto name)",
                      f->name);
            rc = -1;
        } else if (field_of(c, f, v, (char *)m) != 0) {
            rc = -1;
        }
        c->path[keep] = '\0';
    }
    c->alloc->free(c->alloc->allocator_data, seen);
    c->depth--;
    return rc;
}

/* protobuf-c's own default is malloc and free, which a NULL allocator means to it too. */
static void *sys_alloc(void *data, size_t n)
{
    (void)data;
    return malloc(n);
}

static void sys_free(void *data, void *p)
{
    (void)data;
    free(p);
}

static ProtobufCAllocator sys_allocator = {sys_alloc, sys_free, NULL};

int tc_pb_json_decode(const ProtobufCMessageDescriptor *d, const json_t *j,
                      ProtobufCAllocator *alloc, ProtobufCMessage **out,
                      tc_pb_json_violations *why)
{
    dec c = {.alloc = alloc != NULL ? alloc : &sys_allocator, .why = why};
    why->n = 0;
    ProtobufCMessage *m = NULL;
    if (message_of(&c, d, j, &m) == 0 && why->n == 0) {
        *out = m;
        return 0;
    }
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, c.alloc);
    *out = NULL;
    return -1;
}
