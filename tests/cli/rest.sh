#!/usr/bin/env bash
# The REST/JSON interface on a real tinchapd under mutual TLS: tests/python/rest_test.py (Python
# requests, every route and error path, answers checked against api/openapi.json and against
# the gRPC interface), curl as a shell user calls it, a revoked certificate, and the shipped
# OpenAPI document being the one tinchapd makes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki

# the shipped document is the one this build makes (regenerate: tinchapd --openapi)
"$TINCHAPD" --openapi > "$WORK/openapi.json"
run diff -u "$SRC/api/openapi.json" "$WORK/openapi.json"
expect_eq "api/openapi.json is what tinchapd --openapi prints" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" | head -40 >&2

make_pki "$P"
make_cert "$P" revoked "/CN=bank-b" "DNS:bank-b.clients.tinchap.test"
make_crl "$P" revoked
make_data "$WORK" 300
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$SRC/models\", \"catalog\": \"$SRC/models/catalog.json\", \"rest_listen\": \"127.0.0.1:0\""
"$PY" - "$WORK/conf.json" "$P/crl" <<'PY'
import json, sys
conf = json.load(open(sys.argv[1]))
conf["tls"]["crl_dir"] = sys.argv[2]
json.dump(conf, open(sys.argv[1], "w"), indent=1)
PY
start_server "$WORK/conf.json" "$WORK/server.log"
[ -n "$REST_PORT" ] || fail "tinchapd logged no rest_port"

run env TC_PORT="$PORT" TC_REST_PORT="$REST_PORT" TC_METRICS_PORT="$METRICS_PORT" TC_PKI="$P" \
    TC_DIR="$WORK/data" TC_SOURCE="$SRC" "$PY" "$SRC/tests/python/rest_test.py"
expect_eq "REST suite" 0 "$status"
[ "$status" -eq 0 ] && echo "$out" | tail -3 || echo "$out" >&2

# curl, as an operator or a bank's engineer would try it
CURL=(curl -sS --cacert "$P/ca.pem" --cert "$P/bank-a.pem" --key "$P/bank-a.key")
run "${CURL[@]}" -o "$WORK/models.json" -w '%{http_code}' "https://localhost:$REST_PORT/v1/models"
expect_eq "curl: GET /v1/models" 200 "$out"
expect_contains "curl: the champion is listed" '"MODEL_STATUS_CHAMPION"' "$(cat "$WORK/models.json")"
run curl -sS --cacert "$P/ca.pem" --cert "$P/revoked.pem" --key "$P/revoked.key" \
    -w ' %{http_code}' "https://localhost:$REST_PORT/v1/models"
expect_contains "curl: a revoked certificate is refused" '"UNKNOWN_CALLER"' "$out"
expect_contains "curl: ... with 401" ' 401' "$out"
run curl -sS --cacert "$P/ca.pem" -w ' %{http_code}' "https://localhost:$REST_PORT/v1/health"
expect_contains "curl: no certificate is refused" ' 401' "$out"
run curl -sS --http2 --cacert "$P/ca.pem" --cert "$P/bank-a.pem" --key "$P/bank-a.key" \
    -o /dev/null -w '%{http_code} %{http_version}' "https://localhost:$REST_PORT/v1/health"
expect_eq "curl: HTTP/1.1 is answered when HTTP/2 is offered" "200 1.1" "$out"

stop_server || fail "tinchapd did not stop cleanly"
# every REST call was logged as a gRPC one is, and no citizen ID reached the log
expect_contains "REST calls in the access log" '"method":"GetModel"' "$(cat "$WORK/server.log")"
for id in $(cut -d, -f1 "$WORK/data/population.csv" | tail -n +2); do
    if grep -q "$id" "$WORK/server.log"; then
        fail "a citizen ID is in the server log"
        break
    fi
done
finish
