/* The proto3 JSON mapping (tc_pb_json): names, 64-bit integers, enums, Timestamps, bytes and
 * non-finite numbers as the mapping writes them; what decoding accepts; every violation named
 * by its JSON path. The REST tests cross-check the same mapping against Python's
 * google.protobuf.json_format over a real tinchapd. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "tc_pb_json.h"
#include "tinchap/v1/scoring.pb-c.h"
#include "tinchap/v1/steward.pb-c.h"

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void expect_json(const ProtobufCMessage *m, unsigned flags, const char *want)
{
    char *got = dump(tc_pb_json_encode(m, flags));
    assert_string_equal(got, want);
    free(got);
}

static void test_encode_names_and_types(void **state)
{
    (void)state;
    Tinchap__V1__ScoreRequest q = TINCHAP__V1__SCORE_REQUEST__INIT;
    q.request_id = "r-1";
    q.loan_amount_vnd = 50000000;
    q.loan_term_months = 24;
    expect_json(&q.base, 0,
                "{\"citizenId\":\"\",\"consentRef\":\"\",\"loanAmountVnd\":\"50000000\","
                "\"loanTermMonths\":24,\"maxReasons\":0,\"modelName\":\"\",\"modelVersion\":0,"
                "\"product\":\"\",\"purpose\":\"\",\"requestId\":\"r-1\"}");
    expect_json(&q.base, TC_PB_JSON_PROTO_NAMES | TC_PB_JSON_INT64_NUMBERS,
                "{\"citizen_id\":\"\",\"consent_ref\":\"\",\"loan_amount_vnd\":50000000,"
                "\"loan_term_months\":24,\"max_reasons\":0,\"model_name\":\"\","
                "\"model_version\":0,\"product\":\"\",\"purpose\":\"\",\"request_id\":\"r-1\"}");

    Tinchap__V1__ScoreResponse r = TINCHAP__V1__SCORE_RESPONSE__INIT;
    Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    at.seconds = 1795771815; /* 2026-11-27T09:30:15Z */
    at.nanos = 123456000;
    r.scored_at = &at;
    r.pd = NAN;
    r.pd_high = INFINITY;
    char *s = dump(tc_pb_json_encode(&r.base, 0));
    assert_non_null(strstr(s, "\"scoredAt\":\"2026-11-27T09:30:15.123456Z\""));
    assert_non_null(strstr(s, "\"pd\":\"NaN\""));
    assert_non_null(strstr(s, "\"pdHigh\":\"Infinity\""));
    assert_non_null(strstr(s, "\"reasons\":[]"));
    free(s);
    /* as few fractional digits as the value needs: 0, 3, 6 or 9 */
    const int32_t nanos[] = {0, 120000000, 123456000, 123456789, 1};
    const char *const shown[] = {"15Z", "15.120Z", "15.123456Z", "15.123456789Z",
                                 "15.000000001Z"};
    for (size_t i = 0; i < 5; i++) {
        at.nanos = nanos[i];
        char want[64];
        snprintf(want, sizeof want, "\"scoredAt\":\"2026-11-27T09:30:%s\"", shown[i]);
        s = dump(tc_pb_json_encode(&r.base, 0));
        assert_non_null(strstr(s, want));
        free(s);
    }
    /* an unset message is left out; enums by name */
    Tinchap__V1__ModelSummary m = TINCHAP__V1__MODEL_SUMMARY__INIT;
    m.status = TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_RETIRED;
    expect_json(&m.base, 0,
                "{\"kind\":\"MODEL_KIND_UNSPECIFIED\",\"name\":\"\",\"product\":\"\","
                "\"status\":\"MODEL_STATUS_RETIRED\",\"version\":0}");
}

static ProtobufCMessage *decode(const ProtobufCMessageDescriptor *d, const char *text,
                                tc_pb_json_violations *why)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(j);
    ProtobufCMessage *m = NULL;
    tc_pb_json_decode(d, j, NULL, &m, why);
    json_decref(j);
    return m;
}

static void test_decode_accepts(void **state)
{
    (void)state;
    tc_pb_json_violations why;
    Tinchap__V1__ScoreRequest *q = (Tinchap__V1__ScoreRequest *)decode(
        &tinchap__v1__score_request__descriptor,
        "{\"requestId\": \"r-2\", \"citizen_id\": \"001085000001\", \"loanAmountVnd\": 70000000,"
        " \"loan_term_months\": \"36\", \"maxReasons\": 2.0, \"modelName\": null}",
        &why);
    assert_non_null(q);
    assert_string_equal(q->request_id, "r-2");
    assert_string_equal(q->citizen_id, "001085000001");
    assert_int_equal(q->loan_amount_vnd, 70000000);
    assert_int_equal(q->loan_term_months, 36);
    assert_int_equal(q->max_reasons, 2);
    assert_string_equal(q->model_name, "");
    protobuf_c_message_free_unpacked(&q->base, NULL);

    /* a Timestamp with an offset and nanoseconds; an enum by number */
    Tinchap__V1__ModelSummary *m = (Tinchap__V1__ModelSummary *)decode(
        &tinchap__v1__model_summary__descriptor,
        "{\"createdAt\": \"2026-11-27T16:30:15.000000001+07:00\", \"status\": 2,"
        " \"kind\": \"MODEL_KIND_LOGISTIC\"}",
        &why);
    assert_non_null(m);
    assert_int_equal(m->created_at->seconds, 1795771815);
    assert_int_equal(m->created_at->nanos, 1);
    assert_int_equal(m->status, TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_CHALLENGER);
    assert_int_equal(m->kind, TINCHAP__V1__MODEL_KIND__MODEL_KIND_LOGISTIC);
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* Encoding then decoding gives the same message, byte for byte once packed. */
static void test_round_trip(void **state)
{
    (void)state;
    Tinchap__V1__ScoreResponse r = TINCHAP__V1__SCORE_RESPONSE__INIT;
    Tinchap__V1__Reason reasons[2], *rp[2];
    for (int i = 0; i < 2; i++) {
        tinchap__v1__reason__init(&reasons[i]);
        reasons[i].code = i ? "CIC01" : "SI02";
        reasons[i].text_vi = "Nợ quá hạn";
        reasons[i].points_lost = 12.5 * (i + 1);
        rp[i] = &reasons[i];
    }
    Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    at.seconds = 1795771815;
    at.nanos = 5000;
    r.request_id = "r-3";
    r.score = 612;
    r.pd = 0.0431;
    r.grade = "C";
    r.reasons = rp;
    r.n_reasons = 2;
    r.scored_at = &at;
    r.replayed = 1;
    json_t *j = tc_pb_json_encode(&r.base, 0);
    ProtobufCMessage *back = NULL;
    tc_pb_json_violations why;
    assert_int_equal(tc_pb_json_decode(&tinchap__v1__score_response__descriptor, j, NULL, &back,
                                       &why),
                     0);
    json_decref(j);
    unsigned char a[512], b[512];
    size_t na = protobuf_c_message_pack(&r.base, a), nb = protobuf_c_message_pack(back, b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    protobuf_c_message_free_unpacked(back, NULL);
}

static void test_decode_violations(void **state)
{
    (void)state;
    tc_pb_json_violations why;
    ProtobufCMessage *m = decode(&tinchap__v1__score_request__descriptor,
                                 "{\"requestId\": 7, \"loanTermMonths\": -1, \"maxReasons\":"
                                 " 4294967296, \"loanAmountVnd\": \"12x\", \"colour\": \"red\","
                                 " \"modelVersion\": 1.5}",
                                 &why);
    assert_null(m);
    assert_int_equal(why.n, 6);
    /* in the order of the object, each with its own reason */
    const char *want[6][2] = {
        {"requestId", "expected a string, got a number"},
        {"loanTermMonths", "out of range for this field"},
        {"maxReasons", "out of range for this field"},
        {"loanAmountVnd", "expected an integer, got a string"},
        {"colour", "no such field in tinchap.v1.ScoreRequest"},
        {"modelVersion", "expected an integer, got a number"},
    };
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(why.v[i].field, want[i][0]);
        assert_string_equal(why.v[i].why, want[i][1]);
    }
    /* nested paths, enums, times, oneofs, and a request that is not an object */
    m = decode(&tinchap__v1__model_description__descriptor,
               "{\"summary\": {\"status\": \"CHAMPION\", \"createdAt\": \"yesterday\"},"
               " \"grades\": [{\"grade\": \"A\"}, {\"minScore\": true}]}",
               &why);
    assert_null(m);
    assert_int_equal(why.n, 3);
    assert_string_equal(why.v[0].field, "summary.status");
    assert_string_equal(why.v[0].why, "not a value of tinchap.v1.ModelStatus");
    assert_string_equal(why.v[1].field, "summary.createdAt");
    assert_string_equal(why.v[2].field, "grades[1].minScore");
    m = decode(&tinchap__v1__attribute_value__descriptor,
               "{\"name\": \"household_size\", \"intValue\": 3, \"realValue\": 3.0}", &why);
    assert_null(m);
    assert_string_equal(why.v[0].field, "realValue");
    m = decode(&tinchap__v1__score_request__descriptor,
               "{\"consentRef\": \"R1\", \"consent_ref\": \"R2\"}", &why);
    assert_null(m);
    assert_int_equal(why.n, 1);
    assert_string_equal(why.v[0].why,
                        "the field 'consent_ref' is given twice (by its JSON and its .proto name)");
    m = decode(&tinchap__v1__score_request__descriptor, "[1, 2]", &why);
    assert_null(m);
    assert_string_equal(why.v[0].field, "");
    assert_string_equal(why.v[0].why, "expected an object, got an array");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_names_and_types),
        cmocka_unit_test(test_decode_accepts),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decode_violations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
