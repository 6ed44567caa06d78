#!/usr/bin/env bash
# Who may call tinchapd (SECURITY.md maps each attack to its test): configurations that mix
# certificate and token identities are refused at start; certificates are matched strictly
# (tests/python/identity_test.py: which names count, two known names, a revoked certificate, an
# unknown certificate on every method, Health/Watch floods from one connection and one
# identity).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki
make_pki "$P"
make_data "$WORK" 200
TOKEN=identity-test-token
TOKEN_SHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
make_cert "$P" cn-admin "/CN=admin.clients.tinchap.test" "DNS:unknown-2.clients.tinchap.test"
make_cert "$P" email-admin "/CN=someone" "email:admin.clients.tinchap.test"
make_cert "$P" uri-admin "/CN=someone" "URI:admin.clients.tinchap.test"
make_cert "$P" two-known "/CN=someone" "DNS:bank-a.clients.tinchap.test,DNS:bank-b.clients.tinchap.test"
make_cert "$P" cn-only "/CN=bank-b.clients.tinchap.test"
make_cert "$P" sha-san "/CN=$TOKEN_SHA" "DNS:$TOKEN_SHA"
make_cert "$P" spiffe "/CN=someone" "URI:spiffe://tinchap.test/bank-c"
make_cert "$P" probe "/CN=probe" "DNS:probe.clients.tinchap.test"
make_cert "$P" revoked "/CN=bank-b" "DNS:bank-b.clients.tinchap.test"
make_crl "$P" revoked
[ -n "$(ls "$P/crl"/*.r0 2>/dev/null)" ] || fail "the test CRL has no hashed name"
PROBE='{"identity": "probe.clients.tinchap.test", "institution": "operations", "roles": []}'
TOKENS="\"tokens\": [{\"sha256\": \"$TOKEN_SHA\", \"institution\": \"bank-a\", \"roles\": [\"admin\"]}]"

py() { # PHASE: the Python suite against the server on $PORT
    run env TC_PORT="$PORT" TC_PKI="$P" TC_PHASE="$1" "$PY" "$SRC/tests/python/identity_test.py"
    expect_eq "identity suite, $1" 0 "$status"
    [ "$status" -eq 0 ] || echo "$out" >&2
}

# 1. identities of one transport only: tokens beside mTLS, clients beside --insecure
write_config "$WORK/mixed.json" "$WORK" "$TOKENS"
run timeout 10 "$TINCHAPD" --config "$WORK/mixed.json"
expect_eq "tokens with mTLS: refused to start" 1 "$status"
expect_contains "tokens with mTLS: says why" 'they are refused unless' "$out"
run timeout 10 "$TINCHAPD" --config "$WORK/mixed.json" --insecure
expect_eq "clients with --insecure: refused to start" 1 "$status"
expect_contains "clients with --insecure: says why" 'are certificate identities' "$out"
write_config "$WORK/uri.json" "$WORK"
"$PY" - "$WORK/uri.json" <<'PY'
import json, sys
conf = json.load(open(sys.argv[1]))
conf["clients"].append({"identity": "spiffe://tinchap.test/bank-c", "institution": "bank-c",
                        "roles": ["scorer"]})
json.dump(conf, open(sys.argv[1], "w"), indent=1)
PY
run timeout 10 "$TINCHAPD" --config "$WORK/uri.json"
expect_eq "a URI identity without \"uri\" names: refused to start" 1 "$status"
expect_contains "a URI identity without \"uri\" names: says why" "no certificate could match it" "$out"

# 2. a CRL directory gRPC would ignore (no CRL of the client CA under its hashed name: every
#    certificate accepted), or one whose CRL expired (every certificate refused): refused
with_crl() { # CONFIG CRL_DIR: the default names, a probe identity without roles, the CRL
    write_config "$1" "$WORK"
    "$PY" - "$1" "$PROBE" "$2" <<'PY'
import json, sys
conf = json.load(open(sys.argv[1]))
conf["clients"].append(json.loads(sys.argv[2]))
conf["tls"]["crl_dir"] = sys.argv[3]
json.dump(conf, open(sys.argv[1], "w"), indent=1)
PY
}
mkdir -p "$WORK/no-crl" "$WORK/old-crl"
cp "$P/crl/ca.crl.pem" "$WORK/no-crl/"
with_crl "$WORK/no-crl.json" "$WORK/no-crl"
run timeout 10 "$TINCHAPD" --config "$WORK/no-crl.json"
expect_eq "a CRL not under its hashed name: refused to start" 1 "$status"
expect_contains "a CRL not under its hashed name: says why" "openssl rehash" "$out"
(cd "$P" && openssl ca -config crl-ca/ca.cnf -gencrl -crlsec 1 -out "$WORK/old-crl/ca.crl.pem" \
    2>/dev/null && openssl rehash "$WORK/old-crl" 2>/dev/null)
sleep 2
with_crl "$WORK/old-crl.json" "$WORK/old-crl"
run timeout 10 "$TINCHAPD" --config "$WORK/old-crl.json"
expect_eq "an expired CRL: refused to start" 1 "$status"
expect_contains "an expired CRL: says why" "every client would be refused" "$out"

# 3. the default names (DNS SANs), a probe identity without roles, a CRL
with_crl "$WORK/strict.json" "$P/crl"
start_server "$WORK/strict.json" "$WORK/strict.log"
expect_contains "the CRL's next update logged" '"crl_next_update":"' "$(cat "$WORK/strict.log")"
expect_contains "the CRL's next update measured" "tinchap_tls_crl_next_update_seconds " \
    "$("$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
        "http://127.0.0.1:$METRICS_PORT/metrics")"
py strict
stop_server || fail "tinchapd (strict) did not stop cleanly"

# 4. URI SANs and common names, when the configuration asks for them
write_config "$WORK/names.json" "$WORK"
"$PY" - "$WORK/names.json" <<'PY'
import json, sys
conf = json.load(open(sys.argv[1]))
conf["tls"]["client_names"] = ["dns", "uri", "cn"]
conf["clients"].append({"identity": "spiffe://tinchap.test/bank-c", "institution": "bank-c",
                        "roles": ["scorer"]})
json.dump(conf, open(sys.argv[1], "w"), indent=1)
PY
start_server "$WORK/names.json" "$WORK/names.log"
py names
stop_server || fail "tinchapd (names) did not stop cleanly"
finish
