/* tc_api_error — a failed call's google.rpc.Status, the one error answer every interface gives:
 * over gRPC packed in the "grpc-status-details-bin" trailer, over REST as the JSON body.
 *
 * The status always carries a google.rpc.ErrorInfo (domain "tinchap.v1", reason one of
 * tinchap.v1.ErrorReason's names, optional metadata), a google.rpc.BadRequest when fields are
 * wrong (every one of them), and a google.rpc.RetryInfo when a retry later may succeed. Built in
 * a caller's buffer, with no allocation: a worker builds it on the call path. Nothing here
 * knows gRPC. The texts it is given must already be free of citizen IDs (tc_api_text). */
#ifndef TC_API_ERROR_H
#define TC_API_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tinchap/v1/errors.pb-c.h"

#define TC_API_ERROR_DOMAIN "tinchap.v1"
#define TC_API_ERROR_META_MAX 4
#define TC_API_ERROR_META_VALUE_MAX 64
#define TC_API_ERROR_VIOLATIONS_MAX 16
#define TC_API_ERROR_FIELD_MAX 96
#define TC_API_ERROR_WHY_MAX 160
#define TC_API_ERROR_MESSAGE_MAX 256
#define TC_API_ERROR_PACKED_MAX 8192 /* a packed Status is at most this long */

typedef Tinchap__V1__ErrorReason tc_api_reason;

typedef struct tc_api_violation {
    char field[TC_API_ERROR_FIELD_MAX];
    char why[TC_API_ERROR_WHY_MAX];
} tc_api_violation;

typedef struct tc_api_error {
    int code;                  /* the gRPC status code */
    tc_api_reason reason;
    char message[TC_API_ERROR_MESSAGE_MAX];
    size_t n_meta;
    struct {
        const char *key;       /* a literal */
        char value[TC_API_ERROR_META_VALUE_MAX];
    } meta[TC_API_ERROR_META_MAX];
    size_t n_violations;       /* may exceed the stored ones; the rest are counted */
    tc_api_violation violations[TC_API_ERROR_VIOLATIONS_MAX];
    uint32_t retry_ms;         /* 0: no RetryInfo */
} tc_api_error;

/* Start e: code, reason and message (printf). Clears the rest. */
void tc_api_error_set(tc_api_error *e, int code, tc_api_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void tc_api_error_vset(tc_api_error *e, int code, tc_api_reason reason, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));

/* Add a metadata entry (key a literal) and a violation; extra ones are dropped. */
void tc_api_error_meta(tc_api_error *e, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tc_api_error_violation(tc_api_error *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The name a reason travels by, e.g. "CONSENT_NOT_VALID". */
const char *tc_api_reason_name(tc_api_reason reason);

/* Pack e as a google.rpc.Status into out (size bytes, TC_API_ERROR_PACKED_MAX is enough);
 * returns the length. */
size_t tc_api_error_pack(const tc_api_error *e, uint8_t *out, size_t size);

#endif
