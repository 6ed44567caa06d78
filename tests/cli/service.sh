#!/usr/bin/env bash
# tinchapd end to end on 127.0.0.1 with real certificates: the Python client test suite, a
# drain with calls in flight, and a search of every log and file for the raw IDs it served.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
make_pki "$WORK/pki"
make_expired "$WORK/pki"
make_data "$WORK" 3000
mkdir -p "$WORK/models"
cp "$SRC"/models/*.json "$WORK/models/"
write_config "$WORK/conf.json" "$WORK" "\"models\": \"$WORK/models\", \"catalog\": \"$WORK/models/catalog.json\""
start_server "$WORK/conf.json" "$WORK/server.log"

# 1. the Python grpcio client: every RPC and status (tests/python/test_service.py)
run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" TC_SERVING_MODELS="$WORK/models" \
    TC_SERVER_PID="$SERVER_PID" TINCHAP="$TINCHAP" \
    /usr/bin/python3 "$SRC/tests/python/test_service.py"
expect_eq "python client suite" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2

# 2. metrics: the calls above are counted
metrics=$($PY -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:$METRICS_PORT/metrics" 2>&1 || true)
expect_contains "metrics: Score OK counted" 'tinchap_requests_total{method="Score",status="OK"}' "$metrics"
expect_contains "metrics: audit batches" "tinchap_audit_batches_total" "$metrics"
expect_contains "metrics: models" 'tinchap_model_info{name=' "$metrics"
printf '%s\n' "$metrics" > "$WORK/metrics.txt" # searched for raw IDs below

# 3. SIGTERM with calls in flight: every call either completes or is refused as UNAVAILABLE,
#    the server exits 0, and every answered call is in the audit trail after a restart.
run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" TC_SERVER_PID="$SERVER_PID" \
    /usr/bin/python3 "$SRC/tests/python/drain_test.py"
expect_eq "drain client" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2
answered=$(sed -n 's/^answered \([0-9]*\) .*/\1/p' <<<"$out")
# a client that failed before signalling must not leave the test waiting forever
if [ "$status" -ne 0 ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID" || true; fi
audit_before=$(sed -n 's/.*audit_before \([0-9]*\).*/\1/p' <<<"$out")
st=0
wait "$SERVER_PID" || st=$?
expect_eq "exit status after SIGTERM" 0 "$st"
expect_contains "drain logged" '"event":"stopped"' "$(cat "$WORK/server.log")"
start_server "$WORK/conf.json" "$WORK/server2.log"
run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" TC_SRC="$SRC" /usr/bin/python3 -c '
import os, sys
sys.path.insert(0, os.environ["TC_SRC"] + "/tests/python")
from service_client import Client, admin_pb2
c = Client(int(os.environ["TC_PORT"]), os.environ["TC_PKI"], "admin")
print(c.admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=5).inquiries)' 2>&1
audit_after=$out
expect_eq "every answered call was audited" "$((audit_before + answered))" "$audit_after"
stop_server || fail "second server did not stop cleanly"

# 4. privacy: no raw citizen ID in logs, database files, the audit trail, the metrics or anything
#    else the server wrote
ids=$(cut -d, -f1 "$WORK/data/population.csv" | tail -n +2)
hits=0
for f in "$WORK/server.log" "$WORK/server2.log" "$WORK/db/data.mdb" "$WORK/audit/data.mdb" \
    "$WORK/metrics.txt"; do
    # fixed-string search for every ID at once
    n=$(grep -a -c -F -f <(printf '%s\n' $ids) "$f" || true)
    [ "$n" -eq 0 ] || { fail "raw IDs found in $f"; hits=1; }
done
expect_eq "no raw IDs anywhere" 0 "$hits"
finish
