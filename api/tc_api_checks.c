#include "tc_api_checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tc_audit.h"
#include "tc_model.h"
#include "tc_text.h"
#include "tc_time.h"

#define TIMESTAMP_SECONDS_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/* The engine's checks say "field 'x': why": the violation is of x, for why; anything else is of
 * the given field. Returns 1 (one more problem). */
/* What a request's checks say repeats what the client sent (a name, a level, a value): any run
 * of digits long enough to be a citizen ID is redacted before it goes back or into a log. */
static int bad_from(tc_api_error *e, const char *field, const char *text)
{
    char msg[TC_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", text);
    tc_text_redact_ids(msg);
    const char *q;
    if (strncmp(msg, "field '", 7) == 0 && (q = strchr(msg + 7, '\'')) != NULL &&
        strncmp(q, "': ", 3) == 0 && (size_t)(q - msg - 7) < TC_API_ERROR_FIELD_MAX) {
        char name[TC_API_ERROR_FIELD_MAX];
        memcpy(name, msg + 7, (size_t)(q - msg - 7));
        name[q - msg - 7] = '\0';
        tc_api_error_violation(e, name, "%s", q + 3);
    } else {
        tc_api_error_violation(e, field, "%s", msg);
    }
    return 1;
}

/* A violation of field, as "field 'x': why" would read; returns 1 (one more problem). */
static int bad(tc_api_error *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(tc_api_error *e, const char *field, const char *fmt, ...)
{
    char why[TC_API_ERROR_WHY_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    tc_text_redact_ids(why);
    tc_api_error_violation(e, field, "%s", why);
    return 1;
}

const char *tc_api_grouped(unsigned long long n, char out[TC_API_GROUPED_LEN])
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%llu", n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

/* "field 'x' is required" reads as a sentence, "field 'x': 9 is more than 8" as a label and a
 * fact: the colon only where the reason does not go on from the field's name. */
static const char *joint(const char *why)
{
    static const char *const verbs[] = {"is ", "are ", "holds ", "must ", "may ", "has ", "not "};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strncmp(why, verbs[i], strlen(verbs[i])) == 0)
            return " ";
    return ": ";
}

void tc_api_invalid(tc_api_error *e, const char *context)
{
    size_t n = e->n_violations;
    const tc_api_violation *v = &e->violations[0];
    const char *sep = context[0] != '\0' ? ": " : "";
    /* composed at full length, then cut to the message's size */
    char text[TC_API_ERROR_MESSAGE_MAX + TC_API_ERROR_FIELD_MAX + TC_API_ERROR_WHY_MAX + 96];
    e->code = 3; /* INVALID_ARGUMENT */
    e->reason = TINCHAP__V1__ERROR_REASON__INVALID_REQUEST;
    if (n == 1 && v->field[0] != '\0')
        snprintf(text, sizeof text, "%.64s%sfield '%s'%s%s", context, sep, v->field,
                 joint(v->why), v->why);
    else if (n == 1)
        snprintf(text, sizeof text, "%.64s%s%s", context, sep, v->why);
    else
        snprintf(text, sizeof text, "%.64s%s%zu fields are wrong (google.rpc.BadRequest lists "
                 "them), the first: field '%s'%s%s", context, sep, n, v->field, joint(v->why),
                 v->why);
    size_t len = strlen(text);
    if (len >= sizeof e->message)
        len = sizeof e->message - 1;
    memcpy(e->message, text, len);
    e->message[len] = '\0';
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

/* Walk one encoded message and add a violation for every string field that is not
 * well-formed UTF-8 or holds a NUL (a broken encoding stops the walk: the decoder reports it).
 * prefix is the path of the message ("" at the top, "attributes[2]" inside). */
static void wire_scan(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
                      int depth, const char *prefix, tc_api_error *e)
{
    size_t pos = 0;
    size_t index[64] = {0}; /* occurrences so far of fields 1..63: repeated fields' indices */
    while (pos < len) {
        uint64_t tag, n;
        if (!wire_varint(p, len, &pos, &tag))
            return;
        unsigned wt = (unsigned)(tag & 7);
        if (wt == 0 && !wire_varint(p, len, &pos, &n))
            return;
        if (wt == 1 || wt == 5) {
            if (len - pos < (wt == 1 ? 8u : 4u))
                return;
            pos += wt == 1 ? 8 : 4;
        }
        if (wt != 0 && wt != 1 && wt != 2 && wt != 5)
            return;
        if (wt != 2)
            continue;
        if (!wire_varint(p, len, &pos, &n) || n > len - pos)
            return;
        const ProtobufCFieldDescriptor *f =
            tag >> 3 <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3))
                : NULL;
        const char *field = (const char *)(p + pos);
        pos += (size_t)n;
        if (f == NULL)
            continue; /* an unknown field: never read */
        char path[TC_API_ERROR_FIELD_MAX];
        size_t k = f->id < 64 ? index[f->id]++ : 0;
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            snprintf(path, sizeof path, "%s%s%s[%zu]", prefix, prefix[0] ? "." : "", f->name, k);
        else
            snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", f->name);
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            if (memchr(field, 0, (size_t)n) != NULL)
                bad(e, path, "holds a NUL byte");
            else if (!tc_utf8_valid(field, (size_t)n))
                bad(e, path, "is not valid UTF-8");
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < WIRE_DEPTH_MAX) {
            wire_scan(f->descriptor, (const uint8_t *)field, (size_t)n, depth + 1, path, e);
        }
    }
}

int tc_api_check_strings(const ProtobufCMessageDescriptor *d, const void *data, size_t len,
                         const char *prefix, tc_api_error *e)
{
    size_t before = e->n_violations;
    wire_scan(d, data, len, 0, prefix, e);
    return (int)(e->n_violations - before);
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

int tc_api_check_score(const Tinchap__V1__ScoreRequest *q, tc_api_error *e)
{
    tc_error err;
    int n = 0;
    const char *p = tc_api_request_id_problem(q->request_id);
    if (p != NULL)
        n += bad(e, "request_id", "%s", p);
    if (tc_id_parse(q->citizen_id, strlen(q->citizen_id), 0, NULL, &err) != TC_OK)
        n += bad(e, "citizen_id", "%s", err.msg);
    if (tc_consent_check_ref(q->consent_ref, strlen(q->consent_ref), &err) != TC_OK)
        n += bad_from(e, "consent_ref", err.msg);
    if (tc_consent_check_purpose(q->purpose, strlen(q->purpose), &err) != TC_OK)
        n += bad_from(e, "purpose", err.msg);
    /* purpose (checked above), product and model name are kept in the audit record as sent */
    if (!token_ok(q->product, TC_MODEL_NAME_MAX))
        n += bad(e, "product", "1-64 characters of a-z, 0-9, '-', '_', '.'");
    else if (has_id_digits(q->product))
        n += bad(e, "product", "must not contain 12 or more consecutive digits");
    if (q->model_name[0] != '\0' && !token_ok(q->model_name, TC_MODEL_NAME_MAX))
        n += bad(e, "model_name", "1-64 characters of a-z, 0-9, '-', '_', '.'");
    else if (has_id_digits(q->model_name))
        n += bad(e, "model_name", "must not contain 12 or more consecutive digits");
    if (q->model_version != 0 && q->model_name[0] == '\0')
        n += bad(e, "model_version", "a version needs its model_name (the champion is the "
                 "product's, whatever its version)");
    char a[TC_API_GROUPED_LEN], b[TC_API_GROUPED_LEN];
    if (q->max_reasons > TC_REASONS_OUT_MAX)
        n += bad(e, "max_reasons", "%s is more than %d", tc_api_grouped(q->max_reasons, a),
                 TC_REASONS_OUT_MAX);
    if (q->loan_amount_vnd < 0)
        n += bad(e, "loan_amount_vnd", "must not be negative");
    else if (q->loan_amount_vnd > TC_API_LOAN_AMOUNT_MAX)
        n += bad(e, "loan_amount_vnd", "%s is more than %s VND",
                 tc_api_grouped((unsigned long long)q->loan_amount_vnd, a),
                 tc_api_grouped(TC_API_LOAN_AMOUNT_MAX, b));
    if (q->loan_term_months > TC_API_LOAN_TERM_MAX)
        n += bad(e, "loan_term_months", "%s is more than %d",
                 tc_api_grouped(q->loan_term_months, a), TC_API_LOAN_TERM_MAX);
    return n;
}

int tc_api_time_of(const char *field, const Google__Protobuf__Timestamp *t, int required,
                   int64_t *out, tc_api_error *e)
{
    if (t == NULL)
        return required ? bad(e, field, "is required") : 0;
    if (t->seconds < 0 || t->seconds > TIMESTAMP_SECONDS_MAX || t->nanos < 0 ||
        t->nanos > 999999999)
        return bad(e, field, "not a time between 1970 and 9999");
    *out = t->seconds; /* consents are kept to the second */
    return 0;
}

int tc_api_check_grant(const Tinchap__V1__GrantConsentRequest *q, tc_consent *c, tc_api_error *e)
{
    tc_error err;
    memset(c, 0, sizeof *c);
    int n = tc_api_time_of("granted_at", q->granted_at, 1, &c->granted_at, e) +
            tc_api_time_of("expires_at", q->expires_at, 1, &c->expires_at, e);
    if (tc_consent_check_institution(q->institution, strlen(q->institution), &err) != TC_OK)
        n += bad_from(e, "institution", err.msg);
    if (tc_consent_check_purpose(q->purpose, strlen(q->purpose), &err) != TC_OK)
        n += bad_from(e, "purpose", err.msg);
    if (tc_consent_check_ref(q->consent_ref, strlen(q->consent_ref), &err) != TC_OK)
        n += bad_from(e, "consent_ref", err.msg);
    if (n > 0)
        return n;
    memcpy(c->institution, q->institution, strlen(q->institution) + 1);
    memcpy(c->purpose, q->purpose, strlen(q->purpose) + 1);
    memcpy(c->ref, q->consent_ref, strlen(q->consent_ref) + 1);
    if (tc_consent_validate(c, &err) != TC_OK)
        return bad_from(e, "expires_at", err.msg);
    return 0;
}

int tc_api_check_revoke(const Tinchap__V1__RevokeConsentRequest *q, int64_t *at, tc_api_error *e)
{
    tc_error err;
    int n = tc_api_time_of("revoked_at", q->revoked_at, 0, at, e);
    if (tc_consent_check_institution(q->institution, strlen(q->institution), &err) != TC_OK)
        n += bad_from(e, "institution", err.msg);
    if (tc_consent_check_purpose(q->purpose, strlen(q->purpose), &err) != TC_OK)
        n += bad_from(e, "purpose", err.msg);
    return n;
}

/* One attribute of a record into values[k]; a violation when its value is not of the
 * attribute's type or range. */
static int attribute_value(const tc_attr *at, const Tinchap__V1__AttributeValue *a,
                           const char *path, tc_value *out, tc_api_error *e)
{
    tc_error err;
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
            return bad(e, path, "field '%s' value '%s': not a level of this category", at->name,
                       tc_error_quote(q, sizeof q, a->level, strlen(a->level)));
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
        return bad(e, path, "field '%s': expected a value of type %s", at->name,
                   tc_attr_type_name(at->type));
    if (tc_attr_check(at, v, &err) != TC_OK)
        return bad(e, path, "%s", err.msg);
    *out = v;
    return 0;
}

/* What is said about a record never repeats its own citizen ID, even one too short to be valid
 * (an attribute's name or level may embed it, and runs of 12 digits are all the redaction
 * catches): in the violations from first on, each occurrence of it becomes '#'s. */
static void hide_record_id(tc_api_error *e, size_t first, const char *id)
{
    size_t n = strlen(id);
    if (n < 6 || strspn(id, "0123456789") != n)
        return;
    for (size_t i = first; i < e->n_violations && i < TC_API_ERROR_VIOLATIONS_MAX; i++)
        for (char *p = e->violations[i].why; (p = strstr(p, id)) != NULL; p += n)
            memset(p, '#', n);
}

int tc_api_check_record(const tc_catalog *cat, const Tinchap__V1__CitizenRecord *r, size_t idx,
                        tc_id_info *info, tc_value values[TC_CATALOG_ATTRS_MAX], tc_api_error *e)
{
    size_t first = e->n_violations;
    tc_error err;
    unsigned char seen[TC_CATALOG_ATTRS_MAX] = {0};
    char path[TC_API_ERROR_FIELD_MAX];
    int n = 0;
    snprintf(path, sizeof path, "records[%zu].citizen_id", idx);
    if (tc_id_parse(r->citizen_id, strlen(r->citizen_id), 0, info, &err) != TC_OK)
        n += bad(e, path, "%s", err.msg);
    for (size_t i = 0; i < r->n_attributes; i++) {
        const Tinchap__V1__AttributeValue *a = r->attributes[i];
        snprintf(path, sizeof path, "records[%zu].attributes[%zu]", idx, i);
        int k = tc_catalog_find(cat, a->name);
        if (k < 0) {
            char q[80];
            n += bad(e, path, "attribute '%s' is not in catalog '%s'",
                     tc_error_quote(q, sizeof q, a->name, strlen(a->name)), cat->name);
        } else if (seen[k]++) {
            n += bad(e, path, "attribute '%s' repeats", a->name);
        } else {
            n += attribute_value(&cat->attrs[k], a, path, &values[k], e);
        }
    }
    snprintf(path, sizeof path, "records[%zu].attributes", idx);
    for (size_t k = 0; k < cat->n_attrs; k++)
        if (!seen[k])
            n += bad(e, path, "attribute '%s' is missing (send it with missing=true if it has "
                     "no value)", cat->attrs[k].name);
    int which = -1;
    if (n == 0 && tc_id_check_values(info, cat, values, &which, &err) != TC_OK)
        n += bad(e, path, "%s", err.msg);
    hide_record_id(e, first, r->citizen_id);
    return n;
}
