#!/usr/bin/python3
"""The validation figures of `tinchap train` against scikit-learn and scipy (Debian
python3-sklearn, python3-scipy) on the very same scores.

A history from `tinchap synth` is trained on with an out-of-time split; `tinchap score --detail`
then writes every row's PD as the served engine computes it (the trainer confirms, bit for bit,
that the engine's PDs are its own). For the development and the validation rows:
  AUC   == sklearn.metrics.roc_auc_score(y, pd[, sample_weight])   to 1e-12 relative
  KS    == scipy.stats.ks_2samp(pd[y == 1], pd[y == 0]).statistic  to 1e-12 (unweighted), and a
           direct weighted computation here when rows carry weights
  Brier == numpy's weighted mean of (pd − y)²                      to 1e-12
  Gini  == 2·AUC − 1; Hosmer–Lemeshow C and p from an implementation here (1e-9)
Three runs: a scorecard (PDs with many ties), the same with frequency weights, and a logistic
model on raw attributes (no ties).

Usage: TINCHAP=build/tools/tinchap metrics_vs_sklearn.py
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

TINCHAP = os.environ["TINCHAP"]
SOURCE = os.environ.get("TC_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
REL = 1e-12
failures = []


def close(a, b, rel):
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


def ks_weighted(pd, y, w):
    """max |F1 − F0| over the distinct PD values, F the weighted empirical CDFs."""
    order = np.argsort(pd, kind="stable")
    pd, y, w = pd[order], y[order], w[order]
    c1 = np.cumsum(w * y) / np.sum(w * y)
    c0 = np.cumsum(w * (1 - y)) / np.sum(w * (1 - y))
    last = np.r_[pd[1:] != pd[:-1], True]  # the end of each group of equal values
    return np.max(np.abs(c1[last] - c0[last]))


def hosmer_lemeshow(pd, y, w):
    order = np.lexsort((np.arange(len(pd)), pd))
    pd, y, w = pd[order], y[order], w[order]
    n, c, used = len(pd), 0.0, 0
    for g in range(10):
        lo, hi = g * n // 10, (g + 1) * n // 10
        o, e, m = np.sum(w[lo:hi] * y[lo:hi]), np.sum(w[lo:hi] * pd[lo:hi]), np.sum(w[lo:hi])
        if m > 0 and e * (1 - e / m) > 0:
            c += (o - e) ** 2 / (e * (1 - e / m))
            used += 1
    return c, stats.chi2.sf(c, used - 2)


def check(name, got, y, pd, w):
    weighted = w is not None
    ww = w if weighted else np.ones(len(pd))
    auc = roc_auc_score(y, pd, sample_weight=w)
    ks = ks_weighted(pd, y, ww) if weighted else stats.ks_2samp(pd[y == 1], pd[y == 0]).statistic
    brier = np.average((pd - y) ** 2, weights=ww)
    hl, hl_p = hosmer_lemeshow(pd, y, ww)
    for what, a, b, rel in (("AUC", got["auc"], auc, REL), ("KS", got["ks"], ks, REL),
                            ("Brier", got["brier"], brier, REL),
                            ("Gini", got["gini"], 2 * auc - 1, REL),
                            ("HL", got["hl_stat"], hl, 1e-9), ("HL p", got["hl_p"], hl_p, 1e-9),
                            ("rows", got["rows"], np.sum(ww), 0)):
        if not close(a, b, rel):
            failures.append(f"{name}: {what} tinchap {a!r}, reference {b!r}")
    print(f"{name}: AUC {auc:.6f} KS {ks:.6f} Brier {brier:.6f} on {len(pd)} rows, "
          f"{'weighted' if weighted else 'unweighted'}: agree")


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: {out.stderr}")
    return out.stdout


def main():
    work = tempfile.mkdtemp(prefix="tinchap-sk-")
    # a pinned as-of: the split date below is inside its history window whatever the date
    run([TINCHAP, "synth", "-n", "100", "--history", "40000", "--seed", "7",
         "--as-of", "2026-11-01", "--out", work])
    hist = os.path.join(work, "history.csv")
    with open(hist) as f:
        rows = list(csv.DictReader(f))
    # the same rows with frequency weights 1, 2, 3
    weighted = os.path.join(work, "weighted.csv")
    with open(hist) as f, open(weighted, "w") as g:
        for i, line in enumerate(f):
            g.write(line.rstrip("\n") + ("," + ("w" if i == 0 else str(1 + i % 3))) + "\n")
    with open(os.path.join(SOURCE, "models/train/unsecured-consumer-v2.spec.json")) as f:
        base = json.load(f)
    base["model"]["version"] = 3  # a new identity: version 2 is the served champion
    base["split"] = {"method": "date", "validation_from": "2026-05-01"}
    cases = [("scorecard", base, hist, None, "scorecard")]
    wspec = json.loads(json.dumps(base))
    wspec["data"]["weight"] = "w"
    cases.append(("weighted", wspec, weighted, "w", "scorecard"))
    lspec = json.loads(json.dumps(base))
    for a in lspec["attributes"]:
        if a["name"] == "cic_active_loans":
            a["missing"] = {"impute": 0}
    cases.append(("logistic", lspec, hist, None, "logistic"))
    y = np.array([float(r["default_12m"]) for r in rows])
    val = np.array([r["application_date"] >= "2026-05-01" for r in rows])
    w_all = np.array([1.0 + (i + 1) % 3 for i in range(len(rows))])
    for name, spec, data, wcol, kind in cases:
        spec_path = os.path.join(work, name + ".spec.json")
        model = os.path.join(work, name + ".json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        summary = json.loads(run([TINCHAP, "train", "--spec", spec_path, "--data", data,
                                  "--kind", kind, "--out", model, "--summary", "-"]))
        scores = os.path.join(work, name + ".scores.csv")
        run([TINCHAP, "score", "--model", model, "--input", hist, "--out", scores, "--detail"])
        with open(scores) as f:
            pd = np.array([float(r["pd"]) for r in csv.DictReader(f)])
        w = w_all if wcol else None
        for part, mask in (("development", ~val), ("validation", val)):
            check(f"{name} {part}", summary[part], y[mask], pd[mask],
                  w[mask] if w is not None else None)
        if name == "scorecard":
            _, counts = np.unique(pd, return_counts=True)
            tied = int(np.sum(counts[counts > 1]))
            print(f"scorecard: {tied} of {len(pd)} rows share their PD with another row")
            if tied < len(pd) // 10:
                failures.append(f"scorecard: only {tied} rows with tied PDs; ties go untested")
    subprocess.run(["rm", "-rf", work])
    if failures:
        print("\n".join("FAIL: " + f for f in failures), file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
