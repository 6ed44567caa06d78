#!/usr/bin/env bash
# tinchap keygen / load / get / erase / stats against a real database directory: good files,
# every kind of bad input with its exact message, and the database unchanged after each refusal.
source "$(dirname "$0")/lib.sh"
cp "${TC_FIXTURES:?}/population_small.csv" "$WORK/"
render_dates "$TC_FIXTURES/consents_small.csv.in" "$WORK/consents_small.csv"
GRANTED=$(days_from_now -300)
EXPIRES=$(days_from_now 3650)
F=$WORK
DB=$WORK/db
export TINCHAP_KEY=$WORK/secret
T=$TINCHAP
HEADER=$(head -1 "$F/population_small.csv")

"$T" keygen "$TINCHAP_KEY" >/dev/null
expect_eq "secret mode" "600" "$(stat -c %a "$TINCHAP_KEY")"

# --- good load ---
# 031170000004 has only an expired consent, 048201000003 a revoked one: their data is refused,
# and by default any rejected row stops the whole load
run "$T" load --db "$DB" --consents "$F/consents_small.csv" "$F/population_small.csv"
expect_eq "default max-errors 0 exit" 1 "$status"
expect_contains "revoked consent message" "population_small.csv:4: the citizen has no consent valid now (load their consent first, or in the same run with --consents)" "$out"
expect_contains "lapsed consent message" "population_small.csv:5: the citizen has no consent valid now" "$out"
expect_contains "nothing written" "2 rows rejected, more than --max-errors 0 allows: nothing was written" "$out"
run "$T" load --db "$DB" --consents "$F/consents_small.csv" --max-errors 2 "$F/population_small.csv"
expect_eq "good load exit" 0 "$status"
expect_contains "summary" "citizens 3 new, 0 updated, 0 unchanged; consents 6 written, 0 unchanged; 2 rows rejected" "$out"
run "$T" load --db "$DB" --consents "$F/consents_small.csv" --max-errors 2 "$F/population_small.csv"
expect_contains "idempotent reload" "citizens 0 new, 0 updated, 3 unchanged; consents 0 written, 6 unchanged; 2 rows rejected" "$out"

stats_json() { "$T" stats --db "$DB" --json | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["citizens"], d["consents"])'; }
expect_eq "counts" "3 6" "$(stats_json)"

# get: values as loaded, missing as null, consents listed, no raw ID in the output
run "$T" get --db "$DB" 079190000002
expect_eq "get exit" 0 "$status"
check=$($PY - "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
a = d["attributes"]
assert a["birth_year"] == 1990 and a["gender"] == "female" and a["province_code"] == "079", a
assert a["si_salary_base"] == 8.2 and a["electricity_ontime_ratio_12m"] == 0.85, a
assert a["pit_income_year"] is None and a["cic_active_loans"] is None and a["cic_max_dpd_12m"] is None, a
assert a["cic_inquiries_6m"] == 0 and a["is_household_head"] is True and a["mobile_postpaid"] is False, a
assert len(d["consents"]) == 1 and d["consents"][0]["institution"] == "bank-a", d
assert d["consents"][0]["valid_now"] is True and d["consents"][0]["revoked_at"] is None
assert len(d["key"]) == 32
print("ok")
PY
)
expect_eq "get values" ok "$check"
expect_eq "get output has no raw ID" "" "$(grep -o 079190000002 <<<"$out" || true)"
run "$T" get --db "$DB" 001085000009
expect_eq "unknown citizen exit" 3 "$status"
expect_eq "unknown citizen message" "tinchap get: citizen not found" "$out"
run "$T" get --db "$DB" 0010850000x9
expect_eq "bad ID exit" 1 "$status"
expect_eq "bad ID message" "tinchap get: citizen ID has a non-digit at position 11" "$out"

snapshot() { stats_json; "$T" get --db "$DB" 001085000001 | grep -v updated_at | md5sum; }
before=$(snapshot)

# --- bad inputs: exact message, exit 1, nothing written ---
bad() { # NAME EXPECTED-MESSAGE FILE [extra args]
    local name=$1 expected=$2 file=$3
    shift 3
    run "$T" load --db "$DB" "$@" "$file"
    expect_eq "$name: exit" 1 "$status"
    expect_contains "$name: message" "$expected" "$out"
    expect_eq "$name: database unchanged" "$before" "$(snapshot)"
}
row1=$(sed -n 2p "$F/population_small.csv")
mk() { printf '%s\n' "$@" > "$WORK/in.csv"; }

mk "${HEADER/dependents/depends}" "$row1"
bad "unknown column" "in.csv:1:8: unknown column 'depends' (not citizen_id nor an attribute of catalog 'vn-population')" "$WORK/in.csv"
mk "${HEADER/,dependents/}"
bad "missing column" "in.csv:1: missing column 'dependents'" "$WORK/in.csv"
mk "${HEADER},birth_year"
bad "repeated column" "in.csv:1:29: column 'birth_year' repeats column 2" "$WORK/in.csv"
: > "$WORK/in.csv"
bad "empty file" "in.csv: empty file (expected a header row)" "$WORK/in.csv"
mk "$HEADER" "${row1/001085000001/00108500001}"
bad "short ID" "in.csv:2:1: field 'citizen_id': citizen ID must be 12 digits, got 11 characters" "$WORK/in.csv"
mk "$HEADER" "${row1/001085000001/003085000001}"
bad "unknown province" "in.csv:2:1: field 'citizen_id': citizen ID digits 1-3 are not a province code" "$WORK/in.csv"
mk "$HEADER" "${row1/,4,1,2,10,/,0,1,2,10,}"
bad "out of range" "in.csv:2:6: field 'household_size' value '0': out of range [1, 50]" "$WORK/in.csv"
mk "$HEADER" "${row1/married/Married}"
bad "bad category" "in.csv:2:5: field 'marital_status' value 'Married': not a level of this category" "$WORK/in.csv"
mk "$HEADER" "${row1/married/\"married, twice\"}"
bad "quoted comma is one field" "in.csv:2:5: field 'marital_status' value 'married, twice': not a level of this category" "$WORK/in.csv"
mk "$HEADER" "${row1/,15.5,/,abc,}"
bad "not a number" "in.csv:2:15: field 'si_salary_base' value 'abc': not a decimal number" "$WORK/in.csv"
mk "$HEADER" "${row1/,1985,male,/,1986,male,}"
bad "birth year disagrees with ID" "in.csv:2:2: field 'birth_year' value '1986': does not match the birth year in the citizen ID" "$WORK/in.csv"
mk "$HEADER" "${row1/,male,/,female,}"
bad "gender disagrees with ID" "in.csv:2:3: field 'gender' value 'female': does not match the gender digit of the citizen ID" "$WORK/in.csv"
mk "$HEADER" "$row1" "$row1"
bad "duplicate ID" "in.csv:2: duplicate citizen ID, also on line 3: both rows rejected" "$WORK/in.csv"
expect_contains "duplicate ID names both" "in.csv:3: duplicate citizen ID, also on line 2: both rows rejected" "$out"
mk "$HEADER" "${row1%,0}"
bad "short row" "in.csv:2: 27 fields, the header has 28" "$WORK/in.csv"
mk "$HEADER" "${row1/married/mar\"ried}"
bad "stray quote" "in.csv:2: malformed quoting" "$WORK/in.csv"
mk "$HEADER" "${row1/married/\"married}"
bad "unterminated quote" "unterminated quoted field at the end of the file" "$WORK/in.csv"
mk "$HEADER" "$row1" "${row1/001085000001/001085000777}"
bad "no consent" "in.csv:3: the citizen has no consent valid now" "$WORK/in.csv"
expect_contains "too many errors" "1 rows rejected, more than --max-errors 0 allows: nothing was written" "$out"

# consents file problems
CH="citizen_id,institution,purpose,consent_ref,granted_at,expires_at,revoked_at"
mkc() { printf '%s\n' "$@" > "$WORK/c.csv"; }
cbad() { bad "$1" "$2" "$WORK/c.csv" --consents "$WORK/c.csv" ; }
mkc "$CH" "001085000001,bank-a,loan-origination,R1,2026-13-01,$EXPIRES,"
run "$T" load --db "$DB" --consents "$WORK/c.csv"
expect_contains "bad time" "c.csv:2:5: field 'granted_at' value '2026-13-01': not a UTC time like 2026-01-31T09:00:00Z or a date like 2026-01-31" "$out"
expect_eq "bad time unchanged" "$before" "$(snapshot)"
mkc "$CH" "001085000001,bank-a,loan-origination,R1,2026-02-01,2026-01-01,"
run "$T" load --db "$DB" --consents "$WORK/c.csv"
expect_contains "expires before granted" "c.csv:2:6: field 'expires_at' value '2026-01-01': not after granted_at" "$out"
mkc "$CH" "001085000001,Bank A,loan-origination,R1,$GRANTED,$EXPIRES,"
run "$T" load --db "$DB" --consents "$WORK/c.csv"
expect_contains "bad institution" "c.csv:2:2: field 'institution' value 'Bank A': 1-64 characters of a-z, 0-9" "$out"
mkc "$CH" "001085000001,bank-a,loan-origination,R1,$GRANTED,$EXPIRES," "001085000001,bank-a,loan-origination,R2,$GRANTED,$EXPIRES,"
run "$T" load --db "$DB" --consents "$WORK/c.csv"
expect_contains "duplicate consent" "c.csv:2: duplicate consent (same citizen ID, institution and purpose), also on line 3: both rows rejected" "$out"
expect_eq "consent refusals unchanged" "$before" "$(snapshot)"

# --- CRLF line ends and a UTF-8 byte-order mark load like plain files ---
{ printf '\xef\xbb\xbf'; sed 's/$/\r/' "$F/population_small.csv"; } > "$WORK/crlf.csv"
run "$T" load --db "$DB" --max-errors 2 "$WORK/crlf.csv"
expect_eq "crlf+bom exit" 0 "$status"
expect_contains "crlf+bom same rows" "citizens 0 new, 0 updated, 3 unchanged" "$out"

# --- --max-errors: good rows loaded, bad ones to a reject file with reasons ---
mk "$HEADER" "${row1/,4,1,2,10,/,5,1,2,10,}" "${row1/001085000001/00108500001}"
run "$T" load --db "$DB" --max-errors 1 "$WORK/in.csv"
expect_eq "max-errors exit" 0 "$status"
expect_contains "max-errors summary" "citizens 0 new, 1 updated, 0 unchanged" "$out"
expect_eq "reject file mode" 600 "$(stat -c %a "$WORK/in.csv.rejects.csv")"
expect_eq "reject file header" "reject_line,reject_reason,$HEADER" "$(head -1 "$WORK/in.csv.rejects.csv")"
expect_eq "reject file row" "3,\"field 'citizen_id': citizen ID must be 12 digits, got 11 characters\",${row1/001085000001/00108500001}" "$(sed -n 2p "$WORK/in.csv.rejects.csv")"
hh=$("$T" get --db "$DB" 001085000001 | $PY -c 'import json,sys; print(json.load(sys.stdin)["attributes"]["household_size"])')
expect_eq "updated value" 5 "$hh"

# --- dry run reports without writing ---
run "$T" load --db "$DB" --dry-run --max-errors 2 "$F/population_small.csv"
expect_contains "dry run" "dry run, nothing written: citizens 0 new, 1 updated, 2 unchanged" "$out"
hh=$("$T" get --db "$DB" 001085000001 | $PY -c 'import json,sys; print(json.load(sys.stdin)["attributes"]["household_size"])')
expect_eq "dry run wrote nothing" 5 "$hh"

# --- no raw ID anywhere in the database files ---
for id in $(cut -d, -f1 "$F/population_small.csv" | tail -n +2) 001085000777; do
    if grep -rqa "$id" "$DB"; then fail "raw ID $id found in the database directory"; fi
done

# --- a map too small for the load: refused before writing ---
run "$T" load --db "$WORK/tiny" --map-size 64K --consents "$F/consents_small.csv" --max-errors 2 "$F/population_small.csv"
expect_eq "tiny map exit" 1 "$status"
expect_contains "tiny map message" "database full: this load needs about" "$out"
expect_contains "tiny map advice" "raise --map-size (now 64.0 KiB); nothing was written" "$out"

# --- wrong key and wrong catalog ---
"$T" keygen "$WORK/other" >/dev/null
run "$T" get --db "$DB" --key "$WORK/other" 001085000001
expect_eq "wrong key" "tinchap get: $DB: the secret key is not the one this database was built with" "$out"
sed 's/"max": 50/"max": 60/' "${TC_MODELS:?}/catalog.json" > "$WORK/cat2.json"
run "$T" stats --db "$DB" --catalog "$WORK/cat2.json"
expect_contains "other catalog" "built for catalog 'vn-population'" "$out"
expect_contains "other catalog advice" "open it with the catalog it was built for" "$out"

# --- erase ---
run "$T" erase --db "$DB" 001085000001
expect_eq "erase" "erased the citizen's record and consents" "$out"
run "$T" get --db "$DB" 001085000001
expect_eq "erased citizen is gone" 3 "$status"
run "$T" erase --db "$DB" 001085000001
expect_eq "erase again" "nothing to erase: not in the database" "$out"
expect_eq "counts after erase" "2 4" "$(stats_json)"

# --- problems in both files at once: the population is read beside the consents, and its
# messages still follow theirs, in the order a read of one file after the other finds them ---
# (consents enough that the population's read ends long before theirs)
"$T" synth -n 30000 --history 0 --seed 5 --out "$WORK/synth" >/dev/null
cp "$WORK/synth/consents.csv" "$WORK/cboth.csv"
echo "123,bank-a,loan-origination,R1,$GRANTED,$EXPIRES," >>"$WORK/cboth.csv"
sed -n 2p "$WORK/synth/consents.csv" >>"$WORK/cboth.csv"
cp "$F/population_small.csv" "$WORK/pboth.csv"
sed -n 3p "$F/population_small.csv" | sed 's/^\([0-9]*\),1990,/\1,199x,/' >>"$WORK/pboth.csv"
run "$T" load --db "$WORK/both" --consents "$WORK/cboth.csv" --max-errors 10 "$WORK/pboth.csv"
nc=$(wc -l <"$WORK/synth/consents.csv")
expect_eq "both files: messages in file order" \
"cboth.csv:$((nc + 1)):1: field 'citizen_id': citizen ID must be 12 digits, got 3 characters
cboth.csv:2: duplicate consent (same citizen ID, institution and purpose), also on line $((nc + 2)): both rows rejected
cboth.csv:$((nc + 2)): duplicate consent (same citizen ID, institution and purpose), also on line 2: both rows rejected
pboth.csv:$(($(wc -l <"$F/population_small.csv") + 1)):2: field 'birth_year' value '199x': not an integer" \
    "$(grep -E '^(cboth|pboth)' <<<"${out//$WORK\//}" | grep -v 'no consent valid now')"

# --- store format: a database written now is the current format; upgrading it changes nothing
# (a format-1 database and its upgrade: tests/unit/test_store_format.c) ---
expect_contains "stats names the format" "store format    2" "$("$T" stats --db "$DB")"
db_state() { stats_json; "$T" get --db "$DB" 079190000002 | grep -v updated_at | md5sum; }
before=$(db_state)
run "$T" upgrade --db "$DB"
expect_eq "upgrade of a current database exit" 0 "$status"
expect_eq "upgrade of a current database" "$DB is already store format 2: nothing to do" "$out"
expect_eq "database unchanged by upgrade" "$before" "$(db_state)"
run "$T" upgrade --db "$WORK/nowhere"
expect_eq "upgrade of nothing exit" 1 "$status"

# --- usage errors ---
run "$T" load --db "$DB"
expect_eq "nothing to load exit" 2 "$status"
run "$T" load --db "$DB" --bogus x.csv
expect_eq "unknown option exit" 2 "$status"
expect_contains "unknown option" "unknown option or missing value: '--bogus'" "$out"
run "$T" get "$DB"
expect_contains "missing --db" "--db DIR is required" "$out"
for cmd in keygen load get erase stats upgrade; do
    run "$T" "$cmd" --help
    expect_eq "$cmd --help exit" 0 "$status"
    expect_contains "$cmd --help" "usage: tinchap $cmd" "$out"
done
finish
