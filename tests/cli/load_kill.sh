#!/usr/bin/env bash
# kill -9 during a load: the database opens clean, every citizen is either entirely the old or
# entirely the new version (each batch is one transaction), and re-running the load completes it.
source "$(dirname "$0")/lib.sh"
T=$TINCHAP
export TINCHAP_KEY=$WORK/secret
"$T" keygen "$TINCHAP_KEY" >/dev/null
N=20000
"$T" synth -n $N --history 0 --seed 7 --as-of "$(date -u +%F)" --out "$WORK/data" >/dev/null
POP=$WORK/data/population.csv
citizens() { # -1 if unknown (stats gives up after 2 s: the load may be stopped holding a lock)
    timeout 2 "$T" stats --db "$WORK/db" --json 2>/dev/null |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["citizens"])' 2>/dev/null || echo -1
}
# counts "new updated unchanged" of a dry run of FILE against the database
dry() {
    "$T" load --db "$WORK/db" --dry-run --max-errors 10% "$1" 2>/dev/null |
        sed -E 's/.*citizens ([0-9]+) new, ([0-9]+) updated, ([0-9]+) unchanged.*/\1 \2 \3/'
}

# 1. A first load killed once some batches are in and not all. One row per transaction makes
#    the load long; it is looked at only while stopped (SIGSTOP), and runs a few milliseconds
#    between looks, so it is caught in the act however fast the disk (tmpfs included).
"$T" load --db "$WORK/db" --consents "$WORK/data/consents.csv" >/dev/null
"$T" load --db "$WORK/db" --batch-size 1 --max-errors 10% "$POP" >/dev/null 2>&1 &
pid=$!
n=0
for _ in $(seq 1 3000); do
    kill -STOP "$pid" 2>/dev/null || break
    n=$(citizens)
    [ "$n" -gt 0 ] && break
    kill -CONT "$pid"
    sleep 0.002
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
n=$(citizens)
[ "$n" -gt 0 ] && [ "$n" -lt "$N" ] || fail "the kill did not land mid-load ($n of $N citizens)"
read -r new upd same <<<"$(dry "$POP")"
expect_eq "after the kill: nothing half-written" "0 $N" "$upd $((new + same))"
expect_eq "after the kill: the rows in are exactly the citizens counted" "$n" "$same"
run "$T" load --db "$WORK/db" --max-errors 10% "$POP"
expect_eq "re-run exit" 0 "$status"
read -r new upd same <<<"$(dry "$POP")"
expect_eq "re-run completed the load" "0 0 $N" "$new $upd $same"

# 2. An update (v2 changes every citizen) killed part-way: each citizen is v1 or v2, whole.
$PY - "$POP" "$WORK/v2.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w", newline="") as g:
    r = csv.reader(f); w = csv.writer(g, lineterminator="\n")
    head = next(r); w.writerow(head); k = head.index("mobile_tenure_months")
    for row in r:
        v = int(row[k]); row[k] = str(v + 1 if v < 480 else v - 1); w.writerow(row)
PY
for delay in 0.1 0.3; do
    "$T" load --db "$WORK/db" --batch-size 1 --max-errors 10% "$WORK/v2.csv" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    run "$T" stats --db "$WORK/db"
    expect_eq "opens after a kill at ${delay}s" 0 "$status"
    read -r new2 upd2 same2 <<<"$(dry "$WORK/v2.csv")"
    read -r new1 upd1 same1 <<<"$(dry "$POP")"
    expect_eq "no citizen lost or added (kill at ${delay}s)" "0 0" "$new1 $new2"
    expect_eq "each citizen entirely v1 or v2 (kill at ${delay}s)" "$N" "$((same1 + same2))"
    "$T" load --db "$WORK/db" --max-errors 10% "$POP" >/dev/null # back to v1
done
finish
