#!/usr/bin/env bash
# The training report in a real browser (Debian's chromium, headless, driven over its DevTools
# pipe by tests/python/report_browser.py): it loads without a console error, every chart is an
# SVG with a size and shapes in it, nothing overflows a 1280 px wide window. The report, its
# full-page screenshot and Chromium's log are kept for review in the build tree:
# test-output/report_browser/.
# A page broken on purpose (a console error, an empty chart, a 2000 px table) must fail.
source "$(dirname "$0")/lib.sh"
SRC=${TC_SOURCE:?}
: "${TC_BUILD:?}"
command -v chromium >/dev/null || { fail "chromium (Debian package chromium) is not installed"; finish; }
KEEP="$TC_BUILD/test-output/report_browser"
rm -rf "$KEEP"
mkdir -p "$KEEP" "$WORK/served"
"$TINCHAP" synth -n 10 --history 30000 --seed 3 --as-of 2026-11-01 --out "$WORK/syn" >/dev/null
# the shipped spec with the delinquency buckets as user split points, so the report shows them
"$PY" - "$SRC/models/train/unsecured-consumer-v2.spec.json" "$WORK/spec.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
for a in s["attributes"]:
    if a["name"] == "cic_max_dpd_12m":
        a.update({"splits": [1, 30, 90], "trend": "none", "min_bin_share": 0, "min_event_share": 0})
json.dump(s, open(sys.argv[2], "w"))
PYEOF
run "$TINCHAP" train --spec "$WORK/spec.json" --data "$WORK/syn/history.csv" --out "$WORK/m.json" \
    --report "$KEEP/report.html" --models "$WORK/served" -q
expect_eq "train exit" 0 "$status"

run "$PY" "$SRC/tests/python/report_browser.py" "$KEEP/report.html" "$KEEP/report.png" 1280
expect_eq "the report in Chromium" 0 "$status"
expect_contains "what was measured" "ok: " "$out"
echo "$out"
charts=$(grep -o '<svg ' "$KEEP/report.html" | wc -l)
expect_contains "every chart seen by the browser" "ok: $charts charts, 1280 px wide at a 1280 px viewport" "$out"
[ -s "$KEEP/report.png" ] || fail "no screenshot kept"
expect_eq "screenshot is a PNG 1280 px wide" "1280" "$("$PY" -c '
import struct, sys
d = open(sys.argv[1], "rb").read(24)
print(struct.unpack(">I", d[16:20])[0] if d[:8] == b"\x89PNG\r\n\x1a\n" else "not a PNG")' "$KEEP/report.png")"

# the checks can fail: a console error, an empty chart and a table too wide for the window
sed -e 's|</body>|<script>console.error("broken on purpose")</script><svg id="empty" width="0" height="0"></svg><table style="width:2000px"><tr><td>wide</td></tr></table></body>|' \
    "$KEEP/report.html" >"$WORK/broken.html"
run "$PY" "$SRC/tests/python/report_browser.py" "$WORK/broken.html" "$WORK/broken.png" 1280
expect_eq "a broken page fails" 1 "$status"
expect_contains "console error caught" "console error: broken on purpose" "$out"
expect_contains "empty chart caught" "chart empty is empty (0x0, 0 shapes)" "$out"
expect_contains "overflow caught" "horizontal overflow at 1280 px: the page is" "$out"
finish
