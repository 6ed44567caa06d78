#!/usr/bin/env bash
# tinchap score is safe to rerun: everything that can be checked before a row is read is, the
# output appears whole or not at all (a file or standard output), an ID column passes through
# (never a column of citizen IDs), and rows that cannot be scored are rejected with
# FILE:LINE:COLUMN up to --max-errors, listed in a rejects file.
source "$(dirname "$0")/lib.sh"
SRC=${TC_SOURCE:?}
MODEL="$SRC/models/unsecured-consumer-v2.json"
V1="$SRC/models/unsecured-consumer-v1.json"
"$TINCHAP" synth -n 10 --history 500 --seed 3 --as-of 2026-11-01 --out "$WORK/syn" >/dev/null
H="$WORK/syn/history.csv"
# an application reference in front of every row, and two bad values in rows 3 and 5
"$PY" - "$H" "$WORK" <<'PYEOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head, data = rows[0], rows[1:]
out = [["application_id"] + head] + [["APP-%05d" % (i + 1)] + r for i, r in enumerate(data)]
csv.writer(open(sys.argv[2] + "/ids.csv", "w"), lineterminator="\n").writerows(out)
bad = [list(r) for r in out]
c = bad[0].index("cic_inquiries_6m")
bad[3][c] = "many"           # data row 3, line 4
bad[5][bad[0].index("vneid_level")] = "7"   # data row 5, line 6: out of range
csv.writer(open(sys.argv[2] + "/bad.csv", "w"), lineterminator="\n").writerows(bad)
cit = [list(r) for r in out]
cit[2][0] = "001099000123"   # a citizen ID where a reference should be
csv.writer(open(sys.argv[2] + "/citizen.csv", "w"), lineterminator="\n").writerows(cit)
print(c + 1, bad[0].index("vneid_level") + 1)
PYEOF
read -r INQ_COL VNEID_COL < <("$PY" -c '
import csv, sys
h = next(csv.reader(open(sys.argv[1])))
print(h.index("cic_inquiries_6m") + 1, h.index("vneid_level") + 1)' "$WORK/bad.csv")

# 1 the ID column passes through, next to the row number
run "$TINCHAP" score --model "$MODEL" --input "$WORK/ids.csv" --out "$WORK/out.csv" \
    --id-column application_id
expect_eq "score with --id-column exit" 0 "$status"
expect_eq "header" "row,application_id,score,pd,pd_low,pd_high,grade,reasons" \
    "$(head -1 "$WORK/out.csv")"
expect_eq "first row keeps its reference" "1,APP-00001" "$(sed -n 2p "$WORK/out.csv" | cut -d, -f1-2)"
expect_eq "500 rows" 501 "$(wc -l <"$WORK/out.csv")"
# the scores are those without the ID column
"$TINCHAP" score --model "$MODEL" --input "$H" --out "$WORK/plain.csv"
expect_eq "same scores" "$(sed 1d "$WORK/plain.csv" | md5sum)" \
    "$(sed 1d "$WORK/out.csv" | cut -d, -f1,3- | md5sum)"
expect_eq "no temporary file left" "bad.csv citizen.csv ids.csv out.csv plain.csv syn" \
    "$(ls -A "$WORK" | tr '\n' ' ' | sed 's/ $//')"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/ids.csv" --out "$WORK/out2.csv" --id-column nope
expect_eq "unknown ID column exit" 1 "$status"
expect_contains "unknown ID column named" "ids.csv:1: no column 'nope' (--id-column)" "$out"

# 2 a column of citizen IDs is never passed through, and nothing is written
run "$TINCHAP" score --model "$MODEL" --input "$WORK/citizen.csv" --out "$WORK/cit.csv" \
    --id-column application_id
expect_eq "citizen ID column exit" 1 "$status"
expect_contains "citizen ID refused" "citizen.csv:3:1: column 'application_id' holds a 12-digit citizen ID" "$out"
case "$out" in *001099000123*) fail "the citizen ID is echoed" ;; esac
[ -e "$WORK/cit.csv" ] && fail "no output after a refused ID column"

# 3 bad rows: by default the run fails with FILE:LINE:COLUMN for each, and writes nothing
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/bad.out.csv"
expect_eq "bad rows exit" 1 "$status"
expect_contains "first bad value" "bad.csv:4:$INQ_COL: field 'cic_inquiries_6m' value 'many': not an integer" "$out"
expect_contains "second bad value" "bad.csv:6:$VNEID_COL: field 'vneid_level' value '7': out of range [0, 2]" "$out"
expect_contains "verdict" "2 of 500 rows of $WORK/bad.csv cannot be scored, more than --max-errors 0 allows: nothing was written" "$out"
[ -e "$WORK/bad.out.csv" ] && fail "no output past --max-errors"
# a rerun is not refused by a partial file: it does the same
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/bad.out.csv"
expect_eq "rerun, same verdict" 1 "$status"
expect_contains "rerun names the rows again" "bad.csv:4:$INQ_COL:" "$out"

# 4 within --max-errors: the good rows are scored, the bad ones listed in the rejects file
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/bad.out.csv" \
    --id-column application_id --max-errors 2
expect_eq "within --max-errors exit" 0 "$status"
expect_contains "summary" "scored 498 rows with unsecured-consumer-scorecard version 2; 2 rejected, listed in $WORK/bad.out.csv.rejects.csv" "$out"
expect_eq "498 rows" 499 "$(wc -l <"$WORK/bad.out.csv")"
expect_eq "rejected rows are left out, numbering kept" "" \
    "$(cut -d, -f1 "$WORK/bad.out.csv" | grep -xE '3|5')"
expect_eq "rejects file" "line,column,application_id,reason
4,$INQ_COL,APP-00003,field 'cic_inquiries_6m' value 'many': not an integer
6,$VNEID_COL,APP-00005,\"field 'vneid_level' value '7': out of range [0, 2]\"" \
    "$(cat "$WORK/bad.out.csv.rejects.csv")"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/pct.csv" \
    --max-errors 0.2% --rejects "$WORK/r.csv"
expect_eq "share below the rejects: exit" 1 "$status"
expect_contains "share below the rejects" "more than --max-errors 1 allows: nothing was written; the rows are listed in $WORK/r.csv" "$out"
[ -e "$WORK/pct.csv" ] && fail "no output past a --max-errors share"
expect_eq "rejects written even so" 3 "$(wc -l <"$WORK/r.csv")"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/pct.csv" --max-errors 1%
expect_eq "share above the rejects: exit" 0 "$status"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out x --max-errors lots
expect_eq "bad --max-errors is usage" 2 "$status"

# 4b the rejects file is the run's own: a rerun is never refused because of the last run's, and
# each run that reads its input to the end replaces it (the header alone when nothing is
# rejected), private to its owner
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/rerun.csv" --max-errors 1
expect_eq "past --max-errors exit" 1 "$status"
expect_eq "its rejects" 3 "$(wc -l <"$WORK/rerun.csv.rejects.csv")"
[ -e "$WORK/rerun.csv" ] && fail "no output past --max-errors"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/rerun.csv" --max-errors 1
expect_eq "rerun: same verdict, not refused" 1 "$status"
expect_contains "rerun: the same rows again" "2 of 500 rows of $WORK/bad.csv cannot be scored, more than --max-errors 1 allows" "$out"
run "$TINCHAP" score --model "$MODEL" --input "$H" --out "$WORK/rerun.csv" --max-errors 1
expect_eq "rerun on fixed input exit" 0 "$status"
expect_eq "rerun replaced the stale rejects" "line,column,reason" "$(cat "$WORK/rerun.csv.rejects.csv")"
expect_eq "rejects file mode" 600 "$(stat -c %a "$WORK/rerun.csv.rejects.csv")"
run "$TINCHAP" score --model "$MODEL" --input "$H" --out - --max-errors 1
expect_eq "--max-errors to stdout wants --rejects" 2 "$status"
expect_contains "says so" "--max-errors with --out -: name the rejects file with --rejects FILE" "$out"
cp "$WORK/bad.csv" "$WORK/bad.copy.csv"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/x.csv" --max-errors 5 \
    --rejects "$WORK/bad.csv"
expect_eq "rejects onto the input refused" 2 "$status"
cmp -s "$WORK/bad.csv" "$WORK/bad.copy.csv" || fail "the input was overwritten by its rejects"
run "$TINCHAP" score --model "$MODEL" --input "$H" --out "$WORK/x.csv" --max-errors 5 --rejects /dev/null
expect_eq "rejects onto a device refused" 1 "$status"
expect_contains "device named" "/dev/null: exists and is not a regular file" "$out"
# an attacker's (or a careless) citizen ID typed into an attribute column: the reason quotes the
# value, but neither stderr nor the rejects file repeats the ID
"$PY" - "$WORK/bad.csv" "$WORK/attack.csv" <<'PYEOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
rows[7][rows[0].index("cic_inquiries_6m")] = "001099000123"
rows[9][rows[0].index("vneid_level")] = "x001099000123456y"
csv.writer(open(sys.argv[2], "w"), lineterminator="\n").writerows(rows)
PYEOF
run "$TINCHAP" score --model "$MODEL" --input "$WORK/attack.csv" --out "$WORK/attack.out.csv" \
    --id-column application_id --max-errors 5
expect_eq "attack rows rejected, the rest scored" 0 "$status"
all="$out $(cat "$WORK/attack.out.csv.rejects.csv")"
case "$all" in *001099000123*) fail "a citizen ID reached stderr or the rejects file" ;; esac
expect_contains "masked on stderr" "attack.csv:8:$INQ_COL: field 'cic_inquiries_6m' value '############'" "$out"
expect_contains "masked in the file" "8,$INQ_COL,APP-00007,field 'cic_inquiries_6m' value '############'" "$(cat "$WORK/attack.out.csv.rejects.csv")"
expect_contains "longer runs too" "value 'x###############y'" "$(cat "$WORK/attack.out.csv.rejects.csv")"

# 5 checked before anything: --method baseline on a model without baselines fails before the
# input is read, whatever the input
run "$TINCHAP" score --model "$MODEL" --input "$WORK/no-such.csv" --out "$WORK/m.csv" --method baseline
expect_eq "baseline without baselines exit" 1 "$status"
expect_contains "baseline refused first" "--method baseline: model unsecured-consumer-scorecard version 2 has no baseline for characteristic 'cic_max_dpd_12m' (nothing was read or written)" "$out"
[ -e "$WORK/m.csv" ] && fail "no output for a refused --method"
# and on standard output: no header, nothing at all
run "$TINCHAP" score --model "$MODEL" --input "$H" --out - --method baseline
expect_eq "baseline to stdout exit" 1 "$status"
case "$out" in *row,score*) fail "a header reached standard output" ;; esac
# standard output gets all or nothing too
out=$("$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out - 2>/dev/null) || true
expect_eq "nothing on stdout after bad rows" "" "$out"
run "$TINCHAP" score --model "$V1" --input "$H" --out - --method max --reasons-count 1
expect_eq "stdout scoring exit" 0 "$status"
expect_eq "stdout rows" 502 "$(wc -l <<<"$out")" # header, 500 rows, the summary line

# 6 --force replaces a complete file atomically; without it the old file stays
echo old >"$WORK/keep.csv"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/keep.csv" --force
expect_eq "failed run with --force keeps the old file" old "$(cat "$WORK/keep.csv")"
run "$TINCHAP" score --model "$MODEL" --input "$H" --out "$WORK/keep.csv" --force
expect_eq "--force replaces" 501 "$(wc -l <"$WORK/keep.csv")"
finish
