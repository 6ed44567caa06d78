#include "tc_text.h"

#include <string.h>

int tc_text_has_id_run(const char *text, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        run = text[i] >= '0' && text[i] <= '9' ? run + 1 : 0;
        if (run >= TC_TEXT_ID_RUN)
            return 1;
    }
    return 0;
}

int tc_text_redact_ids(char *text)
{
    size_t run = 0;
    int redacted = 0;
    for (size_t i = 0;; i++) {
        if (text[i] >= '0' && text[i] <= '9') {
            run++;
            continue;
        }
        if (run >= TC_TEXT_ID_RUN) {
            memset(text + i - run, '#', run);
            redacted = 1;
        }
        run = 0;
        if (text[i] == '\0')
            return redacted;
    }
}

/* RFC 3629 section 4: the well-formed byte sequences. */
size_t tc_utf8_seq(const unsigned char *p, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

int tc_utf8_valid(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        if (p[i] == 0)
            return 0;
        size_t k = tc_utf8_seq(p + i, len - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}
