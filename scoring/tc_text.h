/* tc_text — text from outside, made safe to keep: UTF-8 validity, and runs of digits that could
 * be a citizen ID.
 *
 * A client may put a citizen ID in any free-text field (a request ID, a consent reference, a
 * model name it asks for). Anything kept — the database, the audit trail, a log line, a status
 * message — must never hold one in the clear, so every such text passes through here: either it
 * is refused, or its runs of 12 or more digits are replaced by '#' (redacted) and, where the
 * exact value still matters (a consent reference to compare, a request ID to find again), a
 * keyed hash is kept beside it (tc_key.h). Nothing here allocates.
 */
#ifndef TC_TEXT_H
#define TC_TEXT_H

#include <stddef.h>

/* The shortest run of digits treated as a possible citizen ID (an ID has 12 digits). */
#define TC_TEXT_ID_RUN 12

/* 1 if text[0..len) holds a run of TC_TEXT_ID_RUN or more ASCII digits. */
int tc_text_has_id_run(const char *text, size_t len);

/* Replace every run of TC_TEXT_ID_RUN or more digits of the NUL-terminated text by as many '#'.
 * Returns 1 if anything was replaced. */
int tc_text_redact_ids(char *text);

/* The length of the well-formed UTF-8 sequence at p[0..n) (1-4), or 0 if it is not one
 * (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short). */
size_t tc_utf8_seq(const unsigned char *p, size_t n);

/* 1 if text[0..len) is well-formed UTF-8 without a NUL byte. */
int tc_utf8_valid(const char *text, size_t len);

#endif
