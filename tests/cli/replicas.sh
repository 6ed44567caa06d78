#!/usr/bin/env bash
# Scale-out as README.md ("Operating tinchap") describes it, on 127.0.0.1: a steward database,
# three tinchapd replicas started from `tinchap snapshot` copies of it (each with its own audit
# trail), and a bank's grpcio client using round_robin over all three with a retry policy for
# UNAVAILABLE. While the client scores without pause:
#   1. one replica is killed with SIGKILL            -> the client sees no failed call;
#   2. it is restarted on its port (same database and trail) -> traffic returns to it;
#   3. a steward write on the primary, a new snapshot, and another replica refreshed by a
#      graceful restart onto it (SIGTERM, drain, swap directories, start) -> no failed call, and
#      that replica answers for the new citizen while the others do not know them yet.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki
make_pki "$P"
make_data "$WORK" 400 # the primary: $WORK/db, written only by the steward's loads

# Each replica has its own directory: its database, and its audit trail beside it (the default),
# so a database replaced by a snapshot keeps the trail and no two replicas share one.
declare -a PID PORTS MPORTS
for i in 1 2 3; do
    R=$WORK/r$i
    mkdir -p "$R"
    ln -s "$WORK/secret" "$R/secret"
    ln -s "$P" "$R/pki"
    run "$TINCHAP" snapshot --db "$WORK/db" --out "$R/db"
    expect_eq "snapshot r$i" 0 "$status"
    [ "$i" -eq 1 ] && echo "$out"
    # a grace of 300 ms between NOT_SERVING and refusing: the health stream tells the client at
    # once, and the calls it already sent finish
    write_config "$R/conf.json" "$R" "\"workers\": 1, \"drain_grace_ms\": 300"
    start_server "$R/conf.json" "$R/server.log"
    PID[$i]=$SERVER_PID
    PORTS[$i]=$PORT
    MPORTS[$i]=$METRICS_PORT
done
targets="${PORTS[1]},${PORTS[2]},${PORTS[3]}"

# inquiries N: the Score calls replica N has audited (Admin/GetStatus on that replica alone)
inquiries() {
    "$TINCHAP" call status --target "127.0.0.1:${PORTS[$1]}" --ca "$P/ca.pem" \
        --cert "$P/admin.pem" --key "$P/admin.key" --compact |
        "$PY" -c 'import json, sys; print(json.load(sys.stdin).get("inquiries", 0))'
}
client_ok() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["ok"])' "$WORK/status"; }
# wait_for WHAT SECONDS CMD...: until CMD succeeds
wait_for() {
    local what=$1 secs=$2
    shift 2
    for _ in $(seq 1 $((secs * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    fail "$what (waited ${secs} s)"
    return 1
}
client_past() { [ -s "$WORK/status" ] && [ "$(client_ok)" -ge "$1" ]; }
grown() { [ "$(inquiries "$1")" -ge "$2" ]; }
# restart N: tinchapd N again, on the port it had, with its own database and trail
restart() {
    start_server "$WORK/r$1/conf.json" "$WORK/r$1/server.$2.log" --listen "127.0.0.1:${PORTS[$1]}"
    PID[$1]=$SERVER_PID
    expect_eq "replica $1 back on its port" "${PORTS[$1]}" "$PORT"
}

started=$(date +%s)
"$PY" "$SRC/tests/python/replica_client.py" --targets "$targets" --pki "$P" \
    --consents "$WORK/data/consents.csv" --status "$WORK/status" --stop "$WORK/stop" \
    > "$WORK/client.out" 2>&1 &
CLIENT=$!
TC_PIDS+=("$CLIENT")
wait_for "the client scores" 30 client_past 200
for i in 1 2 3; do
    [ "$(inquiries "$i")" -gt 0 ] || fail "replica $i got no traffic from round_robin"
done
# the client watches every replica's health on its connection (client-side health checking)
metrics() { "$PY" -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1]).read().decode())' "$1"; }
streams=$(metrics "http://127.0.0.1:${MPORTS[1]}/metrics" | sed -n 's/^tinchap_health_streams //p')
[ "${streams:-0}" -ge 1 ] || fail "no Health/Watch stream open on replica 1 (got '${streams}')"

# 1. SIGKILL replica 2 mid-run: its calls in flight fail over, new ones avoid it
kill -KILL "${PID[2]}"
wait "${PID[2]}" 2>/dev/null || true
before=$(client_ok)
sleep 1.5 # down long enough for the client to try, and fail, to reconnect to it
wait_for "the client goes on with two replicas" 20 client_past $((before + 300))

# 2. restart it on the same port: round_robin reconnects and sends it traffic again
restart 2 restart
at_restart=$(inquiries 2)
wait_for "traffic returns to the restarted replica" 20 grown 2 $((at_restart + 50))

# 3. refresh replica 3 from a new snapshot of the primary after a steward write
"$TINCHAP" synth -n 401 --history 0 --seed 11 --as-of "$(date -u +%F)" --out "$WORK/data2" >/dev/null
TINCHAP_KEY=$WORK/secret "$TINCHAP" load --db "$WORK/db" --consents "$WORK/data2/consents.csv" \
    "$WORK/data2/population.csv" >/dev/null
NEW=$(tail -n 1 "$WORK/data2/population.csv" | cut -d, -f1)
cmp -s <(head -n 401 "$WORK/data2/population.csv") "$WORK/data/population.csv" ||
    fail "synth -n 401 does not extend the first 400 citizens"
now=$(date -u +%FT%TZ)
read -r NEW_INST NEW_REF < <(awk -F, -v id="$NEW" -v now="$now" '$1 == id && $7 == "" &&
    $5 <= now && $6 > now { print $2, $4; exit }' "$WORK/data2/consents.csv")
[ -n "$NEW_REF" ] || fail "the new citizen has no valid consent"
t0=$(date +%s.%N)
run "$TINCHAP" snapshot --db "$WORK/db" --out "$WORK/r3/db.new"
expect_eq "refresh snapshot" 0 "$status"
echo "$out"
kill -TERM "${PID[3]}"
st=0
wait "${PID[3]}" || st=$?
expect_eq "replica 3 drained and exited 0" 0 "$st"
# its health stream told the client to move away before it refused anything
refused=$(grep -c '"method":"Score","status":"UNAVAILABLE"' "$WORK/r3/server.log" || true)
expect_eq "no call refused by the draining replica" 0 "$refused"
mv "$WORK/r3/db" "$WORK/r3/db.old"
mv "$WORK/r3/db.new" "$WORK/r3/db"
restart 3 refreshed
t1=$(date +%s.%N)
echo "replica 3 refreshed in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s (snapshot, drain, swap, start)"
at_refresh=$(inquiries 3)
wait_for "traffic returns to the refreshed replica" 20 grown 3 $((at_refresh + 50))

# the new citizen: known to the refreshed replica, not yet to the others
score_new() {
    "$TINCHAP" call score --target "127.0.0.1:${PORTS[$1]}" --ca "$P/ca.pem" \
        --cert "$P/$NEW_INST.pem" --key "$P/$NEW_INST.key" --citizen "$NEW" \
        --consent-ref "$NEW_REF" --purpose loan-origination --product unsecured-consumer \
        --compact >/dev/null 2>&1
}
st=0
score_new 3 || st=$?
expect_eq "the refreshed replica scores the new citizen" 0 "$st"
st=0
score_new 1 || st=$?
expect_eq "an unrefreshed replica does not know them (PERMISSION_DENIED)" 17 "$st"

# the end: not one failed call across the kill, the restart and the refresh
touch "$WORK/stop"
wait "$CLIENT" || fail "the client exited with an error: $(cat "$WORK/client.out")"
result=$(tail -n 1 "$WORK/client.out")
echo "client: $result; $(($(date +%s) - started)) s"
"$PY" - "$result" <<'PY' || fail "failed calls seen by the client"
import json, sys
r = json.loads(sys.argv[1])
assert r["ok"] > 1000, r
assert not r["failed"], r
PY
for i in 1 2 3; do
    kill -TERM "${PID[$i]}" 2>/dev/null || true
    st=0
    wait "${PID[$i]}" || st=$?
    expect_eq "replica $i stops cleanly" 0 "$st"
done
finish
