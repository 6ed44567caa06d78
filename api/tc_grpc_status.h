/* tc_grpc_status — the names of gRPC's status codes, once, for the server, the client, the
 * access log and /metrics (grpc/status.h has the codes but no names). */
#ifndef TC_GRPC_STATUS_H
#define TC_GRPC_STATUS_H

#define TC_GRPC_STATUS_MAP(X)                                                                    \
    X(0, OK)                                                                                     \
    X(1, CANCELLED)                                                                              \
    X(2, UNKNOWN)                                                                                \
    X(3, INVALID_ARGUMENT)                                                                       \
    X(4, DEADLINE_EXCEEDED)                                                                      \
    X(5, NOT_FOUND)                                                                              \
    X(6, ALREADY_EXISTS)                                                                         \
    X(7, PERMISSION_DENIED)                                                                      \
    X(8, RESOURCE_EXHAUSTED)                                                                     \
    X(9, FAILED_PRECONDITION)                                                                    \
    X(10, ABORTED)                                                                               \
    X(11, OUT_OF_RANGE)                                                                          \
    X(12, UNIMPLEMENTED)                                                                         \
    X(13, INTERNAL)                                                                              \
    X(14, UNAVAILABLE)                                                                           \
    X(15, DATA_LOSS)                                                                             \
    X(16, UNAUTHENTICATED)

#define TC_GRPC_STATUS_COUNT 17

/* "NOT_FOUND" for 5; "UNKNOWN" for a code gRPC does not define. */
static inline const char *tc_grpc_status_name(int code)
{
    switch (code) {
#define TC_GRPC_STATUS_CASE(n, name) \
    case n:                          \
        return #name;
        TC_GRPC_STATUS_MAP(TC_GRPC_STATUS_CASE)
#undef TC_GRPC_STATUS_CASE
    default:
        return "UNKNOWN";
    }
}

#endif
