#!/usr/bin/python3
"""Builds models/unsecured-consumer-v1.json, the expert scorecard shipped as the first champion
(retired since the trained v2 replaced it).

The risk team chose the bins and the points of each characteristic (the POINTS table below):
monotone in the direction the credit literature and the bank's experience agree on, with the
best bin of each characteristic worth 30-60 points. Nothing here was fitted to data, so the
file says "training_fingerprint": "none"; the trained v2 model replaces it.

The scorecard file also needs what a trained one carries, and this script derives it so that
the points and the PD tell the same story:
  * every characteristic gets the WoE coefficient -1 (the WoE-logistic model of independent
    characteristics), so WoE = (points - c_j) / factor, c_j the mean of the characteristic's
    bin points (a neutral bin has WoE 0);
  * the intercept makes offset - factor * intercept equal the sum of the c_j, so that
    score = offset - factor * eta exactly;
  * the covariance is an expert prior, not an estimate: standard errors 0.08 for the
    intercept and 0.06-0.15 for the coefficients, AR(1) correlation 0.15^|i-j| - positive
    definite and diagonal-dominant; it widens the PD interval by roughly what a model trained
    on some 50 000 loans would.

Usage: build_unsecured_consumer_v1.py CATALOG_HASH [OUT] [--variant bench25]
The bench25 variant adds three more characteristics (25 in all) for the engine benchmark; it
is written to tests/fixtures/models/ and never shipped.
"""
import json
import math
import sys

PDO, POINTS_AT, ODDS = 20.0, 600.0, 50.0
FACTOR = PDO / math.log(2)
OFFSET = POINTS_AT - FACTOR * math.log(ODDS)
INF = None  # open interval end

# attribute, reason code, bins: (lower, upper, points) for numbers, ([levels], points) for
# categories and bools, ("missing", points).
POINTS = [
    ("cic_max_dpd_12m", "CIC01", [(INF, 1, 62), (1, 10, 42), (10, 30, 26), (30, 90, 8), (90, INF, 0),
                                  ("missing", 30)]),
    ("cic_active_loans", "CIC02", [(INF, 1, 32), (1, 3, 36), (3, 5, 24), (5, INF, 10), ("missing", 26)]),
    ("cic_inquiries_6m", "CIC03", [(INF, 1, 34), (1, 3, 29), (3, 6, 16), (6, INF, 4)]),
    ("si_months_total", "SI01", [(INF, 12, 12), (12, 36, 22), (36, 84, 30), (84, INF, 38)]),
    ("si_months_last12", "SI01", [(INF, 1, 10), (1, 6, 16), (6, 12, 24), (12, INF, 32)]),
    ("si_salary_base", "SI02", [(INF, 5, 14), (5, 10, 22), (10, 20, 30), (20, INF, 38), ("missing", 12)]),
    ("employers_5y", "EMP01", [(INF, 1, 18), (1, 3, 32), (3, 5, 24), (5, INF, 12)]),
    ("health_insurance_active", "HI01", [([False], 14), ([True], 30)]),
    ("pit_income_year", "TAX01", [(INF, 50, 16), (50, 120, 24), (120, 300, 32), (300, INF, 40),
                                  ("missing", 18)]),
    ("electricity_ontime_ratio_12m", "UTL01", [(INF, 0.75, 8), (0.75, 0.92, 20), (0.92, 1, 30),
                                               (1, INF, 36), ("missing", 22)]),
    ("mobile_tenure_months", "TEL01", [(INF, 6, 10), (6, 24, 20), (24, 60, 28), (60, INF, 34)]),
    ("mobile_postpaid", "TEL01", [([False], 24), ([True], 32)]),
    ("years_at_residence", "RES01", [(INF, 2, 16), (2, 5, 24), (5, 10, 30), (10, INF, 34)]),
    ("residence_changes_5y", "RES01", [(INF, 1, 32), (1, 2, 28), (2, 4, 20), (4, INF, 10)]),
    ("has_temporary_residence", "RES01", [([False], 28), ([True], 22)]),
    ("household_size", "HH01", [(INF, 2, 24), (2, 5, 30), (5, 7, 26), (7, INF, 20)]),
    ("dependents", "HH01", [(INF, 1, 30), (1, 3, 28), (3, 5, 20), (5, INF, 12)]),
    ("is_household_head", "HH01", [([False], 26), ([True], 30)]),
    ("vneid_level", "ID01", [(INF, 1, 12), (1, 2, 22), (2, INF, 32)]),
    ("vehicles_registered", "AST01", [(INF, 1, 22), (1, 2, 30), (2, INF, 34)]),
    ("land_use_certificates", "AST01", [(INF, 1, 22), (1, INF, 36)]),
    ("poor_household", "SOC01", [([False], 30), ([True], 14)]),
]

BENCH_EXTRA = [
    ("birth_year", "AGE01", [(INF, 1960, 26), (1960, 1975, 30), (1975, 1990, 28), (1990, 2000, 22),
                             (2000, INF, 16)]),
    ("marital_status", "MAR01", [(["married"], 30), (["single"], 24), (["divorced", "widowed"], 22)]),
    ("province_code", "REG01", [(["001", "079", "048", "031", "092"], 30),
                                (["002", "004", "006", "008", "010", "011", "012", "014", "015"], 20),
                                None]),  # None: every other level
]

GRADES = [
    ("A", 660, "Rủi ro rất thấp", "Very low risk"),
    ("B", 620, "Rủi ro thấp", "Low risk"),
    ("C", 590, "Rủi ro trung bình thấp", "Moderate-low risk"),
    ("D", 560, "Rủi ro trung bình", "Moderate risk"),
    ("E", 530, "Rủi ro cao", "High risk"),
    ("F", 300, "Rủi ro rất cao", "Very high risk"),
]


def levels_of(catalog, name):
    for a in catalog["attributes"]:
        if a["name"] == name:
            return a["levels"]
    raise KeyError(name)


def bins_json(catalog, name, spec):
    bins = []
    mean = sum(b[-1] for b in spec if b is not None and b[0] != "missing") / \
        len([b for b in spec if b is not None and b[0] != "missing"])
    if None in spec:  # the rest of a category's levels
        named = {l for b in spec if b is not None for l in b[0]}
        rest = [l for l in levels_of(catalog, name) if l not in named]
        spec = [b for b in spec if b is not None] + [(rest, 24)]
        mean = sum(b[-1] for b in spec) / len(spec)
    for b in spec:
        if b[0] == "missing":
            pts, d = b[1], {"missing": True}
        elif isinstance(b[0], list):
            pts, d = b[1], {"levels": b[0]}
        else:
            lo, hi, pts = b
            d = {}
            if lo is not None:
                d["lower"] = lo
            if hi is not None:
                d["upper"] = hi
        # coefficient -1: points = factor * woe + c  =>  woe = (points - c) / factor
        d["woe"] = (pts - mean) / FACTOR
        d["points"] = pts
        bins.append(d)
    return bins, mean


def dump(v):
    return json.dumps(v, ensure_ascii=False)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    catalog_hash = sys.argv[1]
    bench = "--variant" in sys.argv and sys.argv[sys.argv.index("--variant") + 1] == "bench25"
    out = [a for a in sys.argv[2:] if not a.startswith("--") and a != "bench25"]
    catalog = json.load(open(__file__.rsplit("/", 2)[0] + "/catalog.json", encoding="utf-8"))
    spec = POINTS + (BENCH_EXTRA if bench else [])
    chars, constants = [], 0.0
    for name, code, b in spec:
        bins, c = bins_json(catalog, name, b)
        constants += c
        chars.append({"attribute": name, "reason_code": code, "coefficient": -1, "bins": bins})
    intercept = (OFFSET - constants) / FACTOR
    params = ["intercept"] + [c["attribute"] for c in chars]
    n = len(params)
    sd = [0.08] + [0.06 + 0.09 * j / max(1, n - 2) for j in range(n - 1)]
    cov = [[sd[i] * sd[j] * 0.15 ** abs(i - j) for j in range(n)] for i in range(n)]
    name = "unsecured-consumer-bench25" if bench else "unsecured-consumer-expert"
    lines = ["{"]
    head = [
        ("format_version", 1), ("name", name), ("version", 1), ("kind", "scorecard"),
        ("product", "unsecured-consumer"), ("status", "challenger" if bench else "retired"),
        ("created_at", "2025-06-01T00:00:00Z"),
        ("description", {
            "vi": "Thẻ điểm chuyên gia cho vay tiêu dùng tín chấp: 22 đặc trưng từ dữ liệu dân cư, "
                  "bảo hiểm xã hội, thuế, điện, viễn thông, tài sản và CIC",
            "en": "Expert scorecard for unsecured consumer loans: 22 characteristics from population, "
                  "social insurance, tax, electricity, telecom, asset and CIC data"}),
        ("training_fingerprint", "none"), ("catalog_hash", catalog_hash),
        ("scaling", {"points": POINTS_AT, "odds": ODDS, "pdo": PDO}),
        ("score_bounds", {"min": 300, "max": 850}),
        ("reasons", {"method": "max", "count": 4}),
        ("intercept", intercept),
    ]
    for k, v in head:
        lines.append(f"  {dump(k)}: {dump(v)},")
    lines.append('  "grades": [')
    lines.append(",\n".join(f'    {{"grade": "{g}", "min_score": {m}, "vi": {dump(vi)}, "en": {dump(en)}}}'
                            for g, m, vi, en in GRADES))
    lines.append("  ],")
    lines.append('  "characteristics": [')
    cl = []
    for c in chars:
        s = (f'    {{"attribute": {dump(c["attribute"])}, "reason_code": {dump(c["reason_code"])}, '
             f'"coefficient": -1, "bins": [\n')
        s += ",\n".join(f"      {dump(b)}" for b in c["bins"])
        s += "\n    ]}"
        cl.append(s)
    lines.append(",\n".join(cl))
    lines.append("  ],")
    lines.append('  "covariance": {')
    lines.append(f'    "parameters": {dump(params)},')
    lines.append('    "matrix": [')
    lines.append(",\n".join("      " + dump(r) for r in cov))
    lines.append("    ]")
    lines.append("  }")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if out:
        open(out[0], "w", encoding="utf-8").write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
