/* pb_json — any protobuf-c message as JSON, walking its descriptor, so that `tinchap call`
 * prints every response of every method the same way without a printer per message.
 *
 * Field names are those of the .proto file (snake_case). Every field is printed, defaults
 * included (a response's false or 0 is an answer, not an absence), except oneof members that
 * are not set. Enums print their value names, 64-bit integers print as JSON numbers (as strings
 * past 2^63), bytes as base64, non-finite doubles as "NaN", "Infinity", "-Infinity", and
 * google.protobuf.Timestamp as an RFC 3339 string, as in the proto3 JSON mapping.
 */
#ifndef TC_PB_JSON_H
#define TC_PB_JSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* A new JSON object for msg (NULL when out of memory). The caller owns the reference. */
json_t *pb_json_encode(const ProtobufCMessage *msg);

#endif
