/* tc_pb_json — any protobuf-c message to and from JSON by the proto3 JSON mapping, walking the
 * message's descriptor, so that one piece of code serves every method: the REST interface
 * (requests in, answers and errors out) and `tinchap call` (answers printed).
 *
 * Encoding writes every field, defaults included (a response's false or 0 is an answer, not an
 * absence), except oneof members that are not set and unset message fields, which are omitted
 * (proto3 explicit presence). Names are lowerCamelCase (the mapping's json_name) unless
 * TC_PB_JSON_PROTO_NAMES asks for the .proto names. Enums are their value names; 64-bit
 * integers are decimal strings (numbers with TC_PB_JSON_INT64_NUMBERS, for people reading a
 * terminal); bytes are base64; non-finite doubles "NaN", "Infinity", "-Infinity";
 * google.protobuf.Timestamp an RFC 3339 UTC string with 0, 3, 6 or 9 fractional digits,
 * google.protobuf.Duration "1.5s"; a map an object; a google.protobuf.Any {"@type": URL, ...}
 * with the fields of the error detail it holds (google.rpc.ErrorInfo, BadRequest, RetryInfo),
 * or its bytes as "value" for a type this API does not know.
 *
 * Decoding accepts what the mapping allows: either field name, 64-bit integers as numbers or
 * strings, enums by name or number, null for a default, a Timestamp with a UTC offset and up to
 * 9 fractional digits (requests hold no Any, Duration or map: decoding refuses them). It is
 * strict where the mapping is silent: an unknown field, a value of
 * the wrong type, an integer out of range, a string that is not valid UTF-8 or holds a NUL is
 * a violation, named by its JSON path ("loanAmountVnd", "reasons[2].code") with what is wrong,
 * and every violation is reported (up to TC_PB_JSON_VIOLATIONS_MAX), not just the first. */
#ifndef TC_PB_JSON_H
#define TC_PB_JSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#define TC_PB_JSON_PROTO_NAMES 1u     /* snake_case .proto names instead of lowerCamelCase */
#define TC_PB_JSON_INT64_NUMBERS 2u   /* 64-bit integers as JSON numbers */

#define TC_PB_JSON_VIOLATIONS_MAX 16
#define TC_PB_JSON_PATH_MAX 128
#define TC_PB_JSON_WHY_MAX 160
#define TC_PB_JSON_DEPTH_MAX 16       /* nested messages a request may have */

typedef struct tc_pb_json_violation {
    char field[TC_PB_JSON_PATH_MAX]; /* JSON path, e.g. "reasons[2].code" */
    char why[TC_PB_JSON_WHY_MAX];
} tc_pb_json_violation;

typedef struct tc_pb_json_violations {
    size_t n;                        /* found (n may exceed the stored ones) */
    tc_pb_json_violation v[TC_PB_JSON_VIOLATIONS_MAX];
} tc_pb_json_violations;

/* A new JSON value for msg (an object, or a string for a Timestamp); NULL when out of memory.
 * The caller owns the reference. */
json_t *tc_pb_json_encode(const ProtobufCMessage *msg, unsigned flags);

/* Decode j into a new message of type d, allocated from alloc (the caller frees it with
 * protobuf_c_message_free_unpacked(msg, alloc), or by dropping an arena). Returns 0 and *out,
 * or -1 with *out NULL and the violations filled (out of memory is reported as a violation of
 * the path "" too). */
int tc_pb_json_decode(const ProtobufCMessageDescriptor *d, const json_t *j,
                      ProtobufCAllocator *alloc, ProtobufCMessage **out,
                      tc_pb_json_violations *why);

/* The lowerCamelCase JSON name of a .proto field name ("loan_amount_vnd" -> "loanAmountVnd"),
 * into buf (size bytes). */
void tc_pb_json_name(const char *proto_name, char *buf, size_t size);

#endif
