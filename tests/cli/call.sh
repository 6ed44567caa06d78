#!/usr/bin/env bash
# tinchap call and tinchap audit against a real tinchapd on 127.0.0.1: mTLS with each role,
# score values equal to tinchap explain's, the exit code of every status a client meets,
# PutCitizens from a CSV, consent grant and revoke, erasure, the audit trail read beside the
# running server, plaintext with bearer tokens, and no raw citizen ID in anything printed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki
make_pki "$P"
make_data "$WORK" 300
# The shipped models, copied so the server and tinchap explain read the same files; the
# product's champion is the model a Score without --model uses.
mkdir -p "$WORK/models"
cp "$SRC"/models/*.json "$WORK/models/"
read -r CHAMPION MODEL_NAME < <("$PY" - "$WORK/models" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    d = json.load(open(f))
    if isinstance(d, dict) and d.get("status") == "champion" and d.get("product") == "unsecured-consumer":
        print(f, d["name"])
PY
)
[ -n "$CHAMPION" ] || { echo "no champion model for unsecured-consumer in models/" >&2; exit 1; }
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$WORK/models\", \"catalog\": \"$WORK/models/catalog.json\""
start_server "$WORK/conf.json" "$WORK/server.log"
: > "$WORK/all-output"

# callas WHO ARGS...: tinchap call with WHO's certificate; $out is stdout, $errout stderr
callas() {
    local who=$1
    shift
    set +e
    out=$("$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/$who.pem" \
        --key "$P/$who.key" "$@" 2>"$WORK/stderr")
    status=$?
    set -e
    errout=$(cat "$WORK/stderr")
    printf '%s\n%s\n' "$out" "$errout" >> "$WORK/all-output"
}
# py EXPR: evaluate EXPR with d = the JSON in $out
py() { "$PY" -c "import json, sys; d = json.loads(sys.argv[1]); print($1)" "$out"; }

# A citizen bank-a may score: a bank-a consent valid now (not revoked, not expired).
now=$(date -u +%FT%TZ)
read -r ID REF < <(awk -F, -v now="$now" 'NR > 1 && $2 == "bank-a" && $3 == "loan-origination" &&
    $7 == "" && $5 <= now && $6 > now { print $1, $4; exit }' "$WORK/data/consents.csv")
[ -n "$ID" ] || { echo "no scorable citizen in the synthetic data" >&2; exit 1; }
score_args=(--citizen "$ID" --consent-ref "$REF" --purpose loan-origination
    --product unsecured-consumer)

# 1. health while serving, with any known certificate
callas bank-a health
expect_eq "health exit" 0 "$status"
expect_eq "health SERVING" SERVING "$(py 'd["status"]')"

# 2. score, and the same numbers as tinchap explain on the database (read beside the server)
callas bank-a score "${score_args[@]}" --request-id call-test-1 --amount 30000000 --term 12
expect_eq "score exit" 0 "$status"
score_json=$out
first_inquiry=$(py 'd["inquiry_id"]')
expect_eq "score echoes request_id" call-test-1 "$(py 'd["request_id"]')"
expect_eq "pd within [pd_low, pd_high]" True "$(py 'd["pd_low"] <= d["pd"] <= d["pd_high"]')"
expect_eq "some reasons" True "$(py 'len(d["reasons"]) > 0')"
expect_eq "not a replay" False "$(py 'd["replayed"]')"
run env TINCHAP_KEY="$WORK/secret" "$TINCHAP" explain --model "$CHAMPION" --db "$WORK/db" "$ID"
expect_eq "explain exit" 0 "$status"
explain_json=$out
run "$PY" - "$score_json" "$explain_json" <<'PY'
import json, sys
s, e = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def close(a, b): return abs(a - b) <= 1e-12 * max(1.0, abs(b))
problems = []
if s["model_name"] != e["model"]["name"] or s["model_version"] != e["model"]["version"]:
    problems.append("model %s/%s vs %s/%s" % (s["model_name"], s["model_version"],
                                              e["model"]["name"], e["model"]["version"]))
for k, v in (("score", e["score"]), ("pd", e["pd"]), ("pd_low", e["pd_interval_95"][0]),
             ("pd_high", e["pd_interval_95"][1])):
    if not close(s[k], v):
        problems.append("%s %r vs explain %r" % (k, s[k], v))
if s["grade"] != e["grade"]["grade"] or s["grade_label_en"] != e["grade"]["en"]:
    problems.append("grade %s vs %s" % (s["grade"], e["grade"]["grade"]))
sr = [(r["code"], r["points_lost"], r["text_en"]) for r in s["reasons"]]
er = [(r["code"], r["points_lost"], r["en"]) for r in e["reasons"]]
if sr != er:
    problems.append("reasons %s vs %s" % (sr, er))
print("\n".join(problems) or "same")
PY
expect_eq "call score == explain" same "$out"

# 3. the same request_id again: the original answer, marked as a replay
callas bank-a score "${score_args[@]}" --request-id call-test-1 --amount 30000000 --term 12
expect_eq "replay exit" 0 "$status"
expect_eq "replayed" True "$(py 'd["replayed"]')"
expect_eq "replay has the first inquiry_id" "$first_inquiry" "$(py 'd["inquiry_id"]')"

# 4. every status a client meets, as exit code 10 + code, with 'STATUS: message' on stderr
callas bank-a score "${score_args[@]}" --request-id call-test-1 --amount 1
expect_eq "ALREADY_EXISTS exit" 16 "$status"
expect_contains "ALREADY_EXISTS message" "tinchap call: ALREADY_EXISTS: " "$errout"
callas bank-b score "${score_args[@]}"
expect_eq "another bank's consent: PERMISSION_DENIED exit" 17 "$status"
expect_contains "PERMISSION_DENIED message" "tinchap call: PERMISSION_DENIED: no consent" "$errout"
expect_contains "PERMISSION_DENIED reason" "  reason: CONSENT_NOT_VALID (tinchap.v1)" "$errout"
callas steward score "${score_args[@]}"
expect_eq "steward scoring: PERMISSION_DENIED exit" 17 "$status"
expect_contains "role named" "needs the scorer role" "$errout"
callas norole score "${score_args[@]}"
expect_eq "unknown certificate: UNAUTHENTICATED exit" 26 "$status"
callas bank-a score "${score_args[@]}" --max-reasons 9 --amount 20000000000
expect_eq "max_reasons 9: INVALID_ARGUMENT exit" 13 "$status"
expect_contains "field named" "field 'max_reasons'" "$errout"
# the google.rpc.Status's details, a line each: the reason and every bad field
expect_contains "details: the reason" "
  reason: INVALID_REQUEST (tinchap.v1)" "$errout"
expect_contains "details: every field" "
  field 'max_reasons': 9 is more than 8
  field 'loan_amount_vnd': 20,000,000,000 is more than 10,000,000,000 VND" "$errout"
callas bank-a score --citizen 123456789 --consent-ref "$REF" --purpose loan-origination \
    --product unsecured-consumer
expect_eq "malformed ID: INVALID_ARGUMENT exit" 13 "$status"
expect_contains "ID field named" "field 'citizen_id'" "$errout"
callas bank-a score --citizen "$ID" --consent-ref "$REF" --purpose loan-origination \
    --product no-such-product
expect_eq "unknown product: NOT_FOUND exit" 15 "$status"
callas bank-a model --model no-such-model
expect_eq "unknown model: NOT_FOUND exit" 15 "$status"
callas bank-a raw /tinchap.v1.Nothing/Here
expect_eq "unknown method: UNIMPLEMENTED exit" 22 "$status"
callas rogue health
expect_eq "certificate of another CA: handshake refused, UNAVAILABLE exit" 24 "$status"
expect_eq "handshake refused: one line, no gRPC core lines" 1 "$(grep -c . <<<"$errout")"
expect_contains "handshake refused: said as UNAVAILABLE" "tinchap call: UNAVAILABLE: " "$errout"
# 4b. client files that cannot work are named before anything is sent
make_expired "$P"
cp "$P/bank-b.key" "$P/mixed.key"
cp "$P/bank-a.pem" "$P/mixed.pem"
callas mixed health
expect_eq "certificate with another's key: local error exit" 1 "$status"
expect_eq "certificate with another's key: said so, alone" \
    "tinchap call: the key $P/mixed.key is not the key of the certificate $P/mixed.pem: give the pair that was issued together" \
    "$errout"
callas expired health
expect_eq "expired certificate: local error exit" 1 "$status"
expect_eq "expired certificate: said so" \
    "tinchap call: the certificate $P/expired.pem has expired: ask for a new one" "$errout"
cp "$P/ca.pem" "$P/notakey.key"
cp "$P/bank-a.pem" "$P/notakey.pem"
callas notakey health
expect_eq "a certificate as the key: said so" \
    "tinchap call: key $P/notakey.key: not a PEM private key (or an encrypted one)" "$errout"
run "$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/bank-a.key" --cert "$P/bank-a.pem" \
    --key "$P/bank-a.key" health
expect_contains "a key as the CA: said so" "tinchap call: CA file $P/bank-a.key: not a PEM certificate" "$out"
callas bank-a score --consent-ref "$REF" --purpose p --product p
expect_eq "missing --citizen: usage exit" 2 "$status"
callas bank-a models --citizen "$ID"
expect_eq "option of another method: usage exit" 2 "$status"
callas bank-a "$ID"
expect_eq "an ID where the method goes: usage exit" 2 "$status"
run "$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$WORK/nope.pem" --cert "$P/bank-a.pem" \
    --key "$P/bank-a.key" health
expect_eq "unreadable CA: local error exit" 1 "$status"
run "$TINCHAP" call --target "127.0.0.1:$PORT" health
expect_eq "no TLS files and no --insecure: usage exit" 2 "$status"

# 5. each role over mTLS; TLS files from the environment
callas bank-a models
expect_eq "scorer lists models" "0 True" "$status $(py '"'"$MODEL_NAME"'" in [m["name"] for m in d["models"]]')"
callas bank-a model --model "$MODEL_NAME"
expect_eq "scorer reads a model" "0 unsecured-consumer" "$status $(py 'd["summary"]["product"]')"
callas steward models
expect_eq "steward cannot list models" 17 "$status"
run env TINCHAP_CA="$P/ca.pem" TINCHAP_CERT="$P/admin.pem" TINCHAP_CERT_KEY="$P/admin.key" \
    "$TINCHAP" call --target "127.0.0.1:$PORT" status
expect_eq "admin status via environment" 0 "$status"
expect_eq "status counts the citizens" 300 "$(py 'd["citizens"]')"
callas admin reload
expect_eq "admin reloads" "0 2" "$status $(py 'd["generation"]')"
callas steward status
expect_eq "steward cannot read status" 17 "$status"
callas steward inquiries --citizen "$ID"
expect_eq "steward lists inquiries" 0 "$status"
# the replay is not an inquiry; refusals by role never reach the citizen, so are not listed
expect_eq "inquiries: newest first, the first score last" "$first_inquiry scored" \
    "$(py 'd["inquiries"][-1]["inquiry_id"] + " " + d["inquiries"][-1]["outcome"]' | sed 's/INQUIRY_OUTCOME_SCORED/scored/')"
expect_eq "inquiries outcomes" "ALREADY_EXISTS PERMISSION_DENIED" \
    "$(py '" ".join(sorted(set(i["status"] for i in d["inquiries"] if i["outcome"] == "INQUIRY_OUTCOME_DENIED") - {"INVALID_ARGUMENT", "NOT_FOUND"}))')"

# 6. the steward's write path: PutCitizens from CSV, consents, erasure
head -4 "$WORK/data/population.csv" > "$WORK/three.csv"
callas steward put "$WORK/three.csv"
expect_eq "put existing rows" "0 3 0 3" "$status $(py 'd["received"], d["written"], d["unchanged"]' | tr -d '(),')"
callas steward put "$WORK/three.csv" --batch 2
expect_eq "put in two calls" "0 3 3 2" "$status $(py 'd["received"], d["unchanged"], d["calls"]' | tr -d '(),')"
NEW=001085000001 # a fixture citizen, not in the synthetic data
head -2 "$TC_FIXTURES/population_small.csv" > "$WORK/new.csv"
callas steward put "$WORK/new.csv"
expect_eq "put without consent: FAILED_PRECONDITION" 19 "$status"
expect_contains "nothing written" "nothing was written" "$errout"
callas steward grant --citizen "$NEW" --institution bank-a --purpose loan-origination \
    --consent-ref VNEID-CALL-TEST --granted-at "$(days_from_now -1)" --expires-at "$(days_from_now 365)"
expect_eq "grant" "0 {}" "$status $(py 'd')"
callas steward put "$WORK/new.csv" --batch 1
expect_eq "put the new citizen" "0 1 1 0" "$status $(py 'd["received"], d["written"], d["unchanged"]' | tr -d '(),')"
run env TINCHAP_KEY="$WORK/secret" "$TINCHAP" get --db "$WORK/db" "$NEW"
expect_eq "get while serving" 0 "$status"
expect_eq "get: the values sent" "1985 male 001 True" \
    "$(py 'd["attributes"]["birth_year"], d["attributes"]["gender"], d["attributes"]["province_code"], d["consents"][0]["valid_now"]' | tr -d "(),'")"
callas bank-a score --citizen "$NEW" --consent-ref VNEID-CALL-TEST --purpose loan-origination \
    --product unsecured-consumer
expect_eq "score the new citizen" 0 "$status"
printf 'citizen_id,not_an_attribute\n%s,1\n' "$NEW" > "$WORK/bad.csv"
callas steward put "$WORK/bad.csv"
expect_eq "bad CSV: local error, nothing sent" 1 "$status"
expect_contains "bad CSV names the column" "bad.csv:1:2: unknown column 'not_an_attribute' (not citizen_id nor an attribute of catalog" "$errout"
callas steward revoke --citizen "$NEW" --institution bank-a --purpose loan-origination
expect_eq "revoke" 0 "$status"
callas bank-a score --citizen "$NEW" --consent-ref VNEID-CALL-TEST --purpose loan-origination \
    --product unsecured-consumer
expect_eq "revoked: PERMISSION_DENIED" 17 "$status"
callas steward revoke --citizen 001085000002 --institution bank-a --purpose loan-origination
expect_eq "revoke nothing: NOT_FOUND" 15 "$status"
callas steward erase --citizen "$NEW"
expect_eq "erase" "0 True" "$status $(py 'd["erased"]')"
callas steward erase --citizen "$NEW"
expect_eq "erase again: nothing to erase" "0 False" "$status $(py 'd["erased"]')"

# 7. the audit trail, read from the directory while the server runs
run env TINCHAP_KEY="$WORK/secret" "$TINCHAP" get --db "$WORK/db" "$ID"
key=$(py 'd["key"]')
set +e
audit=$(TINCHAP_KEY="$WORK/secret" "$TINCHAP" audit --db "$WORK/db" --citizen "$ID" 2>&1)
status=$?
set -e
printf '%s\n' "$audit" >> "$WORK/all-output"
expect_eq "audit exit" 0 "$status"
run "$PY" - "$audit" "$key" "$first_inquiry" <<'PY'
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
key, first = sys.argv[2], sys.argv[3]
problems = []
if any(r["citizen_key"] != key for r in lines):
    problems.append("a record of another citizen")
outcomes = [r["outcome"] for r in lines]
if outcomes.count("scored") != 1 or outcomes.count("replayed") != 1:
    problems.append("outcomes %s" % outcomes)
if lines[-1]["inquiry_id"] != first or lines[-1]["status"] != "OK":
    problems.append("oldest record is not the first score")
r = lines[-1]
if not (r["pd_low"] <= r["pd"] <= r["pd_high"] and r["grade"] and r["reasons"]
        and r["loan_amount_vnd"] == 30000000 and r["loan_term_months"] == 12
        and r["request_id"] == "call-test-1" and r["institution"] == "bank-a"):
    problems.append("scored record fields: %s" % r)
denied = [r for r in lines if r["status"] == "PERMISSION_DENIED"]
if not denied or any(r["score"] is not None or r["outcome"] != "denied" for r in denied):
    problems.append("denied records: %s" % denied)
times = [r["time"] for r in lines]
if times != sorted(times, reverse=True):
    problems.append("not newest first")
print("\n".join(problems) or "ok")
PY
expect_eq "audit --citizen records" ok "$out"
run "$TINCHAP" audit --audit "$WORK/audit" --institution bank-b --limit 5
expect_eq "audit --institution" "0 bank-b" "$status $(head -1 <<<"$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["institution"])')"
run "$TINCHAP" audit --db "$WORK/db" --from 2000-01-01 --to 2000-01-02
expect_eq "audit: empty range" "0 " "$status $out"
run "$TINCHAP" audit --db "$WORK/db" --from yesterday
expect_eq "audit: bad time is usage" 2 "$status"
"$TINCHAP" keygen "$WORK/other.key" >/dev/null
run "$TINCHAP" audit --db "$WORK/db" --key "$WORK/other.key"
expect_eq "audit: another database's secret is refused" 1 "$status"

stop_server || fail "tinchapd did not exit 0 on SIGTERM"

# 8. a database the service never served has no audit trail yet: said plainly
mkdir -p "$WORK/second"
"$TINCHAP" keygen "$WORK/secret2" >/dev/null
render_dates "$TC_FIXTURES/consents_small.csv.in" "$WORK/consents_small.csv"
TINCHAP_KEY=$WORK/secret2 "$TINCHAP" load --db "$WORK/second/db" --max-errors 50% --rejects "$WORK" \
    --consents "$WORK/consents_small.csv" \
    "$TC_FIXTURES/population_small.csv" >/dev/null 2>&1
run "$TINCHAP" audit --db "$WORK/second/db"
expect_eq "no audit trail yet: exit" 0 "$status"
expect_contains "no audit trail yet: message" "no audit trail yet" "$out"

# 9. plaintext with bearer tokens, on loopback
TOKEN=call-test-token-$RANDOM$RANDOM
cat > "$WORK/insecure.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "database": "$WORK/second/db",
  "secret": "$WORK/secret2",
  "catalog": "$WORK/models/catalog.json",
  "models": "$WORK/models",
  "insecure": true,
  "tokens": [{"sha256": "$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)",
              "institution": "bank-a", "roles": ["scorer"]}]
}
JSON
start_server "$WORK/insecure.json" "$WORK/insecure.log"
FID=001085000001
FREF=$(awk -F, -v id="$FID" '$1 == id && $2 == "bank-a" { print $4; exit }' "$WORK/consents_small.csv")
plain=("$TINCHAP" call --target "127.0.0.1:$PORT" --insecure)
run "${plain[@]}" health
expect_eq "plaintext health needs a known token (UNAUTHENTICATED)" 26 "$status"
run "${plain[@]}" --token "$TOKEN" health
expect_eq "plaintext health with a token" 0 "$status"
run env TINCHAP_TOKEN="$TOKEN" "${plain[@]}" score --citizen "$FID" --consent-ref "$FREF" \
    --purpose loan-origination --product unsecured-consumer --compact
expect_eq "token from the environment: score" 0 "$status"
expect_eq "one line of JSON" 1 "$(wc -l <<<"$out")"
printf '%s\n' "$out" >> "$WORK/all-output"
run "${plain[@]}" --token wrong-token score --citizen "$FID" --consent-ref "$FREF" \
    --purpose loan-origination --product unsecured-consumer
expect_eq "wrong token: UNAUTHENTICATED" 26 "$status"
run "${plain[@]}" score --citizen "$FID" --consent-ref "$FREF" --purpose loan-origination \
    --product unsecured-consumer
expect_eq "no token: UNAUTHENTICATED" 26 "$status"
expect_contains "says what is missing" "bearer token" "$out"
printf '%s\n' "$out" >> "$WORK/all-output"
run "$TINCHAP" call --target 192.0.2.1:50051 --insecure --token "$TOKEN" health
expect_eq "token refused in plaintext off loopback" 1 "$status"
stop_server || fail "plaintext tinchapd did not exit 0"

# 10. the example configuration loads, and README documents every field it sets
run "$TINCHAPD" --config "$SRC/tools/tinchapd.example.json" --version
expect_eq "tinchapd.example.json loads" 0 "$status"
run "$PY" - "$SRC/tools/tinchapd.example.json" "$SRC/README.md" <<'PY'
import json, re, sys
conf = json.load(open(sys.argv[1]))
readme = open(sys.argv[2]).read()
section = readme[readme.index("## Configuration"):]
section = section[:section.index("\n## ", 3)]
documented = set(re.findall(r"^\| `([a-z_.\[\]]+)`", section, re.M))
fields = set()
for k, v in conf.items():
    if isinstance(v, dict):
        fields.update(k + "." + s for s in v)
    else:
        fields.add(k + "[]" if isinstance(v, list) else k)
print(" ".join(sorted(fields - documented)) or "all documented")
PY
expect_eq "README documents every configuration field" "all documented" "$out"

# 11. no raw citizen ID in anything tinchap call or tinchap audit printed
for id in "$ID" "$NEW" "$FID"; do
    if grep -q -F "$id" "$WORK/all-output"; then
        fail "a raw citizen ID was printed"
    fi
done
finish
