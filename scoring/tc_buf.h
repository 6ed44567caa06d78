/* tc_buf — the one growable buffer: bytes or text appended at its end, with a size cap, in the
 * manner of curl's dynbuf. A failure (memory, or the cap passed) is sticky: later appends do
 * nothing and report it, so a writer checks once at the end. */
#ifndef TC_BUF_H
#define TC_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct tc_buf {
    unsigned char *data; /* NULL until the first append; text appended stays NUL-terminated */
    size_t len, cap;
    size_t max;   /* the most it may hold; 0: no cap */
    size_t first; /* the first allocation's size; 0: 4 KiB */
    int failed;   /* sticky: an allocation failed or max would have been passed */
} tc_buf;

/* Room for n more bytes at data + len, with len advanced over them: their address, or NULL
 * (failed set). The address holds until the next append. */
void *tc_buf_grow(tc_buf *b, size_t n);

/* Append n bytes; formatted text (kept NUL-terminated). 0, or -1 once the buffer has failed. */
int tc_buf_add(tc_buf *b, const void *bytes, size_t n);
int tc_buf_printf(tc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tc_buf_vprintf(tc_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* The text appended so far ("" when nothing was), owned by the buffer. */
const char *tc_buf_text(const tc_buf *b);

/* Hand the memory over (the caller frees it) and leave the buffer empty; NULL if it failed. */
char *tc_buf_take(tc_buf *b);

void tc_buf_free(tc_buf *b);

#endif
