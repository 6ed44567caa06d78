#!/usr/bin/python3
"""The logistic fit alone, tinchap's IRLS (tc_logit_fit, via bench_logit) against statsmodels'
Logit (Debian python3-statsmodels, numpy on Debian's reference BLAS), on the same data in one
run.

The data: every numeric and boolean attribute of a `tinchap synth` history (24 columns; missing
values as 0), the outcome default_12m, and an intercept. Both fits start from their own
defaults and stop at their own default tolerance (1e-8 on the coefficients); only the fit is
timed (best of --repeat), not reading the data. The coefficients must agree to 1e-6 relative.

  logit_vs_statsmodels.py HISTORY.csv BENCH_LOGIT [--repeat N]
"""
import csv
import json
import subprocess
import sys
import tempfile
import time

import numpy as np
import statsmodels.api as sm

CATEGORIES = {"gender", "province_code", "marital_status"}


def main():
    hist, bench = sys.argv[1], sys.argv[2]
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--repeat" else 1
    with open(hist) as f:
        reader = csv.reader(f)
        header = next(reader)
        cols = [i for i, h in enumerate(header)
                if h not in CATEGORIES and h not in ("default_12m", "application_date")]
        target = header.index("default_12m")
        rows = list(reader)
    y = np.array([float(r[target]) for r in rows])
    X = np.array([[float(r[i]) if r[i] != "" else 0.0 for i in cols] for r in rows])
    names = [header[i] for i in cols]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        design = f.name
        f.write("default_12m," + ",".join(names) + "\n")
        for yi, xi in zip(y, X):
            f.write("%d," % yi + ",".join(repr(v) for v in xi) + "\n")
    out = subprocess.run([bench, design, "--repeat", str(repeat)], capture_output=True,
                         text=True, check=True)
    c = json.loads(out.stdout)
    subprocess.run(["rm", "-f", design])
    Xi = np.column_stack([np.ones(len(y)), X])
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = sm.Logit(y, Xi).fit(disp=0)
        best = min(best, time.perf_counter() - t0)
    rel = max(abs(a - b) / abs(b) for a, b in zip(c["coef"], res.params))
    rel_se = max(abs(a - b) / abs(b) for a, b in zip(c["se"], res.bse))
    print(f"rows {len(y)}, columns {Xi.shape[1]} (intercept + {len(names)})")
    print(f"tinchap tc_logit_fit  {c['seconds']:8.3f} s  {c['iterations']} iterations")
    print(f"statsmodels Logit     {best:8.3f} s  {res.mle_retvals['iterations']} iterations")
    print(f"ratio                 {best / c['seconds']:8.1f} x")
    print(f"largest relative difference: coefficients {rel:.1e}, standard errors {rel_se:.1e}")
    if rel > 1e-6 or rel_se > 1e-6:
        sys.exit("the fits disagree")


if __name__ == "__main__":
    main()
