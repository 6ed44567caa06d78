#!/usr/bin/env bash
# Bad model files dropped into the directory a running tinchapd serves, one at a time: garbage
# bytes, empty, truncated, cut half-way, valid JSON naming an unknown attribute, a second
# champion, a file past the size limit, a FIFO, a directory, and a half-written reasons
# dictionary. For each, SIGHUP and Admin/ReloadModels both fail with a message naming the file,
# and the models in service keep answering exactly as before (same score, PD, model, version
# and generation). Then a valid new model loads. (test_service.py test_13 is the quick case.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki
M=$WORK/models
make_pki "$P"
make_data "$WORK" 300
mkdir -p "$M"
cp "$SRC"/models/*.json "$M/"
write_config "$WORK/conf.json" "$WORK" "\"models\": \"$M\", \"catalog\": \"$M/catalog.json\""
start_server "$WORK/conf.json" "$WORK/server.log"

CHAMPION=$("$PY" - "$M" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    d = json.load(open(f))
    if isinstance(d, dict) and d.get("status") == "champion" and d.get("product") == "unsecured-consumer":
        print(f)
PY
)
[ -n "$CHAMPION" ] || { echo "no champion model for unsecured-consumer" >&2; exit 1; }
now=$(date -u +%FT%TZ)
read -r ID REF < <(awk -F, -v now="$now" 'NR > 1 && $2 == "bank-a" && $3 == "loan-origination" &&
    $7 == "" && $5 <= now && $6 > now { print $1, $4; exit }' "$WORK/data/consents.csv")

# callas WHO ARGS...: tinchap call with WHO's certificate; $out stdout, $errout stderr
callas() {
    local who=$1
    shift
    set +e
    out=$("$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/$who.pem" \
        --key "$P/$who.key" --timeout 5000 --compact "$@" 2>"$WORK/stderr")
    status=$?
    set -e
    errout=$(cat "$WORK/stderr")
}
# what a Score answers, without what differs per call (inquiry ID, time)
answer() {
    callas bank-a score --citizen "$ID" --consent-ref "$REF" --purpose loan-origination \
        --product unsecured-consumer
    [ "$status" -eq 0 ] || { echo "score failed: $errout"; return; }
    "$PY" -c 'import json, sys; d = json.loads(sys.argv[1])
print(d["score"], d["pd"], d["pd_low"], d["pd_high"], d["grade"], d["model_name"], d["model_version"])' "$out"
}
generation() {
    callas bank-a models
    "$PY" -c 'import json, sys; print(json.loads(sys.argv[1]).get("generation"))' "$out"
}
BASE=$(answer)
GEN=$(generation)
expect_contains "baseline answer" "unsecured-consumer" "$BASE"

# refused NAME WHAT EXPECTED: $M/NAME is in place; both reload paths refuse it, nothing changes
refused() {
    local name=$1 what=$2 expected=$3 before line=""
    before=$(grep -c . "$WORK/server.log" || true)
    kill -HUP "$SERVER_PID"
    for _ in $(seq 1 100); do
        line=$(tail -n +"$((before + 1))" "$WORK/server.log" | grep '"models_reload' || true)
        [ -n "$line" ] && break
        sleep 0.05
    done
    expect_contains "$what: SIGHUP reload refused" '"event":"models_reload_failed"' "$line"
    expect_contains "$what: SIGHUP message names the file" "$name" "$line"
    expect_contains "$what: SIGHUP message says why" "$expected" "$line"
    callas admin reload
    expect_eq "$what: ReloadModels exit (FAILED_PRECONDITION)" 19 "$status"
    expect_contains "$what: ReloadModels names the file" "$name" "$errout"
    expect_contains "$what: ReloadModels says why" "$expected" "$errout"
    expect_contains "$what: old set keeps serving" "the models in service keep serving" "$errout"
    expect_eq "$what: same answer" "$BASE" "$(answer)"
    expect_eq "$what: same generation" "$GEN" "$(generation)"
    callas bank-a health
    expect_contains "$what: still serving" '"SERVING"' "$out"
    rm -rf "${M:?}/$name"
}

head -c 8192 /dev/urandom > "$M/zz-garbage.json"
refused zz-garbage.json "garbage bytes" "zz-garbage.json"
: > "$M/zz-empty.json"
refused zz-empty.json "empty file" "zz-empty.json"
head -c 100 "$CHAMPION" > "$M/zz-truncated.json"
refused zz-truncated.json "truncated" "zz-truncated.json"
size=$(stat -c %s "$CHAMPION")
head -c $((size / 2)) "$CHAMPION" > "$M/zz-half.json"
refused zz-half.json "half-written" "zz-half.json"
# valid JSON, but a characteristic names an attribute the catalog does not have
"$PY" - "$CHAMPION" "$M/zz-unknown-attr.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "zz-unknown-attr"
d["status"] = "challenger"
d["characteristics"][0]["attribute"] = "no_such_attribute"
json.dump(d, open(sys.argv[2], "w"))
PY
refused zz-unknown-attr.json "unknown attribute" "no_such_attribute"
# each file valid alone, the set is not: a second champion for the same product
"$PY" - "$CHAMPION" "$M/zz-second-champion.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "zz-second-champion"
json.dump(d, open(sys.argv[2], "w"))
PY
refused zz-second-champion.json "second champion" "a second champion for product 'unsecured-consumer'"
truncate -s 5M "$M/zz-huge.json"
refused zz-huge.json "larger than the limit" "larger than 4194304 bytes"
mkfifo "$M/zz-fifo.json"
refused zz-fifo.json "a FIFO" "not a regular file"
mkdir "$M/zz-dir.json"
refused zz-dir.json "a directory" "not a regular file"
cp "$M/reasons.json" "$WORK/reasons.json.good"
size=$(stat -c %s "$M/reasons.json")
head -c $((size / 2)) "$WORK/reasons.json.good" > "$M/reasons.json"
refused reasons.json "half-written reason dictionary" "reasons.json"
cp "$WORK/reasons.json.good" "$M/reasons.json"

# a valid new model (a challenger of the champion) loads without a restart
"$PY" - "$CHAMPION" "$M/zz-new.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "zz-new"
d["status"] = "challenger"
json.dump(d, open(sys.argv[2], "w"))
PY
callas admin reload
expect_eq "valid model: reload exit" 0 "$status"
expect_eq "valid model: generation + 1" "$((GEN + 1))" "$(generation)"
callas bank-a models
expect_contains "valid model: listed" '"zz-new"' "$out"
expect_eq "valid model: the champion still answers" "$BASE" "$(answer)"
callas bank-a score --citizen "$ID" --consent-ref "$REF" --purpose loan-origination \
    --product unsecured-consumer --model zz-new
expect_eq "valid model: scores by name" 0 "$status"
stop_server || fail "tinchapd did not stop cleanly"
finish
