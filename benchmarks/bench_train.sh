#!/usr/bin/env bash
# Training benchmarks (issue 6), figures for benchmarks/RESULTS.md:
#   1 `tinchap train` end to end — reading the CSV, binning, selection, fit, validation, the
#     HTML report — on ROWS synthetic applications × 24 attributes
#     (benchmarks/train-bench24.spec.json), wall time of each of RUNS runs;
#   2 the logistic fit alone against statsmodels on the same ROWS × 24 design, in one run
#     (benchmarks/logit_vs_statsmodels.py with bench_logit).
#
#   benchmarks/bench_train.sh [BUILD_DIR] [ROWS] [RUNS]     defaults: build 1M 3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
rows=${2:-1M}
runs=${3:-3}
tinchap=$build/tools/tinchap
work=$(mktemp -d "${TMPDIR:-/tmp}/tinchap-bench-train-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$tinchap" synth -n 1000 --history "$rows" --seed 1 --as-of 2026-11-01 --out "$work" >/dev/null
echo "data: $(($(wc -l <"$work/history.csv") - 1)) rows, $(du -h "$work/history.csv" | cut -f1)"
echo "1 tinchap train end to end (24 attributes, report included):"
for i in $(seq "$runs"); do
    start=$(date +%s.%N)
    "$tinchap" train --spec "$here/train-bench24.spec.json" --data "$work/history.csv" \
        --out "$work/model.json" --report "$work/report.html" --force >"$work/train.out"
    end=$(date +%s.%N)
    printf '  run %d: %.2f s wall; %s\n' "$i" "$(echo "$end - $start" | bc)" \
        "$(grep '^time' "$work/train.out" | sed 's/ \+/ /g')"
done
grep -E 'validation +AUC' "$work/train.out" | sed 's/^ */  /'
echo "2 the logistic fit alone, same data, one run:"
/usr/bin/python3 "$here/logit_vs_statsmodels.py" "$work/history.csv" \
    "$build/benchmarks/bench_logit" --repeat "$runs" | sed 's/^/  /'
