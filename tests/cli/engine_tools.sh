#!/bin/bash
# tinchap model check, score and explain, end to end on a synthetic population.
. "$(dirname "$0")/lib.sh"
: "${TC_MODELS:?}" "${TC_FIXTURES:?}"
MODEL="$TC_MODELS/unsecured-consumer-v1.json"

for cmd in score explain "model"; do
    run "$TINCHAP" $cmd --help
    expect_eq "$cmd --help exits 0" 0 "$status"
    expect_contains "$cmd --help is usage" "usage: tinchap" "$out"
done

# model check: the shipped model passes, a bad file is refused with the path of the field.
run "$TINCHAP" model check "$MODEL"
expect_eq "model check of the shipped model" 0 "$status"
expect_contains "summary names the model" "unsecured-consumer-expert version 1 (scorecard, retired)" "$out"
sed "s/@CATALOG_HASH@/0000/" "$TC_FIXTURES/models/bad-overlap.json" > "$WORK/bad.json"
run "$TINCHAP" model check "$WORK/bad.json"
expect_eq "model check of a bad file exits 1" 1 "$status"
expect_contains "refusal names the field" "bad.json: catalog_hash: the model was built for catalog 0000" "$out"
run "$TINCHAP" model frobnicate
expect_eq "unknown model subcommand is a usage error" 2 "$status"

# score: one output row per input row, reasons at most 4, refusing to overwrite.
"$TINCHAP" synth -n 2000 --history 3000 --out "$WORK/syn" > /dev/null
run "$TINCHAP" score --model "$MODEL" --input "$WORK/syn/history.csv" --out "$WORK/scores.csv"
expect_eq "score exits 0" 0 "$status"
expect_contains "score reports its count" "scored 3000 rows" "$out"
expect_eq "header" "row,score,pd,pd_low,pd_high,grade,reasons" "$(head -1 "$WORK/scores.csv")"
expect_eq "rows" 3001 "$(wc -l < "$WORK/scores.csv")"
expect_eq "row numbers" "3000" "$(tail -1 "$WORK/scores.csv" | cut -d, -f1)"
expect_eq "at most 4 reasons" "" "$(cut -d, -f7 "$WORK/scores.csv" | awk -F';' 'NF > 4')"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/syn/history.csv" --out "$WORK/scores.csv"
expect_eq "score never replaces without --force" 1 "$status"
expect_contains "says how" "use --force" "$out"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/syn/history.csv" --out - --reasons-count 2
expect_eq "at most 2 reasons" "" "$(echo "$out" | sed 1d | grep -v '^scored' | cut -d, -f7 | awk -F';' 'NF > 2')"
cut -d, -f1-10 "$WORK/syn/history.csv" > "$WORK/narrow.csv"
run "$TINCHAP" score --model "$MODEL" --input "$WORK/narrow.csv" --out "$WORK/narrow.out.csv"
expect_eq "missing column fails" 1 "$status"
expect_contains "names the column" "no column 'cic_max_dpd_12m', which the model uses" "$out"
$PY - "$WORK/syn/history.csv" "$WORK/bad.csv" <<'PYEOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
rows[2][rows[0].index("cic_inquiries_6m")] = "many"
csv.writer(open(sys.argv[2], "w"), lineterminator="\n").writerows(rows[:4])
PYEOF
run "$TINCHAP" score --model "$MODEL" --input "$WORK/bad.csv" --out "$WORK/bad.out.csv"
expect_eq "bad value fails" 1 "$status"
col=$(head -1 "$WORK/bad.csv" | tr ',' '\n' | grep -n '^cic_inquiries_6m$' | cut -d: -f1)
expect_contains "names line, column and field" \
    "bad.csv:3:$col: field 'cic_inquiries_6m' value 'many': not an integer" "$out"
[ -e "$WORK/bad.out.csv" ] && fail "a failed score leaves no output file"

# explain: the full breakdown from a real database, without the ID in it.
"$TINCHAP" keygen "$WORK/key" > /dev/null
"$TINCHAP" load --db "$WORK/db" --key "$WORK/key" --consents "$WORK/syn/consents.csv" "$WORK/syn/population.csv" > /dev/null 2>&1
id=$(sed -n 2p "$WORK/syn/population.csv" | cut -d, -f1)
run "$TINCHAP" explain --model "$MODEL" --db "$WORK/db" --key "$WORK/key" "$id"
expect_eq "explain exits 0" 0 "$status"
case "$out" in *"$id"*) fail "explain must not print the citizen ID" ;; esac
echo "$out" > "$WORK/explain.json"
$PY - "$WORK/explain.json" <<'PYEOF' || fail "explain JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["model"]["name"] == "unsecured-consumer-expert"
assert len(d["characteristics"]) == 22
assert d["pd_interval_95"][0] < d["pd"] < d["pd_interval_95"][1]
assert abs(sum(c["points"] for c in d["characteristics"]) - d["score_raw"]) < 1e-9
lost = {}
for c in d["characteristics"]:
    lost[c["reason_code"]] = lost.get(c["reason_code"], 0) + c["points_lost"]
assert len(d["reasons"]) == min(4, len([v for v in lost.values() if v > 0]))
for r in d["reasons"]:
    assert abs(r["points_lost"] - lost[r["code"]]) < 1e-9, r
    assert r["vi"] and r["en"]
assert d["grade"]["grade"] in "ABCDEF"
PYEOF
run "$TINCHAP" explain --model "$MODEL" --db "$WORK/db" --key "$WORK/key" 001099000001
expect_eq "unknown citizen fails" 1 "$status"
expect_contains "says so" "no such citizen" "$out"

finish
