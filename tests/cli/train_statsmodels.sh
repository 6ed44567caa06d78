#!/usr/bin/env bash
# tinchap train --kind logistic against statsmodels: coefficients and standard errors to 1e-6
# relative on several synthetic data sets (tests/python/logit_vs_statsmodels.py).
source "$(dirname "$0")/lib.sh"
"$PY" "${TC_SOURCE:?}/tests/python/logit_vs_statsmodels.py"
