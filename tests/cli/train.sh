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

# 1 a scorecard with its report and summary
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m.json" --report "$WORK/r.html" \
    --summary "$WORK/s.json"
expect_eq "train exit" 0 "$status"
expect_contains "summary printed" "validation  AUC 0." "$out"
expect_contains "engine re-scored rows" "engine     loaded the model and re-scored" "$out"
run "$TINCHAP" model check "$WORK/m.json"
expect_eq "model check exit" 0 "$status"
expect_contains "model check" "unsecured-consumer-scorecard version 2 (scorecard, champion)" "$out"
fp=$(sha256sum "$H" | cut -d' ' -f1)
expect_contains "fingerprint is the data's SHA-256" "training data sha256:$fp" "$out"

# 2 same inputs, same bytes
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m2.json" -q
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
run "$TINCHAP" train --spec "$SPEC" --data "$H" --out "$WORK/m.json"
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
run "$TINCHAP" train --spec "$SPEC" --data "$WORK/bad-value.csv" --out "$WORK/x.json"
expect_eq "bad value" "tinchap train: $WORK/bad-value.csv:5:24: field 'cic_max_dpd_12m' value '-3': out of range [0, 3650]" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$WORK/bad-target.csv" --out "$WORK/x.json"
expect_eq "bad target" "tinchap train: $WORK/bad-target.csv:7:28: target 'default_12m' value '2': expected 0 or 1" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$WORK/bad-date.csv" --out "$WORK/x.json"
expect_eq "bad date" "tinchap train: $WORK/bad-date.csv:9:29: date 'application_date' value '2026-13-01': expected a date like 2026-05-01" "$out"
run "$TINCHAP" train --spec "$SPEC" --data "$WORK/bad-header.csv" --out "$WORK/x.json"
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
run "$TINCHAP" train --spec "$WORK/lr.spec.json" --kind logistic --data "$H" --out "$WORK/lr.json" -q
expect_eq "logistic exit" 0 "$status"
run "$TINCHAP" model check "$WORK/lr.json"
expect_contains "logistic model loads" "version 2 (logistic, champion)" "$out"
expect_contains "indicator for missing" "cic_max_dpd_12m                CIC01" "$out"
run "$TINCHAP" train --spec "$SPEC" --kind logistic --data "$H" --out "$WORK/lr2.json"
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
finish
