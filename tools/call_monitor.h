/* call_monitor — the table `tinchap call monitor` prints (JSON with --json). */
#ifndef TC_CALL_MONITOR_H
#define TC_CALL_MONITOR_H

#include <protobuf-c/protobuf-c.h>

/* Print a GetMonitorResponse; returns the exit status (0). */
int call_monitor_print(const ProtobufCMessage *msg);

#endif
