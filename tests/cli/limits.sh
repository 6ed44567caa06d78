#!/usr/bin/env bash
# Limits (SECURITY.md maps each to its test): requests up to max_message_bytes, ListInquiries'
# limit, pages and time range, and the per-institution limit on audited refusals with its
# metric (tests/python/limits_test.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
make_pki "$WORK/pki"
make_data "$WORK" 300
write_config "$WORK/conf.json" "$WORK" '"audit_sync": "relaxed",
  "audit_denials_per_second": 5, "audit_denials_burst": 20'
start_server "$WORK/conf.json" "$WORK/server.log"
run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" TC_METRICS_PORT="$METRICS_PORT" \
    "$PY" "$SRC/tests/python/limits_test.py"
expect_eq "limits client suite" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2
stop_server || fail "tinchapd did not stop cleanly"
finish
