#!/usr/bin/env bash
# The data steward's writes (SECURITY.md maps each to its test): every GrantConsent,
# RevokeConsent, EraseCitizen and PutCitizens is in the audit trail (who, when, the pseudonym,
# the consent and its times; an erasure without attributes); a replaced consent stays in the
# citizen's history; a remembered answer is not replayed after a revocation or an erasure
# (tests/python/steward_test.py). Then the trail's steward records, read with tinchap audit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
make_pki "$WORK/pki"
make_data "$WORK" 300
mkdir -p "$WORK/models" "$WORK/out"
cp "$SRC"/models/*.json "$WORK/models/"
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$WORK/models\", \"catalog\": \"$WORK/models/catalog.json\""
start_server "$WORK/conf.json" "$WORK/server.log"
run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" TC_OUT="$WORK/out" \
    "$PY" "$SRC/tests/python/steward_test.py"
expect_eq "steward client suite" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2
stop_server || fail "tinchapd did not stop cleanly"

audit=(env TINCHAP_KEY="$WORK/secret" "$TINCHAP" audit --audit "$WORK/audit" --steward)
"${audit[@]}" > "$WORK/out/all.jsonl"
for who in revoked erased history put; do
    id=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
        "$WORK/out/expected.json" "$who")
    "${audit[@]}" --citizen "$id" > "$WORK/out/$who.jsonl"
done
run "$PY" - "$WORK/out" <<'PY'
import json, os, sys
out = sys.argv[1]
def records(name):
    return [json.loads(l) for l in open(os.path.join(out, name + ".jsonl")) if l.strip()]
problems = []
def check(cond, what):
    if not cond:
        problems.append(what)
everything = records("all")
check(len(everything) == 7, "7 steward records in all, got %d" % len(everything))
check([r["seq"] for r in everything] == list(range(1, len(everything) + 1)), "sequence 1..n")
for r in everything:
    check(r["by"] == {"institution": "population-data", "identity": "steward.clients.tinchap.test"},
          "who: %r" % r["by"])
    check(r["time"].endswith("Z") and len(r["citizen_key"]) == 32 and r["applied"],
          "time, pseudonym, applied: %r" % r)
rv, er, hi, put = (records(n) for n in ("revoked", "erased", "history", "put"))
check([r["action"] for r in rv] == ["revoke"], "the revocation: %r" % rv)
check(rv and rv[0]["consent"]["institution"] == "bank-a" and rv[0]["consent"]["revoked_at"],
      "the revoked consent and when")
check([r["action"] for r in er] == ["erase"] and er[0]["changed"] and er[0]["consents_erased"] >= 1,
      "the erasure: %r" % er)
check(er and set(er[0]) == {"seq", "time", "action", "by", "citizen_key", "changed",
                            "consents_erased", "applied"}, "an erasure keeps no attribute: %r" % er)
check([r["action"] for r in hi] == ["grant", "grant", "revoke"], "grant, replace, revoke: %r" % hi)
if len(hi) == 3:
    check(hi[0]["consent"]["consent_ref"] == "VNEID-B1" and "previous" not in hi[0], "first grant")
    check(hi[1]["consent"]["consent_ref"] == "VNEID-B2" and
          hi[1]["previous"]["consent_ref"] == "VNEID-B1", "the grant that replaced it")
    check(all(hi[1]["consent"][k] for k in ("granted_at", "expires_at")), "the consent's times")
check([(r["action"], r["changed"]) for r in put] == [("put", False), ("put", True)],
      "two puts, the second a change: %r" % put)
print("\n".join(problems) or "ok")
PY
expect_eq "steward records in the trail" ok "$out"
finish
