/* The proto3 JSON mapping (api/tc_pb_json.c) as the REST interface uses it: JSON text parsed by
 * jansson as the server parses a body, then decoded into the request message byte 0 picks. A
 * request that decodes must encode to JSON that decodes again to the same message (packed
 * bytes equal); one that does not must name at least one violation, each with a reason. */
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "tc_pb_json.h"
#include "tinchap/v1/admin.pb-c.h"
#include "tinchap/v1/scoring.pb-c.h"
#include "tinchap/v1/steward.pb-c.h"

static const ProtobufCMessageDescriptor *const types[] = {
    &tinchap__v1__score_request__descriptor,       &tinchap__v1__grant_consent_request__descriptor,
    &tinchap__v1__revoke_consent_request__descriptor, &tinchap__v1__citizen_record__descriptor,
    &tinchap__v1__model_description__descriptor,    &tinchap__v1__list_inquiries_request__descriptor,
};

static int same(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    if (na != nb)
        return 0;
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    FUZZ_CHECK(pa != NULL && pb != NULL);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    int eq = memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return eq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *d = types[data[0] % (sizeof types / sizeof types[0])];
    json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL)
        return 0;
    ProtobufCMessage *m = NULL;
    tc_pb_json_violations why;
    if (tc_pb_json_decode(d, j, NULL, &m, &why) != 0) {
        FUZZ_CHECK(m == NULL && why.n > 0);
        for (size_t i = 0; i < why.n && i < TC_PB_JSON_VIOLATIONS_MAX; i++)
            FUZZ_CHECK(why.v[i].why[0] != '\0');
        json_decref(j);
        return 0;
    }
    json_decref(j);
    json_t *again = tc_pb_json_encode(m, 0);
    FUZZ_CHECK(again != NULL);
    ProtobufCMessage *back = NULL;
    FUZZ_CHECK(tc_pb_json_decode(d, again, NULL, &back, &why) == 0);
    FUZZ_CHECK(same(m, back));
    json_decref(again);
    protobuf_c_message_free_unpacked(back, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
