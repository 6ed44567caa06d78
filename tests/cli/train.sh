#!/usr/bin/env bash
# tinchap train end to end on synthetic history: the model loads as the server loads it, the
# same inputs give the same bytes, the report is one self-contained HTML file with its charts,
# every input error names file, line, column and value, --kind logistic, and --catalog with a
# research data set's own catalog (whose hash the model records).
source "$(dirname "$0")/lib.sh"
SRC=${TC_SOURCE:?}
SPEC="$SRC/models/train/unsecured-consumer-v2.spec.json"
"$TINCHAP" synth -n 10 --history 30000 --seed 3 --as-of 2026-11-01 --out "$WORK/syn" >/dev/null
H=$WORK/syn/history.csv

# 0 a new model never takes the identity of one in service: the shipped spec names the
# served champion's name and version, so it needs a new version (or --replace to rebuild it)
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m.json"
expect_eq "identity in service: exit" 1 "$status"
expect_eq "identity in service: message" "tinchap train: unsecured-consumer-scorecard version 2 is in service ($SRC/models/unsecured-consumer-v2.json, champion): a new model takes a new identity, e.g. --version 3, or --name; --replace rebuilds that model under its own" "$out"
[ -e "$WORK/m.json" ] && fail "a refused identity wrote a model"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m.json" --version 3 --status champion
expect_eq "a second champion: exit" 1 "$status"
expect_contains "a second champion: message" "product 'unsecured-consumer' has a champion in service ($SRC/models/unsecured-consumer-v2.json, version 2): train this one as a challenger" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m.json" --name "Bad Name"
expect_contains "bad --name" "name 'Bad Name' is not a model name" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m.json" --status boss
expect_eq "bad --status is usage" 2 "$status"
# another models directory in service: there version 2 is free
mkdir -p "$WORK/served"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/other.json" --models "$WORK/served" -q
expect_eq "free identity in another models directory" 0 "$status"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/other.json" --models "$WORK/nowhere" -q
expect_contains "missing models directory" "the models directory in service (--models): $WORK/nowhere: No such file or directory" "$out"
# the directory is read as the service reads it: a file it would refuse is not skipped in
# silence (a model hidden in it could then be given a second identity), and the message names it
cp "$SRC/models/unsecured-consumer-v2.json" "$WORK/served/card.json"
cp "$SRC/models/catalog.json" "$SRC/models/reasons.json" "$WORK/served/"
printf '{"name": "unsecured-consumer-scorecard", "version": 2,' >"$WORK/served/broken.json"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/other2.json" --models "$WORK/served" -q
expect_eq "unreadable model in service: exit" 1 "$status"
expect_contains "unreadable model named" "the models directory in service (--models): $WORK/served/broken.json" "$out"
[ -e "$WORK/other2.json" ] && fail "a model was written beside an unreadable directory in service"
rm "$WORK/served/broken.json"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/other2.json" --models "$WORK/served" -q
expect_contains "its models are seen" "unsecured-consumer-scorecard version 2 is in service ($WORK/served/card.json, champion)" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/lr-table.json" --kind logistic \
    --table "$WORK/lr-table.csv" --version 9 -q
expect_eq "--table with a logistic model is usage" 2 "$status"
expect_contains "--table refused for logistic" "--table: a logistic model has no bins to tabulate" "$out"
[ -e "$WORK/lr-table.json" ] && fail "no model after a refused --table"
V3=(--version 3)

# 1 a scorecard with its report and summary
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m.json" --report "$WORK/r.html" \
    --summary "$WORK/s.json" "${V3[@]}"
expect_eq "train exit" 0 "$status"
expect_contains "summary printed" "validation  AUC 0." "$out"
expect_contains "engine re-scored rows" "engine     loaded the model and re-scored" "$out"
run "$TINCHAP" model check "$WORK/m.json"
expect_eq "model check exit" 0 "$status"
expect_contains "model check" "unsecured-consumer-scorecard version 3 (scorecard, challenger)" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/named.json" --name my-card \
    --version 7 --status retired -q
run "$TINCHAP" model check "$WORK/named.json"
expect_contains "--name, --version, --status" "my-card version 7 (scorecard, retired)" "$out"
fp=$(sha256sum "$H" | cut -d' ' -f1)
expect_contains "fingerprint is the data's SHA-256" "training data sha256:$fp" "$out"

# 2 same inputs, same bytes
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m2.json" -q "${V3[@]}"
expect_eq "second train exit" 0 "$status"
cmp -s "$WORK/m.json" "$WORK/m2.json" || fail "two runs gave different model files"

# 3 the report: self-contained, with its charts; the summary agrees with the model
run "$PY" - "$WORK/r.html" "$WORK/s.json" <<'PYEOF'
import html.parser, json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
problems = []
for needle in ("http:", "https:", "<script", "src=", "url(", "@import", "<link", "@font-face",
               "<img", "<iframe", "<object"):
    if needle in text.lower():
        problems.append("external reference or script: " + needle)
ids = re.findall(r'<svg id="([^"]+)"', text)
for want in ("roc", "ks", "calibration", "distribution"):
    if want not in ids:
        problems.append("no %s chart" % want)
s = json.load(open(sys.argv[2]))
woe = [i for i in ids if i.startswith("woe-")]
if len(woe) != len(s["attributes"]):
    problems.append("%d WoE charts for %d attributes" % (len(woe), len(s["attributes"])))
if len(re.findall(r"<polyline [^>]*points=\"[^\"]+\"", text)) < 8:
    problems.append("charts without lines")
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br", "line", "rect", "circle", "polyline", "path"):
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag in ("line", "rect", "circle", "polyline", "path"):
            return
        if not self.stack or self.stack[-1] != tag:
            problems.append("unbalanced </%s>" % tag)
        else:
            self.stack.pop()
p = P()
p.feed(text)
if p.stack:
    problems.append("unclosed " + ",".join(p.stack))
if s["validation"]["auc"] < 0.7 or s["check_rows"] < 1000:
    problems.append("summary figures: %r" % s["validation"])
print("\n".join(problems) or "ok")
PYEOF
expect_eq "report self-contained, charts present" ok "$out"

# 4 an existing model is kept unless --force
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m.json" "${V3[@]}"
expect_eq "existing output exit" 1 "$status"
expect_eq "existing output message" "tinchap train: $WORK/m.json: exists (use --force to replace it)" "$out"

# 5 input errors name file, line, column and value
"$PY" - "$H" "$WORK" <<'PYEOF'
import sys
rows = open(sys.argv[1]).read().splitlines()
def write(name, line, column, value):
    out = [r.split(",") for r in rows]
    out[line - 1][column - 1] = value
    open(sys.argv[2] + "/" + name, "w").write("\n".join(",".join(r) for r in out) + "\n")
write("bad-value.csv", 5, 24, "-3")
write("bad-target.csv", 7, 28, "2")
write("bad-date.csv", 9, 29, "2026-13-01")
write("bad-header.csv", 1, 25, "cic_inquiries")
PYEOF
run "$TINCHAP" train --spec "$SPEC" --data "$WORK/bad-value.csv" --out "$WORK/x.json" "${V3[@]}"
expect_eq "bad value" "tinchap train: $WORK/bad-value.csv:5:24: field 'cic_max_dpd_12m' value '-3': out of range [0, 3650]" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$WORK/bad-target.csv" --out "$WORK/x.json" "${V3[@]}"
expect_eq "bad target" "tinchap train: $WORK/bad-target.csv:7:28: target 'default_12m' value '2': expected 0 or 1" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$WORK/bad-date.csv" --out "$WORK/x.json" "${V3[@]}"
expect_eq "bad date" "tinchap train: $WORK/bad-date.csv:9:29: date 'application_date' value '2026-13-01': expected a date like 2026-05-01" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$WORK/bad-header.csv" --out "$WORK/x.json" "${V3[@]}"
expect_eq "missing column" "tinchap train: $WORK/bad-header.csv:1: no column 'cic_inquiries_6m'" "$out"
[ ! -e "$WORK/x.json" ] || fail "a refused run wrote a model"
sed 's/"name": "cic_max_dpd_12m"/"name": "gender"/' "$SPEC" >"$WORK/gender.spec.json"
run "$TINCHAP" train --spec "$WORK/gender.spec.json" --data "$H" --out "$WORK/x.json"
expect_eq "protected attribute" "tinchap train: $WORK/gender.spec.json: attributes[0].name: 'gender' is a protected attribute: no model may use it" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$H"
expect_eq "usage exit" 2 "$status"

# 6 the logistic kind on raw attributes (active loans imputed: its missing indicator would
# copy the days past due's)
sed 's/{"name": "cic_active_loans", "reason_code": "CIC02", "trend": "auto"}/{"name": "cic_active_loans", "reason_code": "CIC02", "missing": {"impute": 0}}/' \
    "$SPEC" >"$WORK/lr.spec.json"
run "$TINCHAP" train --spec "$WORK/lr.spec.json" --kind logistic --data "$H" --out "$WORK/lr.json" -q \
    "${V3[@]}"
expect_eq "logistic exit" 0 "$status"
run "$TINCHAP" model check "$WORK/lr.json"
expect_contains "logistic model loads" "version 3 (logistic, challenger)" "$out"
expect_contains "indicator for missing" "cic_max_dpd_12m                CIC01" "$out"
run "$TINCHAP" train --spec "$SPEC" --kind logistic --data "$H" --out "$WORK/lr2.json" "${V3[@]}"
expect_eq "collinear missing indicators" "tinchap train: fitting the logistic model on 22561 development rows: rank deficient design (rank 27 of 28): 'cic_active_loans:missing' is a linear combination of 'cic_max_dpd_12m:missing'; drop one of them" "$out"

# 7 a research data set with its own catalog
cat >"$WORK/research.catalog.json" <<'EOF'
{"catalog": "credit-research", "version": 1, "description": {"vi": "Dữ liệu nghiên cứu", "en": "Research data"},
 "attributes": [
  {"name": "duration_months", "type": "int", "min": 1, "max": 120, "missing": false, "protected": false,
   "source": "research", "description": {"vi": "Kỳ hạn", "en": "Duration"}},
  {"name": "purpose", "type": "category", "levels": ["car", "furniture", "education", "business"],
   "missing": false, "protected": false, "source": "research", "description": {"vi": "Mục đích", "en": "Purpose"}},
  {"name": "savings", "type": "real", "min": 0, "max": 1000000, "missing": true, "protected": false,
   "source": "research", "description": {"vi": "Tiết kiệm", "en": "Savings"}}]}
EOF
"$PY" - "$WORK/research.csv" <<'PYEOF'
import math, random, sys
r = random.Random(5)
with open(sys.argv[1], "w") as f:
    f.write("duration_months,purpose,savings,bad\n")
    for i in range(6000):
        z = r.gauss(0, 1)
        d = max(1, min(120, int(24 * math.exp(-0.3 * z + r.gauss(0, 0.4)))))
        p = r.choice(["car", "furniture", "education", "business"])
        s = "" if r.random() < 0.2 else "%.2f" % (1000 * math.exp(z + r.gauss(0, 1)))
        bad = r.random() < 1 / (1 + math.exp(2 + z))
        f.write("%d,%s,%s,%d\n" % (d, p, s, bad))
PYEOF
cat >"$WORK/research.spec.json" <<'EOF'
{"format_version": 1,
 "model": {"name": "research-card", "version": 1, "product": "research", "created_at": "2026-01-15",
           "description": {"vi": "Thẻ điểm nghiên cứu", "en": "Research scorecard"}},
 "data": {"target": "bad"}, "split": {"method": "random", "validation_share": 0.25, "seed": 2},
 "selection": {"min_iv": 0},
 "grades": [{"grade": "A", "min_score": 600, "vi": "Tốt", "en": "Good"},
            {"grade": "B", "min_score": 300, "vi": "Kém", "en": "Poor"}],
 "attributes": [{"name": "duration_months", "reason_code": "CIC02", "trend": "descending"},
                {"name": "purpose", "reason_code": "CIC03"},
                {"name": "savings", "reason_code": "SI02", "trend": "ascending"}]}
EOF
run "$TINCHAP" train --catalog "$WORK/research.catalog.json" --spec "$WORK/research.spec.json" \
    --data "$WORK/research.csv" --out "$WORK/research.json" -q
expect_eq "research train exit" 0 "$status"
run "$TINCHAP" model check --catalog "$WORK/research.catalog.json" "$WORK/research.json"
expect_eq "research model loads with its catalog" 0 "$status"
rhash=$(awk '$1 == "catalog" {print $3}' <<<"$out")
expect_contains "the model records the research catalog's hash" "\"catalog_hash\": \"$rhash\"" "$(cat "$WORK/research.json")"
run "$TINCHAP" model check "$WORK/research.json"
expect_eq "population catalog refuses it" 1 "$status"
expect_contains "refusal names the catalogs" "catalog_hash: the model was built for catalog $rhash, but catalog 'vn-population' has hash" "$out"
# 8 user split points: exact bins where the spec asks for them (trend none, no minimum share),
# shown in the report and the summary, and the scorecard table as CSV agrees with the summary
"$PY" - "$SPEC" "$WORK/split.spec.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
for a in s["attributes"]:
    if a["name"] == "cic_max_dpd_12m":
        a.clear()
        a.update({"name": "cic_max_dpd_12m", "reason_code": "CIC01", "splits": [1, 30, 90],
                  "trend": "none", "min_bin_share": 0, "min_event_share": 0})
    if a["name"] == "cic_inquiries_6m":
        a["splits"] = [1, 2, 3, 50]
json.dump(s, open(sys.argv[2], "w"), indent=1)
PYEOF
run "$TINCHAP" train --spec "$WORK/split.spec.json" --data "$H" --out "$WORK/split.json" -q \
    --summary "$WORK/split.s.json" --report "$WORK/split.html" --table "$WORK/split.csv" "${V3[@]}"
expect_eq "train with splits exit" 0 "$status"
run "$PY" - "$WORK/split.s.json" "$WORK/split.csv" "$WORK/split.html" "$WORK/split.json" <<'PYEOF'
import csv, json, sys
s = json.load(open(sys.argv[1]))
a = {x["name"]: x for x in s["attributes"]}
p = []
dpd, inq = a["cic_max_dpd_12m"], a["cic_inquiries_6m"]
if [b["bin"] for b in dpd["bins"]] != ["\u2264 0", "1 \u2013 29", "30 \u2013 89", "\u2265 90", "missing"]:
    p.append("dpd bins %r" % [b["bin"] for b in dpd["bins"]])
if [b["user_split"] for b in dpd["bins"]] != [False, True, True, True, False]:
    p.append("dpd user_split flags")
if dpd["splits"] != [{"at": 1, "fate": "kept"}, {"at": 30, "fate": "kept"}, {"at": 90, "fate": "kept"}]:
    p.append("dpd splits %r" % dpd["splits"])
if inq["splits"][-1] != {"at": 50, "fate": "no rows"}:
    p.append("inquiries split 50 %r" % inq["splits"][-1])
m = json.load(open(sys.argv[4]))
bins = [c for c in m["characteristics"] if c["attribute"] == "cic_max_dpd_12m"][0]["bins"]
if [(b.get("lower"), b.get("upper")) for b in bins[:4]] != [(None, 1), (1, 30), (30, 90), (90, None)]:
    p.append("model bins %r" % bins)
rows = list(csv.DictReader(open(sys.argv[2])))
if list(rows[0]) != ["characteristic", "bin", "count", "event_rate", "woe", "iv", "points", "user_split"]:
    p.append("table header %r" % list(rows[0]))
inmodel = [x for x in s["attributes"] if x["model_index"] >= 0]
if len(rows) != sum(len(x["bins"]) for x in inmodel):
    p.append("table rows %d" % len(rows))
for r in rows:
    b = [x for x in a[r["characteristic"]]["bins"] if x["bin"] == r["bin"]][0]
    if float(r["count"]) != b["rows"] or float(r["woe"]) != b["woe"] or float(r["iv"]) != b["iv"] \
            or float(r["points"]) != b["points"] or (r["user_split"] == "yes") != b["user_split"]:
        p.append("table row %r vs %r" % (r, b))
    if b["rows"] > 0 and abs(float(r["event_rate"]) - b["events"] / b["rows"]) > 1e-15:
        p.append("event rate %r" % r)
html = open(sys.argv[3], encoding="utf-8").read()
import re
plain = re.sub(r"<[^>]+>", "", html)
if html.count("user split</span>") != 6:
    p.append("%d bins marked as user splits in the report" % html.count("user split</span>"))
if "User split points: 1 (applied), 30 (applied), 90 (applied)." not in plain:
    p.append("dpd splits line")
if "50 (no rows)" not in plain:
    p.append("no-rows split not reported")
print("\n".join(p) or "ok")
PYEOF
expect_eq "user splits in the model, summary, report and table" ok "$out"
"$PY" - "$WORK/split.spec.json" "$WORK" <<'PYEOF'
import json, sys
for name, attr, splits in (("desc", "cic_max_dpd_12m", [30, 1]), ("cat", "mobile_postpaid", [1]),
                           ("low", "cic_max_dpd_12m", [0, 5])):
    s = json.load(open(sys.argv[1]))
    for a in s["attributes"]:
        if a["name"] == attr:
            a["splits"] = splits
    json.dump(s, open("%s/split-%s.json" % (sys.argv[2], name), "w"))
PYEOF
run "$TINCHAP" train --spec "$WORK/split-desc.json" --data "$H" --out "$WORK/x.json" "${V3[@]}"
expect_contains "descending splits" "attributes[0].splits[1]: 1 is not above splits[0] 30: list them ascending, each once" "$out"
run "$TINCHAP" train --spec "$WORK/split-cat.json" --data "$H" --out "$WORK/x.json" "${V3[@]}"
expect_contains "splits of a bool" "splits: 'mobile_postpaid' is a bool: split points are for numbers" "$out"
run "$TINCHAP" train --spec "$WORK/split-low.json" --data "$H" --out "$WORK/x.json" "${V3[@]}"
expect_contains "split at the minimum" "attributes[0].splits[0]: 0 is outside (0, 3650]" "$out"
[ ! -e "$WORK/x.json" ] || fail "a refused spec wrote a model"
finish
