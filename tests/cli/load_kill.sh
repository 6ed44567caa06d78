#!/usr/bin/env bash
# kill -9 during a load: the database opens clean, every citizen is either entirely the old or
# entirely the new version (each batch is one transaction), and re-running the load completes it.
source "$(dirname "$0")/lib.sh"
T=$TINCHAP
export TINCHAP_KEY=$WORK/secret
"$T" keygen "$TINCHAP_KEY" >/dev/null
N=60000
"$T" synth -n $N --history 0 --seed 7 --as-of "$(date -u +%F)" --out "$WORK/data" >/dev/null
POP=$WORK/data/population.csv
# v2: every citizen's mobile tenure moves by one month, so every record differs from v1
$PY - "$POP" "$WORK/v2.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w", newline="") as g:
    r = csv.reader(f); w = csv.writer(g, lineterminator="\n")
    head = next(r); w.writerow(head); k = head.index("mobile_tenure_months")
    for row in r:
        v = int(row[k]); row[k] = str(v + 1 if v < 480 else v - 1); w.writerow(row)
PY
run "$T" load --db "$WORK/db" --consents "$WORK/data/consents.csv" --max-errors 10% "$POP"
expect_eq "v1 load" 0 "$status"
loaded=$("$T" stats --db "$WORK/db" --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["citizens"])')

# counts "new updated unchanged" of a dry run of FILE against the database
dry() {
    "$T" load --db "$WORK/db" --dry-run --max-errors 10% "$1" 2>/dev/null |
        sed -E 's/.*citizens ([0-9]+) new, ([0-9]+) updated, ([0-9]+) unchanged.*/\1 \2 \3/'
}

interrupted=0
for delay in 0.15 0.3 0.5 0.8; do
    "$T" load --db "$WORK/db" --batch-size 200 --max-errors 10% "$WORK/v2.csv" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    run "$T" stats --db "$WORK/db"
    expect_eq "opens after kill at ${delay}s" 0 "$status"
    read -r new2 upd2 same2 <<<"$(dry "$WORK/v2.csv")"
    read -r new1 upd1 same1 <<<"$(dry "$POP")"
    expect_eq "no citizen lost or added (kill at ${delay}s)" "0 0" "$new1 $new2"
    expect_eq "each citizen entirely v1 or v2 (kill at ${delay}s)" "$loaded" "$((same1 + same2))"
    if [ "$same2" -gt 0 ] && [ "$same2" -lt "$loaded" ]; then interrupted=$((interrupted + 1)); fi
    # back to v1 for the next round
    "$T" load --db "$WORK/db" --max-errors 10% "$POP" >/dev/null
done
[ "$interrupted" -gt 0 ] || fail "no kill landed in the middle of a load"

# a killed load, re-run, completes
"$T" load --db "$WORK/db" --batch-size 200 --max-errors 10% "$WORK/v2.csv" >/dev/null 2>&1 &
pid=$!
sleep 0.3
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
run "$T" load --db "$WORK/db" --max-errors 10% "$WORK/v2.csv"
expect_eq "re-run exit" 0 "$status"
read -r new2 upd2 same2 <<<"$(dry "$WORK/v2.csv")"
expect_eq "re-run completed the load" "0 0 $loaded" "$new2 $upd2 $same2"
echo "kills that landed mid-load: $interrupted of 4"
finish
