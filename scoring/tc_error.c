#include "tc_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tc_text.h"

const char *tc_strerror(int code)
{
    switch (code) {
    case TC_OK:
        return "success";
#define TC_ERRNO_CASE(name, msg)                                                                   \
    case TC_##name:                                                                                \
        return msg;
        TC_ERRNO_MAP(TC_ERRNO_CASE)
#undef TC_ERRNO_CASE
    default:
        return "unknown error";
    }
}

const char *tc_err_name(int code)
{
    switch (code) {
    case TC_OK:
        return "TC_OK";
#define TC_ERRNO_NAME(name, msg)                                                                   \
    case TC_##name:                                                                                \
        return "TC_" #name;
        TC_ERRNO_MAP(TC_ERRNO_NAME)
#undef TC_ERRNO_NAME
    default:
        return "TC_EUNKNOWN";
    }
}

static void mark_truncated(char *msg, int written)
{
    if (written >= TC_ERROR_MSG_MAX)
        memcpy(msg + TC_ERROR_MSG_MAX - 4, "...", 4);
}

int tc_errorf(tc_error *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        err->msg[0] = '\0';
    mark_truncated(err->msg, n);
    return code;
}

void tc_error_prefix(tc_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[TC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char old[TC_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    n = snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    mark_truncated(err->msg, n);
}

void tc_error_clear(tc_error *err)
{
    if (err == NULL)
        return;
    err->code = TC_OK;
    err->msg[0] = '\0';
}

const char *tc_error_quote(char *buf, size_t size, const char *text, size_t len)
{
    size_t o = 0;
    if (size == 0)
        return buf;
    for (size_t i = 0; i < len && text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)text[i];
        if (o + 4 >= size) {
            if (size >= 4)
                memcpy(buf + size - 4, "...", 3), o = size - 1;
            break;
        }
        size_t seq = tc_utf8_seq((const unsigned char *)text + i, len - i);
        if (c < 0x20 || c == 0x7f || seq == 0) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else if (o + seq + 4 < size) {
            memcpy(buf + o, text + i, seq); /* a whole UTF-8 character, never half of one */
            o += seq;
            i += seq - 1;
        } else { /* the character does not fit: cut before it */
            if (o + 4 <= size)
                memcpy(buf + o, "...", 3), o += 3;
            break;
        }
    }
    buf[o < size ? o : size - 1] = '\0';
    return buf;
}
