/* Server reflection's answers, decoded as a client decodes them: the services, the file of a
 * symbol with its dependencies sent once per stream, the protocol's NOT_FOUND for what is not
 * there, a masked citizen ID in the quoted request, and a request that does not decode. The
 * same answers over a real tinchapd, to a reflection client: tests/python/reflection_test.py. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "tc_api_reflection.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest request;
typedef Grpc__Reflection__V1__ServerReflectionResponse response;

static tc_api_reflection *R;
static void *kept[1 << 14]; /* every allocation of the answers and their decoding */
static size_t n_kept;

static int setup(void **state)
{
    (void)state;
    tc_error err = {0};
    if (tc_api_reflection_new(&R, &err) != TC_OK) {
        print_error("%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_api_reflection_free(R);
    for (size_t i = 0; i < n_kept; i++)
        free(kept[i]);
    return 0;
}

static void *track(void *p)
{
    assert_true(n_kept < sizeof kept / sizeof kept[0]);
    return kept[n_kept++] = p;
}

static void *sys_alloc(void *data, size_t n)
{
    (void)data;
    return track(malloc(n));
}

static void sys_free(void *data, void *p)
{
    (void)data, (void)p; /* everything is freed at teardown */
}

static ProtobufCAllocator tracking = {sys_alloc, sys_free, NULL};

static response *ask(tc_api_reflection_stream *st, const request *q)
{
    uint8_t buf[1024];
    size_t len = grpc__reflection__v1__server_reflection_request__pack(q, buf);
    uint8_t *out = NULL;
    size_t out_len = 0;
    tc_error err = {0};
    assert_int_equal(tc_api_reflection_answer(R, st, buf, len, &tracking, &out, &out_len, &err),
                     TC_OK);
    response *res =
        grpc__reflection__v1__server_reflection_response__unpack(&tracking, out_len, out);
    assert_non_null(res);
    return res;
}

static request symbol_request(const char *symbol)
{
    request q;
    grpc__reflection__v1__server_reflection_request__init(&q);
    q.message_request_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
    q.file_containing_symbol = (char *)symbol;
    return q;
}

/* The names of the files in a file_descriptor_response, comma-separated. */
static void file_names(const response *res, char *out, size_t size)
{
    assert_int_equal(
        res->message_response_case,
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
    out[0] = '\0';
    const Grpc__Reflection__V1__FileDescriptorResponse *fd = res->file_descriptor_response;
    for (size_t i = 0; i < fd->n_file_descriptor_proto; i++) {
        Google__Protobuf__FileDescriptorProto *f = google__protobuf__file_descriptor_proto__unpack(
            NULL, fd->file_descriptor_proto[i].len, fd->file_descriptor_proto[i].data);
        assert_non_null(f);
        if (i > 0)
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, f->name, size - strlen(out) - 1);
        google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
    }
}

static void test_list_services(void **state)
{
    (void)state;
    tc_api_reflection_stream st = {0};
    request q;
    grpc__reflection__v1__server_reflection_request__init(&q);
    q.message_request_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
    q.list_services = "";
    response *res = ask(&st, &q);
    assert_int_equal(
        res->message_response_case,
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE);
    char all[512] = "";
    for (size_t i = 0; i < res->list_services_response->n_service; i++) {
        strcat(all, res->list_services_response->service[i]->name);
        strcat(all, " ");
    }
    assert_string_equal(all, "tinchap.v1.Scoring tinchap.v1.Steward tinchap.v1.Admin "
                             "tinchap.v1.Diagnostics grpc.health.v1.Health "
                             "grpc.reflection.v1.ServerReflection "
                             "grpc.reflection.v1alpha.ServerReflection ");
}

static void test_symbols(void **state)
{
    (void)state;
    tc_api_reflection_stream st = {0};
    char names[512];
    const char *in_scoring[] = {"tinchap.v1.Scoring", "tinchap.v1.Scoring.Score",
                                "tinchap.v1.ScoreRequest", "tinchap.v1.ModelDescription"};
    for (size_t i = 0; i < sizeof in_scoring / sizeof in_scoring[0]; i++) {
        request q = symbol_request(in_scoring[i]);
        file_names(ask(&st, &q), names, sizeof names);
        /* what scoring.proto imports goes with it, once per stream */
        assert_string_equal(names, i == 0 ? "tinchap/v1/scoring.proto,"
                                            "google/protobuf/timestamp.proto"
                                          : "tinchap/v1/scoring.proto");
    }
    /* admin.proto imports scoring.proto, which this stream already has */
    request a = symbol_request("tinchap.v1.Admin.GetStatus");
    file_names(ask(&st, &a), names, sizeof names);
    assert_string_equal(names, "tinchap/v1/admin.proto");
    tc_api_reflection_stream fresh = {0};
    file_names(ask(&fresh, &a), names, sizeof names);
    assert_string_equal(names, "tinchap/v1/admin.proto,google/protobuf/timestamp.proto,"
                               "tinchap/v1/scoring.proto");
    request q = symbol_request("grpc.health.v1.HealthCheckResponse.ServingStatus");
    file_names(ask(&st, &q), names, sizeof names);
    assert_string_equal(names, "grpc/health/v1/health.proto");
    /* the error model a client decodes failures with */
    q = symbol_request("google.rpc.ErrorInfo");
    file_names(ask(&st, &q), names, sizeof names);
    assert_string_equal(names, "google/rpc/error_details.proto,google/protobuf/duration.proto");
    q = symbol_request("tinchap.v1.ErrorReason");
    file_names(ask(&st, &q), names, sizeof names);
    assert_string_equal(names, "tinchap/v1/errors.proto");
    /* the whole file as protoc wrote it: its services and methods are there */
    q = symbol_request("tinchap.v1.Steward.GrantConsent");
    response *res = ask(&st, &q);
    const ProtobufCBinaryData *b = &res->file_descriptor_response->file_descriptor_proto[0];
    Google__Protobuf__FileDescriptorProto *f =
        google__protobuf__file_descriptor_proto__unpack(NULL, b->len, b->data);
    assert_non_null(f);
    assert_string_equal(f->package, "tinchap.v1");
    assert_int_equal(f->n_service, 1);
    assert_string_equal(f->service[0]->name, "Steward");
    int found = 0;
    for (size_t k = 0; k < f->service[0]->n_method; k++)
        found |= strcmp(f->service[0]->method[k]->name, "PutCitizens") == 0 &&
                 f->service[0]->method[k]->client_streaming;
    assert_true(found);
    google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
}

static void test_by_filename(void **state)
{
    (void)state;
    request q;
    grpc__reflection__v1__server_reflection_request__init(&q);
    q.message_request_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
    char names[512];
    for (size_t i = 0; i < tc_api_reflection_file_count(R); i++) {
        q.file_by_filename = (char *)tc_api_reflection_file_name(R, i);
        tc_api_reflection_stream one = {0};
        file_names(ask(&one, &q), names, sizeof names);
        assert_int_equal(strncmp(names, q.file_by_filename, strlen(q.file_by_filename)), 0);
    }
    assert_int_equal(tc_api_reflection_file_count(R), 13);
}

static void test_not_found(void **state)
{
    (void)state;
    tc_api_reflection_stream st = {0};
    const char *missing[] = {"tinchap.v1.Nothing", "tinchap.v1", "", ".tinchap.v1.Scoring",
                             "tinchap.v1.Scoring.Score.Extra"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        request q = symbol_request(missing[i]);
        response *res = ask(&st, &q);
        assert_int_equal(
            res->message_response_case,
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE);
        assert_int_equal(res->error_response->error_code, 5); /* NOT_FOUND */
    }
    /* a known type has no extensions; an unknown one is not found */
    request q;
    grpc__reflection__v1__server_reflection_request__init(&q);
    q.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE;
    q.all_extension_numbers_of_type = "tinchap.v1.ScoreRequest";
    response *res = ask(&st, &q);
    assert_string_equal(res->all_extension_numbers_response->base_type_name,
                        "tinchap.v1.ScoreRequest");
    assert_int_equal(res->all_extension_numbers_response->n_extension_number, 0);
    q.all_extension_numbers_of_type = "tinchap.v1.Nothing";
    assert_int_equal(ask(&st, &q)->error_response->error_code, 5);
    /* a request that asks for nothing */
    grpc__reflection__v1__server_reflection_request__init(&q);
    assert_int_equal(ask(&st, &q)->error_response->error_code, 3); /* INVALID_ARGUMENT */
}

static void test_quoted_request_masks_ids(void **state)
{
    (void)state;
    tc_api_reflection_stream st = {0};
    request q = symbol_request("tinchap.v1.079190000002");
    q.host = "h001085000001";
    response *res = ask(&st, &q);
    assert_string_equal(res->original_request->file_containing_symbol, "tinchap.v1.############");
    assert_string_equal(res->original_request->host, "h############");
    assert_string_equal(res->valid_host, "h############");
    assert_null(strstr(res->error_response->error_message, "079190000002"));
}

static void test_garbage(void **state)
{
    (void)state;
    tc_api_reflection_stream st = {0};
    const uint8_t junk[] = {0x1a, 0xff, 0xff, 0xff, 0x0f, 0x01};
    uint8_t *out = NULL;
    size_t out_len = 0;
    tc_error err = {0};
    assert_int_equal(tc_api_reflection_answer(R, &st, junk, sizeof junk, &tracking, &out,
                                              &out_len, &err),
                     TC_EPARSE);
    assert_msg(&err, "not a ServerReflectionRequest");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_services),  cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_by_filename),    cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_quoted_request_masks_ids), cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
