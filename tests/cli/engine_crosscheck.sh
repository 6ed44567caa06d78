#!/bin/bash
# The engine against an independent implementation (tests/python/eval_model.py, Python standard
# library only): 10 000 synthetic rows that hit every bin edge, special value and missing bin,
# scored by `tinchap score --detail` and by the Python evaluator from the same model file.
# Points, scores, grades and reason order must agree exactly; eta, PD and the PD interval to
# 1e-12 relative. Run for the shipped champion and for the golden logistic fixture.
set -euo pipefail
: "${TINCHAP:?}" "${TC_MODELS:?}" "${TC_SOURCE:?}" "${TC_FIXTURES:?}"
PY=/usr/bin/python3
EVAL="$TC_SOURCE/tests/python/eval_model.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/tinchap-test-XXXXXX")
trap 'rm -rf "$work"' EXIT
export TINCHAP_MODELS_DIR="$TC_MODELS"
catalog="$TC_MODELS/catalog.json"
hash=$("$TINCHAP" model check "$TC_MODELS/unsecured-consumer-v1.json" | awk '$1 == "catalog" {print $3}')
[ ${#hash} -eq 64 ] || { echo "could not read the catalog hash"; exit 1; }
sed "s/@CATALOG_HASH@/$hash/" "$TC_FIXTURES/models/golden-logistic.json" > "$work/golden-logistic.json"
sed "s/@CATALOG_HASH@/$hash/" "$TC_FIXTURES/models/golden-scorecard.json" > "$work/golden-scorecard.json"

status=0
for model in "$TC_MODELS/unsecured-consumer-v1.json" "$TC_MODELS/unsecured-consumer-v2.json" "$work/golden-logistic.json" "$work/golden-scorecard.json"; do
    name=$(basename "$model" .json)
    "$PY" "$EVAL" gen "$catalog" "$model" 10000 20250601 "$work/$name.csv"
    "$TINCHAP" score --model "$model" --input "$work/$name.csv" --out "$work/$name.engine.csv" --detail
    "$PY" "$EVAL" eval "$catalog" "$model" "$work/$name.csv" "$work/$name.python.csv"
    echo "== $name"
    "$PY" "$EVAL" compare "$work/$name.python.csv" "$work/$name.engine.csv" || status=1
done
# The checks are not vacuous: the rows reach every reason code the champion has and every grade.
"$PY" - "$work/unsecured-consumer-v1.engine.csv" <<'PYEOF' || status=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
grades = {r["grade"] for r in rows}
codes = {c for r in rows for c in r["reasons"].split(";") if c}
missing_grades = set("ABCDEF") - grades
print("grades seen:", "".join(sorted(grades)), "reason codes seen:", len(codes))
sys.exit(1 if missing_grades or len(codes) < 15 else 0)
PYEOF
exit $status
