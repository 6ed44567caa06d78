#!/usr/bin/env bash
# A relaxed audit trail whose disk cannot sync (SECURITY.md maps it to its test): the trail lives
# on an ext2 filesystem on a loop device whose backing file sits on a 4 MiB tmpfs. Filling the
# tmpfs makes every write the kernel sends to the device fail, so fdatasync reports an I/O
# error, as a full thin-provisioned volume does: no fault is injected into tinchapd. The
# failed syncs are retried, counted (tinchap_audit_sync_failures_total) and logged, health
# answers NOT_SERVING while they fail and SERVING once space is back
# (tests/python/sync_test.py). Needs root to mount; otherwise the test is skipped (exit 77).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
BACK=$WORK/back
VOL=$WORK/vol
mkdir -p "$BACK" "$VOL"
if ! mount -t tmpfs -o size=4m tinchap-fault-sync "$BACK" 2>/dev/null; then
    echo "cannot mount a tmpfs here (not root?): skipped"
    exit 77
fi
trap 'umount "$VOL" 2>/dev/null || true; umount "$BACK" 2>/dev/null || true; tc_exit' EXIT
truncate -s 64M "$BACK/disk.img"
mkfs.ext2 -q -F "$BACK/disk.img"
if ! mount -o loop,errors=continue "$BACK/disk.img" "$VOL" 2>/dev/null; then
    echo "cannot mount a loop device here: skipped"
    exit 77
fi
make_pki "$WORK/pki"
make_data "$WORK" 300
write_config "$WORK/conf.json" "$WORK" "\"audit\": \"$VOL/audit\", \"audit_sync\": \"relaxed\",
  \"audit_sync_ms\": 50"
start_server "$WORK/conf.json" "$WORK/server.log"
run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" TC_METRICS_PORT="$METRICS_PORT" \
    TC_BACKING="$BACK" "$PY" "$SRC/tests/python/sync_test.py"
echo "$out"
expect_eq "sync failure suite" 0 "$status"
stop_server || fail "tinchapd did not stop cleanly"
line=$(grep '"event":"audit_sync_failed"' "$WORK/server.log" | head -1 || true)
expect_contains "the log says which trail and why" \
    "$VOL/audit: syncing the audit trail to disk:" "$line"
expect_contains "... and that it is retried" "retried every 50 ms, health NOT_SERVING" "$line"
expect_contains "the log says it recovered" '"event":"audit_sync_recovered"' \
    "$(cat "$WORK/server.log")"
finish
