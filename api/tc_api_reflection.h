/* Server reflection: grpc.reflection.v1 and v1alpha ServerReflectionInfo, answered from the
 * descriptors of the .proto files this server was built from (embedded at build time as one
 * FileDescriptorSet, api/CMakeLists.txt), so that grpcurl, grpc_cli, Postman and Evans can
 * list and call every method with no .proto file at hand.
 *
 * The index is built once at start-up and read-only afterwards: any worker may answer from it
 * without a lock. Each stream keeps which files it has sent, so that a file's dependencies go
 * to a client once (the protocol allows it and grpcurl relies on the files it already has).
 * The two protocol versions are the same messages on the wire; only their names differ. */
#ifndef TC_API_REFLECTION_H
#define TC_API_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "tc_error.h"

#define TC_API_REFLECTION_FILES_MAX 64 /* files a stream can track (a bit each) */

typedef struct tc_api_reflection tc_api_reflection;

/* What one stream has been sent so far; zero it when the stream opens. */
typedef struct tc_api_reflection_stream {
    uint64_t sent; /* bit i: file i */
} tc_api_reflection_stream;

/* Index the embedded descriptor set. TC_EPARSE if it does not decode (a build fault). */
int tc_api_reflection_new(tc_api_reflection **out, tc_error *err);
void tc_api_reflection_free(tc_api_reflection *r);

/* Answer one serialized ServerReflectionRequest with a serialized ServerReflectionResponse in
 * *out (from alloc, which must outlive the use of *out). A request that names no file or
 * symbol this server has gets an error_response (NOT_FOUND), as the protocol says; a request
 * that does not decode returns TC_EPARSE, and the stream should end with INVALID_ARGUMENT. */
int tc_api_reflection_answer(const tc_api_reflection *r, tc_api_reflection_stream *st,
                             const uint8_t *req, size_t len, ProtobufCAllocator *alloc,
                             uint8_t **out, size_t *out_len, tc_error *err);

/* The descriptor set it answers from (with the files' comments), for the OpenAPI document. */
const struct Google__Protobuf__FileDescriptorSet *tc_api_reflection_set(const tc_api_reflection *r);

/* The number of files and the name of file i, for tests and the start-up log. */
size_t tc_api_reflection_file_count(const tc_api_reflection *r);
const char *tc_api_reflection_file_name(const tc_api_reflection *r, size_t i);

#endif
