#!/usr/bin/env bash
# kill -9 of tinchapd with nothing lost.
#  1. Under concurrent Score load with the durable audit trail, three times at different
#     moments, and once with the relaxed trail (committed, not yet synced: a killed process
#     loses none of it; only a machine crash may lose the last sync window): after a restart
#     on the same database and trail, the database opens and serves, every request whose
#     reply a client received is in the trail exactly once with the inquiry ID the client got,
#     and every call left in doubt, retried with the same request ID, is answered — as a replay
#     of the original when its record was committed before the kill — and scored exactly once
#     (tests/python/kill_test.py).
#  2. During a PutCitizens stream of many calls (tinchap call put): every call is all or
#     nothing (each is one transaction), no citizen is half-written, and re-running completes.
# (kill -9 during `tinchap load`: tests/cli/load_kill.sh.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki
make_pki "$P"
make_data "$WORK" 6000
mkdir -p "$WORK/models"
cp "$SRC"/models/*.json "$WORK/models/"
# one call in nine is refused, at full speed: no limit on audited refusals here (cli.limits
# tests it), so that every call of the load is a real one when the kill comes
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$WORK/models\", \"catalog\": \"$WORK/models/catalog.json\",
  \"audit_denials_per_second\": 0"
# relaxed audit: records are committed without waiting for the disk, by the workers themselves
# when no commit is under way; a killed process loses none of them (the kernel has the pages)
write_config "$WORK/conf-relaxed.json" "$WORK" \
    "\"models\": \"$WORK/models\", \"catalog\": \"$WORK/models/catalog.json\",
  \"audit_sync\": \"relaxed\", \"audit_denials_per_second\": 0"
export TINCHAP_KEY=$WORK/secret

killed_status() { # wait for the killed server; its status must be 137 (SIGKILL)
    local st=0
    wait "$SERVER_PID" || st=$?
    expect_eq "$1: tinchapd was killed" 137 "$st"
}

# 1. Score load: three rounds with the durable trail, a fourth with the relaxed one
for round in 1 2 3 4; do
    delay=$(echo "0.8 1.5 2.2 1.2" | cut -d' ' -f"$round")
    conf=$WORK/conf.json
    [ "$round" = 4 ] && conf=$WORK/conf-relaxed.json
    start_server "$conf" "$WORK/server-$round.log"
    run env TC_PORT="$PORT" TC_PKI="$P" TC_DIR="$WORK" TC_SERVER_PID="$SERVER_PID" \
        TC_KILL_AFTER="$delay" TC_ROUND="$round" TC_STATE="$WORK/state-$round.json" \
        "$PY" "$SRC/tests/python/kill_test.py" load
    echo "round $round, kill after ${delay} s: $out"
    expect_eq "round $round: load" 0 "$status"
    killed_status "round $round"
    # the database and the trail open clean: a restart serves, and the tools read both
    start_server "$conf" "$WORK/server-$round-restart.log"
    run "$TINCHAP" stats --db "$WORK/db"
    expect_eq "round $round: database opens (tinchap stats)" 0 "$status"
    run "$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/admin.pem" \
        --key "$P/admin.key" status
    expect_eq "round $round: the restarted server answers GetStatus" 0 "$status"
    run env TC_PORT="$PORT" TC_PKI="$P" TC_DIR="$WORK" TC_STATE="$WORK/state-$round.json" \
        "$PY" "$SRC/tests/python/kill_test.py" verify
    echo "round $round: $out"
    expect_eq "round $round: in-doubt calls retried" 0 "$status"
    stop_server || fail "round $round: restarted tinchapd did not stop cleanly"
    "$TINCHAP" audit --db "$WORK/db" > "$WORK/audit-$round.jsonl"
    run env TC_STATE="$WORK/state-$round.json" TC_AUDIT="$WORK/audit-$round.jsonl" \
        "$PY" "$SRC/tests/python/kill_test.py" check
    echo "round $round: $out"
    expect_eq "round $round: acknowledged = audited exactly once" 0 "$status"
done

# 2. PutCitizens: v2 moves every citizen's mobile tenure by one month, so every record differs
POP=$WORK/data/population.csv
BATCH=250
"$PY" - "$POP" "$WORK/v2.csv" "$BATCH" "$WORK/v2-part" <<'PY'
import csv, sys
src, dst, batch, part = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(src, newline="") as f:
    rows = list(csv.reader(f))
head, k = rows[0], rows[0].index("mobile_tenure_months")
for r in rows[1:]:
    v = int(r[k]); r[k] = str(v + 1 if v < 480 else v - 1)
def write(path, body):
    with open(path, "w", newline="") as g:
        w = csv.writer(g, lineterminator="\n"); w.writerow(head); w.writerows(body)
write(dst, rows[1:])
# the calls `tinchap call put --batch N` makes: N rows each, in file order
for i in range(0, len(rows) - 1, batch):
    write("%s-%03d.csv" % (part, i // batch), rows[1 + i:1 + i + batch])
PY
N=$(($(wc -l < "$POP") - 1))
CALLS=$(ls "$WORK"/v2-part-*.csv | wc -l)
put() { # FILE: stream it as the steward
    "$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/steward.pem" \
        --key "$P/steward.key" --timeout 30000 put --batch "$BATCH" "$1"
}
# "new updated unchanged" of FILE against the database, by a dry run
dry() {
    "$TINCHAP" load --db "$WORK/db" --dry-run "$1" 2>/dev/null |
        sed -E 's/.*citizens ([0-9]+) new, ([0-9]+) updated, ([0-9]+) unchanged.*/\1 \2 \3/'
}
interrupted=0
for after in 2 6 12; do
    delay="$after calls"
    start_server "$WORK/conf.json" "$WORK/put-$after.log"
    put "$WORK/v2.csv" > /dev/null 2>&1 &
    putter=$!
    # kill once the access log shows that many calls answered (it lags by up to 50 ms)
    for _ in $(seq 1 400); do
        [ "$(grep -c '"PutCitizens"' "$WORK/put-$after.log" || true)" -ge "$after" ] && break
        kill -0 "$putter" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$SERVER_PID"
    killed_status "put, kill after ${delay}"
    wait "$putter" || true
    run "$TINCHAP" stats --db "$WORK/db"
    expect_eq "put, kill after ${delay}: database opens" 0 "$status"
    read -r new2 upd2 same2 <<<"$(dry "$WORK/v2.csv")"
    read -r new1 upd1 same1 <<<"$(dry "$POP")"
    expect_eq "put, kill after ${delay}: no citizen lost or added" "0 0" "$new1 $new2"
    expect_eq "put, kill after ${delay}: each citizen entirely v1 or v2" "$N" "$((same1 + same2))"
    # each call is one transaction: its citizens are all v2 or all v1
    applied=0
    for part in "$WORK"/v2-part-*.csv; do
        read -r _ _ same <<<"$(dry "$part")"
        rows=$(($(wc -l < "$part") - 1))
        case "$same" in
        0) ;;
        "$rows") applied=$((applied + 1)) ;;
        *) fail "put, kill after ${delay}: $(basename "$part") half applied ($same of $rows)" ;;
        esac
    done
    echo "put, kill after ${delay}: $applied of $CALLS calls applied"
    if [ "$applied" -gt 0 ] && [ "$applied" -lt "$CALLS" ]; then interrupted=$((interrupted + 1)); fi
    # the rerun completes it
    start_server "$WORK/conf.json" "$WORK/put-$after-rerun.log"
    run put "$WORK/v2.csv"
    expect_eq "put, kill after ${delay}: rerun exit" 0 "$status"
    expect_eq "put, kill after ${delay}: rerun completed" "0 0 $N" "$(dry "$WORK/v2.csv")"
    # back to v1 for the next round
    run put "$POP"
    expect_eq "put, kill after ${delay}: back to v1" 0 "$status"
    stop_server || fail "put: tinchapd did not stop cleanly"
done
[ "$interrupted" -gt 0 ] || fail "no kill landed in the middle of a PutCitizens run"
finish
