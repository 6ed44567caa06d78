#include "tc_api_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tc_audit.h"
#include "tc_model.h"
#include "tc_text.h"
#include "tc_time.h"

static int fail(char *msg, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return 1;
}

static int token_ok(const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return 1;
}

static int has_id_digits(const char *v)
{
    return tc_text_has_id_run(v, strlen(v));
}

/* ---- strings on the wire ---- */

#define WIRE_DEPTH_MAX 8 /* messages inside messages: tinchap's go two deep */

static int wire_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* Walk one encoded message: 0 when every string field is well-formed UTF-8 without NUL (or the
 * encoding is broken, which the decoder then reports), 1 with the offending field's path. */
static int wire_scan(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
                     int depth, char *path, size_t size, const char **why)
{
    size_t pos = 0;
    while (pos < len) {
        uint64_t tag, n;
        if (!wire_varint(p, len, &pos, &tag))
            return 0;
        unsigned wt = (unsigned)(tag & 7);
        if (wt == 0 && !wire_varint(p, len, &pos, &n))
            return 0;
        if (wt == 1 || wt == 5) {
            if (len - pos < (wt == 1 ? 8u : 4u))
                return 0;
            pos += wt == 1 ? 8 : 4;
        }
        if (wt != 0 && wt != 1 && wt != 2 && wt != 5)
            return 0;
        if (wt != 2)
            continue;
        if (!wire_varint(p, len, &pos, &n) || n > len - pos)
            return 0;
        const ProtobufCFieldDescriptor *f =
            tag >> 3 <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3))
                : NULL;
        const char *field = (const char *)(p + pos);
        pos += (size_t)n;
        if (f == NULL)
            continue; /* an unknown field: never read */
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            if (memchr(field, 0, (size_t)n) != NULL)
                *why = "holds a NUL byte";
            else if (!tc_utf8_valid(field, (size_t)n))
                *why = "is not valid UTF-8";
            else
                continue;
            snprintf(path, size, "%s", f->name);
            return 1;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < WIRE_DEPTH_MAX &&
            wire_scan(f->descriptor, (const uint8_t *)field, (size_t)n, depth + 1, path, size,
                      why)) {
            size_t fl = strlen(f->name), pl = strlen(path);
            if (fl + 1 + pl < size) { /* "attributes." before "level" */
                memmove(path + fl + 1, path, pl + 1);
                memcpy(path, f->name, fl);
                path[fl] = '.';
            }
            return 1;
        }
    }
    return 0;
}

int tc_api_strings_check(const ProtobufCMessageDescriptor *d, const void *data, size_t len,
                         char *msg, size_t size)
{
    char path[128];
    const char *why = NULL;
    if (!wire_scan(d, data, len, 0, path, sizeof path, &why))
        return 0;
    return fail(msg, size, "field '%s' %s", path, why);
}

/* Any ID a bank's systems make: every UUID form (hex, hyphenated, braced, urn:uuid:), ULIDs,
 * "app-2026-000123". A run of digits is fine: what is kept of it is redacted or hashed. */
const char *tc_api_request_id_problem(const char *v)
{
    size_t n = strlen(v);
    if (n == 0)
        return "is required";
    if (n > TC_AUDIT_TEXT_MAX)
        return "is longer than 64 characters";
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-' || c == '{' || c == '}'))
            return "may hold only A-Z a-z 0-9 . _ : - { }";
    }
    return NULL;
}

int tc_api_score_check(const Tinchap__V1__ScoreRequest *q, char *msg, size_t size)
{
    tc_error err;
    const char *p = tc_api_request_id_problem(q->request_id);
    if (p != NULL)
        return fail(msg, size, "field 'request_id' %s", p);
    if (tc_id_parse(q->citizen_id, strlen(q->citizen_id), 0, NULL, &err) != TC_OK)
        return fail(msg, size, "field 'citizen_id': %s", err.msg);
    if (tc_consent_check_ref(q->consent_ref, strlen(q->consent_ref), &err) != TC_OK ||
        tc_consent_check_purpose(q->purpose, strlen(q->purpose), &err) != TC_OK)
        return fail(msg, size, "%s", err.msg);
    /* purpose (checked above), product and model name are kept in the audit record as sent */
    if (!token_ok(q->product, TC_MODEL_NAME_MAX))
        return fail(msg, size, "field 'product': 1-64 characters of a-z, 0-9, '-', '_', '.'");
    if (has_id_digits(q->product))
        return fail(msg, size, "field 'product' must not contain 12 or more consecutive digits");
    if (q->model_name[0] != '\0' && !token_ok(q->model_name, TC_MODEL_NAME_MAX))
        return fail(msg, size, "field 'model_name': 1-64 characters of a-z, 0-9, '-', '_', '.'");
    if (has_id_digits(q->model_name))
        return fail(msg, size,
                    "field 'model_name' must not contain 12 or more consecutive digits");
    if (q->max_reasons > TC_REASONS_OUT_MAX)
        return fail(msg, size, "field 'max_reasons': %u is more than %d", q->max_reasons,
                    TC_REASONS_OUT_MAX);
    if (q->loan_amount_vnd < 0)
        return fail(msg, size, "field 'loan_amount_vnd': must not be negative");
    if (q->loan_term_months > 600)
        return fail(msg, size, "field 'loan_term_months': %u is more than 600",
                    q->loan_term_months);
    return 0;
}

int tc_api_time_parse(const char *field, const char *v, int64_t *out, char *msg, size_t size)
{
    size_t n = strlen(v);
    /* RFC 3339 with fractional seconds: keep whole seconds */
    char buf[TC_TIME_TEXT_LEN];
    if (n > 20 && v[19] == '.' && v[n - 1] == 'Z' && n < 40) {
        memcpy(buf, v, 19);
        buf[19] = 'Z';
        buf[20] = '\0';
        v = buf;
        n = 20;
    }
    if (tc_time_parse(v, n, out) != TC_OK)
        return fail(msg, size,
                    "field '%s': not a UTC time like 2026-01-31T09:00:00Z or a date like "
                    "2026-01-31",
                    field);
    return 0;
}

int tc_api_grant_check(const Tinchap__V1__GrantConsentRequest *q, tc_consent *c, char *msg,
                       size_t size)
{
    tc_error err;
    memset(c, 0, sizeof *c);
    if (tc_api_time_parse("granted_at", q->granted_at, &c->granted_at, msg, size) ||
        tc_api_time_parse("expires_at", q->expires_at, &c->expires_at, msg, size))
        return 1;
    if (strlen(q->institution) > TC_INSTITUTION_MAX || strlen(q->purpose) > TC_PURPOSE_MAX ||
        strlen(q->consent_ref) > TC_CONSENT_REF_MAX)
        return fail(msg, size, "a field is longer than allowed");
    memcpy(c->institution, q->institution, strlen(q->institution) + 1);
    memcpy(c->purpose, q->purpose, strlen(q->purpose) + 1);
    memcpy(c->ref, q->consent_ref, strlen(q->consent_ref) + 1);
    if (tc_consent_validate(c, &err) != TC_OK)
        return fail(msg, size, "%s", err.msg);
    return 0;
}

int tc_api_revoke_check(const Tinchap__V1__RevokeConsentRequest *q, int64_t *at, char *msg,
                        size_t size)
{
    tc_error err;
    if (q->revoked_at[0] != '\0' && tc_api_time_parse("revoked_at", q->revoked_at, at, msg, size))
        return 1;
    if (tc_consent_check_institution(q->institution, strlen(q->institution), &err) != TC_OK ||
        tc_consent_check_purpose(q->purpose, strlen(q->purpose), &err) != TC_OK)
        return fail(msg, size, "%s", err.msg);
    return 0;
}

int tc_api_record_check(const tc_catalog *cat, const Tinchap__V1__CitizenRecord *r, size_t idx,
                        tc_id_info *info, tc_value values[TC_CATALOG_ATTRS_MAX], char *msg,
                        size_t size)
{
    tc_error err;
    unsigned char seen[TC_CATALOG_ATTRS_MAX] = {0};
    if (tc_id_parse(r->citizen_id, strlen(r->citizen_id), 0, info, &err) != TC_OK)
        return fail(msg, size, "record %zu: field 'citizen_id': %s", idx, err.msg);
    for (size_t i = 0; i < r->n_attributes; i++) {
        const Tinchap__V1__AttributeValue *a = r->attributes[i];
        int k = tc_catalog_find(cat, a->name);
        if (k < 0) {
            char q[80];
            return fail(msg, size, "record %zu: attribute '%s' is not in catalog '%s'", idx,
                        tc_error_quote(q, sizeof q, a->name, strlen(a->name)), cat->name);
        }
        if (seen[k]++)
            return fail(msg, size, "record %zu: attribute '%s' repeats", idx, a->name);
        const tc_attr *at = &cat->attrs[k];
        tc_value v = {0, 1};
        int type_ok = 1;
        switch (a->value_case) {
        case TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_INT_VALUE:
            type_ok = at->type == TC_ATTR_INT || at->type == TC_ATTR_REAL;
            v.v = (double)a->int_value;
            break;
        case TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_REAL_VALUE:
            type_ok = at->type == TC_ATTR_REAL;
            v.v = a->real_value;
            break;
        case TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_BOOL_VALUE:
            type_ok = at->type == TC_ATTR_BOOL;
            v.v = a->bool_value ? 1 : 0;
            break;
        case TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_LEVEL: {
            type_ok = at->type == TC_ATTR_CATEGORY;
            int l = type_ok ? tc_attr_level(at, a->level, strlen(a->level)) : 0;
            if (type_ok && l < 0) {
                char q[80];
                return fail(msg, size,
                            "record %zu: field '%s' value '%s': not a level of this category",
                            idx, at->name, tc_error_quote(q, sizeof q, a->level, strlen(a->level)));
            }
            v.v = l;
            break;
        }
        case TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_MISSING:
            v.present = 0;
            break;
        default:
            type_ok = 0;
            break;
        }
        if (!type_ok)
            return fail(msg, size, "record %zu: field '%s': expected a value of type %s", idx,
                        at->name, tc_attr_type_name(at->type));
        if (tc_attr_check(at, v, &err) != TC_OK)
            return fail(msg, size, "record %zu: %s", idx, err.msg);
        values[k] = v;
    }
    for (size_t k = 0; k < cat->n_attrs; k++)
        if (!seen[k])
            return fail(msg, size, "record %zu: attribute '%s' is missing "
                        "(send it with missing=true if it has no value)", idx, cat->attrs[k].name);
    int bad = -1;
    if (tc_id_check_values(info, cat, values, &bad, &err) != TC_OK)
        return fail(msg, size, "record %zu: %s", idx, err.msg);
    return 0;
}
