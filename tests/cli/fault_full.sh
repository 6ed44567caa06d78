#!/usr/bin/env bash
# Disk full. The database and the audit trail each live on a small tmpfs of their own.
#  1. The database's filesystem fills up:
#     - tinchap load fails with "no space left on the device" and writes nothing;
#     - PutCitizens fails RESOURCE_EXHAUSTED with the same reason and writes nothing;
#     - scoring the citizens already there goes on, every answer audited.
#  2. The trail's filesystem fills up too: Score is refused UNAVAILABLE "the audit trail cannot
#     be written (it is full)" (never an answer without its record) and the log says which
#     directory and why; reads (Health, ListModels, GetModel, ListInquiries, GetStatus) work.
#  3. Both filesystems grow (mount -o remount,size=): without a restart, the refused requests
#     are scored when retried, PutCitizens and the load complete, and every answered request is
#     in the trail exactly once (tests/python/full_test.py).
# Where mounting is not permitted (not root, or no CAP_SYS_ADMIN), or with TC_FULL_NO_MOUNT=1,
# the same checks run against LMDB map sizes instead (--map-size, --audit-map-size); raising a
# map size is a configuration change, so that variant restarts the server between steps.
# TC_FULL_AUDIT_SYNC=relaxed runs it all with a relaxed audit trail (cli.fault_full_relaxed):
# there a full disk fails the commit itself, before any sync, and must be refused the same.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki
FS=$WORK/fs      # the database: FS/db
FSA=$WORK/fs-a   # the audit trail: FSA/audit
mkdir -p "$FS" "$FSA"
MODE=tmpfs
if [ -n "${TC_FULL_NO_MOUNT:-}" ] ||
    ! mount -t tmpfs -o size=8m tinchap-fault-db "$FS" 2>/dev/null ||
    ! mount -t tmpfs -o size=8m tinchap-fault-audit "$FSA" 2>/dev/null; then
    umount "$FS" 2>/dev/null || true
    MODE=map
    echo "cannot mount a tmpfs here: LMDB map sizes stand in for the full disks"
fi
trap 'umount "$FS" "$FSA" 2>/dev/null || true; tc_exit' EXIT
export TINCHAP_KEY=$WORK/secret
make_pki "$P"
"$TINCHAP" keygen "$TINCHAP_KEY" >/dev/null
"$TINCHAP" synth -n 2000 --history 0 --seed 11 --as-of "$(date -u +%F)" --out "$WORK/data" >/dev/null
"$TINCHAP" synth -n 3000 --history 0 --seed 12 --as-of "$(date -u +%F)" --out "$WORK/more" >/dev/null
"$TINCHAP" load --db "$FS/db" --consents "$WORK/data/consents.csv" "$WORK/data/population.csv" >/dev/null
mkdir -p "$WORK/models"
cp "$SRC"/models/*.json "$WORK/models/"
# the configuration names FS/db, FS/secret and FS/pki: links for the last two
ln -s "$TINCHAP_KEY" "$FS/secret"
ln -s "$P" "$FS/pki"
write_config "$WORK/conf.json" "$FS" "\"audit\": \"$FSA/audit\",
  \"audit_sync\": \"${TC_FULL_AUDIT_SYNC:-durable}\",
  \"models\": \"$WORK/models\", \"catalog\": \"$WORK/models/catalog.json\""

# v2 of every citizen (one attribute moved), sent through PutCitizens
"$PY" - "$WORK/data/population.csv" "$WORK/v2.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w", newline="") as g:
    r = csv.reader(f); w = csv.writer(g, lineterminator="\n")
    head = next(r); w.writerow(head); k = head.index("mobile_tenure_months")
    for row in r:
        v = int(row[k]); row[k] = str(v + 1 if v < 480 else v - 1); w.writerow(row)
PY
N=$(($(wc -l < "$WORK/data/population.csv") - 1))
counts() { "$TINCHAP" stats --db "$FS/db" --json | "$PY" -c 'import json, sys
d = json.load(sys.stdin); print(d["citizens"], d["consents"])'; }
dry() {
    "$TINCHAP" load --db "$FS/db" --dry-run "$1" 2>/dev/null |
        sed -E 's/.*citizens ([0-9]+) new, ([0-9]+) updated, ([0-9]+) unchanged.*/\1 \2 \3/'
}
put() {
    "$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/steward.pem" \
        --key "$P/steward.key" --timeout 30000 put "$1"
}
full_test() {
    run env TC_PORT="$PORT" TC_PKI="$P" TC_DIR="$WORK" TC_STATE="$WORK/state.json" \
        TC_AUDIT="$WORK/audit.jsonl" "$PY" "$SRC/tests/python/full_test.py" "$1"
    echo "$1: $out"
    expect_eq "full_test.py $1" 0 "$status"
}
fill() { # DIR: write until the filesystem has no room left
    dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null || true
    expect_eq "$1 is full" 0 "$(df --output=avail -B1 "$1" | tail -1 | tr -d ' ')"
}
before=$(counts)
used=$("$TINCHAP" stats --db "$FS/db" --json | "$PY" -c 'import json, sys
print(json.load(sys.stdin)["used_bytes"])')

# 1. the database's disk is full
if [ "$MODE" = tmpfs ]; then
    start_server "$WORK/conf.json" "$WORK/server.log"
    full_test warm
    fill "$FS"
    load_map=()
else
    # the database's map just holds what is there
    start_server "$WORK/conf.json" "$WORK/server.log" --map-size "$((used + 8192))"
    full_test warm
    load_map=(--map-size "$((used + 8192))")
fi
PID0=$SERVER_PID
expect_contains "the audit mode of this round" "\"audit_sync\":\"${TC_FULL_AUDIT_SYNC:-durable}\"" \
    "$(head -1 "$WORK/server.log")"
run "$TINCHAP" load --db "$FS/db" "${load_map[@]}" --consents "$WORK/more/consents.csv" \
    "$WORK/more/population.csv"
expect_eq "load into a full disk: exit" 1 "$status"
if [ "$MODE" = tmpfs ]; then
    expect_contains "load into a full disk: says why" "no space left on the device" "$out"
else
    expect_contains "load into a full map: says why" "database full: this load needs about" "$out"
fi
expect_eq "load into a full disk: nothing written" "$before" "$(counts)"
run put "$WORK/v2.csv"
expect_eq "PutCitizens on a full disk: exit (RESOURCE_EXHAUSTED)" 18 "$status"
if [ "$MODE" = tmpfs ]; then
    expect_contains "PutCitizens on a full disk: says why" "no space left on the device" "$out"
else
    expect_contains "PutCitizens on a full map: says why" "database full: raise --map-size" "$out"
fi
expect_eq "PutCitizens on a full disk: nothing written" "0 $N 0" "$(dry "$WORK/v2.csv")"
full_test warm # the citizens already there are scored, and audited

# 2. the trail's disk is full too
if [ "$MODE" = tmpfs ]; then
    fill "$FSA"
else
    stop_server || fail "tinchapd did not stop cleanly"
    start_server "$WORK/conf.json" "$WORK/server.log" --map-size "$((used + 8192))" \
        --audit-map-size 1M
fi
full_test full
"$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:$METRICS_PORT/metrics" > "$WORK/metrics.txt" || true
failures_metric=$(sed -n 's/^tinchap_audit_failures_total \([0-9]*\)$/\1/p' "$WORK/metrics.txt")
expect_eq "metrics count the refused audit records" True \
    "$([ "${failures_metric:-0}" -gt 0 ] && echo True)"
sleep 0.1 # the log is flushed every 50 ms
line=$(grep '"event":"audit_write_failed"' "$WORK/server.log" | head -1 || true)
if [ "$MODE" = tmpfs ]; then
    expect_contains "the log says which trail, and no space" \
        "$FSA/audit: writing the audit trail: no space left on the device" "$line"
else
    expect_contains "the log says which trail, and its map is full" \
        "$FSA/audit: writing the audit trail: its map is full: raise audit_map_size" "$line"
fi

# 3. space comes back
if [ "$MODE" = tmpfs ]; then
    mount -o remount,size=64m "$FS"
    mount -o remount,size=64m "$FSA"
    expect_eq "same server process (no restart)" "$PID0" "$SERVER_PID"
    kill -0 "$SERVER_PID" || fail "tinchapd died on the full disks"
else
    stop_server || fail "tinchapd did not stop cleanly"
    start_server "$WORK/conf.json" "$WORK/server2.log" # default map sizes
fi
full_test after
run put "$WORK/v2.csv"
expect_eq "PutCitizens with space again: exit" 0 "$status"
expect_eq "PutCitizens with space again: all written" "0 0 $N" "$(dry "$WORK/v2.csv")"
run "$TINCHAP" load --db "$FS/db" --consents "$WORK/more/consents.csv" "$WORK/more/population.csv"
expect_eq "load with space again: exit" 0 "$status"
expect_eq "load with space again: all there" "0 0 3000" "$(dry "$WORK/more/population.csv")"
stop_server || fail "tinchapd did not stop cleanly"
"$TINCHAP" audit --audit "$FSA/audit" > "$WORK/audit.jsonl"
full_test check
finish
