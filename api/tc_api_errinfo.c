/* gRPC's rich error model for refusals a client should act on by reason, not by message text:
 * google.rpc.Status with one google.rpc.ErrorInfo, in the grpc-status-details-bin trailer (gRPC
 * core base64-encodes -bin values on the wire). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tc_api_internal.h"
#include "tc_text.h"
#include "google/rpc/status.pb-c.h"

#define ERRINFO_METADATA_MAX 8
#define DETAILS_MAX 1024

void tc_api_fail_info(tc_api_slot *s, grpc_status_code status, const char *reason,
                      const char *const *metadata, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->status_text, sizeof s->status_text, fmt, ap);
    va_end(ap);
    tc_text_redact_ids(s->status_text); /* the Status repeats the message */

    Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
    Google__Rpc__ErrorInfo__MetadataEntry entries[ERRINFO_METADATA_MAX];
    Google__Rpc__ErrorInfo__MetadataEntry *pointers[ERRINFO_METADATA_MAX];
    info.reason = (char *)reason;
    info.domain = (char *)"tinchap.v1";
    for (size_t i = 0; metadata != NULL && metadata[2 * i] != NULL && i < ERRINFO_METADATA_MAX;
         i++) {
        google__rpc__error_info__metadata_entry__init(&entries[i]);
        entries[i].key = (char *)metadata[2 * i];
        entries[i].value = (char *)metadata[2 * i + 1];
        pointers[i] = &entries[i];
        info.n_metadata = i + 1;
    }
    info.metadata = pointers;
    unsigned char packed_info[DETAILS_MAX / 2], packed[DETAILS_MAX];
    if (google__rpc__error_info__get_packed_size(&info) > sizeof packed_info) {
        tc_api_finish(s, status, NULL, 0); /* cannot happen with our few short fields */
        return;
    }
    Google__Rpc__Any any = GOOGLE__RPC__ANY__INIT;
    any.type_url = (char *)"type.googleapis.com/google.rpc.ErrorInfo";
    any.value.data = packed_info;
    any.value.len = google__rpc__error_info__pack(&info, packed_info);
    Google__Rpc__Any *details[1] = {&any};
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = (int32_t)status;
    st.message = s->status_text;
    st.n_details = 1;
    st.details = details;
    if (google__rpc__status__get_packed_size(&st) <= sizeof packed) {
        size_t len = google__rpc__status__pack(&st, packed);
        s->details_slice = grpc_slice_from_copied_buffer((const char *)packed, len);
        memset(&s->trailer, 0, sizeof s->trailer);
        s->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
        s->trailer.value = s->details_slice;
        s->has_details = 1;
    }
    tc_api_finish(s, status, NULL, 0);
}
