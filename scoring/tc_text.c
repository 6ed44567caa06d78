#include "tc_text.h"

#include <string.h>

/* Without a branch per character: in a reference such as "VNEID-D820B7E910B0F93F" digits and
 * letters alternate at random, and a branch on each mispredicted about every other time (this
 * scan ran twice per consent and was a tenth of a load's time). */
int tc_text_has_id_run(const char *text, size_t len)
{
    unsigned run = 0, longest = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned char)(text[i] - '0') <= 9;
        run = (run + 1) * digit;
        longest = run > longest ? run : longest;
    }
    return longest >= TC_TEXT_ID_RUN;
}

int tc_text_redact_ids(char *text)
{
    size_t len = strlen(text);
    if (!tc_text_has_id_run(text, len)) /* nearly always: nothing to replace */
        return 0;
    size_t run = 0;
    for (size_t i = 0; i <= len; i++) {
        if (text[i] >= '0' && text[i] <= '9') {
            run++;
            continue;
        }
        if (run >= TC_TEXT_ID_RUN)
            memset(text + i - run, '#', run);
        run = 0;
    }
    return 1;
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
