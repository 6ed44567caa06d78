#!/usr/bin/env bash
# tinchap train's AUC, KS, Brier and Hosmer-Lemeshow against scikit-learn, scipy and numpy on the
# engine's own PDs, to 1e-12 (tests/python/metrics_vs_sklearn.py).
source "$(dirname "$0")/lib.sh"
"$PY" "${TC_SOURCE:?}/tests/python/metrics_vs_sklearn.py"
