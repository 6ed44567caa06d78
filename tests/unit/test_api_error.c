/* A failed call's google.rpc.Status (tc_api_error): what a client decodes from the trailer or
 * the REST body — ErrorInfo with the reason's name and the domain, BadRequest with every
 * violation, RetryInfo when set — and its JSON form by the proto3 mapping. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "tc_api_error.h"
#include "tc_pb_json.h"

static void test_pack(void **state)
{
    (void)state;
    tc_api_error e;
    tc_api_error_set(&e, 3, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST, "%d fields are wrong", 2);
    tc_api_error_meta(&e, "method", "%s", "Score");
    tc_api_error_violation(&e, "citizen_id", "must be 12 digits, got %d characters", 9);
    tc_api_error_violation(&e, "max_reasons", "%u is more than 8", 9u);
    e.retry_ms = 250;
    uint8_t buf[TC_API_ERROR_PACKED_MAX];
    size_t n = tc_api_error_pack(&e, buf, sizeof buf);
    assert_true(n > 0);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, n, buf);
    assert_non_null(st);
    assert_int_equal(st->code, 3);
    assert_string_equal(st->message, "2 fields are wrong");
    assert_int_equal(st->n_details, 3);
    assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.ErrorInfo");
    Google__Rpc__ErrorInfo *info = google__rpc__error_info__unpack(
        NULL, st->details[0]->value.len, st->details[0]->value.data);
    assert_string_equal(info->reason, "INVALID_REQUEST");
    assert_string_equal(info->domain, "tinchap.v1");
    assert_int_equal(info->n_metadata, 1);
    assert_string_equal(info->metadata[0]->key, "method");
    assert_string_equal(info->metadata[0]->value, "Score");
    google__rpc__error_info__free_unpacked(info, NULL);
    assert_string_equal(st->details[1]->type_url, "type.googleapis.com/google.rpc.BadRequest");
    Google__Rpc__BadRequest *bad = google__rpc__bad_request__unpack(
        NULL, st->details[1]->value.len, st->details[1]->value.data);
    assert_int_equal(bad->n_field_violations, 2);
    assert_string_equal(bad->field_violations[1]->field, "max_reasons");
    assert_string_equal(bad->field_violations[1]->description, "9 is more than 8");
    google__rpc__bad_request__free_unpacked(bad, NULL);
    /* the JSON body of a REST error */
    json_t *j = tc_pb_json_encode(&st->base, 0);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(
        text, "{\"code\":3,\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
              "\"domain\":\"tinchap.v1\",\"metadata\":{\"method\":\"Score\"},\"reason\":"
              "\"INVALID_REQUEST\"},{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\","
              "\"fieldViolations\":[{\"description\":\"must be 12 digits, got 9 characters\","
              "\"field\":\"citizen_id\"},{\"description\":\"9 is more than 8\",\"field\":"
              "\"max_reasons\"}]},{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
              "\"retryDelay\":\"0.250s\"}],\"message\":\"2 fields are wrong\"}");
    free(text);
    json_decref(j);
    google__rpc__status__free_unpacked(st, NULL);
}

static void test_bounds(void **state)
{
    (void)state;
    tc_api_error e;
    tc_api_error_set(&e, 7, TINCHAP__V1__ERROR_REASON__CONSENT_NOT_VALID, "no consent");
    for (int i = 0; i < 40; i++)
        tc_api_error_violation(&e, "f", "%0150d", i);
    for (int i = 0; i < 9; i++)
        tc_api_error_meta(&e, "k", "%0100d", i);
    assert_int_equal(e.n_violations, 40); /* counted, at most 16 kept */
    assert_int_equal(e.n_meta, TC_API_ERROR_META_MAX);
    uint8_t buf[TC_API_ERROR_PACKED_MAX];
    size_t n = tc_api_error_pack(&e, buf, sizeof buf);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, n, buf);
    assert_non_null(st);
    Google__Rpc__BadRequest *bad = google__rpc__bad_request__unpack(
        NULL, st->details[1]->value.len, st->details[1]->value.data);
    assert_int_equal(bad->n_field_violations, TC_API_ERROR_VIOLATIONS_MAX);
    google__rpc__bad_request__free_unpacked(bad, NULL);
    google__rpc__status__free_unpacked(st, NULL);
    assert_int_equal(tc_api_error_pack(&e, buf, 8), 0); /* too small a buffer: nothing */
    assert_string_equal(tc_api_reason_name(TINCHAP__V1__ERROR_REASON__MODEL_RETIRED),
                        "MODEL_RETIRED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
