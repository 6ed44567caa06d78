/* Text from outside: UTF-8 validity (RFC 3629's well-formed sequences, against a table of
 * accepted and refused byte strings), digit runs that could be a citizen ID and their
 * redaction, and the quoting of hostile text into messages. */
#include <string.h>

#include "test_util.h"
#include "tc_error.h"
#include "tc_text.h"

static void utf8(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        int valid;
    } cases[] = {
        {"", 0, 1},
        {"loan-origination", 16, 1},
        {"Tín chấp", 10, 1},                 /* 2- and 3-byte characters */
        {"\xf0\x9f\x92\xb3", 4, 1},          /* U+1F4B3, 4 bytes */
        {"\xf4\x8f\xbf\xbf", 4, 1},          /* U+10FFFF, the last code point */
        {"\xef\xbf\xbd", 3, 1},              /* U+FFFD */
        {"a\0b", 3, 0},                      /* NUL */
        {"\xff\xfe", 2, 0},                  /* never in UTF-8 */
        {"\x80", 1, 0},                      /* a stray continuation byte */
        {"\xc0\xaf", 2, 0},                  /* overlong '/' */
        {"\xc1\xbf", 2, 0},                  /* overlong */
        {"\xe0\x80\xaf", 3, 0},              /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", 4, 0},          /* overlong, 4 bytes */
        {"\xed\xa0\x80", 3, 0},              /* U+D800, a surrogate */
        {"\xf4\x90\x80\x80", 4, 0},          /* U+110000, past the last code point */
        {"\xf5\x80\x80\x80", 4, 0},
        {"\xc3", 1, 0},                      /* cut short */
        {"\xe1\xba", 2, 0},                  /* cut short */
        {"\xe1\x41\x80", 3, 0},              /* not a continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(tc_utf8_valid(cases[i].bytes, cases[i].len), cases[i].valid);
    assert_int_equal(tc_utf8_seq((const unsigned char *)"\xe1\xba\xa5x", 4), 3);
    assert_int_equal(tc_utf8_seq((const unsigned char *)"x", 0), 0);
}

static void id_runs(void **state)
{
    (void)state;
    assert_false(tc_text_has_id_run("12345678901", 11));
    assert_true(tc_text_has_id_run("CCCD-001085000001", 17));
    assert_true(tc_text_has_id_run("0010850000019", 13));
    assert_false(tc_text_has_id_run("00108500000-1", 13));
    /* only the first len bytes count */
    assert_false(tc_text_has_id_run("001085000001", 11));
    char a[] = "CCCD-001085000001/x-123-0010850000019", b[] = "no digits", c[] = "12345678901";
    assert_true(tc_text_redact_ids(a));
    assert_string_equal(a, "CCCD-############/x-123-#############");
    assert_false(tc_text_redact_ids(b));
    assert_string_equal(b, "no digits");
    assert_false(tc_text_redact_ids(c));
    assert_string_equal(c, "12345678901");
    char d[] = "001085000001";
    assert_true(tc_text_redact_ids(d));
    assert_string_equal(d, "############");
}

static void quote(void **state)
{
    (void)state;
    char buf[64];
    /* control characters and bytes that are not UTF-8 become \xNN; UTF-8 stays as it is */
    assert_string_equal(tc_error_quote(buf, sizeof buf, "a\nb\xff\xfe c", 8),
                        "a\\x0ab\\xff\\xfe c");
    assert_string_equal(tc_error_quote(buf, sizeof buf, "Tín", 4), "Tín");
    /* cut to fit, never in the middle of a character */
    char small[8];
    tc_error_quote(small, sizeof small, "ấấấấấ", 15);
    assert_true(tc_utf8_valid(small, strlen(small)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8),
        cmocka_unit_test(id_runs),
        cmocka_unit_test(quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
