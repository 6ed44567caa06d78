#!/usr/bin/python3
"""`tinchap train --kind logistic` against statsmodels (Debian python3-statsmodels).

For several synthetic data sets — independent columns, a near-collinear pair (correlation
0.9999995), missing values (indicator terms), a category (level indicators against the most
frequent level), a log1p and a clip transform, frequency weights — the same data go through
tinchap (CSV, catalog, spec, IRLS, model file, summary JSON) and through statsmodels on a design
built here from the raw values, independently of the C code. Coefficients and standard errors
must agree to 1e-6 relative; log-likelihood, AIC and BIC to 1e-9. Unweighted fits are compared
with sm.Logit, the weighted one with sm.GLM(Binomial, freq_weights), which is what frequency
weights mean. Also checked: separation and rank deficiency are refused with their messages.

Usage: TINCHAP=build/tools/tinchap logit_vs_statsmodels.py
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import statsmodels.api as sm

TINCHAP = os.environ["TINCHAP"]
REL_COEF = 1e-6
REL_FIT = 1e-9
failures = []


def attr(name, type_, lo=None, hi=None, missing=False, levels=None):
    a = {"name": name, "type": type_, "missing": missing, "protected": False,
         "source": "synthetic", "description": {"vi": name, "en": name}}
    if levels is not None:
        a["levels"] = levels
    elif type_ != "bool":
        a["min"], a["max"] = lo, hi
    return a


def spec(attrs, weight=None, l2=0):
    s = {"format_version": 1, "kind": "logistic",
         "model": {"name": "statsmodels-check", "version": 1, "product": "check",
                   "created_at": "2026-01-01", "description": {"vi": "Kiểm tra", "en": "Check"}},
         "data": {"target": "y"}, "split": {"method": "none"},
         "fit": {"tolerance": 1e-12, "max_iterations": 100, "l2": l2},
         "grades": [{"grade": "A", "min_score": 300, "vi": "Mọi", "en": "All"}],
         "attributes": attrs}
    if weight:
        s["data"]["weight"] = weight
    return s


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def run_tinchap(work, name, catalog, spec_, columns, rows):
    cat_path = os.path.join(work, name + ".catalog.json")
    spec_path = os.path.join(work, name + ".spec.json")
    data_path = os.path.join(work, name + ".csv")
    with open(cat_path, "w") as f:
        json.dump({"catalog": "check-" + name, "version": 1,
                   "description": {"vi": "Kiểm tra", "en": "Check"}, "attributes": catalog}, f)
    with open(spec_path, "w") as f:
        json.dump(spec_, f)
    with open(data_path, "w") as f:
        f.write(",".join(columns) + "\n")
        for r in rows:
            f.write(",".join(fmt(v) for v in r) + "\n")
    out = subprocess.run([TINCHAP, "train", "--catalog", cat_path, "--spec", spec_path,
                          "--data", data_path, "--out", os.path.join(work, name + ".json"),
                          "--summary", "-", "--force"], capture_output=True, text=True)
    return out, cat_path


def close(a, b, rel):
    return a == b or abs(a - b) <= rel * abs(b)


def compare(name, summary, names, res):
    params = summary["fit"]["parameters"]
    got = [p["name"] for p in params]
    if got != names:
        failures.append(f"{name}: parameters {got}, expected {names}")
        return
    worst = 0.0
    for p, coef, se in zip(params, res.params, res.bse):
        for what, a, b in (("coef", p["coef"], coef), ("se", p["se"], se)):
            worst = max(worst, abs(a - b) / abs(b))
            if not close(a, b, REL_COEF):
                failures.append(f"{name}: {p['name']} {what} {a!r}, statsmodels {b!r}")
    fit = summary["fit"]
    bic = res.bic_llf if hasattr(res, "bic_llf") else res.bic  # GLM: the likelihood's BIC
    for what, a, b in (("loglik", fit["loglik"], res.llf), ("aic", fit["aic"], res.aic),
                       ("bic", fit["bic"], bic)):
        if not close(a, b, REL_FIT):
            failures.append(f"{name}: {what} {a!r}, statsmodels {b!r}")
    print(f"{name}: {len(names)} parameters, largest relative difference {worst:.2e}")


def check(work, name, catalog, attrs, columns, rows, X, names, y, weights=None, method="logit"):
    out, _ = run_tinchap(work, name, catalog, spec(attrs, "w" if weights is not None else None),
                         columns, rows)
    if out.returncode != 0:
        failures.append(f"{name}: tinchap train failed: {out.stderr.strip()}")
        return
    summary = json.loads(out.stdout)
    if method == "logit":
        res = sm.Logit(y, X).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    else:
        res = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=weights).fit(
            tol=1e-13, maxiter=100)
    compare(name, summary, names, res)


def logistic(eta):
    return 1 / (1 + np.exp(-eta))


def main():
    rng = np.random.default_rng(20260101)
    work = tempfile.mkdtemp(prefix="tinchap-sm-")

    # 1 independent columns of different scales, a bool
    n = 5000
    x1 = np.round(rng.normal(0, 1, n), 6)
    x2 = np.round(rng.normal(5, 2, n), 6)
    x3 = np.round(rng.uniform(0, 10, n), 4)
    x4 = (rng.random(n) < 0.3).astype(float)
    y = (rng.random(n) < logistic(-1 + 0.8 * x1 - 0.3 * x2 + 0.15 * x3 + 0.7 * x4)).astype(float)
    catalog = [attr("x1", "real", -100, 100), attr("x2", "real", -100, 100),
               attr("x3", "real", 0, 10), attr("x4", "bool")]
    attrs = [{"name": a, "reason_code": "CIC01"} for a in ("x1", "x2", "x3", "x4")]
    rows = [(a, b, c, int(d), int(t)) for a, b, c, d, t in zip(x1, x2, x3, x4, y)]
    X = np.column_stack([np.ones(n), x1, x2, x3, x4])
    check(work, "independent", catalog, attrs, ["x1", "x2", "x3", "x4", "y"], rows, X,
          ["intercept", "x1", "x2", "x3", "x4"], y)

    # 2 a near-collinear pair: x2 = x1 + N(0, 0.001²), correlation about 0.9999995
    n = 5000
    x1 = np.round(rng.normal(0, 1, n), 9)
    x2 = np.round(x1 + rng.normal(0, 0.001, n), 9)
    x3 = np.round(rng.normal(0, 1, n), 9)
    y = (rng.random(n) < logistic(-0.5 + 0.6 * x1 + 0.4 * x2 - 0.5 * x3)).astype(float)
    print(f"near_collinear: correlation {np.corrcoef(x1, x2)[0, 1]:.9f}")
    catalog = [attr("x1", "real", -100, 100), attr("x2", "real", -100, 100),
               attr("x3", "real", -100, 100)]
    attrs = [{"name": a, "reason_code": "CIC01"} for a in ("x1", "x2", "x3")]
    rows = list(zip(x1, x2, x3, y.astype(int)))
    X = np.column_stack([np.ones(n), x1, x2, x3])
    check(work, "near_collinear", catalog, attrs, ["x1", "x2", "x3", "y"], rows, X,
          ["intercept", "x1", "x2", "x3"], y)

    # 3 missing values, a category, log1p and clip
    n = 20000
    levels = ["north", "centre", "south", "islands"]
    z = rng.normal(0, 1, n)
    dpd = np.minimum(np.floor(20 * np.exp(-z + rng.normal(0, 1, n))), 3000)
    dpd_missing = rng.random(n) < 0.2
    income = np.round(np.exp(4 + 0.5 * z + rng.normal(0, 0.5, n)), 2)
    region = rng.choice(4, n, p=[0.2, 0.45, 0.3, 0.05])
    tenure = np.floor(rng.uniform(0, 240, n))
    eta = (-2.5 - 0.8 * z + 0.4 * dpd_missing + np.array([0, 0.2, -0.1, 0.5])[region]
           + 0.002 * np.minimum(tenure, 120))
    y = (rng.random(n) < logistic(eta)).astype(float)
    catalog = [attr("dpd", "int", 0, 3650, missing=True), attr("income", "real", 0, 1e6),
               attr("region", "category", levels=levels), attr("tenure", "int", 0, 480)]
    attrs = [{"name": "dpd", "reason_code": "CIC01", "transform": "log1p"},
             {"name": "income", "reason_code": "TAX01", "transform": "log1p"},
             {"name": "region", "reason_code": "REG01"},
             {"name": "tenure", "reason_code": "TEL01", "transform": "clip",
              "clip": {"min": 0, "max": 120}}]
    rows = [(None if m else int(d), inc, levels[r], int(t), int(t_))
            for d, m, inc, r, t, t_ in zip(dpd, dpd_missing, income, region, tenure, y)]
    ref = int(np.argmax(np.bincount(region)))
    others = [k for k in range(4) if k != ref]
    cols = [np.ones(n), np.where(dpd_missing, 0, np.log1p(dpd)), dpd_missing.astype(float),
            np.log1p(income)]
    cols += [(region == k).astype(float) for k in others]
    cols.append(np.minimum(np.maximum(tenure, 0), 120))
    names = (["intercept", "dpd", "dpd:missing", "income"]
             + [f"region={levels[k]}" for k in others] + ["tenure"])
    check(work, "terms", catalog, attrs, ["dpd", "income", "region", "tenure", "y"], rows,
          np.column_stack(cols), names, y)

    # 4 frequency weights, against GLM(Binomial, freq_weights)
    n = 4000
    x1 = np.round(rng.normal(0, 1, n), 6)
    x2 = np.floor(rng.uniform(0, 50, n))
    w = rng.integers(1, 4, n).astype(float)
    y = (rng.random(n) < logistic(-1.2 + 0.9 * x1 - 0.02 * x2)).astype(float)
    catalog = [attr("x1", "real", -100, 100), attr("x2", "int", 0, 100)]
    attrs = [{"name": "x1", "reason_code": "CIC01"}, {"name": "x2", "reason_code": "CIC02"}]
    rows = [(a, int(b), int(c), int(d)) for a, b, c, d in zip(x1, x2, w, y)]
    check(work, "weights", catalog, attrs, ["x1", "x2", "w", "y"], rows,
          np.column_stack([np.ones(n), x1, x2]), ["intercept", "x1", "x2"], y, weights=w,
          method="glm")

    # 5 refusals: complete separation, rank deficiency
    n = 400
    x1 = np.round(rng.normal(0, 1, n), 6)
    x1[np.abs(x1) < 1e-3] = 0.5
    y = (x1 > 0).astype(int)
    catalog = [attr("x1", "real", -100, 100)]
    out, _ = run_tinchap(work, "separation", catalog,
                         spec([{"name": "x1", "reason_code": "CIC01"}]), ["x1", "y"],
                         list(zip(x1, y)))
    if out.returncode != 1 or "complete separation: at iteration" not in out.stderr:
        failures.append(f"separation: exit {out.returncode}, {out.stderr.strip()}")
    x2 = 2 * x1
    y = (rng.random(n) < 0.3).astype(int)
    catalog = [attr("x1", "real", -100, 100), attr("x2", "real", -200, 200)]
    out, _ = run_tinchap(work, "rank", catalog,
                         spec([{"name": "x1", "reason_code": "CIC01"},
                               {"name": "x2", "reason_code": "CIC01"}]),
                         ["x1", "x2", "y"], list(zip(x1, x2, y)))
    expected = (f"tinchap train: fitting the logistic model on {n} development rows: rank "
                "deficient design (rank 2 of 3): 'x2' is a linear combination of 'x1'; drop one "
                "of them")
    if out.returncode != 1 or out.stderr.strip() != expected:
        failures.append(f"rank: exit {out.returncode}, '{out.stderr.strip()}', expected "
                        f"'{expected}'")

    subprocess.run(["rm", "-rf", work])
    if failures:
        print("\n".join("FAIL: " + f for f in failures), file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
