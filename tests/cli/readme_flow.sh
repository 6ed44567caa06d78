#!/usr/bin/env bash
# README's "From synthetic data to an explained score, by hand", run exactly as printed (the
# lines between its "readme flow" markers), in a clean directory, on whatever day it is: every
# synthesised citizen loads, get/explain answer for one of them, validate finds no drift.
source "$(dirname "$0")/lib.sh"
SRC=${TC_SOURCE:?}
README="$SRC/README.md"
commands=$(sed -n '/<!-- readme flow: begin -->/,/<!-- readme flow: end -->/p' "$README" |
    grep -v -e '^<!--' -e '^```')
[ -n "$commands" ] || { echo "no readme flow in $README" >&2; exit 1; }
mkdir -p "$WORK/repo"
ln -s "$SRC/models" "$WORK/repo/models"
# build/tools/tinchap of the clean directory is the binary under test
mkdir -p "$WORK/repo/build/tools"
ln -s "$TINCHAP" "$WORK/repo/build/tools/tinchap"
run bash -c "cd '$WORK/repo' && set -eo pipefail && $commands"
expect_eq "the README's commands exit 0" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" | tail -20 >&2
expect_contains "load takes every citizen" "citizens 100000 new" "$out"
expect_contains "load rejects nothing" " 0 rows rejected" "$out"
id=$(sed -n 2p "$WORK/repo/var/try/data/population.csv" | cut -d, -f1)
case "$out" in *"$id"*) fail "no command prints the citizen ID" ;; esac
# get and explain: the JSON documents in the output, by their fields
"$PY" - "$out" <<'PY' || fail "get and explain answer for the citizen"
import json, sys
text = sys.argv[1]
docs, dec, i = [], json.JSONDecoder(), 0
while i < len(text):
    j = text.find("{", i)
    if j < 0:
        break
    try:
        d, end = dec.raw_decode(text, j)
        docs.append(d)
        i = end
    except ValueError:
        i = j + 1
get = next(d for d in docs if "consents" in d)
assert any(c["valid_now"] for c in get["consents"]), get["consents"]
exp = next(d for d in docs if "characteristics" in d)
assert exp["model"]["name"] == "unsecured-consumer-scorecard", exp["model"]
assert exp["pd_interval_95"][0] < exp["pd"] < exp["pd_interval_95"][1]
assert exp["grade"]["grade"] in "ABCDEF"
PY
expect_contains "validate reports the score's PSI" "PSI" "$out"
finish
