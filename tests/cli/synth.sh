#!/usr/bin/env bash
# tinchap synth: usage errors, determinism, safe writing, the exact file formats, every value and
# ID valid, and the statistical properties models/README.md ("Synthetic data") promises.
source "$(dirname "$0")/lib.sh"
: "${TC_MODELS:?TC_MODELS must point at the models directory}"
T=$TINCHAP
CATALOG=$TC_MODELS/catalog.json
N=100000

# --- usage: exit 2 with a message, nothing written ---
for args in "" "-n 0" "-n ten" "-n 1M --seed -1" "-n 1k --seed 4294967296" \
    "-n 1k --as-of 2026-13-01" "-n 1k --as-of 1999-12-31" "-n 1k --history x" \
    "-n 1k --bogus" "-n 1k extra"; do
    # shellcheck disable=SC2086 # word splitting of $args is the point
    run "$T" synth $args --out "$WORK/usage"
    expect_eq "exit for 'synth $args'" 2 "$status"
    expect_contains "hint for 'synth $args'" "try 'tinchap synth --help'" "$out"
done
run "$T" synth -n 1k --bogus
expect_contains "unknown option named" "tinchap synth: unknown option '--bogus'" "$out"
run "$T" synth -n 1k --as-of 2100-01-01
expect_contains "as-of range" "--as-of must fall in the years 2000 to 2099" "$out"
expect_eq "no output after usage errors" "no" "$([ -e "$WORK/usage" ] && echo yes || echo no)"
run "$T" synth --help
expect_eq "help exit" 0 "$status"
expect_contains "help names --as-of" "--as-of DATE" "$out"
expect_contains "help gives the default as-of" "today, midnight UTC" "$out"

# --- the main run, and the same seed again: a pinned as-of, so the files are the same any day ---
AS_OF=2026-11-01
run "$T" synth -n 100k --seed 7 --as-of $AS_OF --out "$WORK/a"
expect_eq "run exit" 0 "$status"
if ! grep -Eq "^wrote 100000 citizens, [0-9]+ consents, 100000 history rows as of $AS_OF to $WORK/a in [0-9.]+ s$" <<<"$out"; then
    fail "summary line"
    echo "  got: $out" >&2
fi
expect_eq "exactly the three files, no temporaries" "consents.csv history.csv population.csv" \
    "$(ls -A "$WORK/a" | tr '\n' ' ' | sed 's/ $//')"
"$T" synth -n 100k --seed 7 --as-of $AS_OF --out "$WORK/b" >/dev/null
for f in population.csv consents.csv history.csv; do
    cmp -s "$WORK/a/$f" "$WORK/b/$f" || fail "same seed gives identical $f"
done
"$T" synth -n 20k --history 20k --seed 8 --as-of $AS_OF --out "$WORK/c" >/dev/null
for f in population.csv consents.csv history.csv; do
    cmp -s <(head -20001 "$WORK/a/$f") <(head -20001 "$WORK/c/$f") && fail "another seed changes $f"
done
# smaller runs are prefixes of larger ones with the same seed
"$T" synth -n 1000 --history 500 --seed 7 --as-of $AS_OF --out "$WORK/p" >/dev/null
cmp -s "$WORK/p/population.csv" <(head -1001 "$WORK/a/population.csv") || fail "population prefix"
cmp -s "$WORK/p/history.csv" <(head -501 "$WORK/a/history.csv") || fail "history prefix"

# --- --drift: a shifted population, deterministic; --drift 0 is no drift at all ---
"$T" synth -n 1000 --history 500 --seed 7 --as-of $AS_OF --drift 0 --out "$WORK/drift0" >/dev/null
for f in population.csv consents.csv history.csv; do
    cmp -s "$WORK/p/$f" "$WORK/drift0/$f" || fail "--drift 0 gives the undrifted $f"
done
run "$T" synth -n 1000 --history 500 --seed 7 --as-of $AS_OF --drift 1 --out "$WORK/drift1"
expect_contains "drift in the summary" "history rows as of $AS_OF, drifted by 1 to" "$out"
"$T" synth -n 1000 --history 500 --seed 7 --as-of $AS_OF --drift 1 --out "$WORK/drift1b" >/dev/null
for f in population.csv consents.csv history.csv; do
    cmp -s "$WORK/drift1/$f" "$WORK/drift1b/$f" || fail "same seed and drift give identical $f"
done
cmp -s "$WORK/p/population.csv" "$WORK/drift1/population.csv" && fail "--drift 1 changes the population"
# a worse latent factor: more defaults in the history
rate() { awk -F, -v c="$(head -1 "$1" | tr ',' '\n' | grep -n '^default_12m$' | cut -d: -f1)" \
    'NR > 1 { n++; d += $c } END { printf "%d", 1000 * d / n }' "$1"; }
"$T" synth -n 10 --history 20k --seed 7 --as-of $AS_OF --out "$WORK/r0" >/dev/null
"$T" synth -n 10 --history 20k --seed 7 --as-of $AS_OF --drift 1 --out "$WORK/r1" >/dev/null
r0=$(rate "$WORK/r0/history.csv") r1=$(rate "$WORK/r1/history.csv")
[ "$r1" -gt $((2 * r0)) ] || fail "--drift 1 at least doubles the default rate (${r0} -> ${r1} per mille)"
for bad in 3.5 -4 x ""; do
    run "$T" synth -n 10 --drift "$bad" --out "$WORK/drift-bad"
    expect_eq "--drift '$bad' is bad usage" 2 "$status"
    expect_contains "--drift '$bad' message" "--drift wants a number from -3 to 3" "$out"
done

# --- existing files are kept unless --force; nested directories are made ---
sum_a=$(cat "$WORK"/a/*.csv | md5sum)
run "$T" synth -n 10 --seed 9 --out "$WORK/a"
expect_eq "refuse to overwrite exit" 1 "$status"
expect_eq "refuse to overwrite message" \
    "tinchap synth: $WORK/a/population.csv exists: pass --force to replace it" "$out"
expect_eq "files untouched after refusal" "$sum_a" "$(cat "$WORK"/a/*.csv | md5sum)"
run "$T" synth -n 10 --history 0 --seed 9 --out "$WORK/a" --force
expect_eq "--force exit" 0 "$status"
expect_eq "--force replaced population" 11 "$(wc -l <"$WORK/a/population.csv")"
expect_eq "--history 0 writes the header only" 1 "$(wc -l <"$WORK/a/history.csv")"
run "$T" synth -n 5 --out "$WORK/x/y/z"
expect_eq "nested out exit" 0 "$status"
expect_eq "nested out rows" 6 "$(wc -l <"$WORK/x/y/z/population.csv")"
touch "$WORK/plainfile"
run "$T" synth -n 5 --out "$WORK/plainfile"
expect_eq "out is a file exit" 1 "$status"
expect_contains "out is a file message" "is not a directory" "$out"

# --- a failed write (file size limit) or a kill leaves no file behind, final or temporary ---
run bash -c 'ulimit -f 2000; trap "" XFSZ; exec "$0" synth -n 100k --out "$1"' "$T" "$WORK/full"
expect_eq "write failure exit" 1 "$status"
expect_contains "write failure message" "File too large" "$out"
expect_eq "nothing left after a write failure" "" "$(ls -A "$WORK/full")"
"$T" synth -n 20M --out "$WORK/killed" >/dev/null &
pid=$!
sleep 0.5
kill -TERM "$pid"
wait "$pid" || true
expect_eq "nothing left after SIGTERM" "" "$(ls -A "$WORK/killed" 2>/dev/null)"

# --- a catalog synth cannot serve is refused by name ---
$PY - "$CATALOG" "$WORK" <<'PY'
import json, sys
cat = json.load(open(sys.argv[1]))
drop = dict(cat, attributes=[a for a in cat["attributes"] if a["name"] != "cic_inquiries_6m"])
json.dump(drop, open(sys.argv[2] + "/cat_drop.json", "w"))
narrow = json.loads(json.dumps(cat))
for a in narrow["attributes"]:
    if a["name"] == "household_size":
        a["max"] = 8
json.dump(narrow, open(sys.argv[2] + "/cat_narrow.json", "w"))
PY
run "$T" synth -n 5 --out "$WORK/d1" --catalog "$WORK/cat_drop.json"
expect_eq "catalog lacking an attribute exit" 1 "$status"
expect_contains "catalog lacking an attribute message" "no attribute 'cic_inquiries_6m', which synth generates" "$out"
run "$T" synth -n 5 --out "$WORK/d2" --catalog "$WORK/cat_narrow.json"
expect_eq "narrow catalog exit" 1 "$status"
expect_contains "narrow catalog message" "attribute 'household_size' allows 1 to 8, synth generates 1 to 20" "$out"
run "$T" synth -n 5 --out "$WORK/d3" --catalog "$WORK/missing.json"
expect_eq "missing catalog exit" 1 "$status"
expect_eq "nothing written for a bad catalog" "no" \
    "$([ -e "$WORK/d1" ] || [ -e "$WORK/d2" ] || [ -e "$WORK/d3" ] && echo yes || echo no)"

# --- formats, validity and statistics of the main run (seed 7, as-of 2026-11-01) ---
"$T" synth -n 100k --seed 7 --as-of $AS_OF --out "$WORK/a" --force >/dev/null
check=$($PY - "$WORK/a" "$CATALOG" "$N" $AS_OF <<'PY'
import csv, json, re, sys
from datetime import datetime, timedelta, timezone
import numpy as np

d, catalog, n, as_of = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
as_of = datetime.strptime(as_of, "%Y-%m-%d").replace(tzinfo=timezone.utc)
attrs = json.load(open(catalog))["attributes"]
names = [a["name"] for a in attrs]
problems = []

def check(cond, what):
    if not cond:
        problems.append(what)

def read(name):
    with open(f"{d}/{name}", newline="") as f:
        r = csv.reader(f)
        return next(r), list(r)

INT = re.compile(r"-?[0-9]+\Z")
REAL = re.compile(r"-?[0-9]+(\.[0-9]{1,3})?\Z")

def check_values(rows, offset, label):
    """Every value in the text form and range the catalog allows; returns columns as arrays."""
    cols = {}
    for j, a in enumerate(attrs):
        vals = [r[offset + j] for r in rows]
        bad = []
        if a["type"] == "category":
            bad = [v for v in vals if v not in a["levels"]]
            cols[a["name"]] = np.array(vals)
            check(not bad, f"{label}: {a['name']} has values outside its levels: {bad[:3]}")
            continue
        out = np.full(len(vals), np.nan)
        for i, v in enumerate(vals):
            if v == "":
                if not a.get("missing", False):
                    bad.append("(empty)")
                continue
            if a["type"] == "bool":
                ok = v in ("0", "1")
            elif a["type"] == "int":
                ok = INT.match(v) is not None
            else:
                ok = REAL.match(v) is not None
            lo, hi = (0, 1) if a["type"] == "bool" else (a["min"], a["max"])
            if not ok or not lo <= float(v) <= hi:
                bad.append(v)
            else:
                out[i] = float(v)
        check(not bad, f"{label}: {a['name']} has invalid values: {bad[:3]}")
        cols[a["name"]] = out
    return cols

# population.csv
head, pop = read("population.csv")
check(head == ["citizen_id"] + names, f"population header: {head}")
check(len(pop) == n, f"population rows: {len(pop)}")
check(all(len(r) == len(head) for r in pop), "population: every row has every column")
P = check_values(pop, 1, "population")
ids = [r[0] for r in pop]
provinces = set(next(a for a in attrs if a["name"] == "province_code")["levels"])
check(len(set(ids)) == n, "IDs unique")
bad = [i for i in ids if not re.fullmatch(r"[0-9]{12}", i) or i[:3] not in provinces or i[3] not in "0123"]
check(not bad, f"{len(bad)} malformed IDs")
year = np.array([1900 + 100 * (int(i[3]) // 2) + int(i[4:6]) for i in ids])
check((year == P["birth_year"]).all(), "ID digits 4-6 agree with birth_year")
female = np.array([int(i[3]) % 2 for i in ids])
check((female == (P["gender"] == "female")).all(), "ID digit 4 agrees with gender")
age = as_of.year - P["birth_year"]
check(age.min() >= 18 and age.max() <= 85, f"ages {age.min()}..{age.max()}")
same = np.mean([i[:3] for i in ids] == P["province_code"])
check(0.80 < same < 0.90, f"birth province = residence for {same:.3f}")
for code, lo, hi in (("079", 0.08, 0.11), ("001", 0.07, 0.10)):
    share = np.mean(P["province_code"] == code)
    check(lo < share < hi, f"share of province {code}: {share:.3f}")
check(0.45 < np.mean(P["gender"] == "female") < 0.55, "gender about 50/50")

def consistency(C, label):
    hs, dep, head = C["household_size"], C["dependents"], C["is_household_head"]
    check((dep <= hs - 1).all(), f"{label}: dependents < household_size")
    check((head[hs == 1] == 1).all(), f"{label}: a one-person household is its own head")
    yrs, ch = C["years_at_residence"], C["residence_changes_5y"]
    check(((yrs >= 5) == (ch == 0)).all(), f"{label}: moves in 5 years iff fewer than 5 years at residence")
    check((C["si_months_last12"] <= C["si_months_total"]).all(), f"{label}: SI months last 12 <= total")
    check((np.isnan(C["si_salary_base"]) == (C["si_months_total"] == 0)).all(),
          f"{label}: salary base missing iff never insured")
    check((np.isnan(C["cic_active_loans"]) == np.isnan(C["cic_max_dpd_12m"])).all(),
          f"{label}: CIC fields missing together")
    for name, lo, hi in (("cic_max_dpd_12m", 0.22, 0.28), ("pit_income_year", 0.56, 0.66),
                         ("electricity_ontime_ratio_12m", 0.26, 0.34)):
        m = np.mean(np.isnan(C[name]))
        check(lo < m < hi, f"{label}: {name} missing {m:.3f}, expected {lo}..{hi}")
    for name in names:
        if name not in ("si_salary_base", "pit_income_year", "electricity_ontime_ratio_12m",
                        "cic_active_loans", "cic_max_dpd_12m") and C[name].dtype == float:
            check(not np.isnan(C[name]).any(), f"{label}: {name} never missing")

consistency(P, "population")

# consents.csv
head, cons = read("consents.csv")
check(head == ["citizen_id", "institution", "purpose", "consent_ref", "granted_at", "expires_at",
               "revoked_at"], f"consents header: {head}")
idset = set(ids)
by_bank = {"bank-a": set(), "bank-b": set()}
refs = set()
expired = revoked = 0
valid_citizens = set()
parse = lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
for r in cons:
    cid, inst, purpose, ref, g, e, rv = r
    check(cid in idset, "consent for a known citizen")
    check(inst in by_bank and purpose == "loan-origination", f"institution/purpose {inst} {purpose}")
    by_bank.setdefault(inst, set()).add(cid)
    refs.add(ref)
    try:
        g, e = parse(g), parse(e)
        rv = parse(rv) if rv else None
    except ValueError as ex:
        problems.append(f"time does not parse: {ex}")
        break
    check(g < as_of and e - g == timedelta(days=365), "granted before as-of, expires 365 days later")
    if e <= as_of:
        expired += 1
    elif rv is not None:
        revoked += 1
        check(g < rv <= as_of, "revoked after the grant, not after as-of")
    else:
        valid_citizens.add(cid)
check(all(re.fullmatch(r"VNEID-[0-9A-F]{16}", x) for x in refs), "consent_ref format")
check(len(refs) == len(cons), "consent_ref unique")
check(by_bank["bank-a"] == idset, "every citizen consents to bank-a")
share_b = len(by_bank["bank-b"]) / n
check(0.48 < share_b < 0.57, f"bank-b share {share_b:.3f}")
check(0.02 < expired / len(cons) < 0.04, f"expired share {expired / len(cons):.4f}")
check(0.012 < revoked / len(cons) < 0.027, f"revoked share {revoked / len(cons):.4f}")
check(valid_citizens == idset, "every citizen has a consent valid at as-of")

# history.csv
head, hist = read("history.csv")
check(head == names + ["default_12m", "application_date"], f"history header: {head}")
check(len(hist) == n, f"history rows: {len(hist)}")
H = check_values(hist, 0, "history")
consistency(H, "history")
y = np.array([int(r[-2]) for r in hist])
check(set(r[-2] for r in hist) <= {"0", "1"}, "default_12m is 0/1")
dates = [datetime.strptime(r[-1], "%Y-%m-%d").replace(tzinfo=timezone.utc) for r in hist]
check(min(dates) >= as_of - timedelta(days=730) and max(dates) < as_of, "application dates in the 24 months before as-of")
check((max(dates) - min(dates)).days > 700, "application dates spread over the window")
rate = y.mean()
check(0.05 < rate < 0.09, f"default rate {rate:.4f}")
fem = H["gender"] == "female"
gap = abs(y[fem].mean() - y[~fem].mean())
check(gap < 0.01, f"default rate gap by gender {gap:.4f}")

# signal: a logistic regression on six attributes, fitted on one half, ranks the other half
def feature(name):
    v = H[name]
    return np.where(np.isnan(v), 0.0, v), np.isnan(v).astype(float)
cols = [np.ones(n)]
for name in ("electricity_ontime_ratio_12m", "si_months_total", "years_at_residence",
             "cic_inquiries_6m", "mobile_tenure_months"):
    v, m = feature(name)
    cols += [v / (np.abs(v).max() or 1), m]
dpd, thin = feature("cic_max_dpd_12m")
cols += [(dpd > 0).astype(float), (dpd >= 30).astype(float), thin]
X = np.column_stack(cols)
half = n // 2
b = np.zeros(X.shape[1])
for _ in range(30):
    p = 1 / (1 + np.exp(-X[:half] @ b))
    H_ = X[:half].T @ (X[:half] * (p * (1 - p))[:, None]) + 1e-6 * np.eye(X.shape[1])
    b += np.linalg.solve(H_, X[:half].T @ (y[:half] - p))
s, yt = X[half:] @ b, y[half:]
rank = np.empty(len(s)); rank[np.argsort(s, kind="mergesort")] = np.arange(1, len(s) + 1)
n1 = yt.sum(); auc = (rank[yt == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(yt) - n1))
check(auc > 0.70, f"AUC of a six-attribute logistic model {auc:.3f}")
q = np.quantile(s, [0.2, 0.8])
worst, best = yt[s >= q[1]].mean(), yt[s <= q[0]].mean()
check(worst > 3 * best, f"default rate worst quintile {worst:.3f} vs best {best:.3f}")
# the direction of the main effects
check(y[H["cic_max_dpd_12m"] >= 30].mean() > 2 * y[H["cic_max_dpd_12m"] == 0].mean(), "DPD raises default")
check(y[H["electricity_ontime_ratio_12m"] == 1].mean() < y[H["electricity_ontime_ratio_12m"] < 0.75].mean(), "on-time bills lower default")

print("ok" if not problems else "\n".join(problems))
PY
)
expect_eq "synthetic data checks" ok "$check"

# --- the loader accepts every row (IDs by tc_id_parse, values by tc_attr_parse, consents);
# with no --as-of the data is as of today, so the loader's "valid now" agrees whatever the date ---
day_before=$(date -u +%F)
run "$T" synth -n 20k --history 0 --seed 3 --out "$WORK/l"
day_after=$(date -u +%F)
case "$out" in
*" as of $day_before to "* | *" as of $day_after to "*) ;;
*) fail "the default as-of is today (UTC)"; echo "  got: $out" >&2 ;;
esac
"$T" keygen "$WORK/secret" >/dev/null
run "$T" load --db "$WORK/db" --key "$WORK/secret" --consents "$WORK/l/consents.csv" \
    "$WORK/l/population.csv"
expect_eq "load of synthetic data exit" 0 "$status"
expect_contains "load accepts every citizen" "citizens 20000 new" "$out"
expect_contains "load rejects nothing" " 0 rows rejected" "$out"

finish
