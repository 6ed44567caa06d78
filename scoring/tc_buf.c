/* The one growable buffer; see tc_buf.h. */
#include "tc_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Capacity for at least need bytes, doubling from the first size. */
static int reserve(tc_buf *b, size_t need)
{
    if (b->failed)
        return -1;
    if (need <= b->cap)
        return 0;
    if (need < b->len || (b->max > 0 && need > b->max)) {
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : b->first ? b->first : 4096;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (b->max > 0 && cap > b->max)
        cap = b->max;
    unsigned char *d = realloc(b->data, cap);
    if (d == NULL) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void *tc_buf_grow(tc_buf *b, size_t n)
{
    if (reserve(b, b->len + n) != 0)
        return NULL;
    void *p = b->data + b->len;
    b->len += n;
    return p;
}

int tc_buf_add(tc_buf *b, const void *bytes, size_t n)
{
    void *p = tc_buf_grow(b, n);
    if (p == NULL)
        return -1;
    if (n > 0)
        memcpy(p, bytes, n);
    return 0;
}

int tc_buf_vprintf(tc_buf *b, const char *fmt, va_list ap)
{
    if (b->failed)
        return -1;
    va_list aq;
    va_copy(aq, ap);
    size_t room = b->data != NULL ? b->cap - b->len : 0;
    int n = vsnprintf(b->data != NULL ? (char *)b->data + b->len : NULL, room, fmt, aq);
    va_end(aq);
    if (n < 0) {
        b->failed = 1;
        return -1;
    }
    if ((size_t)n + 1 > room) {
        if (reserve(b, b->len + (size_t)n + 1) != 0)
            return -1;
        vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
    return 0;
}

int tc_buf_printf(tc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tc_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *tc_buf_text(const tc_buf *b)
{
    return b->data != NULL && !b->failed ? (const char *)b->data : "";
}

char *tc_buf_take(tc_buf *b)
{
    char *p = b->failed ? NULL : (char *)b->data;
    if (b->failed)
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return p;
}

void tc_buf_free(tc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
