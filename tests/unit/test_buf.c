/* The one growable buffer: bytes and text appended across many doublings keep their content,
 * the cap is never passed, a failure is sticky, and take hands over exactly the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc_buf.h"
#include "test_util.h"

static void grows_and_keeps(void **state)
{
    (void)state;
    tc_buf b = {.first = 16};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tc_buf_printf(&b, "%d,", i), 0);
    assert_false(b.failed);
    const char *t = tc_buf_text(&b);
    assert_int_equal(strlen(t), b.len);
    assert_memory_equal(t, "0,1,2,3,", 8);
    assert_string_equal(t + b.len - 4, "999,");
    uint32_t words[3] = {1, 2, 3};
    size_t before = b.len;
    assert_int_equal(tc_buf_add(&b, words, sizeof words), 0);
    assert_int_equal(b.len, before + sizeof words);
    assert_memory_equal(b.data + before, words, sizeof words);
    /* grow hands out bytes at any offset: copy into them, never store through a typed pointer */
    unsigned char *room = tc_buf_grow(&b, 2 * sizeof(uint32_t));
    assert_non_null(room);
    memcpy(room, words + 1, 2 * sizeof(uint32_t));
    assert_int_equal(b.len, before + 5 * sizeof(uint32_t));
    assert_memory_equal(b.data + before + sizeof words, words + 1, 2 * sizeof(uint32_t));
    tc_buf_free(&b);
    assert_null(b.data);
    assert_string_equal(tc_buf_text(&b), "");
}

static void cap_is_kept_and_failure_sticks(void **state)
{
    (void)state;
    tc_buf b = {.first = 8, .max = 32};
    assert_int_equal(tc_buf_printf(&b, "%s", "0123456789012345678901234567890"), 0); /* 31 + NUL */
    assert_int_equal(b.len, 31);
    assert_true(b.cap <= 32);
    assert_int_equal(tc_buf_add(&b, "xy", 2), -1); /* 33 bytes: past the cap */
    assert_true(b.failed);
    assert_int_equal(b.len, 31);
    assert_int_equal(tc_buf_add(&b, "", 0), -1); /* sticky, even for nothing */
    assert_null(tc_buf_grow(&b, 1));
    assert_null(tc_buf_take(&b)); /* the memory is freed, the buffer empty again */
    assert_null(b.data);
    assert_false(b.failed);
}

static void take_hands_over(void **state)
{
    (void)state;
    tc_buf b = {0};
    assert_int_equal(tc_buf_printf(&b, "tín %s %.1f", "chấp", 2.5), 0);
    char *t = tc_buf_take(&b);
    assert_string_equal(t, "tín chấp 2.5");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_and_keeps),
        cmocka_unit_test(cap_is_kept_and_failure_sticks),
        cmocka_unit_test(take_hands_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
