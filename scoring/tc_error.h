/* tc_error — the one error table of tinchap.
 *
 * Every function that can fail returns int: 0 (TC_OK) or one of the TC_E* codes below, and fills
 * an optional tc_error with a message a person can act on (file, line, column, field, value,
 * reason). The codes are mapped once to gRPC status codes in api/; nothing else interprets them.
 *
 * Messages never contain a raw citizen ID: callers describe an ID by its position and defect,
 * never by its digits.
 */
#ifndef TC_ERROR_H
#define TC_ERROR_H

#include <stddef.h>

/* X(name, message) — message is the generic text; tc_error.msg carries the specific one. */
#define TC_ERRNO_MAP(X)                                                                            \
    X(EINVAL, "invalid argument")                                                                  \
    X(ENOMEM, "out of memory")                                                                     \
    X(EIO, "input/output error")                                                                   \
    X(EPARSE, "malformed input")                                                                   \
    X(ECATALOG, "invalid attribute catalog")                                                       \
    X(ECATALOG_MISMATCH, "database was built for a different attribute catalog")                   \
    X(EID, "invalid citizen ID")                                                                   \
    X(EKEY, "invalid or wrong secret key")                                                         \
    X(ERECORD, "malformed citizen record")                                                         \
    X(ENOTFOUND, "not found")                                                                      \
    X(EEXIST, "already exists")                                                                    \
    X(EFULL, "database full: raise --map-size")                                                    \
    X(EDB, "database error")                                                                       \
    X(EVERSION, "unsupported format version")                                                      \
    X(ENOCONSENT, "no valid consent")                                                              \
    X(ETOOMANY, "too many errors")                                                                 \
    X(EMODEL, "invalid model file")                                                                \
    X(ENUMERIC, "numerical failure")                                                               \
    X(EBUSY, "resource busy")                                                                      \
    X(ECANCELLED, "cancelled")

enum {
    TC_OK = 0,
    TC__ERRNO_BASE = -1000,
#define TC_ERRNO_ENUM(name, msg) TC_##name,
    TC_ERRNO_MAP(TC_ERRNO_ENUM)
#undef TC_ERRNO_ENUM
        TC__ERRNO_END
};

/* Longest message kept; longer ones are truncated with "...". */
#define TC_ERROR_MSG_MAX 512

typedef struct tc_error {
    int code;                   /* TC_OK or a TC_E* code */
    char msg[TC_ERROR_MSG_MAX]; /* specific, human-readable; "" when code is TC_OK */
} tc_error;

/* Generic text for a code ("unknown error" for anything outside the table). */
const char *tc_strerror(int code);

/* Symbolic name of a code, e.g. "TC_EPARSE". */
const char *tc_err_name(int code);

/* Fill err (if not NULL) with code and a printf-style message; returns code, so callers can write
 * `return tc_errorf(err, TC_EPARSE, "...")`. */
int tc_errorf(tc_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefix err->msg with "prefix: " (e.g. a file name), keeping the code. No-op when err is NULL. */
void tc_error_prefix(tc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reset to TC_OK and an empty message. */
void tc_error_clear(tc_error *err);

/* Copy text into a fixed buffer for use in a message, replacing control characters and bytes
 * that are not well-formed UTF-8 by \xNN and cutting it to fit, so that hostile input cannot
 * forge lines in a log or a terminal, nor make a log line invalid UTF-8. */
const char *tc_error_quote(char *buf, size_t size, const char *text, size_t len);

#endif
